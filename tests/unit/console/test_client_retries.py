"""The client's retries: a request the gateway answered 429/502/503/504, or that did not reach it, is
sent again after a growing wait with the same Idempotency-Key, so its effect happens once; an
answer a retry cannot change comes back at once."""

from __future__ import annotations

from typing import Any

import pytest

from console import client as client_module
from console.client import Client, Response
from console.errors import ConsoleError


class Gateway:
    """Answers in turn with what it was given; remembers each request's Idempotency-Key."""

    def __init__(self, *answers: int | ConsoleError) -> None:
        self.answers = list(answers)
        self.keys: list[Any] = []

    def __call__(self, *args: Any) -> Response:
        self.keys.append(args[7])  # _once's idempotency_key
        answer = self.answers.pop(0)
        if isinstance(answer, ConsoleError):
            raise answer
        return Response(answer, {}, b'{"error": {"code": "function_timeout", "message": "late"}}')


@pytest.fixture(autouse=True)
def no_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)
    return waits


def test_a_timed_out_create_is_sent_again_with_the_same_key(
    monkeypatch: pytest.MonkeyPatch, no_waits: list[float]
) -> None:
    gateway = Gateway(504, ConsoleError("refused", code="unreachable"), 201)
    api = Client("http://127.0.0.1:9", attempts=4)
    monkeypatch.setattr(api, "_once", gateway)
    answer = api.request("POST", "/me", body={"display_name": "x"})
    assert answer.status == 201
    assert len(gateway.keys) == 3
    assert len(set(gateway.keys)) == 1  # one key for every try
    assert len(no_waits) == 2
    assert no_waits[1] > no_waits[0] * 0.5


def test_an_answer_a_retry_cannot_change_comes_back_at_once(
    monkeypatch: pytest.MonkeyPatch, no_waits: list[float]
) -> None:
    gateway = Gateway(409)
    api = Client("http://127.0.0.1:9", attempts=4)
    monkeypatch.setattr(api, "_once", gateway)
    with pytest.raises(ConsoleError) as conflict:
        api.request("POST", "/me", body={})
    assert (conflict.value.exit_code, len(gateway.keys), no_waits) == (4, 1, [])


def test_the_last_try_is_reported_as_it_was_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = Gateway(503, 504)
    api = Client("http://127.0.0.1:9", attempts=2)
    monkeypatch.setattr(api, "_once", gateway)
    with pytest.raises(ConsoleError) as late:
        api.request("GET", "/me")
    assert (late.value.status, late.value.code) == (504, "function_timeout")
    assert len(gateway.keys) == 2


def test_a_first_try_still_running_is_waited_for_as_the_api_asks(
    monkeypatch: pytest.MonkeyPatch, no_waits: list[float]
) -> None:
    keys: list[Any] = []
    in_progress = Response(
        409,
        {"Retry-After": "2"},
        b'{"error": {"code": "idempotency_in_progress", "message": "retry shortly"}}',
    )
    answers = [in_progress, Response(201, {}, b'{"customer_id": "cus_1"}')]

    def gateway(*args: Any) -> Response:
        keys.append(args[7])
        return answers.pop(0)

    api = Client("http://127.0.0.1:9", attempts=3)
    monkeypatch.setattr(api, "_once", gateway)
    assert api.post("/me", {"display_name": "x"}) == {"customer_id": "cus_1"}
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert no_waits == [2.0]  # the API's Retry-After, longer than the first backoff
