"""Cold start of every Lambda handler in the topology, against its floor (see bench/README.md).

Each measurement is a fresh interpreter (``sys.executable -c <script>``) run with the
function's environment. The child times itself with ``time.perf_counter()`` from the first
line of its script to the end and prints the figure; the parent also times the whole
process (interpreter start-up and teardown included). Probes alternate (boto3 floor,
handler, botocore floor, boto3 floor, handler, ...) so that drift in the machine's load hits
them all alike; the medians are compared, and the ratio is taken on the in-process times.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from infra.environment import function_environment
from infra.topology import SYSTEM
from shared.topology import EventBus, Function, Queue, Table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUNS = 7
DEFAULT_TARGET = 1.5
REGION = "ap-northeast-2"
CHILD_TIMEOUT_S = 120.0
_MARK = "BENCH_RESULT "


class Probe(StrEnum):
    HANDLER = "handler"
    BOTO3 = "boto3_floor"
    BOTOCORE = "botocore_floor"


# --- what each child process runs --------------------------------------------------------------


def clients_of(fn: Function) -> tuple[str, ...]:
    """The AWS clients a function's handler uses, read from its declaration."""
    services: list[str] = []
    if fn.tables:
        services.append("dynamodb")
    if fn.publishes_to is not None:
        services.append("events")
    return tuple(services)


def handler_script(fn: Function, *, force_clients: bool = True) -> str:
    """Import the handler module, call ``dependencies()`` if it has one, then (unless
    ``force_clients`` is off) make sure the clients the first request needs exist.

    ``dependencies()`` may build its stores with lazy clients; the first request then creates
    them before its first call to AWS. So that the handler is charged for the same clients the
    floor creates, the script asks ``shared.aws.client`` for each of them (a cached no-op when
    ``dependencies()`` already made it). It reports the time of each phase and whether
    ``dependencies()`` itself had created a client.

    ``__import__`` (not ``importlib.import_module``) so that ``-X importtime`` sees the handler
    module and its packages: only the C import path is traced.
    """
    calls = [f"    _aws.client({svc!r})" for svc in clients_of(fn)] if force_clients else []
    force = "\n".join(calls or ["    pass"])
    return f"""\
import time
_t0 = time.perf_counter()
_c0 = time.process_time()
import sys
__import__({fn.module!r})
_m = sys.modules[{fn.module!r}]
_entry = getattr(_m, {fn.entry!r})
_ti = time.perf_counter()
_deps = getattr(_m, "dependencies", None)
if callable(_deps):
    _deps()
_td = time.perf_counter()
_aws = sys.modules.get("shared.aws")
_cache = getattr(getattr(_aws, "_client", None), "cache_info", None)
_made = _cache().currsize > 0 if _cache is not None else None
if _aws is not None:
{force}
_t1 = time.perf_counter()
print({_MARK!r} + repr({{
    "ms": (_t1 - _t0) * 1e3,
    "cpu_ms": (time.process_time() - _c0) * 1e3,
    "import_ms": (_ti - _t0) * 1e3,
    "dependencies_ms": (_td - _ti) * 1e3 if callable(_deps) else None,
    "clients_ms": (_t1 - _td) * 1e3,
    "dependencies_created_clients": _made,
}}))
"""


def boto3_floor_script(fn: Function) -> str:
    calls = "\n".join(f"boto3.client({svc!r})" for svc in clients_of(fn))
    return f"""\
import time
_t0 = time.perf_counter()
_c0 = time.process_time()
import boto3
{calls}
_t1 = time.perf_counter()
print({_MARK!r} + repr({{"ms": (_t1 - _t0) * 1e3, "cpu_ms": (time.process_time() - _c0) * 1e3}}))
"""


def botocore_floor_script(fn: Function) -> str:
    calls = "\n".join(f"_s.create_client({svc!r})" for svc in clients_of(fn))
    return f"""\
import time
_t0 = time.perf_counter()
_c0 = time.process_time()
import botocore.session
_s = botocore.session.get_session()
{calls}
_t1 = time.perf_counter()
print({_MARK!r} + repr({{"ms": (_t1 - _t0) * 1e3, "cpu_ms": (time.process_time() - _c0) * 1e3}}))
"""


