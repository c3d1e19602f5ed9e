"""Lambda's Invoke API for the local runtime's functions, as strict as IAM.

moto's Lambda runs functions in Docker; the runtime runs them in its own worker pools instead, so
it serves ``POST /2015-03-31/functions/{FunctionName}/invocations`` itself, on its own port of
127.0.0.1. Every worker gets ``AWS_ENDPOINT_URL_LAMBDA`` pointing here (botocore prefers a
service's own endpoint variable to ``AWS_ENDPOINT_URL``), so ``shared.invoke`` (botocore's
``lambda`` client) reaches it unchanged.

Each function's workers sign with credentials of their own (``access_key_of``: derived from the
function's id, with a secret made for the run); moto accepts any key for every other service and
keeps all of them in its one default account. A request here is answered as Lambda answers it:

- not signed with SigV4 by a function of this run (unknown key, other region or service, a date
  more than 15 minutes off, a signature that does not match the request): 403
  ``UnrecognizedClientException`` / ``InvalidSignatureException``;
- a function the topology does not declare: 404 ``ResourceNotFoundException``;
- a caller the topology does not allow to invoke it (``System.callers_of``): 403
  ``AccessDeniedException``, as IAM's missing ``lambda:InvokeFunction`` grant;
- ``RequestResponse`` (the default): the function's JSON answer, or 200 with
  ``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage"}`` when it raised, timed
  out or crashed; ``DryRun``: 204 once the checks pass. ``Event`` (asynchronous) is refused: the
  topology declares synchronous direct invocations only (a callee has no asynchronous DLQ).

Errors carry Lambda's shape: ``x-amzn-ErrorType`` and ``{"Type": "User", "message": ...}``.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.local.lambdas import FunctionPool, InvocationError
from shared.topology import System

INVOCATIONS = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's request and response, as Lambda's
MAX_SKEW = timedelta(minutes=15)  # how far a signature's date may be from now, as AWS's
ACCOUNT = "123456789012"  # moto's default account, where every local resource lives
ERROR_TYPES = {"timeout": "Sandbox.Timedout", "crash": "Runtime.ExitError", "init_error": "Runtime.InitError"}

Answer = tuple[int, list[tuple[str, str]], bytes]


def access_key_of(function_id: str) -> str:
    """The access key id a function's workers sign with: who is calling, from its id."""
    return f"LOCAL-{function_id.upper()}"


