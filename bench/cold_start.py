"""Cold start of every Lambda handler, init plus its first request, against its floor
(see bench/README.md).

What a user waits for after a cold start is the function's init (importing the handler
module) plus its first request, which makes its first AWS calls. Each measurement is a fresh
interpreter that sees what Lambda sees (``-I -S``: no site-packages, no venv; an explicit
``sys.path`` of the staged code asset, a staged layer and the runtime's boto3), run with the
function's environment against a moto server started here:

- **handler**: import the handler module (init), then ``lambda_handler(event, context)`` once
  with a realistic first event (an API Gateway proxy event of a GET route with a caller's
  claims, one SQS record of a valid message, or the schedule's input) that reads seeded data;
  with bytecode (asset and layer compiled, unchecked-hash) and without (no pycs, ``-B``);
- **floor**: ``import boto3``, the same clients, and the very AWS calls the handler's first
  request made (recorded in the handler's process, replayed here).

Kinds alternate (floor, with, without, floor, ...) so that drift in the load hits them all
alike; every process starts from the same seeded tables (restored after each).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from infra.environment import function_environment, messaging_environment
from infra.packaging import (
    LAMBDA_RUNTIME,
    LAYER_ROOT,
    ROOT,
    TASK_ROOT,
    Interpreter,
    compile_tree,
    running_interpreter,
    stage_service_code,
)
from infra.topology import SYSTEM
from shared.topology import Function, Route

DEFAULT_RUNS = 7
TARGET = 1.5
API_TARGET = 1.3
REGION = "ap-northeast-2"
ACCOUNT = "000000000000"
STAGE = "bench"
CHILD_TIMEOUT_S = 180.0
CURSOR_KEY = "bench-cursor-signing-key-0123456789abcdef-000000"  # 48 characters
_MARK = "BENCH_RESULT "
LAMBDA_REQUIREMENTS = ROOT / "requirements-lambda.txt"
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six", "jmespath")
"""What the Lambda runtime provides (the Makefile's ``lock`` leaves them out of the layer)."""


class Kind(StrEnum):
    FLOOR = "floor"
    WITH = "handler"  # with bytecode
    WITHOUT = "handler_no_bytecode"


ORDER = (Kind.FLOOR, Kind.WITH, Kind.WITHOUT)


# --- what each child process runs --------------------------------------------------------------

CHILD = r"""
import datetime, json, logging, pickle, sys, time, traceback  # the bootstrap's (and the inputs')
with open(sys.argv[1], "rb") as _f:
    _spec = pickle.load(_f)
sys.path[:0] = _spec["path"]


class LambdaContext:
    function_version = "$LATEST"
    identity = None
    client_context = None
    tenant_id = None

    def __init__(self, function_name, memory_limit_in_mb, invoked_function_arn, aws_request_id,
                 log_group_name, log_stream_name, deadline_ms):
        self.function_name = function_name
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _record(out):
    import copy
    import botocore.session

    create = botocore.session.Session.create_client

    def create_client(self, service_name, *args, **kwargs):
        client = create(self, service_name, *args, **kwargs)
        out["clients"].append(service_name)

        def seen(params, model, **_):
            out["calls"].append((service_name, model.name, copy.deepcopy(params)))

        client.meta.events.register("provide-client-params", seen)
        return client

    botocore.session.Session.create_client = create_client


if _spec["kind"] == "floor":
    _calls, _services = _spec["calls"], _spec["clients"]
    _t0 = time.perf_counter()
    _c0 = time.process_time()
    import boto3
    from botocore.exceptions import ClientError

    _clients = {}
    for _service in _services:
        if _service not in _clients:
            _clients[_service] = boto3.client(_service)
    _t1 = time.perf_counter()
    _failed = 0
    for _service, _method, _params in _calls:
        try:
            getattr(_clients[_service], _method)(**_params)
        except ClientError:  # the handler's same call failed the same way (a condition)
            _failed += 1
    _t2 = time.perf_counter()
    _out = {"status": _failed}
elif _spec["kind"] == "steps":  # bench.import_profile --steps: what each layer adds, in order
    _ns = {"event": _spec["event"], "context": LambdaContext(**_spec["context"])}
    _marks = []
    _t0 = time.perf_counter()
    _c0 = time.process_time()
    for _code in _spec["steps"]:
        exec(_code, _ns)
        _marks.append((time.perf_counter(), time.process_time()))
    _t1 = _t2 = time.perf_counter()
    _previous = (_t0, _c0)
    _steps = []
    for _mark in _marks:
        _steps.append([(_mark[0] - _previous[0]) * 1e3, (_mark[1] - _previous[1]) * 1e3])
        _previous = _mark
    _out = {"status": 0, "steps": _steps}
else:
    _event = _spec["event"]
    _context = LambdaContext(**_spec["context"])
    _recorded = {"clients": [], "calls": []}
    if _spec.get("record"):
        _record(_recorded)
    _profiler = None
    if _spec.get("cprofile"):
        import cProfile
        _profiler = cProfile.Profile()
        _profiler.enable()
    _t0 = time.perf_counter()
    _c0 = time.process_time()
    __import__(_spec["module"])  # not importlib: -X importtime traces the C import path only
    _handler = getattr(sys.modules[_spec["module"]], _spec["entry"])
    _t1 = time.perf_counter()
    _result = _handler(_event, _context)
    _t2 = time.perf_counter()
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(_spec["cprofile"])
    if isinstance(_result, dict) and "statusCode" in _result:
        _out = {"status": _result["statusCode"], "body": str(_result.get("body"))[:300]}
    elif isinstance(_result, dict) and "batchItemFailures" in _result:
        _out = {"status": len(_result["batchItemFailures"])}
    else:
        _out = {"status": 0, "body": repr(_result)[:300]}
    if _spec.get("record"):
        with open(_spec["record"], "wb") as _f:
            pickle.dump(_recorded, _f)
_c1 = time.process_time()
_out.update(
    init_ms=(_t1 - _t0) * 1e3,
    first_ms=(_t2 - _t1) * 1e3,
    ms=(_t2 - _t0) * 1e3,
    cpu_ms=(_c1 - _c0) * 1e3,
    modules=len(sys.modules),
)
sys.stdout.flush()
print(_spec["mark"] + json.dumps(_out), flush=True)
"""

SEED = r"""
import importlib, json, sys, types
spec = json.load(open(sys.argv[1]))
module = importlib.import_module(spec["module"])
handler = getattr(module, spec["entry"])
context = types.SimpleNamespace(**spec["context"], get_remaining_time_in_millis=lambda: 60_000)
results = [handler(event, context) for event in spec["events"]]
with open(sys.argv[2], "w") as f:
    json.dump(results, f, default=str)
"""

# --- first requests ----------------------------------------------------------------------------

CUSTOMER_SUB = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CALLERS: dict[str, dict[str, str]] = {
    "customer": {"sub": CUSTOMER_SUB, "cognito:groups": "customer", "token_use": "id"},
    "agent": {"sub": "0b1f3a7e-agent-0000-0000-000000000001", "cognito:groups": "agent", "token_use": "id"},
    "marketing": {
        "sub": "0b1f3a7e-mktg-0000-0000-000000000002",
        "cognito:groups": "marketing",
        "token_use": "id",
    },
    "machine": {
        "sub": "bench-pos-client",
        "client_id": "bench-pos-client",
        "scope": "dangol/machine",
        "token_use": "access",
    },
}

API_FIRST: dict[str, tuple[str, str]] = {
    "profile-api": ("GET /me", "customer"),
    "profile-intake-api": ("GET /customers/{customer_id}/usual", "agent"),
    "profile-segments-api": ("GET /customers/{customer_id}/value", "agent"),
    "profile-crm-api": ("GET /imports/{job_id}", "marketing"),
    "rewards-api": ("GET /me/points", "customer"),
    "rewards-programs-api": ("GET /admin/point-grants/{job_id}", "marketing"),
    "rewards-offers-api": ("GET /admin/coupon-templates/{template_id}", "marketing"),
}
"""Each API function's first request: a GET route that reads seeded data and needs no cursor."""


def kind_of(fn: Function) -> str:
    if SYSTEM.routes_of(fn):
        return "API"
    if any(c.function == fn for c in SYSTEM.consumers):
        return "queue"
    if any(s.target == fn for s in SYSTEM.schedules):
        return "schedule"
    return "other"


def target_of(fn: Function, *, target: float = TARGET, api_target: float = API_TARGET) -> float:
    return api_target if SYSTEM.routes_of(fn) else target


# --- the world: moto, the staged code, seeded data ---------------------------------------------


class ChildFailed(RuntimeError):
    pass


class _Counting:
    """Wraps moto's WSGI app: the operations it served (from ``X-Amz-Target``), in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.operations: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        self.operations.append(target.rsplit(".", 1)[-1] if target else "?")
        return self.app(environ, start_response)


def _copy_distributions(names: Iterable[str], into: Path) -> None:
    """The files of installed distributions (the venv's), as an installer lays them out."""
    for name in names:
        dist = metadata.distribution(name)
        for file in dist.files or ():
            parts = Path(str(file)).parts
            if parts[0] == ".." or "__pycache__" in parts or str(file).endswith((".pyc", ".pyo")):
                continue
            target = into / Path(str(file))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(dist.locate_file(file))), target)