def script_for(probe: Probe, fn: Function, *, force_clients: bool = True) -> str:
    if probe is Probe.HANDLER:
        return handler_script(fn, force_clients=force_clients)
    if probe is Probe.BOTO3:
        return boto3_floor_script(fn)
    return botocore_floor_script(fn)


def child_environment(fn: Function) -> dict[str, str]:
    """The function's environment and nothing of the caller's (no PYTHONPATH, no ~/.aws)."""
    env = function_environment(
        SYSTEM,
        fn,
        stage="bench",
        table_name=lambda t: _physical("table", t),
        bus_name=lambda b: _physical("bus", b),
        queue_url=lambda q: _physical("queue", q),
        cursor_key="bench-cursor-signing-key-0123456789abcdef",  # 40 chars
    )
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "AKIABENCHFAKE0000000",
            "AWS_SECRET_ACCESS_KEY": "bench-fake-secret-access-key-not-a-real-one",
            "AWS_SESSION_TOKEN": "bench-fake-session-token",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port: nothing can reach AWS
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def _physical(kind: str, resource: Table | EventBus | Queue) -> str:
    return f"{SYSTEM.name}-bench-{kind}-{resource.id}"


# --- running and timing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    in_process_ms: float
    wall_ms: float
    cpu_ms: float
    phases: dict[str, Any]
    """For the handler: import_ms, dependencies_ms (None without ``dependencies()``),
    clients_ms, dependencies_created_clients (None when unknown)."""


class ChildFailed(RuntimeError):
    pass


def run_child(
    script: str, env: dict[str, str], *, extra_args: Sequence[str] = ()
) -> tuple[Sample, subprocess.CompletedProcess[str]]:
    """One fresh interpreter; returns its own timing, the parent's wall time and the process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *extra_args, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    wall_ms = (time.perf_counter() - start) * 1e3
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(
            f"child exited {proc.returncode}\n--- script ---\n{script}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    data = ast.literal_eval(lines[-1][len(_MARK) :])
    ms, cpu_ms = float(data.pop("ms")), float(data.pop("cpu_ms"))
    return Sample(ms, wall_ms, cpu_ms, data), proc


@dataclass(frozen=True)
class Series:
    in_process_ms: list[float]
    wall_ms: list[float]
    cpu_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.in_process_ms)

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    def summary(self) -> dict[str, Any]:
        return {
            "median_ms": round(self.median, 2),
            "median_wall_ms": round(self.median_wall, 2),
            "median_cpu_ms": round(self.median_cpu, 2),
            "min_ms": round(min(self.in_process_ms), 2),
            "max_ms": round(max(self.in_process_ms), 2),
            "samples_ms": [round(v, 2) for v in self.in_process_ms],
            "samples_wall_ms": [round(v, 2) for v in self.wall_ms],
            "samples_cpu_ms": [round(v, 2) for v in self.cpu_ms],
        }


@dataclass(frozen=True)
class Result:
    function: str
    handler: str
    clients: tuple[str, ...]
    runs: int
    target: float
    handler_series: Series
    boto3_series: Series
    botocore_series: Series
    phases: list[dict[str, Any]]
    clients_forced: bool

    @property
    def has_dependencies(self) -> bool:
        return any(ph.get("dependencies_ms") is not None for ph in self.phases)

    @property
    def dependencies_created_clients(self) -> bool | None:
        made = {ph.get("dependencies_created_clients") for ph in self.phases}
        return made.pop() if len(made) == 1 else None

    def phase_median(self, name: str) -> float | None:
        values = [float(ph[name]) for ph in self.phases if ph.get(name) is not None]
        return statistics.median(values) if values else None

    @property
    def ratio(self) -> float:
        return self.handler_series.median / self.boto3_series.median

    @property
    def ratio_wall(self) -> float:
        return self.handler_series.median_wall / self.boto3_series.median_wall

    @property
    def ratio_cpu(self) -> float:
        """On the child's CPU time (``time.process_time``): less sensitive to a busy machine."""
        return self.handler_series.median_cpu / self.boto3_series.median_cpu

    @property
    def ratio_botocore(self) -> float:
        return self.handler_series.median / self.botocore_series.median

    @property
    def ratio_botocore_wall(self) -> float:
        return self.handler_series.median_wall / self.botocore_series.median_wall

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "handler": self.handler,
            "clients": list(self.clients),
            "runs": self.runs,
            "target": self.target,
            "verdict": "PASS" if self.passed else "FAIL",
            "ratio": round(self.ratio, 3),
            "ratio_wall": round(self.ratio_wall, 3),
            "ratio_cpu": round(self.ratio_cpu, 3),
            "ratio_botocore": round(self.ratio_botocore, 3),
            "ratio_botocore_wall": round(self.ratio_botocore_wall, 3),
            "handler_has_dependencies": self.has_dependencies,
            "dependencies_created_clients": self.dependencies_created_clients,
            "clients_forced_after_dependencies": self.clients_forced,
            "handler_phases_median_ms": {
                name: None if (v := self.phase_median(name)) is None else round(v, 2)
                for name in ("import_ms", "dependencies_ms", "clients_ms")
            },
            "handler_ms": self.handler_series.summary(),
            "boto3_floor_ms": self.boto3_series.summary(),
            "botocore_floor_ms": self.botocore_series.summary(),
        }


