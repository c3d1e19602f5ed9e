"""What a handler's cold start costs beyond its floor, module by module: where to trim.

``python -m bench.import_profile [FUNCTION_ID]`` (or ``python -m bench --profile [ID]``) sets up
the cold-start benchmark's world (moto, seeded data, the staged asset, layer and runtime boto3)
and runs the same child processes as the benchmark, with bytecode:

- the handler (init + first request) under ``-X importtime``, ``--runs`` times (median per
  module), and the floor (boto3, the same clients, the same calls) once;
- it prints the top imports by cumulative time (a module and everything it imported first),
  and the **self** time of what the handler imports *beyond the floor*, by top-level package
  and by module: the part of the cold start that the floor does not pay;
- with ``--cprofile``, also one run under ``cProfile``: where the time of init + first request
  goes by package (self time), and the slowest calls by cumulative time. This shows the work
  that is not an import (pydantic building validators, Powertools' resolver on its first
  request, botocore loading a service model), which ``-X importtime`` cannot see.

A module marked "floor" is imported by the floor process too, so the handler cannot avoid it.
``-X importtime`` and ``cProfile`` add overhead of their own: compare rows with each other, not
with the benchmark's table.
"""

from __future__ import annotations

import argparse
import pstats
import re
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cold_start import Kind, World, kind_of, select, world_for
from infra.topology import SYSTEM
from shared.topology import Function

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")
DEFAULT_TOP = 15
DEFAULT_RUNS = 3


@dataclass(frozen=True)
class ImportRow:
    module: str
    self_ms: float
    cumulative_ms: float
    depth: int

    @property
    def package(self) -> str:
        return self.module.split(".", 1)[0]


