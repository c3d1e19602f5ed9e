"""Start the local runtime as a newcomer does (the `dangol-local up` command) and
drive it over HTTP with real Cognito tokens: people's ID tokens from the pool's password login,
the till's access token from ``POST /oauth2/token`` (client credentials), new customers signed
up through the local Cognito endpoint (``/cognito``), ``/_local/*`` with the run's secret."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from console.client import NEW_KEY, Client
from infra.local import cognito
from infra.local.gateway import LOCAL_SECRET_HEADER
from infra.local.seed import client_credentials

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120  # a start takes 10-30 s; two at once on a busy 2-core machine, more


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
        """A fresh token (cached: tokens last 1 h): a demo user's ID token (``access``: their access
        token) by the pool's password login; for ``machine``, the till's access token from
        ``POST /oauth2/token`` (the machine client's credentials), as a till gets it."""
        key = (role, user, access)
        if key not in self._tokens:
            state = self.state
            if role == "machine":
                self._tokens[key] = client_credentials(
                    state["token_url"], state["machine_client_id"], state["machine_client_secret"]
                )
                return self._tokens[key]
            username = user or next(n for n, u in state["users"].items() if u["role"] == role)
            pool = cognito.Pool(state["pool_id"], state["client_id"], state["region"], state["moto_url"])
            result = cognito.login(self.idp(), pool, username, state["users"][username]["password"])
            self._tokens[key] = result["AccessToken" if access else "IdToken"]
        return self._tokens[key]

    def idp(self, *, through_gateway: bool = False) -> Any:
        """A cognito-idp client: on moto, or (``through_gateway``) on the runtime's Cognito
        endpoint ``{url}/cognito``, where the user pool's triggers run."""
        state = self.state
        return boto3.client(
            "cognito-idp",
            endpoint_url=state["cognito_url"] if through_gateway else state["moto_url"],
            region_name=state["region"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def sign_up(self, email: str | None = None, *, password: str = "Sign-up-pass-1") -> dict[str, str]:  # noqa: S107
        """A new customer as the app makes one, through ``/cognito``: SignUp, ConfirmSignUp (moto
        takes any code), then a password login. Returns their tokens and username."""
        email = email or f"new-{uuid.uuid4().hex[:12]}@e2e.dangol.dev"
        idp, client_id = self.idp(through_gateway=True), self.state["client_id"]
        idp.sign_up(
            ClientId=client_id,
            Username=email,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email}],
        )
        idp.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode="123456")
        result = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        return {"username": email, "id": result["IdToken"], "access": result["AccessToken"]}

    def new_customer(self) -> tuple[str, str]:
        """A customer of the test's own (signed up, profile created): (ID token, customer id)."""
        token = self.sign_up()["id"]
        created = self.request("POST", "/me", token=token, body={"display_name": "E2E"})
        assert created.status == 201, created.body
        return token, str(created.json()["customer_id"])

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        secret: bool = True,
    ) -> HttpResponse:
        """One request through the project's one client (``console.client``), as a well-behaved
        client sends it (an Idempotency-Key on a mutating request unless one is given); to
        ``/_local/*`` with the run's secret unless ``secret=False`` or the test gives its own."""
        sending = dict(headers or {})
        given = {k.lower(): k for k in sending}
        key = sending.pop(given["idempotency-key"]) if "idempotency-key" in given else NEW_KEY
        content_type = sending.pop(given["content-type"]) if "content-type" in given else "application/json"
        own_secret = secret and LOCAL_SECRET_HEADER.lower() not in given
        client = Client(
            self.url,
            token=None if token is None else (lambda: token),
            local_secret=self.state["local_secret"] if own_secret else None,
        )
        answer = client.request(
            method,
            path,
            body=body,
            raw=raw,
            content_type=content_type,
            headers=sending,
            idempotency_key=key,
            check=False,
        )
        return HttpResponse(answer.status, dict(answer.headers), answer.body)


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc: Linux), zombies left out."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None and stat[0] != "Z":
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has ended)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far (all their threads)."""
    total = 0
    for pid in pids:
        if (stat := _stat(pid)) is not None:
            total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command's name: state, ppid, ... (None if gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def start_system(
    tmp: Path, port: int | None = None, *, seed: bool = True, retry_after_s: int | None = None
) -> LocalSystem:
    """``dangol-local up`` as `make run` starts it (``seed=False``: without the demo data, for a
    test about the process rather than the product: a third of the start; ``retry_after_s``: a
    failed SQS message comes back after that many seconds, not its visibility timeout)."""
    port = port or free_port()
    log = tmp / "run.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [
            *(
                sys.executable,
                "-m",
                "infra.local",
                "up",
                "--port",
                str(port),
                "--state-dir",
                str(tmp / "state"),
            ),
            *(() if seed else ("--no-seed",)),
            *(() if retry_after_s is None else ("--retry-after", str(retry_after_s))),
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    system = LocalSystem(f"http://127.0.0.1:{port}", tmp / "state", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dangol-local exited early:\n{log.read_text()[-3000:]}")
        if (system.state_dir / "local.json").exists() and "dangol is serving" in log.read_text():
            return system
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"dangol-local did not start in {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def stop_system(system: LocalSystem, sig: signal.Signals = signal.SIGINT) -> int:
    if system.process.poll() is None:
        system.process.send_signal(sig)
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
