"""The API's one OpenAPI document, in the two forms it is used in.

- ``merge`` / ``document``: OpenAPI 3.1, as ``/openapi.json`` serves it locally. Each API
  function's resolver generates its part from its pydantic models (``app.get_openapi_schema``);
  the parts are merged into one document with the Cognito bearer scheme. The local runtime asks
  its workers for the parts; ``document`` imports the handler modules in-process (``cdk synth``).
- ``for_api_gateway``: the same routes, models and roles as OpenAPI 3.0 with API Gateway's
  extensions, the body of the deployed REST API (``infra/stacks/api.py``). API Gateway imports
  OpenAPI 2.0 and 3.0 with models in JSON Schema draft 4 and documents what it does not take
  ("Amazon API Gateway important notes for REST APIs"): model names are alphanumeric;
  ``discriminator``, ``example``, ``exclusiveMinimum``/``exclusiveMaximum`` and ``readOnly`` are not
  supported, ``oneOf`` not for SDK generation; a parameter keeps only name, in, required, its type
  and description; the security scheme is an ``apiKey`` with ``x-amazon-apigateway-authtype``.
  ``tests/infra/test_openapi_gateway.py`` pins each of these and validates the result as 3.0.

Every route is a ``aws_proxy`` integration of its function, behind the Cognito authorizer (with
the machine scope where machines may call) unless it is public (``Route.public``: no authorizer,
``security: []``, no Authorization header; the WAF limits it per client IP), with the
``params-only`` request validator (the Authorization header and the path parameters; bodies are
validated once, by the function, against the same models). Every path answers the CORS
preflight itself (a mock integration), and the errors API Gateway makes itself have the functions'
error body (gateway responses).
"""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.api import CORS_MAX_AGE_S, CORS_REQUEST_HEADERS, operation_id, roles_text
from shared.auth import MACHINE_SCOPE, Role
from shared.topology import Function, Route, System

Json = dict[str, Any]
SCHEMA_REF = "#/components/schemas/"
AUTHORIZER = "cognito"
VALIDATOR = "params-only"
INTEGRATION_TIMEOUT_MS = 29_000
HTTP_ERROR = 400
REQUEST_HEADERS = CORS_REQUEST_HEADERS  # the stage's one CORS policy (shared/api.py)
PREFLIGHT_MAX_AGE_S = CORS_MAX_AGE_S
DESCRIPTION = (
    "The dangol CRM API. Every route but the public ones (opt-out links, gifts' draws) needs a Cognito token"
    " (Authorization: Bearer <ID token>); "
    "errors are {error: {code, message, details}}; mutating routes honour Idempotency-Key."
)

# Errors API Gateway makes itself (gateway response types), answered with the functions' body.
GATEWAY_ERRORS: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "unauthorized"),
    "EXPIRED_TOKEN": (401, "token_expired"),
    "INVALID_SIGNATURE": (401, "invalid_token"),
    "ACCESS_DENIED": (403, "forbidden"),
    "WAF_FILTERED": (403, "forbidden"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "route_not_found"),
    "RESOURCE_NOT_FOUND": (404, "route_not_found"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "unsupported_media_type"),
    "BAD_REQUEST_PARAMETERS": (400, "bad_request"),
    "BAD_REQUEST_BODY": (400, "bad_request"),
    "THROTTLED": (429, "throttled"),
    "QUOTA_EXCEEDED": (429, "throttled"),
    "DEFAULT_4XX": (400, "bad_request"),
    "INTEGRATION_TIMEOUT": (504, "function_timeout"),
    "DEFAULT_5XX": (502, "function_error"),
}


# --- the served document (3.1) ---------------------------------------------------------------


def merge(system: System, parts: list[Json], *, server_url: str, version: str) -> Json:
    """One 3.1 document from the resolvers' parts (each function's ``get_openapi_schema``)."""
    paths: Json = {}
    schemas: Json = {}
    for part in parts:
        for path, operations in part.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(part.get("components", {}).get("schemas", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{system.name} API", "version": version, "description": DESCRIPTION},
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "cognito": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito ID or access token; `make token ROLE=...` mints one locally.",
                }
            },
        },
        "security": [{"cognito": []}],
        "tags": [{"name": s.name} for s in system.services],
    }


def part_of(function: Function) -> Json:
    """A function's part, from its resolver (``app``), or nothing if its module has none."""
    module = importlib.import_module(function.module)
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "get_openapi_json_schema"):
        return {}
    return dict(json.loads(app.get_openapi_json_schema()))