def parse_importtime(stderr: str) -> dict[str, ImportRow]:
    rows: dict[str, ImportRow] = {}
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        self_us, cum_us, indent, name = m.groups()
        rows[name] = ImportRow(name, int(self_us) / 1e3, int(cum_us) / 1e3, len(indent) // 2)
    return rows


def importtime(world: World, fn: Function, kind: Kind, runs: int, **extra: object) -> dict[str, ImportRow]:
    """Per module, the median over ``runs`` fresh processes (after one untimed warm-up)."""
    spec = world.spec(fn, kind, **extra)
    world.run(fn, spec)
    samples: list[dict[str, ImportRow]] = []
    for _ in range(runs):
        _report, _wall, _ops, proc = world.run(fn, spec, flags=("-X", "importtime"))
        samples.append(parse_importtime(proc.stderr))
    merged: dict[str, ImportRow] = {}
    for name, first in samples[0].items():
        seen = [s[name] for s in samples if name in s]
        merged[name] = ImportRow(
            name,
            statistics.median(r.self_ms for r in seen),
            statistics.median(r.cumulative_ms for r in seen),
            first.depth,
        )
    return merged


@dataclass(frozen=True)
class Profile:
    function: Function
    handler: dict[str, ImportRow]
    floor: frozenset[str]
    calls: str

    def top(self, n: int) -> list[ImportRow]:
        return sorted(self.handler.values(), key=lambda r: r.cumulative_ms, reverse=True)[:n]

    def beyond_floor(self) -> list[tuple[str, float, int]]:
        """(top-level package, summed self ms, module count) of modules the floor does not import."""
        total: dict[str, float] = defaultdict(float)
        count: dict[str, int] = defaultdict(int)
        for r in self.handler.values():
            if r.module not in self.floor:
                total[r.package] += r.self_ms
                count[r.package] += 1
        return sorted(((p, total[p], count[p]) for p in total), key=lambda t: t[1], reverse=True)

    def modules_beyond_floor(self, n: int) -> list[ImportRow]:
        rows = [r for r in self.handler.values() if r.module not in self.floor]
        return sorted(rows, key=lambda r: r.self_ms, reverse=True)[:n]

    @property
    def total_import_ms(self) -> float:
        return sum(r.self_ms for r in self.handler.values())

    @property
    def beyond_floor_ms(self) -> float:
        return sum(r.self_ms for r in self.handler.values() if r.module not in self.floor)


def profile(world: World, fn: Function, runs: int = DEFAULT_RUNS) -> Profile:
    recorded = world.record(fn)
    handler = importtime(world, fn, Kind.WITH, runs)
    floor = importtime(world, fn, Kind.FLOOR, 1, clients=recorded.clients, calls=recorded.floor_calls())
    return Profile(fn, handler, frozenset(floor), recorded.summary())


def layers_of(fn: Function) -> list[tuple[str, str]]:
    """(what, code) in the order a handler's cold start goes through them: each row's cost is what
    it adds to the rows above (the floor's ``import boto3`` first, so the rest is beyond it)."""
    rows = [
        ("import boto3 (the floor's import; botocore is the handler's too)", "import boto3"),
        (
            "pydantic's dependencies: pydantic_core, annotated_types, ...",
            _imports("pydantic_core", "annotated_types"),
        ),
        ("pydantic (BaseModel, Field)", "from pydantic import BaseModel, Field"),
        ("Powertools' package: Logger, Metrics, Tracer, user agent", "import aws_lambda_powertools"),
    ]
    kind = kind_of(fn)
    if kind == "API":
        rows += [
            (
                "event_handler's package: every resolver, event class, asyncio",
                _imports("aws_lambda_powertools.event_handler"),
            ),
            (
                "OpenAPI params and the validation middleware",
                _imports(
                    "aws_lambda_powertools.event_handler.openapi.params",
                    "aws_lambda_powertools.event_handler.middlewares.openapi_validation",
                ),
            ),
            ("shared.api (resolver factory, errors, idempotency, auth)", "import shared.api"),
        ]
    elif kind == "queue":
        rows += [
            (
                "the event data classes' package (every event source)",
                _imports("aws_lambda_powertools.utilities.data_classes"),
            ),
            (
                "Powertools' batch utility (asyncio; parser models once pydantic is in)",
                _imports("aws_lambda_powertools.utilities.batch"),
            ),
            ("shared.consumers", "import shared.consumers"),
        ]
    rows += [
        ("the handler module: its models, stores, logic, topology", _imports(fn.module)),
        (
            "the first request: clients (botocore), the calls, the framework",
            f"import sys as _s; _s.modules[{fn.module!r}].{fn.entry}(event, context)",
        ),
    ]
    return rows


def _imports(*modules: str) -> str:
    return "; ".join(f"__import__({m!r})" for m in modules)


def layers(world: World, fn: Function, runs: int) -> list[tuple[str, float, float]]:
    """(what, median CPU ms with the collector on, median CPU ms with it off) per row of
    ``layers_of``, over ``runs`` processes of each. With the collector on, a full collection lands
    in whichever row allocates when it is due; with it off, each row's own cost shows."""
    rows = layers_of(fn)
    codes = [code for _, code in rows]
    on = world.spec(fn, Kind.WITH) | {"kind": "steps", "steps": codes}
    off = on | {"steps": [f"import gc as _gc; _gc.disable(); {codes[0]}", *codes[1:]]}
    world.run(fn, on)
    samples: dict[str, list[list[list[float]]]] = {"on": [], "off": []}
    for _ in range(runs):
        samples["on"].append(world.run(fn, on)[0]["steps"])
        samples["off"].append(world.run(fn, off)[0]["steps"])
    return [
        (
            what,
            statistics.median(sample[i][1] for sample in samples["on"]),
            statistics.median(sample[i][1] for sample in samples["off"]),
        )
        for i, (what, _) in enumerate(rows)
    ]


def first_request_profile(world: World, fn: Function, out: Path) -> pstats.Stats:
    """One handler process (init + first request) under cProfile."""
    world.run(fn, world.spec(fn, Kind.WITH, cprofile=str(out)))
    return pstats.Stats(str(out))


def _package(filename: str) -> str:
    """The top-level package a profiled function's file belongs to (``~`` for built-ins)."""
    if filename.startswith("~") or filename.startswith("<"):
        return filename
    parts = Path(filename).parts
    for root in ("python", "runtime", "build"):  # the staged layer, runtime and assets
        if root in parts:
            rest = parts[parts.index(root) + 1 :]
            if root == "build" and len(rest) > 2:
                rest = rest[2:]  # lambda/<service>-<digest>/...
            return rest[0].removesuffix(".py") if rest else filename
    return "stdlib"


def cprofile_tables(stats: pstats.Stats, top: int) -> tuple[list[list[str]], list[list[str]]]:
    entries = stats.stats  # type: ignore[attr-defined]
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in entries.items():
        by_package[_package(filename)] += tottime
    packages = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    package_rows = [[name, f"{seconds * 1e3:.1f}"] for name, seconds in packages]
    slow = sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)
    call_rows = []
    for (filename, line, name), (_cc, nc, tottime, cumtime, _callers) in slow:
        if name.startswith("<") or "importlib._bootstrap" in filename or filename == "~":
            continue
        where = f"{_package(filename)}:{Path(filename).name}:{line}"
        call_rows.append([f"{name} ({where})", str(nc), f"{cumtime * 1e3:.1f}", f"{tottime * 1e3:.1f}"])
        if len(call_rows) == top:
            break
    return package_rows, call_rows


