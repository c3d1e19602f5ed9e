"""What the synthesized template and the local runtime each say exists, in one comparable shape."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import boto3
from moto import mock_aws

from infra.config import StageConfig
from infra.local import provision
from infra.local.gateway import Router
from infra.openapi import ANY_METHOD
from infra.stacks.service import ID_TAG
from shared.topology import Function, System

TableShape = dict[str, Any]
RouteShape = tuple[str, str, str, bool]  # method, path, function id, needs a Cognito token


def _tag(resource: dict[str, Any]) -> str | None:
    tags = resource.get("Properties", {}).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == ID_TAG), None)


def _keys(schema: list[dict[str, str]], types: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in schema)


def _shape(description: dict[str, Any], ttl: str | None) -> TableShape:
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    return {
        "keys": _keys(description["KeySchema"], types),
        "indexes": sorted(
            (g["IndexName"], _keys(g["KeySchema"], types), g["Projection"]["ProjectionType"])
            for g in description.get("GlobalSecondaryIndexes", [])
        ),
        "ttl": ttl,
        "stream": (description.get("StreamSpecification") or {}).get("StreamViewType"),
    }


def template_tables(template: dict[str, Any]) -> dict[str, TableShape]:
    tables = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        ttl = props.get("TimeToLiveSpecification", {})
        tables[str(_tag(resource))] = _shape(props, ttl.get("AttributeName") if ttl.get("Enabled") else None)
    return tables


def local_tables(system: System, stage: str = "local") -> dict[str, TableShape]:
    """Create the tables as `dangol-local up` does (on moto) and describe what exists."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-2")
        names = provision.create_tables(client, system, stage)
        tables = {}
        for table_id, name in names.items():
            description = client.describe_table(TableName=name)["Table"]
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            enabled = ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}
            tables[table_id] = _shape(description, ttl.get("AttributeName") if enabled else None)
        return tables


def _invoked_function(uri: str, variables: dict[str, Any], resources: dict[str, Any]) -> str:
    """The topology id of the function an integration URI invokes (directly or through an alias)."""
    (name,) = re.findall(r"\$\{(Fn[A-Za-z0-9]+)\}", uri)
    target = variables[name]
    logical_id = target["Ref"] if "Ref" in target else target["Fn::GetAtt"][0]
    if resources[logical_id]["Type"] == "AWS::Lambda::Alias":
        logical_id = resources[logical_id]["Properties"]["FunctionName"]["Ref"]
    return str(_tag(resources[logical_id]))


def template_routes(template: dict[str, Any]) -> set[RouteShape]:
    """The routes of the REST API's OpenAPI body: method, path, the function its integration
    invokes, and whether the Cognito authorizer guards it."""
    resources = template["Resources"]
    (api,) = (r for r in resources.values() if r["Type"] == "AWS::ApiGateway::RestApi")
    text, variables = api["Properties"]["Body"]["Fn::Sub"]
    document = json.loads(text)
    schemes = document["components"]["securitySchemes"]
    routes = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in ("options", ANY_METHOD):  # the preflight, the 405 of undeclared methods
                continue
            authorized = any(
                schemes[name].get("x-amazon-apigateway-authtype") == "cognito_user_pools"
                for requirement in operation["security"]
                for name in requirement
            )
            uri = operation["x-amazon-apigateway-integration"]["uri"]
            routes.add((method.upper(), path, _invoked_function(uri, variables, resources), authorized))
    return routes


def local_routes(system: System) -> set[RouteShape]:
    """What the local gateway serves: its router resolves each path to a function, and the gateway
    checks a Cognito token before any function runs, on every route but a public one."""
    router = Router(system.routes)
    served = set()
    for route in system.routes:
        matched, _ = router.match(route.method, route.path)  # a template path matches itself
        served.add((matched.method, matched.path, matched.function.id, not matched.public))
    return served


# --- the asynchronous backbone -------------------------------------------------------------------

SQS_DEFAULT_VISIBILITY_S = 30  # what SQS applies when a queue sets none
SQS_DEFAULT_RETENTION_S = 4 * 86400

QueueShape = dict[str, Any]  # dlq id, maxReceiveCount, visibility timeout, retention
ConsumerShape = dict[str, Any]  # function id, batch size, window, maximum concurrency
SubscriptionShape = tuple[str, str, str | None, str | None, bool]  # topic, queue, filter, scope, raw
RuleShape = dict[str, Any]  # pattern, target id, DLQ id, retry attempts, maximum event age
ScheduleShape = dict[str, Any]  # expression, time zone, target id, input, window, retries


