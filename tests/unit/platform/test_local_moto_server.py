"""moto behind the local runtime: no browser reaches it (Origin, fetch metadata, a foreign Host),
and an SQS long poll waits without holding the lock that serializes every request into moto."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from threading import Condition
from types import SimpleNamespace
from typing import Any

import pytest
from moto.sqs import models as sqs_models

from infra.local.moto_server import BrowserGuard, SerializedApp


def reached(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto"]


def send(app: Any, **headers: str) -> tuple[str, bytes]:
    status: list[str] = []
    environ = {"HTTP_HOST": "127.0.0.1:5000", **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], body


def test_the_runtimes_own_clients_reach_moto() -> None:
    # Given the guard in front of moto
    guard = BrowserGuard(reached)
    # When boto3 (no Origin, a loopback Host) calls it, by IP or by name
    # Then it gets through
    assert send(guard) == ("200 OK", b"moto")
    assert send(guard, host="localhost:5000") == ("200 OK", b"moto")


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://example.com"},
        {"origin": "null"},
        {"sec_fetch_site": "cross-site"},
        {"sec_fetch_site": "same-origin"},
        {"host": "attacker.example"},
        {"host": "attacker.example:5000"},
    ],
)
def test_a_browsers_request_never_reaches_moto(headers: dict[str, str]) -> None:
    # Given the guard in front of moto
    guard = BrowserGuard(reached)
    # When a web page's request (or a DNS-rebound one) comes
    status, body = send(guard, **headers)
    # Then it is refused before moto
    assert status.startswith("403")
    assert body != b"moto"
    assert guard.refused == 1


def test_a_long_poll_lets_other_requests_in_while_it_waits() -> None:
    # Given moto's queue wait (patched by the runtime) inside a request that holds the app's lock
    queue = SimpleNamespace(_messages_lock=Condition(), messages=[])
    waited = threading.Event()

    def long_poll(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sqs_models.Queue.wait_for_messages(queue, 5)  # type: ignore[arg-type]
        waited.set()
        start_response("200 OK", [])
        return [b""]

    app = SerializedApp(long_poll)
    poller = threading.Thread(target=lambda: list(app({}, lambda *_: None)))
    poller.start()
    time.sleep(0.2)
    # When another request needs the lock meanwhile
    got_in = app.lock.acquire(timeout=2)
    # Then it gets in at once, and a message (SendMessage's notify) ends the wait
    assert got_in
    with queue._messages_lock:
        queue.messages.append("a message")
        queue._messages_lock.notify_all()
    app.lock.release()
    assert waited.wait(timeout=2)
    poller.join(timeout=2)
    assert not poller.is_alive()
    assert not app.lock.locked()
