"""Function pools: each function runs in its own processes, with its own
environment and module state, cold once and then warm, as in Lambda.

A pool keeps idle workers and starts another (a cold start) when every worker
is busy, up to the function's reserved concurrency or ``max_workers``. A worker
that crashes or overruns its timeout is discarded, as Lambda discards the
execution environment, and the invocation fails.

As on Lambda:

- **Init has its own limit.** A new worker imports its handler at once (the init phase) and
  has ``INIT_BUDGET_S`` (10 s) for it, apart from the function's timeout: the invocation that
  waits for it gets its whole timeout once init is done. An init that overruns 10 s goes on as
  part of that invocation and counts against its timeout (Lambda then re-runs init inside the
  invocation); one that fails fails the invocation and the worker is discarded.
- **Only the function's code asset is importable**: its service package and ``shared/``
  (``infra/packaging.py`` stages the same), linked into ``<state>/code/<package>/`` and put on
  the worker's path in place of the repository (the worker also drops the editable install's
  finder), so ``services.<other>`` cannot be imported by accident.
- **Workers die with the runtime**: each is started with ``PR_SET_PDEATHSIG`` (SIGKILL), from
  one long-lived thread (the signal follows the thread that forked), and leaves by itself when
  its stdin closes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shared.topology import Function

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().with_name("worker.py")
INIT_BUDGET_S = 10
PR_SET_PDEATHSIG = 1


class InvocationError(RuntimeError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass
class Invocation:
    result: Any
    cold: bool
    duration_ms: float


# --- starting workers that die with us ---------------------------------------------------------


def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks Linux to SIGKILL the child when its parent thread ends."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def arm() -> None:  # runs in the child between fork and exec: nothing but the syscall
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


class _Spawner:
    """Starts every worker from one thread that lives as long as the process: a death signal
    armed by a short-lived thread (a gateway request's) would fire when that thread ends."""

    def __init__(self) -> None:
        self._orders: queue.SimpleQueue[tuple[dict[str, Any], Future[subprocess.Popen[str]]]] = (
            queue.SimpleQueue()
        )
        self._arm = _death_signal()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, **kwargs: Any) -> subprocess.Popen[str]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="worker-spawner", daemon=True)
                self._thread.start()
        future: Future[subprocess.Popen[str]] = Future()
        self._orders.put((kwargs, future))
        return future.result()

    def _run(self) -> None:
        while True:
            kwargs, future = self._orders.get()
            try:
                future.set_result(subprocess.Popen(preexec_fn=self._arm, **kwargs))  # noqa: PLW1509 - one syscall, no lock
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)


_SPAWNER = _Spawner()


# --- code assets -------------------------------------------------------------------------------


def code_package(handler: str) -> tuple[str, str]:
    """(top package, its sub-package) that holds a handler: ``services.profile.handlers.api.x``
    -> ("services", "profile"); the function's code asset is that and ``shared``."""
    parts = handler.split(".")
    if len(parts) < 3:
        raise ValueError(f"handler {handler!r} is not <package>.<sub-package>.<module...>.<function>")
    return parts[0], parts[1]


def stage_code(handler: str, into: Path) -> Path:
    """Link a function's code asset into ``into/<top>-<sub>/``: ``shared/``, ``<top>/__init__.py``
    and ``<top>/<sub>/`` (links, so an edit in the repository is seen by the next cold start)."""
    top, sub = code_package(handler)
    folder = into / f"{top}-{sub}"
    links = {
        folder / "shared": ROOT / "shared",
        folder / top / "__init__.py": ROOT / top / "__init__.py",
        folder / top / sub: ROOT / top / sub,
    }
    for link, source in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and link.resolve() == source.resolve():
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(source, target_is_directory=source.is_dir())
    return folder


# --- workers and pools -------------------------------------------------------------------------