@dataclass(frozen=True)
class Backbone:
    queues: dict[str, QueueShape]
    consumers: dict[str, ConsumerShape]  # by queue id
    subscriptions: set[SubscriptionShape]
    rules: dict[str, RuleShape]
    schedules: dict[str, ScheduleShape]


def _filter(policy: Any) -> str | None:
    """A filter policy (a JSON string or an object) in one canonical form."""
    if policy in (None, ""):
        return None
    return json.dumps(json.loads(policy) if isinstance(policy, str) else policy, sort_keys=True)


def _queue_shape(
    redrive: dict[str, Any] | None, dlq: str | None, visibility: Any, retention: Any
) -> QueueShape:
    return {
        "dlq": dlq,
        "max_receive_count": int(redrive["maxReceiveCount"]) if redrive else None,
        "visibility_s": int(visibility) if visibility is not None else SQS_DEFAULT_VISIBILITY_S,
        "retention_s": int(retention) if retention is not None else SQS_DEFAULT_RETENTION_S,
    }


def _tagged(template: dict[str, Any], kind: str) -> dict[str, str]:
    """Logical id -> ``dangol:id`` of every resource of ``kind`` that has the tag."""
    return {
        k: str(_tag(v)) for k, v in template["Resources"].items() if v["Type"] == kind and _tag(v) is not None
    }


