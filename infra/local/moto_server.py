"""moto in server mode on 127.0.0.1 only, one request at a time, never to a browser.

- **One at a time.** moto's backends are not thread-safe, and the local runtime calls it from
  many threads (the gateway's, the function workers', the pollers'): a lock around the WSGI app
  serializes every request into it. An SQS long poll (``WaitTimeSeconds``) lets go of the lock
  while it waits for messages (moto waits on a condition that ``SendMessage`` notifies), so the
  runtime's pollers can wait for messages without polling and without stopping everyone else.
- **Never a browser.** moto answers any origin with permissive CORS headers, so any web page
  open while the runtime runs could read and change everything in it. A guard in front of it
  refuses (403, no CORS headers) a request that carries a browser's ``Origin`` or
  ``Sec-Fetch-*`` headers, or whose ``Host`` is not the loopback (DNS rebinding).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import BaseWSGIServer, make_server

import infra.local.moto_transactions  # noqa: F401  moto's transactions at AWS's cost (the module says)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_inside = threading.local()  # the SerializedApp whose lock this thread holds, if any


class SerializedApp:
    """A WSGI app that lets one request at a time into the app it wraps."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.lock:
            self.requests += 1
            _inside.app = self
            try:
                # Materialize the body inside the lock: a lazy iterable would run moto's code outside it.
                return list(self.app(environ, start_response))
            finally:
                _inside.app = None


class BrowserGuard:
    """Refuses what a browser sends (``Origin``, ``Sec-Fetch-*``) and any ``Host`` but the loopback."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.refused = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST", "127.0.0.1"))
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if "HTTP_ORIGIN" in environ or "HTTP_SEC_FETCH_SITE" in environ or hostname not in LOOPBACK_HOSTS:
            self.refused += 1
            body = b'{"message": "moto serves the local runtime, not browsers."}'
            start_response(
                "403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return self.app(environ, start_response)


_original_wait = sqs_models.Queue.wait_for_messages


def _wait_outside_the_lock(self: Any, timeout: int) -> None:
    """moto's long poll waits here between its scans of the queue: without our lock, so that the
    SendMessage that ends the wait (and every other request) can get in."""
    app: SerializedApp | None = getattr(_inside, "app", None)
    if app is None:
        _original_wait(self, timeout)
        return
    app.lock.release()
    try:
        _original_wait(self, timeout)
    finally:
        app.lock.acquire()


sqs_models.Queue.wait_for_messages = _wait_outside_the_lock  # type: ignore[method-assign]


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self.guard = BrowserGuard(self.app)

    def start(self) -> str:
        """Bind (raises OSError if the port is taken) and serve in a daemon thread."""
        self._server = make_server(
            self.host, self.port, self.guard, threaded=True, request_handler=_QuietHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