class Worker:
    def __init__(self, function: Function, env: dict[str, str], log: IO[str], cwd: Path) -> None:
        self.function = function
        self.started = time.monotonic()
        self.process = _SPAWNER.popen(
            args=[sys.executable, "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._replies: queue.Queue[str] = queue.Queue()
        self.ready = False
        threading.Thread(target=self._read, name=f"{function.id}-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put("")  # EOF: the process is gone

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _next(self, timeout_s: float, kind: str, what: str) -> dict[str, Any]:
        try:
            line = self._replies.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            self.kill()
            raise InvocationError(kind, f"{self.function.id} {what}") from None
        if not line:
            self.kill()
            raise InvocationError("crash", f"{self.function.id} exited (code {self.process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def wait_ready(self, timeout_s: float) -> bool:
        """Wait for init (the handler's import); False if it is still running after ``timeout_s``."""
        if self.ready:
            return True
        try:
            line = self._replies.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return False
        if not line:
            self.kill()
            raise InvocationError(
                "crash", f"{self.function.id} exited during init (code {self.process.poll()})"
            )
        reply = json.loads(line)
        if not reply.get("ok"):
            self.kill()
            error = reply.get("error") or {}
            raise InvocationError("init_error", f"{error.get('type', 'error')}: {error.get('message', '')}")
        self.ready = True
        return True

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request, after init: init has its own ``INIT_BUDGET_S`` from the worker's start;
        if it overruns, the rest of it counts against this request's ``timeout_s``."""
        assert self.process.stdin is not None
        if not self.ready and not self.wait_ready(self.started + INIT_BUDGET_S - time.monotonic()):
            deadline = time.monotonic() + timeout_s  # the rest of init is part of this invocation
            if not self.wait_ready(timeout_s):
                self.kill()
                raise InvocationError(
                    "timeout", f"{self.function.id}: init ran over {INIT_BUDGET_S}s + {timeout_s}s"
                )
        else:
            deadline = time.monotonic() + timeout_s
        if "deadline_ms" in request:
            request = {**request, "deadline_ms": int((time.time() + deadline - time.monotonic()) * 1000)}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise InvocationError("crash", f"{self.function.id} is not running") from None
        return self._next(deadline - time.monotonic(), "timeout", f"ran over {timeout_s:.0f}s")

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait(timeout=5)


class FunctionPool:
    def __init__(
        self,
        function: Function,
        env: dict[str, str],
        log_dir: Path,
        max_workers: int = 4,
        code_dir: Path | None = None,
    ) -> None:
        self.function = function
        code = stage_code(function.handler, code_dir or log_dir.parent / "code")
        self.code = code
        self.env = {
            **os.environ,
            **env,
            "DANGOL_HANDLER": function.handler,
            "AWS_LAMBDA_FUNCTION_NAME": function.id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
            "LAMBDA_TASK_ROOT": str(code),
            "PYTHONPATH": str(code),  # the asset, as /var/task: not the repository
            "PYTHONUNBUFFERED": "1",
        }
        self.max_workers = max_workers
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = (log_dir / f"{function.id}.log").open("a", encoding="utf-8", buffering=1)
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._closing: list[Worker] = []
        self._count = 0
        self._lock = threading.Lock()
        self.cold_starts = 0
        self.invocations = 0

    def _acquire(self) -> Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._count < self.max_workers:
                self._count += 1
                self.cold_starts += 1
                try:
                    return Worker(self.function, self.env, self.log, self.code)
                except BaseException:
                    self._count -= 1
                    raise
        return self._idle.get()  # every worker is busy and the pool is full: wait for one

    def _release(self, worker: Worker) -> None:
        if worker.alive:
            self._idle.put(worker)
        else:
            with self._lock:
                self._count -= 1

    def request(self, request: dict[str, Any]) -> Invocation:
        worker = self._acquire()
        try:
            reply = worker.call(request, timeout_s=self.function.timeout_s)
        finally:
            self._release(worker)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise InvocationError(str(error.get("type", "error")), str(error.get("message", "")))
        return Invocation(reply.get("result"), bool(reply.get("cold")), float(reply.get("duration_ms", 0)))

    def warm(self) -> None:
        """Start one worker and wait for its init (a provisioned environment), invoking nothing."""
        worker = self._acquire()
        try:
            if not worker.wait_ready(INIT_BUDGET_S):
                worker.wait_ready(self.function.timeout_s)
        finally:
            self._release(worker)

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.invocations += 1
        deadline_ms = int(time.time() * 1000) + self.function.timeout_s * 1000  # set again after init
        return self.request(
            {"op": "invoke", "event": event, "request_id": str(uuid.uuid4()), "deadline_ms": deadline_ms}
        )

    def openapi(self) -> dict[str, Any]:
        result = self.request({"op": "openapi"}).result
        return dict(result)

    def begin_close(self) -> None:
        """Tell every idle worker to leave (its stdin closes); ``close`` waits for them. Pools
        told one after the other and then waited for stop in the time of the slowest worker."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            self._closing.append(worker)
            if worker.process.stdin:
                worker.process.stdin.close()

    def close(self) -> None:
        self.begin_close()
        for worker in self._closing:
            try:
                worker.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                worker.kill()
        self._closing.clear()
        self.log.close()
