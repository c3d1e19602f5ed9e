"""An HTTP gateway on 127.0.0.1 that routes like API Gateway's REST API.

For each request: find the declared route (literal segments win over
parameters, as in API Gateway), check the Cognito token like the authorizer
(a public route, ``Route.public``, has no authorizer: no token is checked or passed on),
build the REST proxy event (v1: resource, path and query parameters,
multi-value headers, stage, request context with the authorizer's claims),
invoke the route's function and turn its result into the HTTP response.
Also serves ``/openapi.json`` and the offline ``/docs`` page.

Besides the API, the runtime's own endpoints, none of which sends CORS headers or serves a
browser (a request with an ``Origin`` or ``Sec-Fetch-Site`` header is refused with 403):

- ``/_local/*``: what a developer or a test may ask the running system (event archive, queues,
  schedules, the clock); it takes the run's secret in ``X-Dangol-Local-Secret`` (401 without);
- ``POST /oauth2/token`` and ``POST /cognito``: the user pool's token endpoint and Cognito's
  own API (``infra.local.oauth``, ``infra.local.cognito_api``), as endpoints given by the runtime.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from infra import openapi as infra_openapi
from infra.local import openapi
from infra.local.auth import TokenVerifier, as_api_gateway_claims
from infra.local.lambdas import FunctionPool, InvocationError
from shared.errors import DangolError, MethodNotAllowed, NotFound, PayloadTooLarge
from shared.topology import Route

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's limit
ADMIN_PREFIX = "/_local/"  # the local runtime's own endpoints (archive, clock): the run's secret
LOCAL_SECRET_HEADER = "X-Dangol-Local-Secret"  # noqa: S105 - a header's name
Admin = Callable[[str, str, dict[str, list[str]], bytes], tuple[int, Any]]
# An endpoint of the runtime's own (the token endpoint, Cognito's API): (method, headers, body) ->
# (status, headers, body).
Endpoint = Callable[[str, list[tuple[str, str]], bytes], tuple[int, list[tuple[str, str]], bytes]]
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization,Content-Type,Idempotency-Key,If-Match",
    "Access-Control-Max-Age": "600",
}


@dataclass(frozen=True)
class _Compiled:
    route: Route
    pattern: re.Pattern[str]
    specificity: tuple[int, ...]


class Router:
    def __init__(self, routes: tuple[Route, ...]) -> None:
        self._routes = [self._compile(r) for r in routes]

    @staticmethod
    def _compile(route: Route) -> _Compiled:
        parts = route.path.strip("/").split("/") if route.path != "/" else []
        regex = "".join(f"/(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else "/" + re.escape(p) for p in parts)
        return _Compiled(
            route, re.compile(f"^{regex or '/'}$"), tuple(0 if p.startswith("{") else 1 for p in parts)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        hits = [(c, m) for c in self._routes if (m := c.pattern.match(path))]
        if not hits:
            raise NotFound("No such route.", code="route_not_found")
        best = max(c.specificity for c, _ in hits)
        same_resource = [(c, m) for c, m in hits if c.specificity == best]
        for compiled, found in same_resource:
            if compiled.route.method == method:
                return compiled.route, {k: unquote(v) for k, v in found.groupdict().items()}
        allowed = sorted({c.route.method for c, _ in same_resource} | {"OPTIONS"})
        raise MethodNotAllowed(f"Use one of {', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})

    def resource_exists(self, path: str) -> bool:
        return any(c.pattern.match(path) for c in self._routes)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    cors: bool = True  # False: the answer carries no CORS header at all (the runtime's own endpoints)


def error_reply(exc: DangolError) -> Reply:
    headers = [("Content-Type", "application/json"), *exc.headers.items()]
    return Reply(exc.status, headers, json.dumps(exc.body(), ensure_ascii=False).encode())


def from_browser(headers: list[tuple[str, str]]) -> bool:
    """A browser sends ``Origin`` with every cross-origin (and every POST) request and the
    ``Sec-Fetch-*`` headers with every request; no SDK, CLI or test client sends either."""
    names = {k.lower() for k, _ in headers}
    return "origin" in names or "sec-fetch-site" in names


def _refused(message: str, status: int, code: str) -> Reply:
    return Reply(status, [("Content-Type", "application/json")], _error_body(code, message), cors=False)


class Gateway:
    def __init__(
        self,
        routes: tuple[Route, ...],
        pools: dict[str, FunctionPool],
        verifier: Callable[[], TokenVerifier],
        *,
        stage: str,
        spec: Callable[[], dict[str, Any]],
        access_log: bool = True,
        admin: Admin | None = None,
        local_secret: str | None = None,
        endpoints: Mapping[str, Endpoint] | None = None,
    ) -> None:
        self.router = Router(routes)
        self.scopes = {r.key: tuple(infra_openapi.scopes_of(r)) for r in routes}
        self.pools = pools
        self.verifier = verifier
        self.stage = stage
        self.spec = spec
        self.access_log = access_log
        self.admin = admin
        self.local_secret = local_secret
        self.endpoints = dict(endpoints or {})

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> Reply:
        url = urlsplit(target)
        path = url.path or "/"
        if path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/"):
            return self._local(method, path, url.query, headers, body)
        if (endpoint := self.endpoints.get(path.rstrip("/") or "/")) is not None:
            if from_browser(headers):
                return _refused("Browser requests are not served here.", 403, "origin_refused")
            status, answer_headers, answer = endpoint(method, headers, body)
            return Reply(status, answer_headers, answer, cors=False)
        if method == "GET" and (static := self._static(path)) is not None:
            return static
        try:
            if len(body) > MAX_PAYLOAD_BYTES:
                raise PayloadTooLarge("The body is larger than 10 MB.")
            if method == "OPTIONS":
                if not self.router.resource_exists(path):
                    raise NotFound("No such route.", code="route_not_found")
                return Reply(204, list(CORS_HEADERS.items()), b"")
            route, params = self.router.match(method, path)
            claims: dict[str, Any] | None = None
            if not route.public:
                authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
                claims = self.verifier().verify(authorization, self.scopes[route.key])
        except DangolError as exc:
            return error_reply(exc)
        event = self.event(
            route,
            path=path,
            query=url.query,
            params=params,
            headers=headers,
            body=body,
            claims=claims,
            source_ip=source_ip,
        )
        try:
            result = self.pools[route.function.id].invoke(event).result
        except InvocationError as exc:
            code = "function_timeout" if exc.kind == "timeout" else "function_error"
            status = 504 if exc.kind == "timeout" else 502
            return Reply(
                status, [("Content-Type", "application/json")], _error_body(code, "Internal server error")
            )
        return self._reply(result)

    def _local(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> Reply:
        """``/_local/*``: never to a browser, only with the run's secret, never with CORS headers."""
        if from_browser(headers):
            return _refused("Browser requests are not served here.", 403, "origin_refused")
        if self.local_secret is not None:
            given = next((v for k, v in headers if k.lower() == LOCAL_SECRET_HEADER.lower()), "")
            if not hmac.compare_digest(given.encode(), self.local_secret.encode()):
                return _refused(
                    f"/_local/ takes this run's secret in {LOCAL_SECRET_HEADER} "
                    "(printed by `make run`, in the state directory's local.json).",
                    401,
                    "unauthorized",
                )
        if self.admin is None:
            return _refused("No such local endpoint.", 404, "route_not_found")
        status, payload = self.admin(method, path.removeprefix(ADMIN_PREFIX), parse_qs(query), body)
        return Reply(
            status,
            [("Content-Type", "application/json")],
            json.dumps(payload, default=str).encode(),
            cors=False,
        )

    def _static(self, path: str) -> Reply | None:
        if path == "/openapi.json":
            return Reply(200, [("Content-Type", "application/json")], json.dumps(self.spec()).encode())
        if path in {"/docs", "/docs/"}:
            return Reply(200, [("Content-Type", "text/html; charset=utf-8")], openapi.DOCS_HTML.encode())
        if path.startswith("/docs/") and (found := openapi.asset(path.removeprefix("/docs/"))):
            content, content_type = found
            return Reply(200, [("Content-Type", content_type), ("Cache-Control", "max-age=3600")], content)
        if path == "/health":
            return Reply(200, [("Content-Type", "application/json")], b'{"status":"ok"}')
        return None

    def event(
        self,
        route: Route,
        *,
        path: str,
        query: str,
        params: dict[str, str],
        headers: list[tuple[str, str]],
        body: bytes,
        claims: dict[str, Any] | None,
        source_ip: str,
    ) -> dict[str, Any]:
        """The REST proxy event; ``claims`` None: a public route, with no authorizer in its context."""
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        text: str | None = None
        encoded = False
        if body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text, encoded = base64.b64encode(body).decode(), True
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "resourceId": route.key,
            "resourcePath": route.path,
            "httpMethod": route.method,
            "path": f"/{self.stage}{path}",
            "stage": self.stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "domainName": "127.0.0.1",
            "identity": {
                "sourceIp": source_ip,
                "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None),
            },
        }
        if claims is not None:
            context["authorizer"] = {"claims": as_api_gateway_claims(claims)}
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": route.method,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": context,
            "body": text,
            "isBase64Encoded": encoded,
        }

    @staticmethod
    def _reply(result: Any) -> Reply:
        if not isinstance(result, dict) or "statusCode" not in result:
            return Reply(
                502, [("Content-Type", "application/json")], _error_body("function_error", "Bad response")
            )
        headers: list[tuple[str, str]] = []
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(name, str(v)) for v in values]
        seen = {n.lower() for n, _ in headers}
        headers += [(n, str(v)) for n, v in (result.get("headers") or {}).items() if n.lower() not in seen]
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return Reply(int(result["statusCode"]), headers, body)


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": []}}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            reply = error_reply(PayloadTooLarge("The body is larger than 10 MB."))
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length > 0 else b""
            reply = self.server.gateway.handle(
                self.command,
                self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
        self.send_response(reply.status)
        names = {n.lower() for n, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.cors and "access-control-allow-origin" not in names:
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        if self.server.gateway.access_log:
            ms = (time.perf_counter() - started) * 1000
            # The query string may hold personal data (a lookup by e-mail): never logged.
            path = self.path.split("?", 1)[0] + ("?…" if "?" in self.path else "")
            sys.stderr.write(f"  {self.command:6} {path[:80]:40} {reply.status} {ms:6.0f} ms\n")

    def __getattr__(self, name: str) -> Any:
        # Every method (TRACE, PROPFIND, ...) is routed; the router answers 405 for undeclared ones.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.gateway = gateway
        super().__init__((host, port), _Handler)

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="gateway", daemon=True)
        thread.start()
        return thread
