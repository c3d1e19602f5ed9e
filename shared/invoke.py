"""Invoking another function directly and synchronously (``lambda:InvokeFunction``), as the
topology allows it (``Function.invokes`` / ``invoked_by``): JSON in, JSON out.

The callee is named by the environment variable the topology gives the caller (``<CALLEE>_FUNCTION``,
``Function.env_var``) or by its name or ARN. On AWS, IAM lets only the declared callers in; locally
the runtime's Invoke endpoint (``AWS_ENDPOINT_URL_LAMBDA``) checks the same. botocore only, through
``shared.aws`` (no boto3 at cold start).

Errors, none of which carries the payload:

- ``FunctionFailed``: the callee raised (or timed out): ``X-Amz-Function-Error`` on the answer;
- ``RequestRefused``: the callee answered ``{"error": {"code", "message", "details"}}``, its way
  of refusing a request it cannot take;
- ``InvokeError``: Lambda refused the call (``AccessDeniedException``, ``ResourceNotFoundException``,
  throttling, ...), or the answer is not JSON.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from shared import aws

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*_FUNCTION$")


class InvokeError(Exception):
    """Lambda refused the invocation, or its answer could not be read."""

    def __init__(self, function: str, code: str, message: str) -> None:
        super().__init__(f"invoking {function}: {code}: {message}")
        self.function = function
        self.code = code


class FunctionFailed(InvokeError):
    """The callee raised or timed out (``errorType`` in ``code``)."""


class RequestRefused(InvokeError):
    """The callee refused the request (its ``error.code`` in ``code``, ``details`` without values)."""

    def __init__(self, function: str, code: str, message: str, details: list[Any]) -> None:
        super().__init__(function, code, message)
        self.details = details


def function_name(function: str) -> str:
    """``<CALLEE>_FUNCTION`` read from the environment (it must be set), else ``function`` itself."""
    if _ENV_NAME.match(function):
        name = os.environ.get(function)
        if not name:
            raise InvokeError(
                function, "not_configured", f"{function} is not set: the topology gives no callee"
            )
        return name
    return function


def invoke(function: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Invoke ``function`` (an env var name ``<CALLEE>_FUNCTION``, a name or an ARN) with ``payload``
    and return its JSON object answer."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - deferred for cold start

    name = function_name(function)
    try:
        out = aws.client("lambda").invoke(
            FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise InvokeError(name, str(error.get("Code", "error")), str(error.get("Message", ""))) from None
    raw = out["Payload"].read()
    try:
        answer = json.loads(raw or b"null")
    except ValueError:
        raise InvokeError(name, "invalid_response", "the answer is not JSON") from None
    if out.get("FunctionError"):
        failure: dict[str, Any] = answer if isinstance(answer, dict) else {}
        raise FunctionFailed(
            name, str(failure.get("errorType", out["FunctionError"])), str(failure.get("errorMessage", ""))
        )
    if not isinstance(answer, dict):
        raise InvokeError(name, "invalid_response", "the answer is not a JSON object")
    refused = answer.get("error")
    if isinstance(refused, dict) and set(answer) == {"error"}:
        raise RequestRefused(
            name,
            str(refused.get("code", "refused")),
            str(refused.get("message", "")),
            list(refused.get("details") or []),
        )
    return answer
