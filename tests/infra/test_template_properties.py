"""What every synthesized stage must be, read from its CloudFormation template.

Expectations come from the topology (``infra.topology.SYSTEM``) and the stage config
(``infra.config.STAGES``), never from resource names, so a table, function or route
added to a service is checked without touching these tests. The ``probe`` deployment
(see ``deployments.py``) runs the same rules on a topology that uses what the real one
does not yet: indexes, read-only access, publishing, reserved concurrency, machine routes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.config import ACCOUNTS, STAGES
from infra.environment import function_environment, messaging_environment
from infra.openapi import ANY_METHOD
from shared.auth import MACHINE_SCOPE, Role
from shared.errors import Forbidden, PayloadTooLarge, Throttled, Unauthorized
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.topology import Attr, Table
from tests.infra.conftest import Synthesized
from tests.infra.deployments import (
    EVERY,
    Deployment,
    arn,
    as_list,
    joined,
    key,
    load,
    mentions,
    needs_async_dlq,
    ref,
)

Json = dict[str, Any]


@pytest.fixture(scope="session", params=EVERY)
def deployment(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


# --- 1. tables -----------------------------------------------------------------------------------


def test_each_topology_table_is_exactly_one_dynamodb_table(deployment: Deployment) -> None:
    # Given the tables the topology declares
    declared = {t.id for t in deployment.system.tables}
    # When the template's tables are found by their dangol:id tag
    found = deployment.resources("AWS::DynamoDB::Table")
    # Then each declared table is there once, and there is no other (untagged) table
    assert set(deployment.tables) == declared
    assert len(found) == len(declared), sorted(found)


def test_every_table_is_on_demand_point_in_time_recoverable_and_encrypted(deployment: Deployment) -> None:
    for table in deployment.system.tables:
        # Given a declared table's resource
        props = deployment.props(deployment.tables[table.id])
        # Then it bills per request, keeps 35 days of point-in-time backups and is encrypted at rest
        assert props["BillingMode"] == "PAY_PER_REQUEST", table.id
        assert "ProvisionedThroughput" not in props, table.id
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, table.id
        assert props["SSESpecification"]["SSEEnabled"] is True, table.id


def test_every_table_expires_items_on_the_ttl_attribute_it_declares(deployment: Deployment) -> None:
    for table in deployment.system.tables:
        # Given a declared table's resource
        props = deployment.props(deployment.tables[table.id])
        # Then items expire on the declared attribute, or never if none is declared
        expected = {"AttributeName": table.ttl_attribute, "Enabled": True} if table.ttl_attribute else None
        assert props.get("TimeToLiveSpecification") == expected, table.id


def _key_schema(partition: Attr, sort: Attr | None) -> list[Json]:
    schema = [{"AttributeName": partition.name, "KeyType": "HASH"}]
    if sort is not None:
        schema.append({"AttributeName": sort.name, "KeyType": "RANGE"})
    return schema


def _key_attrs(table: Table) -> list[Attr]:
    attrs = [table.partition_key, *([table.sort_key] if table.sort_key else [])]
    for index in table.indexes:
        attrs += [index.partition_key, *([index.sort_key] if index.sort_key else [])]
    return attrs


def test_every_table_has_the_keys_indexes_and_stream_the_topology_declares(deployment: Deployment) -> None:
    for table in deployment.system.tables:
        # Given a declared table's resource
        props = deployment.props(deployment.tables[table.id])
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
        # Then its key schema, key attribute types, indexes and stream are the declared ones
        assert props["KeySchema"] == _key_schema(table.partition_key, table.sort_key), table.id
        for attr in _key_attrs(table):
            assert types[attr.name] == attr.type.value, (table.id, attr)
        assert set(indexes) == {i.name for i in table.indexes}, table.id
        for index in table.indexes:
            assert indexes[index.name]["KeySchema"] == _key_schema(index.partition_key, index.sort_key)
            assert indexes[index.name]["Projection"]["ProjectionType"] == index.projection
        expected_stream = {"StreamViewType": table.stream} if table.stream else None
        assert props.get("StreamSpecification") == expected_stream, table.id


def test_tables_are_deletion_protected_and_retained_in_prod_and_disposable_elsewhere(
    deployment: Deployment,
) -> None:
    for table in deployment.system.tables:
        # Given a declared table's resource in a stage
        resource = deployment.template["Resources"][deployment.tables[table.id]]
        protected = resource["Properties"].get("DeletionProtectionEnabled", False)
        # Then in prod it cannot be deleted or replaced away; in dev a stack delete removes it
        if deployment.stage.prod:
            assert protected is True, table.id
            assert resource.get("DeletionPolicy") == "Retain", table.id
            assert resource.get("UpdateReplacePolicy") == "Retain", table.id
        else:
            assert protected is False, table.id
            assert resource.get("DeletionPolicy", "Delete") == "Delete", table.id
            assert resource.get("UpdateReplacePolicy", "Delete") == "Delete", table.id


def test_user_pool_and_log_groups_are_retained_in_prod_and_disposable_elsewhere(stage: Deployment) -> None:
    # Given the other resources that hold data: the user pool and every log group
    holders = {stage.user_pool, *stage.resources("AWS::Logs::LogGroup")}
    assert len(holders) > 1
    for logical_id in holders:
        resource = stage.template["Resources"][logical_id]
        # Then prod keeps them when the stack goes; dev does not
        expected = "Retain" if stage.stage.prod else "Delete"
        assert resource.get("DeletionPolicy", "Delete") == expected, logical_id
        assert resource.get("UpdateReplacePolicy", "Delete") == expected, logical_id


# --- 3. Lambda functions -------------------------------------------------------------------------


def test_each_topology_function_is_exactly_one_lambda_function(deployment: Deployment) -> None:
    # Given the functions the topology declares
    declared = {f.id for f in deployment.system.functions}
    # When the template's functions are found by their dangol:id tag
    found = deployment.resources("AWS::Lambda::Function")
    # Then each is there once, and there is no other function (no hidden custom-resource handler)
    assert set(deployment.functions) == declared
    assert len(found) == len(declared), sorted(found)


def test_every_function_runs_python_3_14_on_arm64_traced_with_json_logs_and_the_layer(
    deployment: Deployment,
) -> None:
    layers = {key(ref(k)) for k in deployment.resources("AWS::Lambda::LayerVersion")}
    for fn in deployment.system.functions:
        # Given a declared function's resource
        _, props = deployment.function(fn)
        # Then it has the platform's one set of defaults
        assert props["Runtime"] == "python3.14", fn.id
        assert props["Architectures"] == ["arm64"], fn.id
        assert props["TracingConfig"] == {"Mode": "Active"}, fn.id
        assert props["LoggingConfig"]["LogFormat"] == "JSON", fn.id
        assert props["Layers"], fn.id
        assert {key(layer) for layer in props["Layers"]} <= layers, fn.id


def test_every_function_has_the_handler_memory_and_timeout_it_declares_and_reserves_no_concurrency(
    deployment: Deployment,
) -> None:
    for fn in deployment.system.functions:
        # Given a declared function's resource
        _, props = deployment.function(fn)
        # Then its sizing and entry point are the topology's
        assert props["Handler"] == fn.handler, fn.id
        assert props["MemorySize"] == fn.memory_mb, fn.id
        assert props["Timeout"] == fn.timeout_s, fn.id
        # And it reserves nothing: a new account's quota (10) leaves nothing to reserve, and a
        # reservation there fails the whole stack (jobs run alone by a lease, shared/jobs.py)
        assert "ReservedConcurrentExecutions" not in props, fn.id


def _secrets(deployment: Deployment) -> dict[str, str]:
    """The stage's secrets: "cursor-key" and each platform secret's id -> logical id."""
    found = {}
    for logical_id, resource in deployment.resources("AWS::SecretsManager::Secret").items():
        if logical_id.startswith("CursorSigningKey"):
            found["cursor-key"] = logical_id
        for secret in deployment.system.secrets:
            if resource["Properties"]["Description"].endswith(f": {secret.description}"):
                found[secret.id] = logical_id
    return found


def test_the_stages_secrets_are_generated_and_never_in_the_template(deployment: Deployment) -> None:
    # Given the stage's secrets: the cursor key and the platform's (the login pepper)
    secrets = _secrets(deployment)
    assert set(secrets) == {"cursor-key", *(s.id for s in deployment.system.secrets)}
    assert len(deployment.resources("AWS::SecretsManager::Secret")) == len(secrets)
    for logical_id in secrets.values():
        secret = deployment.props(logical_id)
        # Then each is generated by Secrets Manager (no value in the template)
        assert "SecretString" not in secret
        assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def test_the_cursor_key_is_read_at_run_time_by_the_functions_that_serve_routes_and_by_no_other(
    deployment: Deployment,
) -> None:
    # Given the stage's cursor key secret
    secret = _secrets(deployment)["cursor-key"]
    serving = {r.function.id for r in deployment.system.routes}
    # Then its value reaches no template (no dynamic reference resolved into an environment)
    assert "{{resolve:secretsmanager" not in json.dumps(deployment.template)
    for fn in deployment.system.functions:
        # And a function may read it exactly when it serves routes (it signs their list cursors)
        statements = deployment.statements_of_role(deployment.role_of(fn))
        readers = [
            s
            for s in statements
            if "secretsmanager:GetSecretValue" in as_list(s["Action"]) and mentions(s["Resource"], secret)
        ]
        assert len(readers) == (fn.id in serving), fn.id


def test_every_function_gets_exactly_the_environment_the_topology_gives_it(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given the environment the local runtime would give the function too
        expected = function_environment(
            deployment.system,
            fn,
            stage=deployment.stage.name,
            table_name=lambda t: f"<table {t.id}>",
            bus_name=lambda _: "<bus>",
            queue_url=lambda q: f"<queue {q.id}>",
            topic_arn=lambda t: f"<topic {t.id}>",
            cursor_key_secret="<cursor secret>",
            secret_arn=lambda x: f"<secret {x.id}>",
            cors_origin=deployment.stage.cors_origin,
            function_name=lambda f: f"<function {f.id}>",
            messaging=messaging_environment(
                sender=deployment.stage.campaign_sender,
                configuration_set="<configuration set>",
                push_applications=dict(deployment.stage.push_applications),
            ),
            public_api_url=deployment.stage.api_url,
            timers=lambda t: f"<timers {t.id}>",
        )
        # When the physical names are the template's references (Ref: a table's name, a queue's
        # URL, a topic's ARN, the bus's name)
        physical: dict[str, Any] = {f"<table {t}>": ref(logical) for t, logical in deployment.tables.items()}
        for kind, resource_type in (("queue", "AWS::SQS::Queue"), ("topic", "AWS::SNS::Topic")):
            physical |= {f"<{kind} {i}>": ref(r) for i, r in deployment.by_id_tag(resource_type).items()}
        physical["<bus>"] = ref(deployment.bus)
        physical |= {f"<function {f}>": ref(logical) for f, logical in deployment.functions.items()}
        physical["<configuration set>"] = ref(deployment.only("AWS::SES::ConfigurationSet")[0])
        secrets = _secrets(deployment)
        physical["<cursor secret>"] = ref(secrets.pop("cursor-key"))  # a secret's Ref is its ARN
        physical |= {f"<secret {x}>": ref(logical) for x, logical in secrets.items()}
        expected_in_template = {k: physical.get(v, v) for k, v in expected.items()}
        _, props = deployment.function(fn)
        deployed = dict(props["Environment"]["Variables"])
        # (a group of timers is JSON around references: its schedule group's name and its queue)
        for group in fn.timers:
            assert expected_in_template.pop(group.env_var) == f"<timers {group.id}>"
            config = json.dumps(deployed.pop(group.env_var))
            assert f"{deployment.stage.stage_id}-{group.id}" in config, fn.id
            assert json.dumps(ref(deployment.by_id_tag("AWS::SQS::Queue")[group.target.id])) in config, fn.id
        # Then the deployed function sees the same variables, no more and no fewer
        assert deployed == expected_in_template, fn.id


def test_a_function_dead_letters_its_asynchronous_invocations_exactly_when_it_has_them(
    deployment: Deployment,
) -> None:
    queues = set(deployment.resources("AWS::SQS::Queue"))
    for fn in deployment.system.functions:
        # Given whether the topology has it invoked asynchronously (or by nothing synchronous)
        _, props = deployment.function(fn)
        config = props.get("DeadLetterConfig")
        # Then its failed asynchronous invocations land in a queue of the stack, or it has none to catch
        if needs_async_dlq(deployment.system, fn):
            assert config is not None, fn.id
            assert config["TargetArn"]["Fn::GetAtt"][0] in queues, fn.id
        else:
            assert config is None, fn.id


def test_every_function_logs_to_its_own_log_group_kept_for_the_stage_retention(
    deployment: Deployment,
) -> None:
    # Given each function's log group
    groups = {fn.id: deployment.log_group_of(fn) for fn in deployment.system.functions}
    # Then no two functions share one, and each keeps logs as long as the stage says
    assert len(set(groups.values())) == len(groups), groups
    for fn_id, group in groups.items():
        assert deployment.template["Resources"][group]["Type"] == "AWS::Logs::LogGroup", fn_id
        assert deployment.props(group)["RetentionInDays"] == deployment.stage.log_retention_days, fn_id


# --- 5. API: one REST API whose routes are its OpenAPI body ----------------------------------------


def test_every_route_is_one_operation_of_the_body_and_every_other_is_a_preflight_or_the_405(
    deployment: Deployment,
) -> None:
    # Given the routes the topology declares
    declared = {(r.path, r.method) for r in deployment.system.routes}
    # When the API body's operations are read as (path, method)
    operations = set(deployment.operations)
    # Then every route is there, every path has a preflight and a 405 for the methods it does not
    # declare (API Gateway's ANY), and there is nothing else
    gateway_only = {"OPTIONS", ANY_METHOD.upper()}
    assert {o for o in operations if o[1] not in gateway_only} == declared
    for method in gateway_only:
        assert {o for o in operations if o[1] == method} == {(path, method) for path, _ in declared}
    # And no route is a CloudFormation resource of its own (the API stays small as routes are added)
    assert not deployment.resources("AWS::ApiGateway::Method")
    assert not deployment.resources("AWS::ApiGateway::Resource")


def test_every_route_is_authorized_by_the_one_cognito_user_pool_authorizer(deployment: Deployment) -> None:
    # Given the body's security schemes
    document, _ = deployment.api_body
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["cognito"]
    scheme = schemes["cognito"]
    # Then the one scheme is API Gateway's Cognito authorizer on our pool, reading Authorization
    assert (scheme["type"], scheme["name"], scheme["in"]) == ("apiKey", "Authorization", "header")
    assert scheme["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "cognito_user_pools"
    (provider,) = authorizer["providerARNs"]
    assert deployment.variable(provider) == arn(deployment.user_pool)
    for route in deployment.system.routes:
        operation = deployment.operations[(route.path, route.method)]
        if route.key in PUBLIC_METHODS:
            # And the opt-out links and the draws have no authorizer (API Gateway imports them as
            # AuthorizationType NONE) and ask for no Authorization header
            assert operation["security"] == [], route.key
            assert all(p["name"] != "Authorization" for p in operation["parameters"]), route.key
            continue
        # And every other route needs a valid token of it
        assert [set(s) for s in operation["security"]] == [{"cognito"}], route.key


# The methods without an authorizer, pinned here (a route made public by mistake fails above).
PUBLIC_METHODS = {
    "POST /unsubscribe/{token}",
    "GET /unsubscribe/{token}",
    "GET /draws/{gift_id}/{draw}",  # anyone may check a gift's draw (entry ids, never customers)
    "GET /draws/{gift_id}/{draw}/verification",
    "GET /webhooks/{source}",  # a social source's subscription check (answered with its secret)
    "POST /webhooks/{source}",  # its deliveries: signed by the source, checked by the function
}


def test_exactly_the_opt_out_methods_have_no_authorizer(deployment: Deployment) -> None:
    # Given every method of the body that reaches a function (preflights and the 405 are mocks)
    open_methods = {
        f"{method.upper()} {path}"
        for (path, method), operation in deployment.operations.items()
        if operation.get("x-amazon-apigateway-integration", {}).get("type") == "aws_proxy"
        and not operation.get("security")
    }
    # Then exactly the public methods it declares are open (the probe has no rewards service), and
    # the topology says they are public
    declared = PUBLIC_METHODS & {r.key for r in deployment.system.routes}
    assert open_methods == declared
    assert {r.key for r in deployment.system.routes if r.public} == declared


def test_every_route_invokes_the_function_the_topology_names_through_a_proxy_integration(
    deployment: Deployment,
) -> None:
    for route in deployment.system.routes:
        # Given a route's integration
        integration = deployment.operations[(route.path, route.method)]["x-amazon-apigateway-integration"]
        # Then it proxies to the route's function (through its live alias) and to no other
        assert integration["type"] == "aws_proxy", route.key
        assert integration["httpMethod"] == "POST", route.key
        assert integration["uri"].startswith("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/")
        assert integration["uri"].endswith("/invocations"), route.key
        assert deployment.invoked_by(deployment.operations[(route.path, route.method)]) == route.function.id


def test_only_routes_open_to_machine_clients_require_the_machine_scope(deployment: Deployment) -> None:
    for route in deployment.system.routes:
        if route.public:
            continue  # no authorizer at all (test_exactly_the_opt_out_methods_have_no_authorizer)
        # Given a route's security requirement
        (requirement,) = deployment.operations[(route.path, route.method)]["security"]
        scopes = requirement["cognito"]
        # Then a route machines may call accepts the machine scope (and users' access tokens);
        # any other route sets no scopes, so users' ID tokens keep working
        if Role.MACHINE in route.allow:
            assert MACHINE_SCOPE in scopes, route.key
        else:
            assert scopes == [], route.key


def test_every_route_validates_the_authorization_header_and_its_path_parameters(
    deployment: Deployment,
) -> None:
    # Given the body's request validators
    document, _ = deployment.api_body
    validators = document["x-amazon-apigateway-request-validators"]
    for route in deployment.system.routes:
        # When a route's operation is read
        operation = deployment.operations[(route.path, route.method)]
        required = {(p["in"], p["name"]) for p in operation["parameters"] if p.get("required")}
        # Then API Gateway rejects it before the function without the header or a path parameter,
        # and leaves bodies and every other parameter to the function (the same answers as locally)
        validator = validators[operation["x-amazon-apigateway-request-validator"]]
        assert validator == {"validateRequestParameters": True, "validateRequestBody": False}, route.key
        token = set() if route.public else {("header", "Authorization")}
        assert required == token | {("path", p) for p in route.path_params}, route.key


def test_api_gateway_may_invoke_each_function_that_serves_routes_once_and_only_from_this_api(
    deployment: Deployment,
) -> None:
    # Given the functions that serve routes, and the API and its stage
    serving = {r.function.id for r in deployment.system.routes}
    _, stage_props = deployment.api_stage
    # When the invoke permissions for API Gateway are read
    granted: dict[str, Json] = {}
    for resource in deployment.resources("AWS::Lambda::Permission").values():
        props = resource["Properties"]
        if props["Principal"] != "apigateway.amazonaws.com":
            continue
        assert props["Action"] == "lambda:InvokeFunction"
        function_id = deployment.function_of_target(props["FunctionName"])
        assert function_id not in granted, f"{function_id} has two permissions"
        granted[function_id] = props
    # Then each such function has exactly one, whatever its number of routes, on what the API invokes
    assert set(granted) == serving
    for function_id, props in granted.items():
        routes = [r for r in deployment.system.routes if r.function.id == function_id]
        operation = deployment.operations[(routes[0].path, routes[0].method)]
        assert props["FunctionName"] == deployment.variable(
            operation["x-amazon-apigateway-integration"]["uri"]
        ), function_id
        # And only this API's stage may use it (any route of it: which route reaches which function
        # is the body's integrations, pinned above)
        source = joined(props["SourceArn"])
        assert mentions(props["SourceArn"], deployment.rest_api), function_id
        assert source[-1] == "/*/*" or source[-1].endswith(f"/{stage_props['StageName']}/*/*"), source


def test_functions_that_serve_routes_start_from_a_snapshot_through_a_live_alias(stage: Deployment) -> None:
    serving = {r.function.id for r in stage.system.routes}
    aliases = stage.resources("AWS::Lambda::Alias")
    versions = stage.resources("AWS::Lambda::Version")
    for fn in stage.system.functions:
        logical_id, props = stage.function(fn)
        of_fn = [a for a in aliases.values() if a["Properties"]["FunctionName"] == ref(logical_id)]
        if fn.id not in serving or not stage.stage.snap_start:
            # Given a function nothing calls synchronously from the API: no snapshot, no alias
            assert "SnapStart" not in props, fn.id
            assert not of_fn, fn.id
            continue
        # Given a function that serves routes: SnapStart on published versions
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}, fn.id
        # And one alias, "live", on the version published for its current code and configuration
        (alias,) = of_fn
        assert alias["Properties"]["Name"] == "live"
        version_id = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]
        version = versions[version_id]
        assert version["Properties"]["FunctionName"] == ref(logical_id)
        # And a replaced version is deleted (each kept version's snapshot is billed)
        assert version.get("DeletionPolicy") == "Delete", fn.id


def test_the_stage_logs_json_access_logs_throttles_as_configured_and_traces(stage: Deployment) -> None:
    # Given the API's stage
    _, props = stage.api_stage
    config = stage.stage
    # Then access logs are JSON lines to a log group of the stage's retention
    access_format = json.loads(props["AccessLogSetting"]["Format"])
    assert isinstance(access_format, dict)
    assert {"requestId", "status"} <= set(access_format)
    destination = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    assert stage.props(destination)["RetentionInDays"] == config.log_retention_days
    # And every method is throttled at the configured rate and burst, without logging bodies
    (everything,) = (
        m for m in props["MethodSettings"] if (m["HttpMethod"], m["ResourcePath"]) == ("*", "/*")
    )
    assert everything["ThrottlingRateLimit"] == config.api_rate_limit
    assert everything["ThrottlingBurstLimit"] == config.api_burst_limit
    assert everything.get("DataTraceEnabled", False) is False
    # And requests are traced by X-Ray, on the stage named after the stage
    assert props["TracingEnabled"] is True
    assert props["StageName"] == config.name


def test_the_api_is_regional_and_takes_its_endpoint_type_from_the_import_too(stage: Deployment) -> None:
    # Given the REST API resource
    props = stage.props(stage.rest_api)
    # Then it is regional, and says so to the OpenAPI import (which otherwise makes it edge)
    assert props["EndpointConfiguration"]["Types"] == ["REGIONAL"]
    assert props["Parameters"] == {"endpointConfigurationTypes": "REGIONAL"}


def test_the_api_is_redeployed_whenever_its_body_changes(stage: Deployment) -> None:
    # Given the API's deployment and stage
    deployment_id, deployment = stage.only("AWS::ApiGateway::Deployment")
    _, props = stage.api_stage
    # Then the stage serves that deployment, whose logical id is derived from the body (a changed
    # body is a new deployment; CloudFormation would otherwise keep serving the old routes)
    assert props["DeploymentId"] == ref(deployment_id)
    assert deployment["Properties"]["RestApiId"] == ref(stage.rest_api)


# Errors API Gateway makes itself -> the status class it must answer with.
GATEWAY_ERRORS = {
    "UNAUTHORIZED": "401",
    "ACCESS_DENIED": "403",
    "WAF_FILTERED": "403",
    "MISSING_AUTHENTICATION_TOKEN": "404",
    "RESOURCE_NOT_FOUND": "404",
    "REQUEST_TOO_LARGE": "413",
    "THROTTLED": "429",
    "DEFAULT_4XX": "4",
    "DEFAULT_5XX": "5",
}
# The same refusal has the same code whether API Gateway or a function makes it.
SAME_CODE_AS_FUNCTIONS = {
    "UNAUTHORIZED": Unauthorized.default_code,
    "ACCESS_DENIED": Forbidden.default_code,
    "THROTTLED": Throttled.default_code,
    "REQUEST_TOO_LARGE": PayloadTooLarge.default_code,
}


def test_every_gateway_made_error_has_our_error_body_and_a_cors_origin(deployment: Deployment) -> None:
    # Given the gateway responses of the API's body
    document, _ = deployment.api_body
    responses = document["x-amazon-apigateway-gateway-responses"]
    origin = f"'{deployment.stage.cors_origin}'"
    # Then the 401/403/404/413/429 and default 4xx/5xx ones are there with the right status
    assert set(responses) >= set(GATEWAY_ERRORS)
    for response_type, status in GATEWAY_ERRORS.items():
        assert str(responses[response_type]["statusCode"]).startswith(status), response_type
    for response_type, props in responses.items():
        # And each answers {"error": {"code", "message", "details"}} like the functions do
        body = json.loads(props["responseTemplates"]["application/json"])
        assert set(body) == {"error"}, response_type
        assert {"code", "message", "details"} <= set(body["error"]), response_type
        code = body["error"]["code"]
        assert re.fullmatch(r"[a-z][a-z_]*", code), response_type
        if response_type in SAME_CODE_AS_FUNCTIONS:
            assert code == SAME_CODE_AS_FUNCTIONS[response_type], response_type
        # And a browser on the stage's origin may read it
        allow = props["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
        assert allow == origin, response_type


def _header_values(value: str) -> set[str]:
    return {v.strip().lower() for v in value.strip("'").split(",")}


def test_cors_preflight_allows_our_request_headers_and_methods_from_the_configured_origin(
    deployment: Deployment,
) -> None:
    origin = f"'{deployment.stage.cors_origin}'"
    needed = {h.lower() for h in ("Authorization", "Content-Type", IDEMPOTENCY_HEADER, "If-Match")}
    for path in {r.path for r in deployment.system.routes}:
        # Given the preflight of a route's path
        preflight = deployment.operations[(path, "OPTIONS")]
        integration = preflight["x-amazon-apigateway-integration"]
        headers = integration["responses"]["default"]["responseParameters"]
        # Then it needs no token, is answered by API Gateway itself, and allows our headers, the
        # path's methods and only our origin
        assert preflight["security"] == [], path
        assert integration["type"] == "mock", path
        declared = set(preflight["responses"][integration["responses"]["default"]["statusCode"]]["headers"])
        assert {h.removeprefix("method.response.header.") for h in headers} <= declared, path
        assert _header_values(headers["method.response.header.Access-Control-Allow-Headers"]) >= needed, path
        methods = _header_values(headers["method.response.header.Access-Control-Allow-Methods"])
        assert {r.method.lower() for r in deployment.system.routes if r.path == path} <= methods, path
        assert headers["method.response.header.Access-Control-Allow-Origin"] == origin, path


# --- 6. Cognito ----------------------------------------------------------------------------------


def _clients(stage: Deployment) -> tuple[list[Json], list[Json]]:
    """(app clients, machine clients) of the user pool."""
    clients = [r["Properties"] for r in stage.resources("AWS::Cognito::UserPoolClient").values()]
    assert all(c["UserPoolId"] == ref(stage.user_pool) for c in clients)
    machine = [c for c in clients if "client_credentials" in c.get("AllowedOAuthFlows", [])]
    return [c for c in clients if c not in machine], machine


def test_the_user_pool_has_one_group_per_role(stage: Deployment) -> None:
    # Given the user pool's groups
    groups = [r["Properties"] for r in stage.resources("AWS::Cognito::UserPoolGroup").values()]
    # Then there is exactly one per role a person may have (a machine is a client, in no group)
    assert all(g["UserPoolId"] == ref(stage.user_pool) for g in groups)
    assert sorted(g["GroupName"] for g in groups) == sorted(r.value for r in Role if r is not Role.MACHINE)


def test_the_app_client_has_no_secret(stage: Deployment) -> None:
    # Given the user pool's app client (the one browsers and phones use)
    (app,), _ = _clients(stage)
    # Then it has no secret (a public client cannot keep one) and no plain-password flow
    assert app["GenerateSecret"] is False
    assert "ALLOW_USER_PASSWORD_AUTH" not in app.get("ExplicitAuthFlows", [])


def test_the_app_client_offers_no_implicit_grant_and_no_placeholder_callback(stage: Deployment) -> None:
    # Given the user pool's app client
    (app,), _ = _clients(stage)
    # Then tokens never travel in a URL fragment, and no callback points at a placeholder
    assert "implicit" not in app.get("AllowedOAuthFlows", [])
    assert not [url for url in app.get("CallbackURLs", []) if "example.com" in url]


def test_the_machine_client_uses_client_credentials_with_the_machine_scope(stage: Deployment) -> None:
    # Given the machine client and the resource servers of the pool
    _, (machine,) = _clients(stage)
    servers = {k: r["Properties"] for k, r in stage.resources("AWS::Cognito::UserPoolResourceServer").items()}
    assert all(s["UserPoolId"] == ref(stage.user_pool) for s in servers.values())

    def resolve(part: Any) -> str:  # a Ref to a resource server is its identifier
        return part if isinstance(part, str) else str(servers[part["Ref"]]["Identifier"])

    # When its scopes are resolved
    scopes = {"".join(resolve(p) for p in joined(s)) for s in machine["AllowedOAuthScopes"]}
    declared = {f"{s['Identifier']}/{sc['ScopeName']}" for s in servers.values() for sc in s["Scopes"]}
    # Then it only does client credentials, keeps a secret and gets exactly the machine scope
    assert machine["AllowedOAuthFlows"] == ["client_credentials"]
    assert machine["GenerateSecret"] is True
    assert scopes == {MACHINE_SCOPE}
    assert MACHINE_SCOPE in declared


def test_passwords_are_at_least_12_characters(stage: Deployment) -> None:
    # Given the user pool
    policy = stage.props(stage.user_pool)["Policies"]["PasswordPolicy"]
    # Then short passwords are refused
    assert policy["MinimumLength"] >= 12


# --- 7. messaging and operations ------------------------------------------------------------------


def test_the_event_bus_is_archived_for_the_stage_retention(stage: Deployment) -> None:
    # Given the bus and its archives
    archives = [r["Properties"] for r in stage.resources("AWS::Events::Archive").values()]
    # Then one archive keeps the bus's events for the stage's retention, for replay
    of_bus = [a for a in archives if a["SourceArn"] == arn(stage.bus)]
    assert len(of_bus) == 1, archives
    assert of_bus[0]["RetentionDays"] == stage.stage.archive_retention_days


def test_the_bus_archive_names_a_real_kms_key_or_none(stage: Deployment) -> None:
    # Given the bus's archive
    (archive,) = (
        r["Properties"]
        for r in stage.resources("AWS::Events::Archive").values()
        if r["Properties"]["SourceArn"] == arn(stage.bus)
    )
    # Then it either names a key or leaves the property out (AWS-owned key); never an empty name
    assert archive.get("KmsKeyIdentifier", None) != ""


def _alarm_topic(deployment: Deployment) -> str:
    """The one SNS topic every alarm notifies."""
    alarms = deployment.resources("AWS::CloudWatch::Alarm")
    assert alarms
    targets = {key(a) for r in alarms.values() for a in r["Properties"].get("AlarmActions", [])}
    assert len(targets) == 1, f"alarms notify {sorted(targets)}"
    topic = json.loads(targets.pop())["Ref"]
    assert deployment.template["Resources"][topic]["Type"] == "AWS::SNS::Topic"
    return str(topic)


def test_every_alarm_notifies_the_one_alarm_topic(deployment: Deployment) -> None:
    # Given every alarm in the template
    topic = _alarm_topic(deployment)
    # Then each has an action, and it is the alarm topic
    for logical_id, alarm in deployment.resources("AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"].get("AlarmActions") == [ref(topic)], logical_id


def test_the_alarm_topic_is_encrypted_with_a_rotating_key_and_refuses_plain_http(stage: Deployment) -> None:
    # Given the alarm topic
    topic = _alarm_topic(stage)
    key_id = stage.props(topic)["KmsMasterKeyId"]["Fn::GetAtt"][0]
    # Then it is encrypted with our own key, which rotates
    assert stage.template["Resources"][key_id]["Type"] == "AWS::KMS::Key"
    assert stage.props(key_id)["EnableKeyRotation"] is True
    # And its policy denies every request not made over TLS
    policies = [r["Properties"] for r in stage.resources("AWS::SNS::TopicPolicy").values()]
    of_topic = [p for p in policies if ref(topic) in p["Topics"]]
    assert len(of_topic) == 1, f"{len(of_topic)} policies on the alarm topic"
    (policy,) = of_topic
    denials = [
        s
        for s in as_list(policy["PolicyDocument"]["Statement"])
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert denials
    assert any(d["Principal"] == "*" and "sns:Publish" in as_list(d["Action"]) for d in denials)


def test_every_kms_key_rotates(stage: Deployment) -> None:
    keys = stage.resources("AWS::KMS::Key")
    assert keys
    for logical_id, resource in keys.items():
        assert resource["Properties"]["EnableKeyRotation"] is True, logical_id


def test_cloudwatch_may_use_the_alarm_topic_key_to_deliver_alarms(stage: Deployment) -> None:
    # Given the key that encrypts the alarm topic
    key_id = stage.props(_alarm_topic(stage))["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = as_list(stage.props(key_id)["KeyPolicy"]["Statement"])
    # Then CloudWatch may encrypt with it, or alarms never reach the topic
    granted = {
        action
        for s in statements
        if s["Effect"] == "Allow" and "cloudwatch.amazonaws.com" in as_list(s["Principal"].get("Service", []))
        for action in as_list(s["Action"])
    }
    assert "kms:Decrypt" in granted
    assert granted & {"kms:GenerateDataKey*", "kms:GenerateDataKey"}


def test_the_alarm_topic_lets_cloudwatch_alarms_publish(stage: Deployment) -> None:
    # Given the alarm topic's policy
    topic = _alarm_topic(stage)
    policies = [r["Properties"] for r in stage.resources("AWS::SNS::TopicPolicy").values()]
    (policy,) = (p for p in policies if ref(topic) in p["Topics"])
    # Then CloudWatch alarms may publish to it
    assert any(
        s["Effect"] == "Allow"
        and "cloudwatch.amazonaws.com" in as_list(s["Principal"].get("Service", []))
        and "sns:Publish" in as_list(s["Action"])
        for s in as_list(policy["PolicyDocument"]["Statement"])
        if isinstance(s.get("Principal"), dict)
    )


def test_every_function_has_an_errors_alarm(deployment: Deployment) -> None:
    # Given the alarms on Lambda metrics
    alarms = [r["Properties"] for r in deployment.resources("AWS::CloudWatch::Alarm").values()]
    for fn in deployment.system.functions:
        logical_id, _ = deployment.function(fn)
        # Then each declared function's errors raise one
        on_errors = [
            a
            for a in alarms
            if (a.get("Namespace"), a.get("MetricName")) == ("AWS/Lambda", "Errors")
            and a.get("Dimensions") == [{"Name": "FunctionName", "Value": ref(logical_id)}]
        ]
        assert len(on_errors) == 1, fn.id
        assert on_errors[0]["AlarmActions"], fn.id


def test_the_api_has_a_5xx_alarm(stage: Deployment) -> None:
    # Given the API's name and the alarms
    api_name = stage.props(stage.rest_api)["Name"]
    alarms = [r["Properties"] for r in stage.resources("AWS::CloudWatch::Alarm").values()]
    # Then its server errors raise one
    on_5xx = [
        a
        for a in alarms
        if (a.get("Namespace"), a.get("MetricName")) == ("AWS/ApiGateway", "5XXError")
        and {"Name": "ApiName", "Value": api_name} in a.get("Dimensions", [])
    ]
    assert len(on_5xx) == 1
    assert on_5xx[0]["AlarmActions"]


# --- 8. synthesis needs no AWS --------------------------------------------------------------------

ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")


def test_the_cloud_assembly_lists_every_stage(synthesized: Synthesized) -> None:
    # Given the cloud assembly's manifest
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())
    # Then each configured stage is a nested assembly in it
    nested = {k for k, v in manifest["artifacts"].items() if v["type"] == "cdk:cloud-assembly"}
    assert nested == {f"assembly-{s.stage_id}" for s in STAGES} | {f"assembly-{a.stage_id}" for a in ACCOUNTS}


def test_every_stack_targets_its_configured_account_or_is_account_agnostic(stage: Deployment) -> None:
    # Given the stage's nested manifest
    manifest = json.loads((stage.assembly / "manifest.json").read_text())
    stacks = [a for a in manifest["artifacts"].values() if a["type"] == "aws:cloudformation:stack"]
    # Then its one stack's environment is the configured account (or none) and region
    account = stage.stage.account or "unknown-account"
    assert [s["environment"] for s in stacks] == [f"aws://{account}/{stage.stage.region}"]
    # And synthesis asked AWS nothing (no context lookup is pending)
    assert "missing" not in manifest


def test_no_template_hard_codes_an_account_id_unless_its_stage_sets_one(stage: Deployment) -> None:
    # Given the stage's template as text
    text = json.dumps(stage.template)
    # When 12-digit numbers (account ids) are looked for
    found = set(ACCOUNT_ID.findall(text))
    # Then there are none, or only the stage's configured account
    assert found <= ({stage.stage.account} if stage.stage.account else set())
    assert "AWS::AccountId" in text  # the account is resolved at deploy time instead