def render(p: Profile, top: int, packages: int, cprofile: pstats.Stats | None = None) -> None:
    head = (
        f"{p.function.id} ({p.function.handler}; first request: {p.calls}): {len(p.handler)} modules, "
        f"{p.total_import_ms:.1f} ms of import self time, {p.beyond_floor_ms:.1f} ms of it beyond "
        f"the floor ({len(p.floor)} modules)"
    )
    top_rows = [
        [str(i), "  " * r.depth + r.module, f"{r.cumulative_ms:.1f}", f"{r.self_ms:.1f}", _where(p, r)]
        for i, r in enumerate(p.top(top), 1)
    ]
    pkg_rows = [[name, f"{ms:.1f}", str(n)] for name, ms, n in p.beyond_floor()[:packages]]
    mod_rows = [[r.module, f"{r.self_ms:.1f}"] for r in p.modules_beyond_floor(top)]
    tables = [
        (
            f"Top {top} imports by cumulative time (median of runs; indent = nesting depth)",
            ["#", "module", "cumulative ms", "self ms", "also in"],
            top_rows,
        ),
        (
            "Beyond the floor: import self time by top-level package",
            ["package", "self ms", "modules"],
            pkg_rows,
        ),
        ("Beyond the floor: the modules with the most import self time", ["module", "self ms"], mod_rows),
    ]
    if cprofile is not None:
        package_rows, call_rows = cprofile_tables(cprofile, top)
        tables += [
            ("cProfile, init + first request: self time by package", ["package", "self ms"], package_rows),
            (
                "cProfile, init + first request: calls by cumulative time (imports left out)",
                ["function", "calls", "cumulative ms", "self ms"],
                call_rows,
            ),
        ]
    try:
        from rich.console import Console  # noqa: PLC0415 - optional dependency
        from rich.table import Table  # noqa: PLC0415
    except ImportError:
        print(head)
        for title, cols, rows in tables:
            print(f"\n{title}")
            _plain(cols, rows)
        return
    console = Console(width=max(Console().width, 120))
    console.print(head, highlight=False)
    for title, cols, rows in tables:
        t = Table(title=title, title_justify="left")
        for c in cols:
            t.add_column(c, justify="left" if c in {"module", "package", "also in", "function"} else "right")
        for row in rows:
            t.add_row(*row)
        console.print(t)


def _render_layers(
    fn: Function, rows: list[tuple[str, float, float]], floor_ms: float, floor_cpu: float, calls: str
) -> None:
    print(f"{fn.id}: init + first request ({calls}), layer by layer in one process (medians, CPU ms)")
    table = [["what it adds", "CPU ms", "CPU ms, no GC"]]
    table += [[what, f"{on:.1f}", f"{off:.1f}"] for what, on, off in rows]
    table.append(["total", f"{sum(r[1] for r in rows):.1f}", f"{sum(r[2] for r in rows):.1f}"])
    table.append(["the floor: import boto3, the same clients and calls", f"{floor_cpu:.1f}", ""])
    _plain(table[0], table[1:])
    print(f"(the floor's median in-process time: {floor_ms:.1f} ms)")


def _where(p: Profile, r: ImportRow) -> str:
    return "floor" if r.module in p.floor else ""


def _plain(cols: list[str], rows: list[list[str]]) -> None:
    table = [cols, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.import_profile", description=__doc__.splitlines()[0])
    ap.add_argument("function", nargs="?", help="function id (default: the first in the topology)")
    ap.add_argument("--top", type=int, default=DEFAULT_TOP, help="rows by cumulative time (default 15)")
    ap.add_argument("--packages", type=int, default=DEFAULT_TOP, help="rows of the by-package table")
    ap.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="processes to take the median of")
    ap.add_argument("--cprofile", action="store_true", help="also profile init + first request (cProfile)")
    ap.add_argument(
        "--layers",
        action="store_true",
        help="instead: what each library layer adds beyond the floor (CPU ms)",
    )
    args = ap.parse_args(argv)
    fn = select([args.function])[0] if args.function else SYSTEM.functions[0]
    with world_for([fn]) as world:
        if args.layers:
            rows = layers(world, fn, max(1, args.runs))
            recorded = world.record(fn)
            floor = world.spec(fn, Kind.FLOOR, clients=recorded.clients, calls=recorded.floor_calls())
            reports = [world.run(fn, floor)[0] for _ in range(max(1, args.runs))]
            floor_ms = statistics.median(r["ms"] for r in reports)
            floor_cpu = statistics.median(r["cpu_ms"] for r in reports)
            _render_layers(fn, rows, floor_ms, floor_cpu, recorded.summary())
            return 0
        result = profile(world, fn, max(1, args.runs))
        stats = first_request_profile(world, fn, world.tmp / "first.prof") if args.cprofile else None
        render(result, args.top, args.packages, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
