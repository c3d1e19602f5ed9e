"""Secrets read at run time from Secrets Manager, never from the environment.

A function is given a secret's ARN (the environment and the template hold no value); the value is
read at its first use and kept for ``MAX_AGE_S``, so a rotated secret reaches every warm function
within minutes and a cold one never waits for a secret it does not use. A failed read is a 503
(``dependency_unavailable``): nothing was done, the client may retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock

from shared import aws
from shared.errors import ServiceUnavailable

MAX_AGE_S = 300.0


def _from_secrets_manager(secret_id: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - at first use only

    try:
        value = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError):
        raise ServiceUnavailable(code="dependency_unavailable") from None
    return str(value["SecretString"])


class SecretCache:
    """Values by secret id, each kept ``max_age_s`` after it was read."""

    def __init__(
        self,
        fetch: Callable[[str], str] = _from_secrets_manager,
        *,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._clock = clock
        self._values: dict[str, tuple[float, str]] = {}
        self._lock = Lock()

    def get(self, secret_id: str) -> str:
        now = self._clock()
        with self._lock:
            cached = self._values.get(secret_id)
        if cached is not None and now - cached[0] < self._max_age_s:
            return cached[1]
        value = self._fetch(secret_id)
        with self._lock:
            self._values[secret_id] = (now, value)
        return value

    def forget(self) -> None:
        """Drop every value (tests that switch backends)."""
        with self._lock:
            self._values.clear()


CACHE = SecretCache()


def secret_string(secret_id: str) -> str:
    """The secret's current value (cached for ``MAX_AGE_S``)."""
    return CACHE.get(secret_id)
