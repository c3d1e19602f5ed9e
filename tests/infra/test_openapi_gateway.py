"""The REST API's body is OpenAPI 3.0 in the form API Gateway imports, with every extension it needs.

No local test deploys the API, so what API Gateway's importer accepts is pinned here: the
document validates as OpenAPI 3.0; its models use only the JSON Schema (draft 4) keywords API
Gateway's models take, under alphanumeric names; its parameters keep only what API Gateway reads;
its paths use only the characters API Gateway allows ("Amazon API Gateway important notes for
REST APIs"); and every route carries the integration, authorizer and validator extensions. The
same routes, models and roles as the served ``/openapi.json`` (3.1) are in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from infra import openapi
from infra.topology import SYSTEM
from shared.auth import MACHINE_SCOPE, Role

pytestmark = pytest.mark.infra
Json = dict[str, Any]

# The draft-4 keywords an API Gateway model may use (OpenAPI 3.0's schema object, minus what API
# Gateway documents as unsupported: discriminator, example, exclusiveMinimum/Maximum, readOnly).
MODEL_KEYWORDS = openapi._KEPT
UNSUPPORTED = {
    "discriminator",
    "example",
    "examples",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "readOnly",
    "oneOf",
}
OAS30_SCHEMA_FIELDS = {
    "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
    "required", "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties",
    "additionalProperties", "description", "format", "default", "nullable", "discriminator", "readOnly",
    "writeOnly", "xml", "externalDocs", "example", "deprecated", "$ref",
}  # fmt: skip
PATH_SEGMENT = re.compile(r"^([A-Za-z0-9\-.,:]+|\{[A-Za-z0-9_]+\})$")
GATEWAY = openapi.Gateway(
    invoke_arn=lambda fn: "${Fn" + fn.id.replace("-", "") + "}",
    user_pool_arn="${UserPoolArn}",
    cors_origin="https://app.dangol.example",
    partition="${AWS::Partition}",
    region="${AWS::Region}",
)


@pytest.fixture(scope="module")
def served() -> Json:
    return openapi.document(SYSTEM)


@pytest.fixture(scope="module")
def body(served: Json) -> Json:
    return openapi.for_api_gateway(SYSTEM, served, GATEWAY, title="dangol-test")


def _schemas(value: Any, where: str = "") -> Iterator[tuple[str, Json]]:
    """Every schema object in a schema tree, with where it is."""
    if isinstance(value, dict):
        yield where, value
        for key in ("properties",):
            for name, sub in value.get(key, {}).items():
                yield from _schemas(sub, f"{where}.{name}")
        for key in ("items", "additionalProperties", "not"):
            if isinstance(value.get(key), dict):
                yield from _schemas(value[key], f"{where}.{key}")
        for key in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(value.get(key, [])):
                yield from _schemas(sub, f"{where}.{key}[{i}]")


def _all_schemas(body: Json) -> Iterator[tuple[str, Json]]:
    for name, model in body["components"]["schemas"].items():
        yield from _schemas(model, name)
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                yield from _schemas(parameter["schema"], f"{method} {path} {parameter['name']}")
            for part in ("requestBody",):
                for media, content in operation.get(part, {}).get("content", {}).items():
                    yield from _schemas(content["schema"], f"{method} {path} {media}")
            for status, response in operation["responses"].items():
                for media, content in response.get("content", {}).items():
                    yield from _schemas(content["schema"], f"{method} {path} {status} {media}")


def test_the_body_is_valid_openapi_3_0(body: Json) -> None:
    assert body["openapi"].startswith("3.0.")
    validate(body)  # raises on any violation of the 3.0 specification


def test_a_broken_body_fails_the_validation(body: Json) -> None:
    # (the base case of the test above: the validator does reject a 3.0 document with a 3.1 schema)
    broken = json.loads(json.dumps(body))
    first = next(iter(broken["components"]["schemas"]))
    broken["components"]["schemas"][first]["type"] = ["string", "null"]
    with pytest.raises(Exception, match="is not valid"):
        validate(broken)


def test_models_use_only_keywords_api_gateway_takes(body: Json) -> None:
    assert MODEL_KEYWORDS <= OAS30_SCHEMA_FIELDS
    assert not MODEL_KEYWORDS & UNSUPPORTED
    for where, schema in _all_schemas(body):
        assert set(schema) <= MODEL_KEYWORDS, (where, sorted(set(schema) - MODEL_KEYWORDS))
        if "type" in schema:
            assert isinstance(schema["type"], str), where  # 3.0: one type (nullable says null)


def test_model_names_are_alphanumeric_and_every_reference_resolves(body: Json) -> None:
    models = body["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", name) for name in models)
    text = json.dumps(body)
    for target in re.findall(r'"\$ref": "([^"]+)"', text):
        assert target.startswith("#/components/schemas/"), target
        assert target.removeprefix("#/components/schemas/") in models, target


def test_the_served_models_are_all_there_under_their_gateway_names(served: Json, body: Json) -> None:
    served_models = served["components"]["schemas"]
    assert {openapi.model_name(n) for n in served_models} == set(body["components"]["schemas"])
    # And a model keeps its properties and required fields
    for name, model in served_models.items():
        converted = body["components"]["schemas"][openapi.model_name(name)]
        assert set(model.get("properties", {})) == set(converted.get("properties", {})), name
        assert model.get("required", []) == converted.get("required", []), name


def test_parameters_keep_only_what_api_gateway_reads_and_only_paths_and_authorization_are_required(
    body: Json,
) -> None:
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                assert set(parameter) <= {"name", "in", "required", "description", "schema"}, parameter
                required = parameter["in"] == "path" or (
                    parameter["in"] == "header"
                    and parameter["name"] == "Authorization"
                    and method not in ("options", openapi.ANY_METHOD)
                    and not path.startswith(("/unsubscribe/", "/draws/"))  # public: no token
                )
                assert parameter["required"] is required, (method, path, parameter)


def test_paths_use_only_the_characters_api_gateway_allows(body: Json) -> None:
    for path in body["paths"]:
        assert path.startswith("/")
        for segment in path.strip("/").split("/"):
            assert PATH_SEGMENT.match(segment), (path, segment)


def test_the_served_routes_and_roles_are_the_bodys(served: Json, body: Json) -> None:
    # Given the routes the resolvers serve (3.1) and the routes of the body
    def routes(document: Json) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method in operations
            if method not in ("options", openapi.ANY_METHOD)
        }

    assert routes(body) == routes(served) == {(r.method, r.path) for r in SYSTEM.routes}
    for route in SYSTEM.routes:
        operation = body["paths"][route.path][route.method.lower()]
        # Then each says who may call it, in the same words as the served document
        assert operation["description"] == openapi.roles_text(route), route.key
        served_operation = served["paths"][route.path][route.method.lower()]
        assert openapi.roles_text(route) in served_operation.get("description", ""), route.key


def test_every_route_has_the_integration_authorizer_and_validator_extensions(body: Json) -> None:
    validators = body["x-amazon-apigateway-request-validators"]
    for route in SYSTEM.routes:
        operation = body["paths"][route.path][route.method.lower()]
        integration = operation["x-amazon-apigateway-integration"]
        assert integration == {
            "type": "aws_proxy",
            "httpMethod": "POST",
            "uri": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
            + GATEWAY.invoke_arn(route.function)
            + "/invocations",
            "passthroughBehavior": "when_no_match",
            "timeoutInMillis": 29000,
        }, route.key
        assert operation["x-amazon-apigateway-request-validator"] in validators
        if route.public:  # an opt-out link: no authorizer, the function checks its signed token
            assert operation["security"] == [], route.key
            continue
        (requirement,) = operation["security"]
        assert list(requirement) == ["cognito"]
        assert (MACHINE_SCOPE in requirement["cognito"]) == (Role.MACHINE in route.allow), route.key


def test_the_authorizer_and_gateway_responses_are_declared_once(body: Json) -> None:
    scheme = body["components"]["securitySchemes"]["cognito"]
    assert scheme["x-amazon-apigateway-authorizer"] == {
        "type": "cognito_user_pools",
        "providerARNs": ["${UserPoolArn}"],
    }
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == set(openapi.GATEWAY_ERRORS)
    for kind, (status, code) in openapi.GATEWAY_ERRORS.items():
        assert responses[kind]["statusCode"] == status
        assert json.loads(responses[kind]["responseTemplates"]["application/json"])["error"]["code"] == code


def test_the_draft4_conversion_keeps_meaning_where_api_gateway_can_hold_it() -> None:
    # Given 2020-12 constructs pydantic emits
    converted = openapi.draft4(
        {
            "anyOf": [{"$ref": "#/components/schemas/Page_Profile_"}, {"type": "null"}],
            "title": "T",
            "examples": ["x"],
        }
    )
    # Then a nullable reference is an allOf of the renamed model, nullable, with no documentation keys
    assert converted == {"allOf": [{"$ref": "#/components/schemas/PageProfile"}], "nullable": True}
    assert openapi.draft4({"type": "integer", "exclusiveMinimum": 0}) == {"type": "integer", "minimum": 1}
    assert openapi.draft4({"const": "a"}) == {"enum": ["a"]}
    assert openapi.draft4({"type": ["string", "null"], "maxLength": 3}) == {
        "type": "string",
        "maxLength": 3,
        "nullable": True,
    }
    assert openapi.draft4({"type": "string", "format": "date", "ge": "1900-01-01"}) == {
        "type": "string",
        "format": "date",
    }


def test_no_model_refers_back_to_itself(body: Json) -> None:
    # API Gateway's importer cannot resolve circular model references: none may exist
    models = body["components"]["schemas"]
    edges = {
        name: set(re.findall(r"#/components/schemas/(\w+)", json.dumps(m))) for name, m in models.items()
    }

    def cycle(start: str) -> bool:
        stack, seen = list(edges[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                return True
            if name not in seen:
                seen.add(name)
                stack.extend(edges[name])
        return False

    assert [name for name in models if cycle(name)] == []


def test_a_method_a_path_does_not_declare_is_405_with_allow_as_the_functions_answer(body: Json) -> None:
    for path, operations in body["paths"].items():
        # Given the methods the path declares
        declared = sorted({m.upper() for m in operations if m != openapi.ANY_METHOD})
        # When API Gateway gets another (ANY: a declared method takes precedence), it answers itself
        undeclared = operations[openapi.ANY_METHOD]
        integration = undeclared["x-amazon-apigateway-integration"]
        answer = integration["responses"]["default"]
        # Then 405, naming the allowed methods, in the functions' error body, before any authorizer
        assert (integration["type"], answer["statusCode"], undeclared["security"]) == ("mock", "405", [])
        assert answer["responseParameters"]["method.response.header.Allow"] == f"'{', '.join(declared)}'"
        error = json.loads(answer["responseTemplates"]["application/json"])["error"]
        assert error["code"] == "method_not_allowed", path