def document(system: System, *, server_url: str = "/", version: str = "deployed") -> Json:
    """The 3.1 document of every function that serves routes, built in this process."""
    serving = sorted({r.function.id: r.function for r in system.routes}.items())
    return merge(system, [part_of(fn) for _, fn in serving], server_url=server_url, version=version)


# --- API Gateway's form (3.0 + extensions) ---------------------------------------------------

# The JSON Schema (draft 4) keywords of an OpenAPI 3.0 schema that API Gateway's models take; any
# other key (``title``, ``examples``, ``discriminator``, ``readOnly``, 2020-12 keywords, or a stray
# pydantic constraint such as ``ge`` on a date) is dropped, after the conversions ``draft4`` makes.
_KEPT = frozenset(
    {
        "$ref",
        "type",
        "format",
        "description",
        "default",
        "enum",
        "nullable",
        "multipleOf",
        "maximum",
        "minimum",
        "maxLength",
        "minLength",
        "pattern",
        "maxItems",
        "minItems",
        "uniqueItems",
        "maxProperties",
        "minProperties",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "allOf",
        "anyOf",
        "not",
    }
)
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_PARAMETER_KEYS = ("name", "in", "required", "description", "schema")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def model_name(name: str) -> str:
    """API Gateway's model names are alphanumeric (``Page_Profile_`` -> ``PageProfile``)."""
    return _NON_ALNUM.sub("", name)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def draft4(schema: Any) -> Any:
    """A 2020-12 schema (pydantic's) as the draft-4 subset API Gateway models take."""
    if isinstance(schema, list):
        return [draft4(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: Json = {}
    nullable = False
    for key, value in schema.items():
        if key == "$ref":
            out[key] = SCHEMA_REF + model_name(str(value).removeprefix(SCHEMA_REF))
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            # 2020-12's numeric bound; draft 4's is a boolean modifier, which API Gateway refuses.
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            step = 1 if schema.get("type") == "integer" else 0  # numbers: the function is exact
            out[bound] = value + step if bound == "minimum" else value - step
        elif key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            nullable = nullable or len(kinds) < len(value)
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
        elif key in _SUBSCHEMA_LISTS:
            branches = [b for b in value if not _is_null(b)]
            nullable = nullable or len(branches) < len(value)
            combinator = "anyOf" if key == "oneOf" else key  # oneOf: not for SDK generation
            if len(branches) == 1 and key != "allOf":
                only = draft4(branches[0])
                out.update(only if "$ref" not in only else {"allOf": [only]})
            elif branches:
                out[combinator] = draft4(branches)
        elif key == "patternProperties":
            (pattern_schema,) = {json.dumps(v, sort_keys=True) for v in value.values()}
            out.setdefault("additionalProperties", draft4(json.loads(pattern_schema)))
        elif key == "properties":
            out[key] = {name: draft4(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = draft4(value)
        elif key in _KEPT:
            out[key] = copy.deepcopy(value)
    if nullable:
        out["nullable"] = True
    return out


@dataclass(frozen=True)
class Gateway:
    """What the deployed document needs from the stack: each function's invocation target (an
    alias ARN where it has one), the user pool's ARN and the stage's CORS origin."""

    invoke_arn: Callable[[Function], str]
    user_pool_arn: str
    cors_origin: str
    partition: str = "aws"
    region: str = "ap-northeast-2"


def _integration(route: Route, gateway: Gateway) -> Json:
    arn = gateway.invoke_arn(route.function)
    return {
        "type": "aws_proxy",
        "httpMethod": "POST",
        "uri": f"arn:{gateway.partition}:apigateway:{gateway.region}:lambda:path/2015-03-31/functions/"
        f"{arn}/invocations",
        "passthroughBehavior": "when_no_match",
        "timeoutInMillis": INTEGRATION_TIMEOUT_MS,
    }


def scopes_of(route: Route) -> list[str]:
    """The authorizer's scopes. None on a person's route: API Gateway then takes an ID token (and
    refuses an access token). On a machine's route, the resource-server scope only the machine app
    client may ask for: API Gateway then takes an access token carrying it (and refuses ID tokens
    and people's access tokens, whose scopes are Cognito's own)."""
    return [MACHINE_SCOPE] if Role.MACHINE in route.allow else []


def _parameter(parameter: Json) -> Json:
    """Path parameters are required; no other is, for API Gateway: the function checks them and
    answers as it does locally (422, 428), where the validator would say 400."""
    out = {
        k: without_prose(draft4(v)) if k == "schema" else v
        for k, v in parameter.items()
        if k in _PARAMETER_KEYS
    }  # (the parameter's description is the schema's, said once)
    out["required"] = out.get("in") == "path"
    return out


def _content(content: Mapping[str, Any]) -> Json:
    return {
        media: {"schema": draft4(body.get("schema", {"type": "string"}))} for media, body in content.items()
    }


def _responses(responses: Mapping[str, Any]) -> Json:
    """The successes with their body models, and one ``default`` for every error (each is an
    ``ErrorBody``; ``/openapi.json`` lists them by status). A proxy integration maps no response,
    so nothing is lost for API Gateway, and the document stays well inside the template limit."""
    out: Json = {}
    for status, response in responses.items():
        if int(status) >= HTTP_ERROR:
            continue
        item: Json = {"description": response.get("description", "")}
        if response.get("content"):
            item["content"] = _content(response["content"])
        out[str(status)] = item
    out["default"] = {"description": "An error: {error: {code, message, details}} (ErrorBody)."}
    return out


def _operation(route: Route, served: Json | None, gateway: Gateway) -> Json:
    """The route's operation: the resolver's (models, parameters, responses) where it has one,
    else one made from the topology, with the gateway's integration, authorizer and validator."""
    served = served or {}
    parameters = [
        _parameter(p)
        for p in served.get("parameters", [])
        if (p.get("in"), str(p.get("name", "")).lower()) != ("header", "authorization")
    ]
    declared = {(p["in"], p["name"]) for p in parameters}
    parameters += [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path_params
        if ("path", name) not in declared
    ]
    if not route.public:
        parameters.append(
            {"name": "Authorization", "in": "header", "required": True, "schema": {"type": "string"}}
        )
    operation: Json = {
        "operationId": operation_id(route),
        "summary": route.summary,
        "description": roles_text(route),
        "tags": [route.function.service],
        "parameters": parameters,
        "responses": _responses(served.get("responses", {})) or {"200": {"description": "OK"}},
        # A public route: no authorizer (AuthorizationType NONE); the function checks its signed input.
        "security": [] if route.public else [{AUTHORIZER: scopes_of(route)}],
        "x-amazon-apigateway-request-validator": VALIDATOR,
        "x-amazon-apigateway-integration": _integration(route, gateway),
    }
    if route.has_body:
        body = served.get("requestBody") or {
            "required": True,
            "content": {media: {"schema": {"type": "object"}} for media in route.media_types},
        }
        operation["requestBody"] = {
            "required": bool(body.get("required", not route.public)),
            "content": _content(body["content"]),
        }
    return operation


def _quoted(value: str) -> str:
    return f"'{value}'"


def cors_headers(system: System, path: str, origin: str) -> dict[str, str]:
    """The preflight's answer for a path: our origin, the path's methods, our request headers."""
    methods = sorted({r.method for r in system.routes if r.path == path} | {"OPTIONS"})
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ",".join(methods),
        "Access-Control-Allow-Headers": ",".join(REQUEST_HEADERS),
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return headers


def _answered_by_the_gateway(
    path: str, status: int, description: str, headers: Mapping[str, str], body: Json | None = None
) -> Json:
    """An operation API Gateway answers itself (a mock integration): no authorizer, the path's
    parameters, a fixed status, headers and (optionally) body."""
    answer: Json = {
        "statusCode": str(status),
        "responseParameters": {
            f"method.response.header.{name}": _quoted(value) for name, value in headers.items()
        },
    }
    if body is not None:
        answer["responseTemplates"] = {"application/json": json.dumps(body, ensure_ascii=False)}
    return {
        "security": [],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{([^}]+)\}", path)
        ],
        "responses": {
            str(status): {
                "description": description,
                "headers": {name: {"schema": {"type": "string"}} for name in headers},
            }
        },
        "x-amazon-apigateway-integration": {
            "type": "mock",
            "requestTemplates": {"application/json": json.dumps({"statusCode": status})},
            "passthroughBehavior": "when_no_match",
            "responses": {"default": answer},
        },
    }


def _preflight(system: System, path: str, origin: str) -> Json:
    return _answered_by_the_gateway(path, 204, "CORS preflight", cors_headers(system, path, origin))


ANY_METHOD = "x-amazon-apigateway-any-method"


def _method_not_allowed(system: System, path: str, origin: str) -> Json:
    """Every method a path does not declare: 405 ``method_not_allowed`` with ``Allow``, as the
    functions and the local gateway answer (a declared method takes precedence over ANY). Without
    it API Gateway would answer its MISSING_AUTHENTICATION_TOKEN, a 404."""
    allowed = sorted({r.method for r in system.routes if r.path == path} | {"OPTIONS"})
    message = f"Use one of {', '.join(allowed)}."
    return _answered_by_the_gateway(
        path,
        405,
        "This path does not take this method",
        {"Allow": ", ".join(allowed), "Access-Control-Allow-Origin": origin},
        {"error": {"code": "method_not_allowed", "message": message, "details": []}},
    )


def gateway_responses(origin: str) -> Json:
    """Every error API Gateway makes itself, in the functions' ``{"error": ...}`` body."""
    return {
        kind: {
            "statusCode": status,
            "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": _quoted(origin)},
            "responseTemplates": {
                "application/json": json.dumps(
                    {"error": {"code": code, "message": "$context.error.message", "details": []}}
                )
            },
        }
        for kind, (status, code) in GATEWAY_ERRORS.items()
    }


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        found = {schema["$ref"].removeprefix(SCHEMA_REF)} if isinstance(schema.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_refs(v) for v in schema))
    return set()