def _logical(value: Any) -> str:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names."""
    return str(value["Ref"]) if "Ref" in value else str(value["Fn::GetAtt"][0])


def template_backbone(template: dict[str, Any], stage: StageConfig) -> Backbone:
    resources = template["Resources"]
    of_kind = lambda kind: {k: v["Properties"] for k, v in resources.items() if v["Type"] == kind}  # noqa: E731
    queues = _tagged(template, "AWS::SQS::Queue")
    topics = _tagged(template, "AWS::SNS::Topic")
    functions = _tagged(template, "AWS::Lambda::Function")
    targets = queues | functions

    queue_shapes = {}
    for logical_id, queue_id in queues.items():
        props = resources[logical_id]["Properties"]
        redrive = props.get("RedrivePolicy")
        dlq = queues[_logical(redrive["deadLetterTargetArn"])] if redrive else None
        queue_shapes[queue_id] = _queue_shape(
            redrive, dlq, props.get("VisibilityTimeout"), props.get("MessageRetentionPeriod")
        )
    consumers = {
        queues[_logical(p["EventSourceArn"])]: {
            "function": functions[_logical(p["FunctionName"])],
            "batch_size": p.get("BatchSize", 10),
            "window_s": p.get("MaximumBatchingWindowInSeconds", 0),
            "max_concurrency": p.get("ScalingConfig", {}).get("MaximumConcurrency"),
        }
        for p in of_kind("AWS::Lambda::EventSourceMapping").values()
    }
    subscriptions = {
        (
            topics[_logical(p["TopicArn"])],
            queues[_logical(p["Endpoint"])],
            _filter(p.get("FilterPolicy")),
            p.get("FilterPolicyScope") if p.get("FilterPolicy") else None,
            bool(p.get("RawMessageDelivery", False)),
        )
        for p in of_kind("AWS::SNS::Subscription").values()
        if p["Protocol"] == "sqs"
    }
    rules = {}
    for logical_id, rule_id in _tagged(template, "AWS::Events::Rule").items():
        props = resources[logical_id]["Properties"]
        (target,) = props["Targets"]
        rules[rule_id] = {
            "pattern": props["EventPattern"],
            "target": targets[_logical(target["Arn"])],
            "dlq": queues[_logical(target["DeadLetterConfig"]["Arn"])],
            "retry_attempts": target["RetryPolicy"]["MaximumRetryAttempts"],
            "max_event_age_s": target["RetryPolicy"]["MaximumEventAgeInSeconds"],
        }
    schedules = {}
    prefix = f"{stage.stage_id}-"
    for props in of_kind("AWS::Scheduler::Schedule").values():
        assert props["Name"].startswith(prefix), props["Name"]
        window = props["FlexibleTimeWindow"]
        schedules[props["Name"].removeprefix(prefix)] = {
            "expression": props["ScheduleExpression"],
            "timezone": props.get("ScheduleExpressionTimezone", "UTC"),
            "target": targets[_logical(props["Target"]["Arn"])],
            "input": json.loads(props["Target"].get("Input", "{}")),
            "flexible_window_min": window.get("MaximumWindowInMinutes")
            if window["Mode"] == "FLEXIBLE"
            else None,
            "retry_attempts": props["Target"]["RetryPolicy"]["MaximumRetryAttempts"],
            "max_event_age_s": props["Target"]["RetryPolicy"]["MaximumEventAgeInSeconds"],
        }
    return Backbone(queue_shapes, consumers, subscriptions, rules, schedules)


def local_backbone(system: System, stage: str = "local") -> Backbone:
    """Create the backbone as `dangol-local up` does (``provision.create_messaging`` on moto) and read
    back what exists. What moto does not hold, the local runtime reads from the topology objects
    themselves: the pollers their ``Consumer``, the bus tap the rules that target a function, the
    scheduler its ``Schedule``; those come from the same objects here."""
    with mock_aws():
        region = "ap-northeast-2"
        sqs = boto3.client("sqs", region_name=region)
        sns = boto3.client("sns", region_name=region)
        events = boto3.client("events", region_name=region)
        bus = provision.create_bus(events, system, stage)
        created = provision.create_messaging((sqs, sns, events), system, stage=stage, bus=bus)
        queue_ids = {arn: queue_id for queue_id, arn in created.queue_arns.items()}

        queues = {}
        for queue_id, url in created.queue_urls.items():
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
            dlq = queue_ids[redrive["deadLetterTargetArn"]] if redrive else None
            queues[queue_id] = _queue_shape(
                redrive, dlq, attrs.get("VisibilityTimeout"), attrs.get("MessageRetentionPeriod")
            )

        subscriptions = set()
        for topic_id, topic_arn in created.topic_arns.items():
            for listed in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]:
                arn = listed["SubscriptionArn"]
                attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
                policy = _filter(attrs.get("FilterPolicy"))
                subscriptions.add(
                    (
                        topic_id,
                        queue_ids[listed["Endpoint"]],
                        policy,
                        attrs.get("FilterPolicyScope", "MessageAttributes") if policy else None,
                        attrs.get("RawMessageDelivery") == "true",
                    )
                )

        rule_ids = {name: rule_id for rule_id, name in created.rule_names.items()}
        declared = {r.id: r for r in system.rules}
        rules = {}
        for listed_rule in events.list_rules(EventBusName=bus)["Rules"]:
            rule_id = rule_ids[listed_rule["Name"]]
            shape: RuleShape = {"pattern": json.loads(listed_rule["EventPattern"])}
            found = events.list_targets_by_rule(Rule=listed_rule["Name"], EventBusName=bus)["Targets"]
            if found:  # moto delivers to a queue target itself
                (target,) = found
                shape |= {
                    "target": queue_ids[target["Arn"]],
                    "dlq": queue_ids[target["DeadLetterConfig"]["Arn"]],
                    "retry_attempts": target["RetryPolicy"]["MaximumRetryAttempts"],
                    "max_event_age_s": target["RetryPolicy"]["MaximumEventAgeInSeconds"],
                }
            else:  # the bus tap invokes a function target, from the topology's rule
                rule = declared[rule_id]
                assert isinstance(rule.target, Function), rule_id
                shape |= {
                    "target": rule.target.id,
                    "dlq": rule.dlq_id,
                    "retry_attempts": rule.retry_attempts,
                    "max_event_age_s": rule.max_event_age_s,
                }
            rules[rule_id] = shape

    consumers = {
        c.queue.id: {
            "function": c.function.id,
            "batch_size": c.batch_size,
            "window_s": c.window_s,
            "max_concurrency": c.max_concurrency,
        }
        for c in system.consumers
    }
    schedules = {
        s.id: {
            "expression": s.expression,
            "timezone": s.timezone,
            "target": s.target.id,
            "input": json.loads(s.input),
            "flexible_window_min": s.flexible_window_min,
            "retry_attempts": s.retry_attempts,
            "max_event_age_s": s.max_event_age_s,
        }
        for s in system.schedules
    }
    return Backbone(queues, consumers, subscriptions, rules, schedules)
