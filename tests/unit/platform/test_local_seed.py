"""Demo seeding retries what a client retries (connections that fail, 429, 502/503/504) with
backoff, and nothing else, so `make run` starts on a slow machine and still fails loudly on a bug."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest

from console.errors import ConsoleError
from infra.local.seed import ATTEMPTS, with_retries


class Script:
    """Answers from a list, one per attempt; exceptions are raised."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> tuple[int, Any]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "transient",
    [
        urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
        ConnectionResetError(104, "reset"),
        TimeoutError("timed out"),
        ConsoleError("http://127.0.0.1:8080 could not be reached: refused", code="unreachable"),
        (429, {"error": {"code": "too_many_requests"}}),
        (502, {"error": {"code": "function_error"}}),
        (503, None),
        (504, {"error": {"code": "function_timeout"}}),
    ],
)
def test_a_transient_failure_is_retried_with_growing_waits(transient: Any) -> None:
    # Given a call that fails transiently twice, then succeeds
    send, waits = Script(transient, transient, (201, {"id": "x"})), []
    # When it is sent with retries
    answer = with_retries(send, sleep=waits.append)
    # Then the success comes back after two waits, the second longer than the first's least
    assert answer == (201, {"id": "x"})
    assert send.calls == 3
    assert len(waits) == 2
    assert waits[1] > 0.5 * 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_what_a_retry_cannot_fix_is_answered_at_once(status: int) -> None:
    # Given a call answered with a client error (or a plain server error)
    send, waits = Script((status, {"error": {}})), []
    # When it is sent with retries
    answer = with_retries(send, sleep=waits.append)
    # Then that answer comes back at once
    assert answer[0] == status
    assert (send.calls, waits) == (1, [])


def test_it_gives_up_after_its_attempts() -> None:
    # Given a system that never answers
    refused = urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    send, waits = Script(*[refused] * ATTEMPTS), []
    # When a call is sent with retries
    with pytest.raises(urllib.error.URLError):
        with_retries(send, sleep=waits.append)
    # Then it tried ATTEMPTS times, waiting at most 8 s between two
    assert send.calls == ATTEMPTS
    assert max(waits) <= 8


def test_a_last_503_is_answered_not_raised() -> None:
    # Given a call that is 503 on every attempt
    send = Script(*[(503, None)] * ATTEMPTS)
    # When it is sent with retries
    answer = with_retries(send, sleep=lambda _: None)
    # Then the last answer comes back for the caller to report
    assert answer == (503, None)
