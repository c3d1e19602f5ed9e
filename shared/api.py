"""The resolver factory: Powertools' REST resolver with validation, OpenAPI from the
pydantic models, the caller and role check from the topology, idempotency, and
the ONE mapping from exceptions to HTTP responses.

A service builds its resolver from its topology and binds each route object:

    app = make_resolver(SERVICE, API_FUNCTION, idempotency=...)

    @app.on(ME_GET)
    def get_me() -> ProfileOut: ...

Before Powertools validates anything, every request is checked against the
route's declaration: the caller must be authenticated (401) and hold an allowed
role (403), the body must fit the route's limit (413) and be JSON (415). Every
error body is ``{"error": {"code", "message", "details"}}``; no client input
reaches the catch-all 500.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver, ResponseBuilder
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.shared.json_encoder import Encoder
from pydantic import BaseModel, ConfigDict, Field

from shared import idempotency, snapstart
from shared.auth import Caller
from shared.errors import (
    BadRequest,
    DangolError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.observability import make_logger
from shared.settings import ConfigurationError
from shared.topology import Function, Route, Service

F = TypeVar("F", bound=Callable[..., Any])
JSON = "application/json"
# A route's path, then any trailing slashes (as Powertools' REST resolver), then the end of the path.
ROUTE_PATTERN = r"^{}/*\Z"

# The stage's one CORS policy: API Gateway's preflights and gateway responses (infra/openapi.py) and
# every function's answers say the same. The origin is the stage's (CORS_ORIGIN, "*" locally).
CORS_ORIGIN_ENV = "CORS_ORIGIN"
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", idempotency.HEADER, "If-Match")
CORS_EXPOSED_HEADERS = ("ETag", "Retry-After", idempotency.REPLAYED_HEADER)
CORS_MAX_AGE_S = 600
CALLER = "caller"
_log = make_logger()
snapstart.register()  # API functions run with SnapStart: re-seed `random` after each restore


class ErrorInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)

    code: str = Field(description="Machine-readable; stable across releases.", examples=["validation_error"])
    message: str = Field(description="For humans; may change.")
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorInfo


serialize = functools.partial(json.dumps, separators=(",", ":"), cls=Encoder, ensure_ascii=False)


def error_response(exc: DangolError) -> Response[Any]:
    """The single rendering of an error as an HTTP response."""
    return Response(
        status_code=exc.status,
        content_type=JSON,
        body=serialize(exc.body()),
        headers=exc.headers or None,
    )


def _validation_error(exc: RequestValidationError) -> DangolError:
    details = [
        {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", ""), "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    if any(d["type"] == "json_invalid" for d in details):
        return BadRequest("The body is not valid JSON.", code="malformed_json", details=details[:1])
    return Unprocessable(details=details[:50])


_ERROR_DOCS: dict[int, str] = {
    400: "Malformed request (bad JSON, cursor or header).",
    401: "Missing, expired or forged token.",
    403: "The caller's role may not call this route.",
    404: "No such resource.",
    409: "Conflict: it exists, it changed, or the same Idempotency-Key is in flight.",
    412: "If-Match does not match the current version.",
    413: "The body is larger than this route accepts.",
    428: "Idempotency-Key is required on this route (a retry without it would repeat the effect).",
    415: "The body is not application/json.",
    422: "The input does not match the schema; `details` lists each problem.",
    429: "Throttled; retry after the Retry-After header.",
    503: "A dependency is unavailable and nothing was done; retry (with the same Idempotency-Key).",
}


def _responses(
    route: Route,
    status: int,
    description: str,
    extra: tuple[int, ...],
    also: Mapping[int, str],
    *,
    content_type: str = JSON,
) -> dict[int, OpenAPIResponse]:
    codes = {422, 429, *extra} if route.public else {401, 403, 422, 429, *extra}
    if route.path_params:
        codes.add(404)
    if route.has_body:
        codes |= {400, 413, 415}
    if route.idempotent:
        codes |= {400, 409}
    if route.key_required:
        codes.add(428)
    if route.versioned and route.method != "GET":
        codes |= {400, 412}
    docs: dict[int, OpenAPIResponse] = {status: {"description": description}}
    if status == HTTPStatus.NO_CONTENT:
        docs[status]["content"] = {}  # no body (else the return annotation documents a JSON null)
    elif content_type != JSON:  # text (an HTML page): not the return annotation's JSON
        docs[status]["content"] = {content_type: {"schema": {"type": "string"}}}
    for code, what in also.items():  # more successes, with the same body (from the return annotation)
        docs[code] = {"description": what}
    for code in sorted(codes):
        docs[code] = {"description": _ERROR_DOCS[code], "content": {JSON: {"model": ErrorBody}}}
    return docs


class DangolResolver(APIGatewayRestResolver):
    def __init__(
        self,
        service: Service,
        function: Function,
        *,
        idempotency_store: Callable[[], idempotency.IdempotencyStore] | None = None,
    ) -> None:
        super().__init__(
            enable_validation=True,
            serializer=serialize,
            cors=CORSConfig(
                allow_origin=os.environ.get(CORS_ORIGIN_ENV) or "*",
                allow_headers=list(CORS_REQUEST_HEADERS),
                expose_headers=list(CORS_EXPOSED_HEADERS),
                max_age=CORS_MAX_AGE_S,
            ),
        )
        self.service = service
        self.function = function
        self._declared = {(r.method, r.path): r for r in service.routes_of(function)}
        self._bound: set[Route] = set()
        self._idempotency_store = idempotency_store
        self._register_error_handlers()

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = ROUTE_PATTERN) -> re.Pattern[str]:
        """Powertools' REST patterns end in ``$``, which also matches before a final newline: the
        path of ``GET /customers/%0A`` (a path id "\\n") matched ``GET /customers``, the listing."""
        pattern: re.Pattern[str] = ApiGatewayResolver._compile_regex(rule, base_regex)
        return pattern

    # -- binding routes from the topology ---------------------------------------------------

    def on(
        self,
        route: Route,
        *,
        status: int = 200,
        description: str = "OK",
        errors: tuple[int, ...] = (),
        also: Mapping[int, str] | None = None,
        content_type: str = JSON,
    ) -> Callable[[F], F]:
        """Register the decorated function as the implementation of a declared route.
        ``also``: other success statuses it answers with the same body, and what they mean.
        ``content_type``: what its success is, when not JSON (``text/html``: a page)."""
        if (route.method, route.path) not in self._declared:
            raise LookupError(f"{route.key} is not declared for function {self.function.id}")
        middlewares: list[Callable[..., Any]] = []
        if route.idempotent:
            if self._idempotency_store is None:
                raise LookupError(f"{route.key} is idempotent but the resolver has no idempotency store")
            middlewares.append(self._idempotent)
        self._bound.add(route)
        extensions: dict[str, Any] | None = None
        if route.has_body and JSON not in route.media_types:
            # Powertools documents JSON bodies from the handler's model; other media, from the route.
            content = {media: {"schema": {"type": "string"}} for media in route.media_types}
            # A public route's form may come empty (RFC 8058's one click may send no body).
            extensions = {"requestBody": {"required": not route.public, "content": content}}
        return self.route(
            route.powertools_path,
            method=route.method,
            summary=route.summary,
            description=roles_text(route),
            tags=[self.service.name],
            operation_id=operation_id(route),
            responses=_responses(route, status, description, errors, also or {}, content_type=content_type),
            middlewares=middlewares,
            openapi_extensions=extensions,
        )

    def get_openapi_json_schema(self, *args: Any, **kwargs: Any) -> str:
        """Powertools' document, with the headers our routes read and answer: Idempotency-Key
        (required where ``key_required``), If-Match on versioned writes, ETag on versioned answers."""
        document = json.loads(super().get_openapi_json_schema(*args, **kwargs))
        for route in self._bound:
            operation = document.get("paths", {}).get(route.path, {}).get(route.method.lower())
            if operation is not None:
                _document_headers(route, operation)
                if route.public:
                    operation["security"] = []  # no token (the document's default is the bearer)
        return json.dumps(document)

    @property
    def unbound_routes(self) -> set[Route]:
        return set(self._declared.values()) - self._bound

    @property
    def caller(self) -> Caller:
        """Who called (a public route has no caller: its handler never asks)."""
        caller = self.context.get(CALLER)
        if not isinstance(caller, Caller):  # pragma: no cover - guarded before any route runs
            raise RuntimeError("no caller on this request")
        return caller

    # -- the guard: declared route, caller, role, body size and type ------------------------

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        result: dict[str, Any] = super().resolve(event, context)
        if result.get("body") is None:  # a 204: API Gateway wants a string body
            result["body"] = ""
        return result

    def _resolve(self) -> ResponseBuilder[Any]:
        try:
            self.context[CALLER] = self._guard(self.current_event.raw_event)
        except DangolError as exc:
            # Not routed yet, so Powertools adds no CORS headers: add them, or browsers cannot read the error.
            response = error_response(exc)
            requested = self.current_event.headers.get("Origin") or ""
            origin = self._cors.allowed_origin(requested) if self._cors is not None else None
            if self._cors is not None and origin is not None:
                response.headers.update(self._cors.to_dict(origin))
            return ResponseBuilder(response, serializer=self._serializer)
        return super()._resolve()

    def _guard(self, event: dict[str, Any]) -> Caller | None:
        """The caller (None on a public route, whatever token came with it), after the checks."""
        method = str(event.get("httpMethod") or "").upper()
        route = self._declared.get((method, str(event.get("resource") or "")))
        if route is None:
            raise NotFound("No such route.", code="route_not_found")
        caller = None
        if not route.public:
            caller = Caller.from_event(event)
            if not caller.has_any(route.allow):
                raise Forbidden("Your role may not call this route.")
        if route.key_required and not _header(event, idempotency.HEADER):
            raise PreconditionRequired(
                f"Send an {idempotency.HEADER} (a retry without one would repeat the effect).",
                code="idempotency_key_required",
            )
        body = event.get("body")
        if body:
            try:
                raw = body.encode() if isinstance(body, str) else b""
            except UnicodeEncodeError:  # a lone surrogate: no UTF-8 client sends that
                raise BadRequest("The body is not valid UTF-8.", code="malformed_body") from None
            if event.get("isBase64Encoded"):
                try:
                    raw = base64.b64decode(body, validate=True)
                except (binascii.Error, ValueError):
                    raise BadRequest("The body is not valid base64.", code="malformed_body") from None
            if len(raw) > route.max_body_bytes:
                raise PayloadTooLarge(f"The body may be at most {route.max_body_bytes} bytes.")
            headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
            content_type = headers.get("content-type", route.media_types[0]).split(";")[0].strip().lower()
            if content_type not in route.media_types:
                raise UnsupportedMediaType(f"The request body must be {' or '.join(route.media_types)}.")
            if content_type != JSON:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise BadRequest("The body is not valid UTF-8.", code="malformed_body") from None
                return caller
            try:
                json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                # Parsed here too so that bodies nested past the parser's depth are a 400, not a 500.
                detail = {"loc": ["body"], "type": "json_invalid", "msg": type(exc).__name__}
                raise BadRequest(
                    "The body is not valid UTF-8 JSON.", code="malformed_json", details=[detail]
                ) from None
        return caller

    # -- idempotency (route middleware, after validation) -----------------------------------

    def _idempotent(self, app: APIGatewayRestResolver, next_middleware: Callable[..., Response[Any]]) -> Any:
        key = app.current_event.headers.get(idempotency.HEADER)  # headers are case-insensitive
        if key is None:
            return next_middleware(app)
        assert self._idempotency_store is not None
        store = self._idempotency_store()
        event = app.current_event
        scope, owner = f"{event.http_method} {event.resource}", self.caller.subject
        fingerprint = idempotency.request_hash(event.http_method, event.path, event.body)
        token, stored = store.begin(scope, idempotency.validate_key(key), fingerprint, owner=owner)
        if stored is not None:
            return Response(
                status_code=stored.status,
                content_type=stored.content_type,
                body=stored.body,
                headers={**stored.headers, idempotency.REPLAYED_HEADER: "true"},
            )
        try:
            response = next_middleware(app)
        except BaseException:
            store.release(scope, key, token, owner=owner)
            raise
        if response.status_code >= HTTPStatus.BAD_REQUEST:
            store.release(scope, key, token, owner=owner)
            return response
        body = response.body if isinstance(response.body, str) else serialize(response.body)
        headers = {k: str(v) for k, v in response.headers.items() if k in idempotency.REPLAYED_HEADERS}
        content_type = str(response.headers.get("Content-Type") or JSON)
        stored = idempotency.StoredResponse(response.status_code, body, content_type, headers)
        store.complete(scope, key, token, stored, owner=owner)
        return response

    # -- the one exception -> HTTP mapping ---------------------------------------------------

    def _register_error_handlers(self) -> None:
        @self.exception_handler(DangolError)  # type: ignore[untyped-decorator]
        def _dangol(exc: DangolError) -> Response[Any]:
            if exc.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
                _log.warning("dependency failure", extra={"error_code": exc.code})
            return error_response(exc)

        @self.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
        def _invalid(exc: RequestValidationError) -> Response[Any]:
            return error_response(_validation_error(exc))

        @self.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
        def _media(_: RequestUnsupportedContentType) -> Response[Any]:
            return error_response(UnsupportedMediaType())

        @self.exception_handler(NotFoundError)  # type: ignore[untyped-decorator]
        def _no_route(_: NotFoundError) -> Response[Any]:
            return error_response(NotFound("No such route.", code="route_not_found"))

        @self.exception_handler(ConfigurationError)  # type: ignore[untyped-decorator]
        def _config(exc: ConfigurationError) -> Response[Any]:
            _log.error("configuration error", extra={"problem": str(exc)})
            return error_response(DangolError(code="configuration_error"))

        @self.exception_handler(Exception)  # type: ignore[untyped-decorator]
        def _unexpected(exc: Exception) -> Response[Any]:
            _log.exception("unhandled error", extra={"error_type": type(exc).__name__})
            return error_response(DangolError())


def roles_text(route: Route) -> str:
    """Who may call a route, as its OpenAPI description says (served locally and deployed)."""
    if route.public:
        return "Public: no token (anyone holding the link); limited per client IP."
    return "Allowed roles: " + ", ".join(sorted(r.value for r in route.allow)) + "."


IF_MATCH = "If-Match"
_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted and v), None)


def _document_headers(route: Route, operation: dict[str, Any]) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    if route.idempotent:
        parameters.append(
            {
                "name": idempotency.HEADER,
                "in": "header",
                "required": route.key_required,
                "description": "A key of yours for this request: a retry with it gets the first answer"
                " (Idempotent-Replayed: true), never a second effect."
                + (" Required here." if route.key_required else ""),
                "schema": dict(_KEY_SCHEMA),
            }
        )
    if route.versioned and route.method != "GET":
        parameters.append(
            {
                "name": IF_MATCH,
                "in": "header",
                "required": False,
                "description": 'The version you read (its ETag, e.g. "3"): if it changed since, 412.',
                "schema": {"type": "string", "pattern": '^(W/)?"?[0-9]{1,12}"?$'},
            }
        )
    if route.versioned:
        for status, response in operation.get("responses", {}).items():
            if str(status).startswith("2") and str(status) != "204":
                response.setdefault("headers", {})["ETag"] = {
                    "description": "The resource's version: send it back as If-Match to change it.",
                    "schema": {"type": "string"},
                }


def operation_id(route: Route) -> str:
    """The OpenAPI operation id of a route (``get_customers_customer_id``)."""
    words = [route.method.lower()] + [
        part.strip("{}").replace("-", "_") for part in route.path.strip("/").split("/") if part
    ]
    return "_".join(words)


def make_resolver(
    service: Service,
    function: Function,
    *,
    idempotency_store: Callable[[], idempotency.IdempotencyStore] | None = None,
) -> DangolResolver:
    return DangolResolver(service, function, idempotency_store=idempotency_store)


def parse_if_match(value: str | None) -> int | None:
    """The version in an ``If-Match`` header (``"3"``, ``W/"3"`` or ``3``); None when absent."""
    if value is None or value.strip() == "":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise BadRequest('If-Match must be a version like "3".', code="invalid_if_match")
    return int(text)


def etag(version: int) -> str:
    return f'"{version}"'


M = TypeVar("M", bound=BaseModel)


def respond(body: M, *, status: int = 200, version: int | None = None) -> Response[M]:
    """A JSON response of a model, with an ``ETag`` when the resource is versioned."""
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(status_code=status, content_type=JSON, body=body, headers=headers)


def no_content() -> Response[None]:
    """A 204 (``resolve`` sends its body as empty text: API Gateway wants a string)."""
    return Response(status_code=204)
