"""What a handler's cold start imports, from ``python -X importtime``: where to trim.

``python -m bench.import_profile [FUNCTION_ID]`` (or ``python -m bench --profile [ID]``) runs
the same child script as the cold-start benchmark under ``-X importtime``, in the function's
environment, ``--runs`` times (median per module), and prints:

- the top imports by cumulative time (a module and everything it imported first);
- the self time of what the handler imports *beyond the boto3 floor*, by top-level package:
  the part of the cold start that the floor does not pay, i.e. the candidates to trim.

A module marked "floor" is imported by the boto3 floor process too, so it is not avoidable
by the handler (at best it is the botocore floor's boto3 share).
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cold_start import Probe, child_environment, run_child, script_for, select
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


def importtime(probe: Probe, fn: Function, runs: int) -> dict[str, ImportRow]:
    """Per module, the median over ``runs`` fresh processes (after one untimed warm-up)."""
    env = child_environment(fn)
    script = script_for(probe, fn)
    run_child(script, env)
    samples: list[dict[str, ImportRow]] = []
    for _ in range(runs):
        _sample, proc = run_child(script, env, extra_args=("-X", "importtime"))
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

    @property
    def total_import_ms(self) -> float:
        return sum(r.self_ms for r in self.handler.values())

    @property
    def beyond_floor_ms(self) -> float:
        return sum(r.self_ms for r in self.handler.values() if r.module not in self.floor)


def profile(fn: Function, runs: int = DEFAULT_RUNS) -> Profile:
    handler = importtime(Probe.HANDLER, fn, runs)
    floor = importtime(Probe.BOTO3, fn, 1)
    return Profile(fn, handler, frozenset(floor))


def render(p: Profile, top: int, packages: int) -> None:
    head = (
        f"{p.function.id} ({p.function.handler}): {len(p.handler)} modules, "
        f"{p.total_import_ms:.1f} ms of import self time, {p.beyond_floor_ms:.1f} ms of it beyond "
        f"the boto3 floor ({len(p.floor)} modules)"
    )
    top_rows = [
        [str(i), "  " * r.depth + r.module, f"{r.cumulative_ms:.1f}", f"{r.self_ms:.1f}", _where(p, r)]
        for i, r in enumerate(p.top(top), 1)
    ]
    pkg_rows = [[name, f"{ms:.1f}", str(n)] for name, ms, n in p.beyond_floor()[:packages]]
    tables = [
        (
            f"Top {top} imports by cumulative time (median of runs; indent = nesting depth)",
            ["#", "module", "cumulative ms", "self ms", "also in"],
            top_rows,
        ),
        (
            "Beyond the boto3 floor: import self time by top-level package",
            ["package", "self ms", "modules"],
            pkg_rows,
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
            t.add_column(c, justify="left" if c in {"module", "package", "also in"} else "right")
        for row in rows:
            t.add_row(*row)
        console.print(t)


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
    args = ap.parse_args(argv)
    fn = select([args.function])[0] if args.function else SYSTEM.functions[0]
    render(profile(fn, max(1, args.runs)), args.top, args.packages)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