@dataclass
class _Collector:
    in_process: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, s: Sample) -> None:
        self.in_process.append(s.in_process_ms)
        self.wall.append(s.wall_ms)
        self.cpu.append(s.cpu_ms)

    def series(self) -> Series:
        return Series(list(self.in_process), list(self.wall), list(self.cpu))


ORDER = (Probe.BOTO3, Probe.HANDLER, Probe.BOTOCORE)
"""One round. Rounds repeat, so the sequence is floor, handler, floor, floor, handler, floor...:
every handler run sits between a boto3-floor run and a botocore-floor run."""


def measure(fn: Function, *, runs: int, target: float, force_clients: bool = True) -> Result:
    env = child_environment(fn)
    scripts = {p: script_for(p, fn, force_clients=force_clients) for p in Probe}
    for probe in Probe:  # untimed: compile .pyc files so that compilation is not measured
        run_child(scripts[probe], env)
    collected = {p: _Collector() for p in Probe}
    phases: list[dict[str, Any]] = []
    for _ in range(runs):
        for probe in ORDER:
            sample, _proc = run_child(scripts[probe], env)
            collected[probe].add(sample)
            if probe is Probe.HANDLER:
                phases.append(sample.phases)
    return Result(
        function=fn.id,
        handler=fn.handler,
        clients=clients_of(fn),
        runs=runs,
        target=target,
        handler_series=collected[Probe.HANDLER].series(),
        boto3_series=collected[Probe.BOTO3].series(),
        botocore_series=collected[Probe.BOTOCORE].series(),
        phases=phases,
        clients_forced=force_clients,
    )


# --- output ------------------------------------------------------------------------------------

COLUMNS = (
    "function",
    "handler ms",
    "boto3 floor ms",
    "ratio",
    "botocore floor ms",
    "ratio",
    "target",
    "verdict",
    "runs",
)


def _ms(series: Series) -> str:
    return f"{series.median:.1f} (wall {series.median_wall:.1f})"


def _ratio(r: float, wall: float) -> str:
    return f"{r:.2f}x (wall {wall:.2f}x)"


def _row(r: Result) -> list[str]:
    return [
        r.function,
        _ms(r.handler_series),
        _ms(r.boto3_series),
        _ratio(r.ratio, r.ratio_wall),
        _ms(r.botocore_series),
        _ratio(r.ratio_botocore, r.ratio_botocore_wall),
        f"<= {r.target:.2f}x",
        "PASS" if r.passed else "FAIL",
        str(r.runs),
    ]


