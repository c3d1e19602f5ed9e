"""What the Powertools changes proposed upstream (bench/README.md) would give, measured.

``python -m bench.upstream_preview [FUNCTION_ID ...] [--runs 9]`` sets up the cold-start
benchmark's world, copies its staged layer and changes the copy as proposed upstream, then runs,
alternating, the floor, the handler on the layer as shipped, and the handler on the changed copy:

1. ``aws_lambda_powertools/__init__.py``, ``event_handler/__init__.py`` and
   ``utilities/data_classes/__init__.py`` export lazily (PEP 562 ``__getattr__``) instead of
   importing every logger, resolver and event class a function might use;
2. ``utilities/batch/types.py`` no longer imports the parser's pydantic models (type aliases only:
   they belong under ``TYPE_CHECKING``), and ``utilities/batch/base.py`` imports ``asyncio`` when
   the asynchronous processor first needs it, not at import.

Nothing here is shipped: it measures a proposal. The copy is compiled like the shipped layer.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.cold_start import Kind, World, select, world_for
from infra.packaging import LAYER_ROOT, compile_tree, running_interpreter
from shared.topology import Function

_ASYNCIO_LAZY = """
import importlib.util as _lazy_util
import sys as _lazy_sys

if "asyncio" in _lazy_sys.modules:
    import asyncio
else:  # imported when first used (the asynchronous processor), not with the module
    _lazy_spec = _lazy_util.find_spec("asyncio")
    _lazy_spec.loader = _lazy_util.LazyLoader(_lazy_spec.loader)
    asyncio = _lazy_util.module_from_spec(_lazy_spec)
    _lazy_sys.modules["asyncio"] = asyncio
    _lazy_spec.loader.exec_module(asyncio)
"""


def _lazy_exports(path: Path, root: Path, keep: frozenset[str] = frozenset()) -> None:
    """Rewrite a package ``__init__`` so that its ``from ... import`` of submodules are lazy."""
    text = path.read_text()
    package = ".".join(path.relative_to(root).parent.parts)
    lazy: dict[str, str] = {}
    eager: list[str] = []
    for node in ast.parse(text).body:
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        ours = isinstance(node, ast.ImportFrom) and bool(
            node.level or module.startswith("aws_lambda_powertools")
        )
        if isinstance(node, ast.ImportFrom) and ours and module not in keep:
            absolute = f"{package}.{module}".rstrip(".") if node.level else module
            lazy |= {alias.asname or alias.name: f"{absolute}:{alias.name}" for alias in node.names}
        else:
            eager.append(ast.get_source_segment(text, node) or "")
    path.write_text(
        "\n".join(eager)
        + f"\n\n_LAZY = {lazy!r}\n\n\n"
        + "def __getattr__(name):\n"
        + "    import importlib\n\n"
        + "    if name not in _LAZY:\n"
        + "        raise AttributeError(name)\n"
        + '    module, attribute = _LAZY[name].split(":")\n'
        + "    value = getattr(importlib.import_module(module), attribute)\n"
        + "    globals()[name] = value\n"
        + "    return value\n"
    )


def patch_layer(layer: Path, into: Path) -> Path:
    """A copy of a staged layer (its ``python/`` folder) with the proposed changes, compiled."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(layer, into, ignore=shutil.ignore_patterns("__pycache__"))
    powertools = into / "aws_lambda_powertools"
    keep = frozenset(
        {
            "aws_lambda_powertools.package_logger",
            "aws_lambda_powertools.shared.user_agent",
            "aws_lambda_powertools.shared.version",
        }
    )
    _lazy_exports(powertools / "__init__.py", into, keep)
    _lazy_exports(powertools / "event_handler" / "__init__.py", into)
    _lazy_exports(powertools / "utilities" / "data_classes" / "__init__.py", into)
    types = powertools / "utilities" / "batch" / "types.py"
    types.write_text(types.read_text().replace('"pydantic" in sys.modules', "False  # typing only"))
    base = powertools / "utilities" / "batch" / "base.py"
    base.write_text(base.read_text().replace("\nimport asyncio\n", _ASYNCIO_LAZY, 1))
    compile_tree(into, running_interpreter(), shown_as=LAYER_ROOT)
    return into


def compare(world: World, fn: Function, layer: Path, runs: int) -> dict[str, float]:
    """Median in-process and CPU ms of the floor, the handler, and the handler on ``layer``."""
    recorded = world.record(fn)
    floor = world.spec(fn, Kind.FLOOR, clients=recorded.clients, calls=recorded.floor_calls())
    shipped = world.spec(fn, Kind.WITH)
    proposed = shipped | {"path": [shipped["path"][0], str(layer), *shipped["path"][2:]]}
    specs = {"floor": floor, "shipped": shipped, "proposed": proposed}
    for spec in specs.values():
        world.run(fn, spec)
    ms: dict[str, list[float]] = {name: [] for name in specs}
    cpu: dict[str, list[float]] = {name: [] for name in specs}
    for _ in range(runs):
        for name, spec in specs.items():
            report = world.run(fn, spec)[0]
            ms[name].append(report["ms"])
            cpu[name].append(report["cpu_ms"])
    out = {f"{name}_ms": statistics.median(values) for name, values in ms.items()}
    out |= {f"{name}_cpu_ms": statistics.median(values) for name, values in cpu.items()}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.upstream_preview", description=__doc__.splitlines()[0])
    ap.add_argument("function", nargs="*", help="function ids (default: one API function and one consumer)")
    ap.add_argument("--runs", type=int, default=9, help="processes per kind (default 9)")
    args = ap.parse_args(argv)
    functions = select(args.function or ["rewards-programs-api", "rewards-events"])
    with world_for(functions) as world:
        assert world.staged is not None
        layer = patch_layer(world.staged.layers[True], world.tmp / "layer-proposed" / "python")
        print(f"{'function':22} {'floor':>8} {'shipped':>14} {'proposed':>14} {'saved':>8}  (ms; CPU ms)")
        for fn in functions:
            r = compare(world, fn, layer, max(1, args.runs))
            floor, shipped, proposed = r["floor_ms"], r["shipped_ms"], r["proposed_ms"]
            print(
                f"{fn.id:22} {floor:8.0f} {shipped:8.0f} {shipped / floor:4.2f}x {proposed:8.0f} "
                f"{proposed / floor:4.2f}x {shipped - proposed:8.0f}  (CPU: floor {r['floor_cpu_ms']:.0f}, "
                f"shipped {r['shipped_cpu_ms']:.0f}, proposed {r['proposed_cpu_ms']:.0f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
