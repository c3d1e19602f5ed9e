"""Function pools: each function runs in its own processes, with its own
environment and module state, cold once and then warm, as in Lambda.

A pool keeps idle workers and starts another (a cold start) when every worker
is busy, up to the function's reserved concurrency or ``max_workers``. A worker
that crashes or overruns its timeout is discarded, as Lambda discards the
execution environment, and the invocation fails.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shared.topology import Function

ROOT = Path(__file__).resolve().parents[2]
INIT_BUDGET_S = 10


class InvocationError(RuntimeError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


@dataclass
class Invocation:
    result: Any
    cold: bool
    duration_ms: float


class Worker:
    def __init__(self, function: Function, env: dict[str, str], log: IO[str]) -> None:
        self.function = function
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.local.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=ROOT,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._replies: queue.Queue[str] = queue.Queue()
        self.served = False
        threading.Thread(target=self._read, name=f"{function.id}-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)
        self._replies.put("")  # EOF: the process is gone

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request; the first also pays the import (Lambda's init phase has its own 10 s)."""
        assert self.process.stdin is not None
        if not self.served:
            timeout_s += INIT_BUDGET_S
            self.served = True
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self._replies.get(timeout=timeout_s)
        except queue.Empty:
            self.kill()
            raise InvocationError("timeout", f"{self.function.id} ran over {timeout_s:.0f}s") from None
        except (BrokenPipeError, OSError):
            self.kill()
            raise InvocationError("crash", f"{self.function.id} is not running") from None
        if not line:
            self.kill()
            raise InvocationError("crash", f"{self.function.id} exited (code {self.process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait(timeout=5)


class FunctionPool:
    def __init__(self, function: Function, env: dict[str, str], log_dir: Path, max_workers: int = 4) -> None:
        self.function = function
        self.env = {
            **os.environ,
            **env,
            "DANGOL_HANDLER": function.handler,
            "AWS_LAMBDA_FUNCTION_NAME": function.id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_s),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        self.max_workers = max_workers
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = (log_dir / f"{function.id}.log").open("a", encoding="utf-8", buffering=1)
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
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
                return Worker(self.function, self.env, self.log)
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

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.invocations += 1
        deadline_ms = int(time.time() * 1000) + self.function.timeout_s * 1000
        return self.request(
            {"op": "invoke", "event": event, "request_id": str(uuid.uuid4()), "deadline_ms": deadline_ms}
        )

    def openapi(self) -> dict[str, Any]:
        result = self.request({"op": "openapi"}).result
        return dict(result)

    def close(self) -> None:
        idle: list[Worker] = []
        while True:
            try:
                idle.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in idle:  # every worker told at once, then each waited for
            if worker.process.stdin:
                worker.process.stdin.close()
        for worker in idle:
            try:
                worker.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.log.close()
