"""API Gateway REST (v1) proxy events, a Lambda context, and the response a function returns.

Events start from the canonical samples in ``tests/events/*.json`` (captured in the
shape API Gateway sends with a Cognito user-pool authorizer) and a test overrides
only what it is about. Headers are kept in ``headers`` and ``multiValueHeaders``
alike, as API Gateway does, and every event gets a fresh ``requestId``.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.topology import SYSTEM
from shared import idempotency
from shared.auth import MACHINE_SCOPE
from shared.topology import Function

EVENTS = Path(__file__).resolve().parent.parent / "events"
ACCOUNT = "123456789012"
REGION = "ap-northeast-2"


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the fields our code and Powertools read)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    def of(cls, function: Function, stage: str = "test") -> LambdaContext:
        name = f"dangol-{stage}-{function.id}"
        return cls(
            function_name=name,
            memory_limit_in_mb=function.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        )


@functools.cache
def _sample(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text(encoding="utf-8")


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of the canonical event ``tests/events/<name>.json``."""
    return json.loads(_sample(name))


def api_event(
    name: str,
    *,
    method: str | None = None,
    resource: str | None = None,
    path: str | None = None,
    path_parameters: Any = UNSET,
    query: Any = UNSET,
    headers: Mapping[str, str | None] | None = None,
    body: Any = UNSET,
    base64: bool | None = None,
    sub: str | None = None,
    groups: str | None = None,
    claims: Any = UNSET,
) -> dict[str, Any]:
    """The sample ``name`` with the given fields overridden.

    ``headers`` are merged case-insensitively; a value of ``None`` removes the header. A route
    that requires an ``Idempotency-Key`` gets a fresh one, as a well-behaved client sends, unless
    ``headers`` names the header (``None``: send none).
    ``body`` may be a dict or list (sent as JSON), a str (sent as is) or None.
    ``claims=None`` removes the authorizer (an unauthenticated call); ``sub`` and
    ``groups`` change single claims (``groups`` is sent as API Gateway sends it, a string);
    ``groups="machine"`` makes the caller a till (a client-credentials access token).
    """
    event = sample(name)
    context = event["requestContext"]
    context["requestId"] = str(uuid.uuid4())
    context["extendedRequestId"] = uuid.uuid4().hex[:16]
    if method is not None:
        event["httpMethod"] = context["httpMethod"] = method
    if resource is not None:
        event["resource"] = context["resourcePath"] = resource
    if path_parameters is not UNSET:
        event["pathParameters"] = dict(path_parameters) if path_parameters is not None else None
        if path is None and path_parameters:
            path = re.sub(r"\{(\w+)\}", lambda m: str(path_parameters[m.group(1)]), event["resource"])
    if path is not None:
        event["path"] = path
        context["path"] = f"/{context['stage']}{path}"
    if query is not UNSET:
        event["queryStringParameters"] = dict(query) if query else None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    for header, value in (headers or {}).items():
        for existing in [h for h in event["headers"] if h.lower() == header.lower()]:
            del event["headers"][existing]
            event["multiValueHeaders"].pop(existing, None)
        if value is not None:
            event["headers"][header] = value
            event["multiValueHeaders"][header] = [value]
    named = {h.lower() for h in headers or {}}
    if idempotency.HEADER.lower() not in named and _key_required(event["httpMethod"], event["resource"]):
        event["headers"][idempotency.HEADER] = uuid.uuid4().hex
        event["multiValueHeaders"][idempotency.HEADER] = [event["headers"][idempotency.HEADER]]
    if body is not UNSET:
        event["body"] = (
            body if body is None or isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        )
    if base64 is not None:
        event["isBase64Encoded"] = base64
    if claims is None:
        context.pop("authorizer", None)
    elif claims is not UNSET:
        context["authorizer"] = {"claims": dict(claims)}
    if sub is not None:
        claims_now = context["authorizer"]["claims"]
        claims_now.update({"sub": sub, "username": sub})
        if claims_now.get("token_use") == "id":
            claims_now["cognito:username"] = sub  # a pool signing in by e-mail: the username is the sub
    if groups == "machine":  # a till: a client-credentials access token with the machine scope
        client = context["authorizer"]["claims"].get("sub") or "pos-test"
        context["authorizer"]["claims"] = {
            "sub": client,
            "client_id": client,
            "token_use": "access",
            "scope": MACHINE_SCOPE,
            "iss": context["authorizer"]["claims"].get("iss", ""),
        }
    elif groups is not None:
        context["authorizer"]["claims"]["cognito:groups"] = groups
    if POOL.issuer and "authorizer" in context:
        context["authorizer"]["claims"]["iss"] = POOL.issuer
    return event


class _Pool:
    """The user pool of the running test's moto (set by the ``moto`` fixture): every token's
    issuer, as on AWS, where customers and staff sign in to the stage's one pool."""

    issuer: str | None = None


POOL = _Pool()


def _key_required(method: str, resource: str) -> bool:
    return any(r.key_required for r in SYSTEM.routes if (r.method, r.path) == (method, resource))


@dataclass(frozen=True)
class ApiResponse:
    """A proxy integration response as API Gateway reads it."""

    status: int
    headers: dict[str, list[str]]
    body: str
    raw: dict[str, Any]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ApiResponse:
        headers: dict[str, list[str]] = {}
        for name, value in (raw.get("headers") or {}).items():
            headers.setdefault(name.lower(), []).append(str(value))
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            headers[name.lower()] = [str(v) for v in values]
        assert raw.get("isBase64Encoded") is False, "JSON responses are never base64-encoded"
        assert isinstance(raw["body"], str), "a proxy response body must be a string"
        return cls(status=int(raw["statusCode"]), headers=headers, body=raw["body"], raw=raw)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> dict[str, Any]:
        """The error of an error response, after checking the body is exactly the error envelope."""
        body = self.json()
        assert set(body) == {"error"}, body
        error = body["error"]
        assert set(error) == {"code", "message", "details"}, error
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["details"], list)
        assert self.header("Content-Type") == "application/json"
        return error


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class Invoker:
    """Calls a function's real entry point the way the Lambda runtime does."""

    function: Function
    handler: Handler

    def __call__(self, event: dict[str, Any]) -> ApiResponse:
        return ApiResponse.of(self.handler(event, LambdaContext.of(self.function)))
