"""The project's one HTTP client of the dangol API: the console, the demo, the end-to-end tests and
the benchmarks speak to the system through it.

- Every request carries the caller's ID token (``Authorization: Bearer``), fetched (and refreshed)
  by the token source it is given, except where ``auth=False`` (the public routes).
- A mutating request carries an ``Idempotency-Key``: a fresh one unless the caller gives its own
  (give the same one to retry an effect safely; ``None`` sends none).
- An answer of 400 and more is raised as ``ConsoleError`` with the API's error code and the exit
  code it means (``console.errors``); one that cannot be reached is exit 1 ``unreachable``.
- ``pages`` follows ``next_cursor`` to the end of a list.
- ``attempts`` above 1: a request answered 429, 502, 503 or 504, or 409 ``idempotency_in_progress``
  (its first try is still running), or not reached, is sent again after a growing wait (at least
  its ``Retry-After``), with the same Idempotency-Key (so an effect happens once), as an app
  retries a cold start that ran past the gateway's timeout.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from console.errors import ConsoleError, from_response

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NEW_KEY = object()  # the default: a fresh Idempotency-Key per mutating request
LOCAL_SECRET_HEADER = "X-Dangol-Local-Secret"  # noqa: S105 - a header name
RETRIED = frozenset({429, 502, 503, 504})
BACKOFF_S = 0.5  # then 1, 2, 4 (at most 8), each with jitter


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Client:
    base_url: str
    token: Callable[[], str] | None = None
    timeout_s: float = 30.0
    local_secret: str | None = None  # the local runtime's /_local secret
    user_agent: str = "dangol-console"
    attempts: int = 1  # tries of a request answered 429/502/503/504 or not reached

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
        idempotency_key: Any = NEW_KEY,
        auth: bool = True,
        check: bool = True,
    ) -> Response:
        """One request; raises ``ConsoleError`` for an answer of 400 and more unless ``check=False``."""
        if method in MUTATING and idempotency_key is NEW_KEY:
            idempotency_key = uuid.uuid4().hex  # one key for every try
        response: Response | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._once(
                    method, path, body, params, raw, content_type, headers, idempotency_key, auth
                )
            except ConsoleError as exc:
                if exc.code != "unreachable" or attempt == self.attempts:
                    raise
                response = None
            else:
                if not _retried(response) or attempt == self.attempts:
                    break
            wait = min(BACKOFF_S * 2 ** (attempt - 1), 8.0) * random.uniform(0.5, 1.0)  # noqa: S311
            time.sleep(max(wait, _retry_after(response) if response is not None else 0.0))
        assert response is not None  # the last try either answered or raised
        if check and response.status >= 400:
            raise from_response(response.status, _parsed(response))
        return response

    def _once(  # noqa: PLR0917 - request's arguments, passed on
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, Any] | None,
        raw: bytes | None,
        content_type: str,
        headers: Mapping[str, str] | None,
        idempotency_key: Any,
        auth: bool,
    ) -> Response:
        url = self.base_url.rstrip("/") + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sending = {"Accept": "application/json", "User-Agent": self.user_agent, **(headers or {})}
        if data is not None:
            sending["Content-Type"] = content_type
        if method in MUTATING and idempotency_key is not None and not path.startswith("/_local"):
            sending["Idempotency-Key"] = (
                uuid.uuid4().hex if idempotency_key is NEW_KEY else str(idempotency_key)
            )
        if auth and self.token is not None:
            sending["Authorization"] = f"Bearer {self.token()}"
        if path.startswith("/_local") and self.local_secret:
            sending[LOCAL_SECRET_HEADER] = self.local_secret
        if not url.startswith(("http://", "https://")):
            raise ConsoleError(f"not an http(s) URL: {self.base_url}", code="invalid_config")
        request = urllib.request.Request(url, data=data, method=method, headers=sending)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                response = Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as err:
            response = Response(err.code, dict(err.headers or {}), err.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConsoleError(
                f"{self.base_url} could not be reached: {reason}", code="unreachable"
            ) from None
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request's JSON answer (None when it has no body)."""
        return self.request(method, path, **kwargs).json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PUT", path, body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("PATCH", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)

    def versioned(self, method: str, path: str, body: Any = None) -> Any:
        """A change of a versioned resource: its ``ETag`` read now, sent back as ``If-Match`` (a
        change made meanwhile by someone else is then a 412: exit 4)."""
        current = self.request("GET", path)
        return self.call(method, path, body=body, headers={"If-Match": current.header("ETag") or ""})

    def pages(self, path: str, *, limit: int | None = None, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, page after page (``items`` and ``next_cursor``), ``limit`` at most."""
        cursor: str | None = None
        given = 0
        while True:
            page = self.get(path, **params, cursor=cursor)
            for item in page.get("items", []):
                yield item
                given += 1
                if limit is not None and given >= limit:
                    return
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _parsed(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retried(response: Response) -> bool:
    """An answer a later try may change: throttled, the gateway or function late or down, or the
    same request's first try still running."""
    if response.status in RETRIED:
        return True
    if response.status != 409:
        return False
    parsed = _parsed(response)
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return isinstance(error, dict) and error.get("code") == "idempotency_in_progress"


def _retry_after(response: Response) -> float:
    value = response.header("Retry-After") or ""
    return float(value) if value.isdigit() else 0.0


def quote(value: str) -> str:
    """A path segment, escaped."""
    return urllib.parse.quote(str(value), safe="")
