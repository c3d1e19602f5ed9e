"""The console's exit codes, and the error that carries one with a one-line message.

| code | meaning |
| --- | --- |
| 0 | done |
| 1 | an error (the API's 4xx/5xx not below, a network failure, a bad file) |
| 2 | usage: a missing or invalid option or argument (Typer's own) |
| 3 | not found (404) |
| 4 | conflict: the thing changed or is in another state (409, 412) |
| 5 | authentication: not logged in, the login expired, or the role may not (401, 403) |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OK, ERROR, USAGE, NOT_FOUND, CONFLICT, AUTH = 0, 1, 2, 3, 4, 5
_BY_STATUS = {401: AUTH, 403: AUTH, 404: NOT_FOUND, 409: CONFLICT, 412: CONFLICT, 428: CONFLICT}


@dataclass
class ConsoleError(Exception):
    """What went wrong, in one line, with the exit code it means and the API's error code."""

    message: str
    exit_code: int = ERROR
    code: str | None = None
    status: int | None = None
    details: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def line(self) -> str:
        """The one line the console prints: ``error [code]: message``."""
        return f"error [{self.code}]: {self.message}" if self.code else f"error: {self.message}"


def from_response(status: int, body: Any) -> ConsoleError:
    """The API's ``{"error": {"code", "message", "details"}}`` answer as a ``ConsoleError``."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "http_error")
        message = str(error.get("message") or f"HTTP {status}")
        details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    else:
        code, message, details = "http_error", f"HTTP {status}", []
    if details:
        first = details[0]
        where = ".".join(str(p) for p in first.get("loc", []) if p != "body")
        said = first.get("msg") or first.get("message") or first.get("type")
        if where or said:
            message = f"{message} ({where + ': ' if where else ''}{said or 'invalid'})"
    exit_code = _BY_STATUS.get(status, ERROR)
    return ConsoleError(message, exit_code=exit_code, code=code, status=status, details=details)