def lambda_requirements() -> list[str]:
    names = []
    for raw in LAMBDA_REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            names.append(line.split("==", 1)[0].strip())
    return names


@dataclass
class Staged:
    """Folders a child puts on ``sys.path`` (Lambda's order: task, layer, runtime)."""

    root: Path
    assets: dict[tuple[str, bool], Path] = field(default_factory=dict)  # (service, bytecode)
    layers: dict[bool, Path] = field(default_factory=dict)
    runtime: Path | None = None

    def path(self, fn: Function, *, bytecode: bool) -> list[str]:
        assert self.runtime is not None
        return [str(self.assets[fn.service, bytecode]), str(self.layers[bytecode]), str(self.runtime)]


def stage(root: Path, services: Iterable[str], interpreter: Interpreter) -> Staged:
    """The code assets (as ``infra.packaging`` stages them), the layer's distributions for this
    interpreter, and the runtime's boto3 with its bytecode; with and without our bytecode."""
    staged = Staged(root)
    for service in sorted(set(services)):
        for bytecode in (True, False):
            staged.assets[service, bytecode] = stage_service_code(
                service, bytecode_for=interpreter if bytecode else None, into=root / "build"
            )
    for bytecode in (True, False):
        layer = root / ("layer" if bytecode else "layer-source") / "python"
        _copy_distributions(lambda_requirements(), layer)
        if bytecode:
            compile_tree(layer, interpreter, shown_as=LAYER_ROOT)
        staged.layers[bytecode] = layer
    runtime = root / "runtime"
    _copy_distributions(RUNTIME_DISTRIBUTIONS, runtime)
    # The runtime's own boto3 comes with bytecode (timestamp pycs, as pip writes them).
    subprocess.run(
        [interpreter.path, "-I", "-m", "compileall", "-q", str(runtime)],
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
    )
    staged.runtime = runtime
    return staged


