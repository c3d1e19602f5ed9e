"""The one exception vocabulary of the system.

Every error a client can cause is a ``DangolError`` with an HTTP status and a
machine-readable ``code``; ``shared.api`` turns it into the response body
``{"error": {"code", "message", "details"}}`` in exactly one place.
Services subclass these (or pass their own ``code``) and never build error
responses themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class DangolError(Exception):
    """Base of every error that maps to an HTTP response."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(DangolError):
    status = 400
    default_code = "bad_request"
    default_message = "The request is malformed."


class Unauthorized(DangolError):
    status = 401
    default_code = "unauthorized"
    default_message = "A valid bearer token is required."


class Forbidden(DangolError):
    status = 403
    default_code = "forbidden"
    default_message = "The caller may not do this."


class NotFound(DangolError):
    status = 404
    default_code = "not_found"
    default_message = "No such resource."


class MethodNotAllowed(DangolError):
    status = 405
    default_code = "method_not_allowed"
    default_message = "The resource does not support this method."


class Conflict(DangolError):
    status = 409
    default_code = "conflict"
    default_message = "The resource changed or already exists."


class PreconditionFailed(DangolError):
    status = 412
    default_code = "precondition_failed"
    default_message = "The resource has changed since the version given in If-Match."


class PreconditionRequired(DangolError):
    status = 428
    default_code = "precondition_required"
    default_message = "This request needs a precondition header."


class PayloadTooLarge(DangolError):
    status = 413
    default_code = "payload_too_large"
    default_message = "The request body is too large."


class UnsupportedMediaType(DangolError):
    status = 415
    default_code = "unsupported_media_type"
    default_message = "The request body must be application/json."


class Unprocessable(DangolError):
    status = 422
    default_code = "validation_error"
    default_message = "The request is not valid."


class Throttled(DangolError):
    status = 429
    default_code = "throttled"
    default_message = "Too many requests; retry after a short wait."

    def __init__(self, message: str | None = None, *, retry_after_s: int = 1, **kwargs: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)}, **kwargs)


class ServiceUnavailable(DangolError):
    """A dependency failed in a way the client cannot fix (never caused by input)."""

    status = 503
    default_code = "service_unavailable"
    default_message = "A dependency is unavailable; retry later."