def _cut(schema: Any, cyclic: set[str]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(SCHEMA_REF) in cyclic:
            return {"type": "object", "description": f"A {ref.removeprefix(SCHEMA_REF)} (a nested rule node)"}
        return {k: _cut(v, cyclic) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_cut(v, cyclic) for v in schema]
    return schema


def without_prose(schema: Any) -> Any:
    """The schema without its descriptions (a field named ``description`` stays). The gateway
    validates no body, so its models are shapes only; their prose is in ``/openapi.json`` and the
    docs, and the template stays well inside CloudFormation's 1 MB (``tests/infra/test_limits.py``)."""
    if isinstance(schema, dict):
        return {
            k: (
                {n: without_prose(p) for n, p in v.items()}
                if k == "properties" and isinstance(v, dict)
                else without_prose(v)
            )
            for k, v in schema.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [without_prose(v) for v in schema]
    return schema


def without_cycles(models: Json) -> Json:
    """API Gateway's importer cannot resolve models that refer back to themselves (a segment's
    rule nests rules): a reference to a model on a cycle becomes a plain object. The gateway does
    not validate bodies (the functions do, strictly), so nothing is let through that was refused."""
    edges = {name: _refs(model) & set(models) for name, model in models.items()}

    def on_cycle(start: str) -> bool:
        stack, seen = list(edges[start]), set()
        while stack:
            name = stack.pop()
            if name == start:
                return True
            if name not in seen:
                seen.add(name)
                stack.extend(edges[name])
        return False

    cyclic = {name for name in models if on_cycle(name)}
    return {name: _cut(model, cyclic) for name, model in models.items()} if cyclic else models


def for_api_gateway(system: System, served: Json, gateway: Gateway, *, title: str) -> Json:
    """The REST API's body: every route of ``system`` (with the operation ``served`` documents for
    it, if any), every model, the preflights, the authorizer, validator and gateway responses."""
    paths: Json = {}
    for route in system.routes:
        operation = served.get("paths", {}).get(route.path, {}).get(route.method.lower())
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, operation, gateway)
    for path in paths:
        paths[path]["options"] = _preflight(system, path, gateway.cors_origin)
        paths[path][ANY_METHOD] = _method_not_allowed(system, path, gateway.cors_origin)
    schemas = served.get("components", {}).get("schemas", {})
    models = {model_name(name): draft4(schema) for name, schema in schemas.items()}
    if len(models) != len(schemas):
        raise ValueError("two models have the same alphanumeric name: API Gateway would merge them")
    models = {name: without_prose(model) for name, model in without_cycles(models).items()}
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1", "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(models.items())),
            "securitySchemes": {
                AUTHORIZER: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "cognito_user_pools",
                    "x-amazon-apigateway-authorizer": {
                        "type": "cognito_user_pools",
                        "providerARNs": [gateway.user_pool_arn],
                    },
                }
            },
        },
        "x-amazon-apigateway-request-validators": {
            VALIDATOR: {"validateRequestParameters": True, "validateRequestBody": False}
        },
        "x-amazon-apigateway-gateway-responses": gateway_responses(gateway.cors_origin),
    }
