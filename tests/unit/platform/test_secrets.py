"""Secrets are read at first use and kept for a while, so a rotation reaches warm functions."""

from __future__ import annotations

import pytest

from shared import secrets
from shared.errors import ServiceUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_secret_is_read_once_then_served_from_the_cache_until_it_is_old() -> None:
    # Given a store whose value changes (a rotation) and a cache keeping values 300 s
    values = iter(["first", "rotated"])
    reads: list[str] = []

    def fetch(secret_id: str) -> str:
        reads.append(secret_id)
        return next(values)

    clock = Clock()
    cache = secrets.SecretCache(fetch, max_age_s=300, clock=clock)
    # When it is read twice within the age
    assert cache.get("arn:s") == "first"
    clock.now += 299
    assert cache.get("arn:s") == "first"
    # Then the store was asked once; after the age the rotated value is read
    assert reads == ["arn:s"]
    clock.now += 2
    assert cache.get("arn:s") == "rotated"
    assert reads == ["arn:s", "arn:s"]


def test_each_secret_has_its_own_entry_and_forget_drops_them_all() -> None:
    # Given two secrets read through one cache
    reads: list[str] = []
    cache = secrets.SecretCache(lambda sid: reads.append(sid) or sid.upper())
    assert (cache.get("a"), cache.get("b")) == ("A", "B")
    # When the cache forgets and a secret is read again
    cache.forget()
    cache.get("a")
    # Then it was read from the store again
    assert reads == ["a", "b", "a"]


def test_a_failed_read_is_a_503_that_caches_nothing() -> None:
    # Given a store that fails once, then answers
    calls = {"n": 0}

    def fetch(_: str) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ServiceUnavailable(code="dependency_unavailable")
        return "value"

    cache = secrets.SecretCache(fetch)
    # When the first read fails, the client gets a retryable 503
    with pytest.raises(ServiceUnavailable) as raised:
        cache.get("arn:s")
    assert raised.value.status == 503
    # Then the next read goes to the store again and succeeds
    assert cache.get("arn:s") == "value"
