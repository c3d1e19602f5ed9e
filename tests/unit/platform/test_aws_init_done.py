"""The first AWS client ends init: what init made moves to the collector's permanent generation,
in a function's own process only (shared/aws.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared import aws


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    aws._init_done.cache_clear()
    yield calls
    aws._init_done.cache_clear()


def test_in_a_function_process_init_is_frozen_once(
    freezes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Lambda execution environment (Lambda and the local runtime's workers name the function)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "dangol-test-profile-api")
    # When clients are made, again and again
    for _ in range(3):
        aws._init_done()
    # Then what init made was frozen once, at the first
    assert freezes == ["freeze"]


def test_elsewhere_nothing_is_frozen(freezes: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process that is not a function's (tests, tools): frozen objects would never be collected
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    aws._init_done()
    # Then nothing is frozen
    assert freezes == []


def test_prime_makes_the_clients_at_init_in_a_function_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    monkeypatch.setattr(aws, "client", made.append)
    # Given a test's process: nothing is made
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    aws.prime("cognito-idp")
    assert made == []
    # Given a function's own process (a user-pool trigger's): its clients are made at once
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "dangol-test-profile-signup")
    aws.prime("cognito-idp", "dynamodb")
    assert made == ["cognito-idp", "dynamodb"]