class Refused(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message

    def answer(self) -> Answer:
        body = json.dumps({"Type": "User", "message": self.message}).encode()
        return self.status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", self.kind)], body


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    found = [v for k, v in headers if k.lower() == name]
    return ",".join(found) if found else None


class InvokeEndpoint:
    """``handle`` answers one request; ``secrets`` holds each function's secret by function id."""

    def __init__(
        self, system: System, pools: Mapping[str, FunctionPool], secrets: Mapping[str, str], *, region: str
    ) -> None:
        self.system = system
        self.pools = pools
        self.region = region
        self.keys = {access_key_of(function_id): (function_id, s) for function_id, s in secrets.items()}
        self.callers = {f.id: frozenset(c.id for c in system.callers_of(f)) for f in system.functions}

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        try:
            url = urlsplit(target)
            match = INVOCATIONS.match(url.path)
            if method != "POST" or match is None:
                raise Refused(404, "UnknownOperationException", "Unknown operation.")
            caller = self._authenticate(method, target, headers, body)
            callee = self._function(unquote(match.group("name")), parse_qs(url.query))
            if caller not in self.callers[callee]:
                raise Refused(
                    403,
                    "AccessDeniedException",
                    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{caller}/{caller} is not authorized to"
                    f" perform: lambda:InvokeFunction on resource: {self._arn(callee)} because no"
                    " identity-based policy allows the lambda:InvokeFunction action",
                )
            kind = _header(headers, "x-amz-invocation-type") or "RequestResponse"
            if kind == "DryRun":
                return 204, [], b""
            if kind != "RequestResponse":
                raise Refused(
                    400,
                    "InvalidParameterValueException",
                    f"{kind}: direct invocations are synchronous (RequestResponse) in this topology.",
                )
            return self._invoke(callee, body)
        except Refused as exc:
            return exc.answer()

    def _arn(self, function_id: str) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{function_id}"

    def _authenticate(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> str:
        """The id of the function whose credentials signed the request (SigV4, recomputed)."""
        found = AUTHORIZATION.match(_header(headers, "authorization") or "")
        if found is None:
            raise Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if found.group("key") not in self.keys:
            raise Refused(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            )
        caller, secret = self.keys[found.group("key")]
        stamp = _header(headers, "x-amz-date") or ""
        signed = found.group("signed").split(";")
        invalid = Refused(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
        if found.group("region") != self.region or found.group("service") != "lambda":
            raise invalid
        if "host" not in signed or "x-amz-date" not in signed or not stamp.startswith(found.group("day")):
            raise invalid
        try:
            signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise invalid from None
        if abs(datetime.now(UTC) - signed_at) > MAX_SKEW:
            raise Refused(403, "InvalidSignatureException", "Signature expired.")
        content_hash = _header(headers, "x-amz-content-sha256")
        if content_hash is not None and content_hash != sha256(body).hexdigest():
            raise invalid
        request = AWSRequest(
            method=method,
            url=f"http://{_header(headers, 'host') or ''}{target}",
            data=body,
            headers={name: _header(headers, name) or "" for name in signed},
        )
        request.context["timestamp"] = stamp
        auth = SigV4Auth(Credentials(found.group("key"), secret), "lambda", self.region)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        if not hmac.compare_digest(expected, found.group("signature")):
            raise invalid
        return caller

    def _function(self, name: str, query: dict[str, list[str]]) -> str:
        """The declared function a FunctionName (name or ARN, with ``$LATEST`` at most) names."""
        qualifier: str | None = query["Qualifier"][0] if query.get("Qualifier") else None
        if name.startswith("arn:"):
            parts = name.split(":")
            name, qualifier = (
                (parts[6] if len(parts) > 6 else ""),
                (parts[7] if len(parts) > 7 else qualifier),
            )
        if name not in self.pools or qualifier not in {None, "$LATEST"}:
            raise Refused(404, "ResourceNotFoundException", f"Function not found: {self._arn(name)}")
        return name

    def _invoke(self, callee: str, body: bytes) -> Answer:
        if len(body) > MAX_PAYLOAD_BYTES:
            raise Refused(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes.")
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            raise Refused(
                400, "InvalidRequestContentException", "Could not parse request body into json."
            ) from None
        headers = [
            ("Content-Type", "application/json"),
            ("X-Amz-Executed-Version", "$LATEST"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        try:
            answer = json.dumps(self.pools[callee].invoke(event).result).encode()
        except InvocationError as exc:
            failure = {"errorType": ERROR_TYPES.get(exc.kind, exc.kind), "errorMessage": exc.message}
            return 200, [*headers, ("X-Amz-Function-Error", "Unhandled")], json.dumps(failure).encode()
        if len(answer) > MAX_PAYLOAD_BYTES:
            failure = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": f"Response payload size ({len(answer)} bytes) exceeded the maximum allowed.",
            }
            return 200, [*headers, ("X-Amz-Function-Error", "Unhandled")], json.dumps(failure).encode()
        return 200, headers, answer


class _Handler(BaseHTTPRequestHandler):
    server: InvokeServer
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        # Every method is answered by the endpoint (404 for all but POST), as the gateway does.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        headers = list(self.headers.items())
        if length > MAX_PAYLOAD_BYTES + 1024:
            status, answer_headers, body = Refused(
                413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes."
            ).answer()
            self.close_connection = True
        elif any(k.lower() in {"origin", "sec-fetch-site"} for k, _ in headers):
            status, answer_headers, body = Refused(403, "AccessDeniedException", "Not for browsers.").answer()
        else:
            data = self.rfile.read(length) if length > 0 else b""
            status, answer_headers, body = self.server.endpoint.handle(self.command, self.path, headers, data)
        self.send_response(status)
        for name, value in answer_headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class InvokeServer(ThreadingHTTPServer):
    """The endpoint on ``host`` (the loopback), on a port of its own (0: any free one)."""

    daemon_threads = True

    def __init__(self, endpoint: InvokeEndpoint, host: str = "127.0.0.1", port: int = 0) -> None:
        self.endpoint = endpoint
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="lambda-invoke", daemon=True)
        thread.start()
        return thread