class World:
    """A moto server with the topology's resources, seeded data, and the staged code."""

    def __init__(self, functions: Sequence[Function], *, log: Callable[[str], None]) -> None:
        self.functions = list(functions)
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix="dangol-cold-start-"))
        self.interpreter = running_interpreter()
        self._server: Any = None
        self.counter: _Counting | None = None
        self.endpoint = ""
        self.queue_urls: dict[str, str] = {}
        self.queue_arns: dict[str, str] = {}
        self.secret_arn: str | None = None
        self.platform_secrets: dict[str, str] | None = None
        self.first_events: dict[str, dict[str, Any]] = {}
        self._snapshot: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        self.staged: Staged | None = None
        self._runs = 0

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> World:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.stop()
            self._server = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - the benchmark's own dependency

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.log("staging the code assets, the layer and the runtime's boto3...")
        self.staged = stage(self.tmp, {fn.service for fn in self.functions}, self.interpreter)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        inner = self._server._server  # werkzeug's server: count what moto serves
        self.counter = _Counting(inner.app)
        inner.app = self.counter
        self.log(f"moto on {self.endpoint}: provisioning and seeding...")
        self._provision()
        self._seed()
        self._snapshot = self._scan()

    def client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="AKIABENCHFAKE0000000",
            aws_secret_access_key="bench-fake-secret-access-key-not-a-real-one",  # noqa: S106
        )

    def _provision(self) -> None:
        from infra.local import provision  # noqa: PLC0415

        provision.create_tables(self.client("dynamodb"), SYSTEM, STAGE)
        bus = provision.create_bus(self.client("events"), SYSTEM, STAGE)
        messaging = provision.create_messaging(
            (self.client("sqs"), self.client("sns"), self.client("events")), SYSTEM, stage=STAGE, bus=bus
        )
        self.queue_urls, self.queue_arns = messaging.queue_urls, messaging.queue_arns

    # -- each function's environment ----------------------------------------------------------

    def _secret(self) -> str:
        if self.secret_arn is None:
            made = self.client("secretsmanager").create_secret(
                Name=f"{SYSTEM.name}-{STAGE}-cursor-signing-key", SecretString=CURSOR_KEY
            )
            self.secret_arn = str(made["ARN"])
        return self.secret_arn

    def _platform_secrets(self) -> dict[str, str]:
        from infra.local import provision  # noqa: PLC0415

        if self.platform_secrets is None:
            self.platform_secrets = provision.create_platform_secrets(
                self.client("secretsmanager"), SYSTEM, STAGE
            )
        return self.platform_secrets

    def environment(self, fn: Function, *, asset: Path | None = None) -> dict[str, str]:
        from infra.local import provision  # noqa: PLC0415

        kwargs: dict[str, Any] = {
            "queue_url": lambda q: self.queue_urls[q.id],
            "topic_arn": lambda t: f"arn:aws:sns:{REGION}:{ACCOUNT}:{SYSTEM.name}-{STAGE}-{t.id}",
            "cursor_key_secret": self._secret() if SYSTEM.routes_of(fn) else None,
            "secret_arn": lambda x: self._platform_secrets()[x.id],
            "function_name": lambda f: f"{SYSTEM.name}-{STAGE}-{f.id}",
            "messaging": messaging_environment(
                sender="bench@dangol.local", configuration_set=None, push_applications={}
            ),
            "public_api_url": "http://127.0.0.1:8080",
        }
        env = function_environment(
            SYSTEM,
            fn,
            stage=STAGE,
            table_name=lambda t: provision.table_name(SYSTEM, STAGE, t),
            bus_name=lambda b: provision.bus_name(SYSTEM, STAGE, b),
            **kwargs,
        )
        name = f"{SYSTEM.name}-{STAGE}-{fn.id}"
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "TZ": ":UTC",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "AKIABENCHFAKE0000000",
                "AWS_SECRET_ACCESS_KEY": "bench-fake-secret-access-key-not-a-real-one",
                "AWS_SESSION_TOKEN": "bench-fake-session-token",
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                # What Lambda sets in every execution environment.
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}",
                "_HANDLER": fn.handler,
                "LAMBDA_TASK_ROOT": str(asset) if asset else TASK_ROOT,
                "PYTHONDONTWRITEBYTECODE": "1",  # as -B: /var/task and /opt are read-only
            }
        )
        return env

    def context(self, fn: Function) -> dict[str, Any]:
        name = f"{SYSTEM.name}-{STAGE}-{fn.id}"
        return {
            "function_name": name,
            "memory_limit_in_mb": fn.memory_mb,
            "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "aws_request_id": str(uuid.uuid4()),
            "log_group_name": f"/aws/lambda/{name}",
            "log_stream_name": "bench",
            "deadline_ms": int(time.time() * 1000) + fn.timeout_s * 1000,
        }

    # -- events -------------------------------------------------------------------------------

    def api_event(self, route: Route, role: str, params: dict[str, str], body: Any = None) -> dict[str, Any]:
        """A REST proxy event as API Gateway (and the local gateway) builds it, with the claims
        its Cognito authorizer passes for a caller of ``role``."""
        from infra.local.gateway import Gateway  # noqa: PLC0415

        gateway = Gateway(SYSTEM.routes, {}, lambda: None, stage=STAGE, spec=dict)  # type: ignore[arg-type]
        path = route.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        headers = [
            ("Accept", "application/json"),
            ("Authorization", "Bearer eyJraWQiOiJiZW5jaCIsImFsZyI6IlJTMjU2In0.e30.c2lnbmF0dXJl"),
            ("Host", "a1b2c3d4e5.execute-api.ap-northeast-2.amazonaws.com"),
            ("User-Agent", "dangol-bench/1.0"),
            ("X-Forwarded-For", "203.0.113.10"),
        ]
        raw = b""
        if body is not None:
            raw = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
            media = "text/csv" if isinstance(body, str) else "application/json"
            headers.append(("Content-Type", media))
            headers.append(("Idempotency-Key", str(uuid.uuid4())))
        now = int(time.time())
        claims = {
            "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_bench",
            "aud": "bench-app-client",
            "auth_time": now - 60,
            "iat": now - 60,
            "exp": now + 3600,
            **CALLERS[role],
        }
        event = gateway.event(
            route,
            path=path,
            query="",
            params=params,
            headers=headers,
            body=raw,
            claims=claims,
            source_ip="203.0.113.10",
        )
        return event

    def sqs_event(self, queue_id: str, messages: Sequence[dict[str, Any]]) -> dict[str, Any]:
        from infra.local.pollers import sqs_record  # noqa: PLC0415

        arn = self.queue_arns[queue_id]
        return {"Records": [sqs_record(m, queue_arn=arn, region=REGION) for m in messages]}  # type: ignore[arg-type]

    def receive(self, queue_id: str) -> list[dict[str, Any]]:
        """Every message now in a queue (left there: the first request's record is one of them)."""
        sqs = self.client("sqs")
        found: dict[str, dict[str, Any]] = {}
        for _ in range(20):
            got = sqs.receive_message(
                QueueUrl=self.queue_urls[queue_id],
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = [m for m in got if m["MessageId"] not in found]
            if not new and found:
                break
            found.update({m["MessageId"]: m for m in new})
        return sorted(found.values(), key=lambda m: int(m["Attributes"]["SentTimestamp"]))

    # -- seeding, through the handlers themselves ---------------------------------------------

    def invoke(self, function_id: str, events: Sequence[dict[str, Any]]) -> list[Any]:
        """Call a function's handler on each event in one process of the project's venv."""
        fn = SYSTEM.function(function_id)
        spec = self.tmp / f"seed-{function_id}.json"
        out = self.tmp / f"seed-{function_id}.out.json"
        spec.write_text(
            json.dumps(
                {"module": fn.module, "entry": fn.entry, "events": events, "context": self.context(fn)}
            )
        )
        env = self.environment(fn)
        env.pop("PYTHONDONTWRITEBYTECODE")
        done = subprocess.run(
            [sys.executable, "-c", SEED, str(spec), str(out)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise ChildFailed(f"seeding through {function_id} failed:\n{done.stderr[-4000:]}")
        results: list[Any] = json.loads(out.read_text())
        for event, result in zip(events, results, strict=True):
            status = result.get("statusCode", 200) if isinstance(result, dict) else 200
            failures = result.get("batchItemFailures") if isinstance(result, dict) else None
            if not 200 <= int(status) < 300 or failures:
                what = event.get("resource") or "records"
                raise ChildFailed(f"seeding through {function_id} ({what}) answered {result}")
        return results

    def _seed(self) -> None:
        routes = {r.key: r for r in SYSTEM.routes}
        now = datetime.now(UTC).replace(microsecond=0)

        def call(function_id: str, key: str, role: str, body: Any = None, **params: str) -> dict[str, Any]:
            (result,) = self.invoke(function_id, [self.api_event(routes[key], role, params, body)])
            return dict(json.loads(result["body"] or "null") or {})

        def purchase(external_id: str, minutes_ago: int) -> dict[str, Any]:
            return {
                "external_id": external_id,
                "customer_id": customer,
                "store_id": "gangnam-01",
                "channel": "store",
                "currency": "KRW",
                "purchased_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
                "lines": [
                    {
                        "sku": "LATTE",
                        "name": "카페라떼",
                        "category": "coffee",
                        "quantity": 2,
                        "unit_price": 5_000,
                    },
                    {
                        "sku": "CAKE",
                        "name": "초코 케이크",
                        "category": "cake",
                        "quantity": 1,
                        "unit_price": 28_000,
                    },
                ],
            }

        me = {
            "display_name": "김민지",
            "email": "minji@bench.dangol.dev",
            "phone": "+821012345678",
            "birthday": "1990-03-14",
            "anniversaries": [{"kind": "wedding", "date": "2018-05-20"}],
        }
        customer = call("profile-api", "POST /me", "customer", me)["customer_id"]
        self.invoke(
            "profile-intake-api",
            [
                self.api_event(routes["POST /purchases"], "machine", {}, purchase(f"bench-{n:04}", 30 - n))
                for n in (1, 2, 3)
            ],
        )
        csv = "external_ref,display_name,email\nbench-row-1,Junho Han,junho@bench.dangol.dev\n"
        job = call("profile-crm-api", "POST /imports", "marketing", csv)["job_id"]
        # The profile events reached the queues through the bus's rules (moto delivers at once).
        segments = self.receive("profile-segments")
        self.invoke("profile-segments", [self.sqs_event("profile-segments", segments[:-1])])
        rewards = self.receive("rewards-events")
        self.invoke("rewards-events", [self.sqs_event("rewards-events", [m]) for m in rewards[:-1]])
        grant = call(
            "rewards-programs-api",
            "POST /admin/point-grants",
            "marketing",
            {"kind": "award", "customer_ids": [customer], "points": 500, "reason": "벤치마크"},
        )["job_id"]
        template = call(
            "rewards-offers-api",
            "POST /admin/coupon-templates",
            "marketing",
            {
                "name": "웰컴 3,000원 할인",
                "discount": {"kind": "amount", "amount": 3000, "currency": "KRW"},
                "min_spend": {"amount": 10000, "currency": "KRW"},
                "valid_days": 30,
            },
        )["id"]
        sqs = self.client("sqs")
        sqs.send_message(
            QueueUrl=self.queue_urls["profile-purchases"],
            MessageBody=json.dumps({"kind": "purchase", "data": purchase("bench-queue-0001", 2)}),
        )
        params = {
            "profile-intake-api": {"customer_id": customer},
            "profile-segments-api": {"customer_id": customer},
            "profile-crm-api": {"job_id": job},
            "rewards-programs-api": {"job_id": grant},
            "rewards-offers-api": {"template_id": template},
        }
        if missing := [fn.id for fn in self.functions if SYSTEM.routes_of(fn) and fn.id not in API_FIRST]:
            raise ChildFailed(f"add a first request to API_FIRST for {', '.join(missing)}")
        for fn in self.functions:
            if fn.id in API_FIRST:
                key, role = API_FIRST[fn.id]
                self.first_events[fn.id] = self.api_event(routes[key], role, params.get(fn.id, {}))
            elif consumer := next((c for c in SYSTEM.consumers if c.function == fn), None):
                messages = self.receive(consumer.queue.id)
                if not messages:
                    raise ChildFailed(f"no message in {consumer.queue.id} for {fn.id}'s first request")
                self.first_events[fn.id] = self.sqs_event(consumer.queue.id, messages[-1:])
            elif schedule := next((s for s in SYSTEM.schedules if s.target == fn), None):
                self.first_events[fn.id] = json.loads(schedule.input)
            else:
                raise ChildFailed(f"{fn.id}: no first request is defined for it (bench/cold_start.py)")

    # -- restoring the seeded state after every process ---------------------------------------

    def _scan(self) -> dict[str, dict[tuple[str, ...], dict[str, Any]]]:
        from infra.local import provision  # noqa: PLC0415

        dynamodb = self.client("dynamodb")
        tables: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        for table in SYSTEM.tables:
            name = provision.table_name(SYSTEM, STAGE, table)
            keys = [table.partition_key.name] + ([table.sort_key.name] if table.sort_key else [])
            items: dict[tuple[str, ...], dict[str, Any]] = {}
            kwargs: dict[str, Any] = {"TableName": name}
            while True:
                page = dynamodb.scan(**kwargs)
                for item in page["Items"]:
                    items[tuple(json.dumps(item[k], sort_keys=True) for k in keys)] = item
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            tables[name] = items
        return tables

    def restore(self) -> None:
        """Put the tables back as they were seeded: what a process wrote is undone."""
        dynamodb = self.client("dynamodb")
        now = self._scan()
        for name, seeded in self._snapshot.items():
            current = now[name]
            for key in current.keys() - seeded.keys():
                table = next(t for t in SYSTEM.tables if name.endswith(f"-{t.id}"))
                names = [table.partition_key.name] + ([table.sort_key.name] if table.sort_key else [])
                item = current[key]
                dynamodb.delete_item(TableName=name, Key={k: item[k] for k in names})
            for key, item in seeded.items():
                if current.get(key) != item:
                    dynamodb.put_item(TableName=name, Item=item)

    # -- running the measured processes -------------------------------------------------------

    def spec(self, fn: Function, kind: Kind, **extra: Any) -> dict[str, Any]:
        assert self.staged is not None
        spec: dict[str, Any] = {
            "kind": "floor" if kind is Kind.FLOOR else "handler",
            "path": self.staged.path(fn, bytecode=kind is not Kind.WITHOUT),
            "mark": _MARK,
        }
        if kind is not Kind.FLOOR:
            spec |= {
                "module": fn.module,
                "entry": fn.entry,
                "event": self.first_events[fn.id],
                "context": self.context(fn),
            }
        return spec | extra

    def run(
        self, fn: Function, spec: dict[str, Any], *, flags: Sequence[str] = ()
    ) -> tuple[dict[str, Any], float, list[str], subprocess.CompletedProcess[str]]:
        """One fresh process; (its report, wall ms, the AWS operations moto served for it, the
        process). The seeded tables are restored afterwards."""
        assert self.staged is not None
        assert self.counter is not None
        self._runs += 1
        spec_file = self.tmp / f"spec-{self._runs}.pickle"
        spec_file.write_bytes(pickle.dumps(spec))
        asset = Path(spec["path"][0])
        env = self.environment(fn, asset=asset)
        before = len(self.counter.operations)
        start = time.perf_counter()
        proc = subprocess.run(
            [self.interpreter.path, "-I", "-S", "-B", *flags, "-c", CHILD, str(spec_file)],
            env=env,
            cwd=asset,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
        wall_ms = (time.perf_counter() - start) * 1e3
        operations = self.counter.operations[before:]
        spec_file.unlink()
        self.restore()
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
        if proc.returncode != 0 or not lines:
            raise ChildFailed(
                f"{fn.id} ({spec['kind']}) exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n"
                f"--- stderr ---\n{proc.stderr[-5000:]}"
            )
        report: dict[str, Any] = json.loads(lines[-1][len(_MARK) :])
        return report, wall_ms, operations, proc

    def record(self, fn: Function) -> Recorded:
        """Run the handler once (untimed) and record the clients it made and the calls it sent."""
        out = self.tmp / f"record-{fn.id}.pickle"
        report, _, operations, _ = self.run(fn, self.spec(fn, Kind.WITH, record=str(out)))
        _check_handler(fn, report)
        data = pickle.loads(out.read_bytes())  # noqa: S301 - written by our own child just now
        import botocore  # noqa: PLC0415

        calls = [(service, botocore.xform_name(op), op, params) for service, op, params in data["calls"]]
        return Recorded(clients=list(data["clients"]), calls=calls, operations=operations)


@dataclass(frozen=True)
class Recorded:
    clients: list[str]
    calls: list[tuple[str, str, str, dict[str, Any]]]  # service, method, operation, params
    operations: list[str]  # what moto served while it ran

    def floor_calls(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(service, method, params) for service, method, _, params in self.calls]

    def summary(self) -> str:
        counts = Counter(f"{service}.{op}" for service, _, op, _ in self.calls)
        return ", ".join(f"{name}" + (f" x{n}" if n > 1 else "") for name, n in counts.items()) or "none"


def _check_handler(fn: Function, report: dict[str, Any]) -> None:
    status = report.get("status")
    ok = status == 200 if SYSTEM.routes_of(fn) else status == 0
    if not ok:
        raise ChildFailed(f"{fn.id}: the first request did not succeed: {report}")


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Series:
    ms: list[float] = field(default_factory=list)
    init_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    modules: list[int] = field(default_factory=list)

    def add(self, report: dict[str, Any], wall_ms: float) -> None:
        self.ms.append(float(report["ms"]))
        self.init_ms.append(float(report["init_ms"]))
        self.first_ms.append(float(report["first_ms"]))
        self.wall_ms.append(wall_ms)
        self.cpu_ms.append(float(report["cpu_ms"]))
        self.modules.append(int(report["modules"]))

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    def med(self, name: str) -> float:
        return float(statistics.median(getattr(self, name)))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("ms", "init_ms", "first_ms", "wall_ms", "cpu_ms"):
            values = getattr(self, name)
            out[f"median_{name}"] = round(statistics.median(values), 2)
            out[f"samples_{name}"] = [round(v, 2) for v in values]
        out["modules"] = max(self.modules)
        return out


@dataclass
class Result:
    function: Function
    kind: str
    target: float
    runs: int
    recorded: Recorded
    series: dict[Kind, Series]

    def ratio(self, kind: Kind = Kind.WITH, measure: str = "ms") -> float:
        return self.series[kind].med(measure) / self.series[Kind.FLOOR].med(measure)

    @property
    def passed(self) -> bool:
        return self.ratio() <= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function.id,
            "handler": self.function.handler,
            "kind": self.kind,
            "runs": self.runs,
            "target": self.target,
            "verdict": "PASS" if self.passed else "FAIL",
            "ratio": round(self.ratio(), 3),
            "ratio_no_bytecode": round(self.ratio(Kind.WITHOUT), 3),
            "ratio_wall": round(self.ratio(Kind.WITH, "wall_ms"), 3),
            "ratio_cpu": round(self.ratio(Kind.WITH, "cpu_ms"), 3),
            "clients": self.recorded.clients,
            "first_request_calls": [f"{s}.{op}" for s, _, op, _ in self.recorded.calls],
            "handler_ms": self.series[Kind.WITH].summary(),
            "handler_no_bytecode_ms": self.series[Kind.WITHOUT].summary(),
            "floor_ms": self.series[Kind.FLOOR].summary(),
        }


def measure(world: World, fn: Function, *, runs: int, target: float) -> Result:
    recorded = world.record(fn)
    expected = sorted(op for _, _, op, _ in recorded.calls)
    if sorted(recorded.operations) != expected:
        raise ChildFailed(f"{fn.id}: moto served {recorded.operations}, the hook saw {expected}")
    specs = {
        Kind.FLOOR: world.spec(fn, Kind.FLOOR, clients=recorded.clients, calls=recorded.floor_calls()),
        Kind.WITH: world.spec(fn, Kind.WITH),
        Kind.WITHOUT: world.spec(fn, Kind.WITHOUT),
    }
    for kind in ORDER:  # one untimed warm-up of each (the file system cache, moto's first calls)
        world.run(fn, specs[kind])
    series = {kind: Series() for kind in ORDER}
    for _ in range(runs):
        for kind in ORDER:
            report, wall_ms, operations, _ = world.run(fn, specs[kind])
            if kind is not Kind.FLOOR:
                _check_handler(fn, report)
            if sorted(operations) != expected:
                raise ChildFailed(f"{fn.id} ({kind}): made {sorted(operations)}, not {expected}")
            series[kind].add(report, wall_ms)
    return Result(fn, kind_of(fn), target, runs, recorded, series)


# --- output ------------------------------------------------------------------------------------

COLUMNS = (
    "function",
    "kind",
    "init ms",
    "1st request ms",
    "init+1st ms",
    "floor ms",
    "ratio",
    "no-bytecode ms",
    "ratio no bc",
    "target",
    "verdict",
)


def _row(r: Result) -> list[str]:
    with_ = r.series[Kind.WITH]
    return [
        r.function.id,
        r.kind,
        f"{with_.med('init_ms'):.0f}",
        f"{with_.med('first_ms'):.0f}",
        f"{with_.median:.0f}",
        f"{r.series[Kind.FLOOR].median:.0f}",
        f"{r.ratio():.2f}x",
        f"{r.series[Kind.WITHOUT].median:.0f}",
        f"{r.ratio(Kind.WITHOUT):.2f}x",
        f"<= {r.target:.1f}x",
        "PASS" if r.passed else "FAIL",
    ]


def _notes(results: Sequence[Result], runs: int) -> list[str]:
    notes = [
        f"Medians of {runs} fresh processes per kind (in-process time: the handler's import + its first "
        "request; the floor's import boto3 + the same clients + the same calls). ratio = handler / floor; "
        "'no bc': the same handler with no bytecode in the asset and layer.",
    ]
    for r in results:
        floor = r.series[Kind.FLOOR]
        notes.append(
            f"{r.function.id}: calls {r.recorded.summary()}; floor {floor.med('init_ms'):.0f} + "
            f"{floor.med('first_ms'):.0f} ms; wall ratio {r.ratio(Kind.WITH, 'wall_ms'):.2f}x, "
            f"CPU ratio {r.ratio(Kind.WITH, 'cpu_ms'):.2f}x; {max(r.series[Kind.WITH].modules)} modules "
            f"(floor {max(floor.modules)})."
        )
    return notes


def render(results: Sequence[Result], runs: int) -> None:
    try:
        from rich.console import Console  # noqa: PLC0415 - optional dependency
        from rich.table import Table as RichTable  # noqa: PLC0415
    except ImportError:
        _render_plain(results, runs)
        return
    title = "Cold start per handler (init + first request) vs its floor"
    table = RichTable(title=title, title_justify="left")
    for name in COLUMNS:
        table.add_column(name, justify="left" if name in {"function", "kind", "verdict"} else "right")
    for r in results:
        row = _row(r)
        row[-1] = "[bold green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
        table.add_row(*row)
    console = Console(width=max(Console().width, 150))
    console.print(table)
    for line in _notes(results, runs):
        console.print(line, style="dim", highlight=False)


def _render_plain(results: Sequence[Result], runs: int) -> None:
    rows = [list(COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for line in _notes(results, runs):
        print(line)


# --- command line ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench cold-start", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="fresh processes per kind (default 7)")
    p.add_argument("--target", type=float, default=TARGET, help="max ratio of non-API handlers (1.5)")
    p.add_argument("--api-target", type=float, default=API_TARGET, help="max ratio of API handlers (1.3)")
    p.add_argument("--check", action="store_true", help="exit 1 if any handler misses its target")
    p.add_argument("--json", action="store_true", help="print machine-readable results only")
    p.add_argument(
        "--function", action="append", default=[], metavar="ID", help="only this function (repeatable)"
    )
    p.add_argument(
        "--profile",
        metavar="ID",
        nargs="?",
        const="",
        help="instead: what one handler's cold start imports beyond the floor (bench.import_profile)",
    )
    return p


def select(ids: Sequence[str]) -> list[Function]:
    if not ids:
        return list(SYSTEM.functions)
    known = {fn.id: fn for fn in SYSTEM.functions}
    if unknown := [i for i in ids if i not in known]:
        raise SystemExit(f"unknown function {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[i] for i in ids]


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (5 min {five:.2f}) on {os.cpu_count()} CPUs"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def world_for(functions: Sequence[Function]) -> Iterator[World]:
    with World(functions, log=_stderr) as world:
        yield world


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.profile is not None:
        from bench import import_profile  # noqa: PLC0415

        return import_profile.main([args.profile] if args.profile else [])
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    functions = select(args.function)
    load_before = load_average()
    results: list[Result] = []
    try:
        with world_for(functions) as world:
            for fn in functions:
                _stderr(f"measuring {fn.id} ({args.runs} runs of each kind)...")
                target = target_of(fn, target=args.target, api_target=args.api_target)
                results.append(measure(world, fn, runs=args.runs, target=target))
    except ChildFailed as exc:
        _stderr(f"a measured process failed: {exc}")
        return 2
    load_after = load_average()
    if args.json:
        payload = {
            "python": sys.version.split()[0],
            "runs": args.runs,
            "load_before": load_before,
            "load_after": load_after,
            "results": [r.to_json() for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        render(results, args.runs)
        print(f"load average: {load_before} before, {load_after} after")
    failed = [r.function.id for r in results if not r.passed]
    if args.check and failed:
        _stderr(f"FAIL: {', '.join(failed)} over their targets")
        return 1
    return 0
