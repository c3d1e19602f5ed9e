"""Start the local runtime as a newcomer does (the `dangol-local up` command) and
drive it over HTTP with real Cognito tokens."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local import cognito

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalSystem:
    url: str
    state_dir: Path
    process: subprocess.Popen[str]
    log: Path
    _tokens: dict[tuple[str, str | None, bool], str] = field(default_factory=dict)

    @property
    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.state_dir / "local.json").read_text()))

    def token(self, role: str = "customer", *, user: str | None = None, access: bool = False) -> str:
        """A fresh token for a demo user, by the pool's password login (cached: tokens last 1 h)."""
        key = (role, user, access)
        if key not in self._tokens:
            state = self.state
            username = user or next(n for n, u in state["users"].items() if u["role"] == role)
            idp = boto3.client(
                "cognito-idp",
                endpoint_url=state["moto_url"],
                region_name=state["region"],
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            pool = cognito.Pool(state["pool_id"], state["client_id"], state["region"], state["moto_url"])
            result = cognito.login(idp, pool, username, state["users"][username]["password"])
            self._tokens[key] = result["AccessToken" if access else "IdToken"]
        return self._tokens[key]

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if method in {"POST", "PUT", "PATCH", "DELETE"} and not any(
            h.lower() == "idempotency-key" for h in all_headers
        ):
            all_headers["Idempotency-Key"] = uuid.uuid4().hex  # as a well-behaved client does
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpResponse(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as err:
            return HttpResponse(err.code, dict(err.headers), err.read())


def start_system(tmp: Path, port: int | None = None) -> LocalSystem:
    port = port or free_port()
    log = tmp / "run.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "up", "--port", str(port), "--state-dir", str(tmp / "state")],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    system = LocalSystem(f"http://127.0.0.1:{port}", tmp / "state", process, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dangol-local exited early:\n{log.read_text()[-3000:]}")
        if (system.state_dir / "local.json").exists() and "dangol is serving" in log.read_text():
            return system
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"dangol-local did not start in 60 s:\n{log.read_text()[-3000:]}")


def stop_system(system: LocalSystem) -> int:
    if system.process.poll() is None:
        system.process.send_signal(signal.SIGINT)
        try:
            return system.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(system.process.pid, signal.SIGKILL)
            return system.process.wait()
    return int(system.process.returncode)


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    tmp = tmp_path_factory.mktemp("local")
    system = start_system(tmp)
    yield system
    stop_system(system)
    shutil.rmtree(tmp, ignore_errors=True)