def _notes(results: Sequence[Result]) -> list[str]:
    notes = [
        "ms = median in-process time (perf_counter inside the child); wall = median process time seen",
        "by the parent. Ratios are handler/floor on in-process medians; the verdict uses the boto3 floor.",
    ]
    for r in results:
        parts = [f"import {r.phase_median('import_ms') or 0:.1f}"]
        if r.has_dependencies:
            parts.append(f"dependencies() {r.phase_median('dependencies_ms') or 0:.1f}")
        else:
            parts.append("no dependencies()")
        if r.clients and r.clients_forced:
            parts.append(f"clients {r.phase_median('clients_ms') or 0:.1f}")
        line = f"{r.function}: " + " + ".join(parts) + " ms (medians)"
        line += f"; CPU-time ratio to the boto3 floor {r.ratio_cpu:.2f}x"
        if r.clients and r.dependencies_created_clients is False:
            what = "created after it, as the first request would" if r.clients_forced else "NOT measured"
            line += f"; dependencies() creates no client, {'/'.join(r.clients)} {what}"
        notes.append(line + ".")
    return notes


def render(results: Sequence[Result]) -> None:
    try:
        from rich.console import Console  # noqa: PLC0415 - optional dependency
        from rich.table import Table as RichTable  # noqa: PLC0415
    except ImportError:
        _render_plain(results)
        return
    table = RichTable(title="Cold start per handler vs its floor", title_justify="left")
    for name in COLUMNS:
        table.add_column(name, justify="left" if name in {"function", "verdict"} else "right")
    for r in results:
        row = _row(r)
        row[7] = "[bold green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
        table.add_row(*row)
    console = Console(width=max(Console().width, 150))
    console.print(table)
    for line in _notes(results):
        console.print(line, style="dim", highlight=False)


def _render_plain(results: Sequence[Result]) -> None:
    rows = [list(COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for line in _notes(results):
        print(line)


# --- command line ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="fresh processes per probe (default 7)")
    p.add_argument("--target", type=float, default=DEFAULT_TARGET, help="max handler/boto3-floor ratio")
    p.add_argument("--check", action="store_true", help="exit 1 if any handler misses the target")
    p.add_argument("--json", action="store_true", help="print machine-readable results only")
    p.add_argument(
        "--function", action="append", default=[], metavar="ID", help="only this function (repeatable)"
    )
    p.add_argument(
        "--no-force-clients",
        dest="force_clients",
        action="store_false",
        help="measure import + dependencies() only, even when dependencies() leaves clients lazy",
    )
    p.add_argument(
        "--profile",
        metavar="ID",
        nargs="?",
        const="",
        help="instead: top imports of one handler by -X importtime (see bench.import_profile)",
    )
    return p


def select(ids: Sequence[str]) -> list[Function]:
    if not ids:
        return list(SYSTEM.functions)
    known = {fn.id: fn for fn in SYSTEM.functions}
    if unknown := [i for i in ids if i not in known]:
        raise SystemExit(f"unknown function {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[i] for i in ids]


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (5 min {five:.2f}) on {os.cpu_count()} CPUs"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.profile is not None:
        from bench import import_profile  # noqa: PLC0415

        return import_profile.main([args.profile] if args.profile else [])
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    functions = select(args.function)
    load_before = _load()
    results: list[Result] = []
    for fn in functions:
        print(f"measuring {fn.id} ({args.runs} runs of each probe)...", file=sys.stderr, flush=True)
        try:
            results.append(measure(fn, runs=args.runs, target=args.target, force_clients=args.force_clients))
        except ChildFailed as exc:
            print(f"{fn.id}: a measured process failed: {exc}", file=sys.stderr)
            return 2
    load_after = _load()
    if args.json:
        payload = {
            "python": sys.version.split()[0],
            "runs": args.runs,
            "target": args.target,
            "load_before": load_before,
            "load_after": load_after,
            "results": [r.to_json() for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        render(results)
        print(f"load average: {load_before} before, {load_after} after")
    failed = [r.function for r in results if not r.passed]
    if args.check and failed:
        print(f"FAIL: {', '.join(failed)} over {args.target:.2f}x the boto3 floor", file=sys.stderr)
        return 1
    return 0
