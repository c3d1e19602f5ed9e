"""Lambda code assets without Docker, with bytecode compiled by the runtime's own Python.

- Each function's code is its service package plus ``shared/`` (nothing else of
  the repository), staged into ``.build/lambda/<service>-<digest>/`` without the
  tree's ``__pycache__`` or bytecode, so the asset hash changes only when the code does.
- Third-party dependencies (Powertools and pydantic, pinned in
  ``requirements-lambda.txt``) are one layer built by ``make layer`` with uv for
  the Lambda platform (manylinux aarch64, CPython 3.14) from PyPI wheels. boto3 is
  the runtime's own. The public Powertools layer was not used: its version number
  is not the library's and pydantic's native core must match the architecture.

**Bytecode.** ``/var/task`` and ``/opt`` are read-only, so a cold start that finds no
``.pyc`` compiles every module it imports from source, every time (about twice the import
time). Both the code assets and the layer therefore ship ``__pycache__/*.cpython-314.pyc``
compiled by the Lambda runtime's own Python version (``LAMBDA_PYTHON``), found in
``DANGOL_LAMBDA_PYTHON`` or as ``python3.14`` on ``PATH``:

- ``--invalidation-mode unchecked-hash``: CDK zips assets with fixed mtimes, so timestamp
  pycs would look stale and be recompiled (in memory) on every cold start; unchecked pycs
  are used as they are. An asset is immutable once deployed, so nothing can go stale.
- Deterministic: compiled in sorted order in one process, with ``PYTHONHASHSEED=0`` and the
  path the code has on Lambda (``-d /var/task``, ``/opt/python``) instead of the staging
  folder's, so two stagings of the same code have the same digest.
- With no interpreter of that version, nothing is compiled (bytecode for another version
  is dead weight: its magic number and cache tag never match), a one-line notice says so,
  and ``DANGOL_REQUIRE_BYTECODE=1`` (the deploy pipeline) turns that into an error.

``python -m infra.packaging compile-layer DIR`` compiles a built layer and ``zip-layer DIR ZIP`` zips it
(``make layer``);
``python -m infra.packaging runtime`` prints the runtime's name (``python3.14``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".build"  # hidden like .venv: our own code, staged
LAYER_DIR = ROOT / ".venv" / "lambda-layer"  # third-party code sits with the venv's (``make layer``)
# The layer as Lambda takes it: a zip the stacks name as the asset, so a synthesized assembly holds
# an archive, not a second unpacked copy of the third-party code in the project's tree.
LAYER_ZIP = ROOT / ".venv" / "lambda-layer.zip"

LAMBDA_PYTHON: Final = (3, 14)
"""THE Python version of the Lambda runtime: bytecode, the layer's native code and the runtime."""
LAMBDA_RUNTIME: Final = f"python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}"
"""The Lambda runtime identifier (``python3.14``), as CloudFormation spells it."""
TASK_ROOT: Final = "/var/task"  # where a function's code asset is unpacked
LAYER_ROOT: Final = "/opt/python"  # where a layer's python/ folder is unpacked (on sys.path)
INTERPRETER_ENV: Final = "DANGOL_LAMBDA_PYTHON"
REQUIRE_BYTECODE_ENV: Final = "DANGOL_REQUIRE_BYTECODE"

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")
_PYC = re.compile(r"^(?P<stem>[^.]+)\.(?P<tag>[a-z]+-\d+)\.pyc$")
_EXTENSION_TAG = re.compile(r"\.cpython-(\d)(\d+)[-.]")
_UNCHECKED_HASH_FLAGS = 0b01  # PEP 552: hash-based, check_source off
_PROBE = "import sys; print(sys.version_info[0], sys.version_info[1], sys.implementation.cache_tag)"

Version = tuple[int, int]


class BytecodeUnavailable(RuntimeError):
    """No interpreter of the Lambda runtime's version, and bytecode is required."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: Version
    cache_tag: str  # ``cpython-314``: the infix of the .pyc names it reads and writes


# --- staging -----------------------------------------------------------------------------------


def stage_service_code(
    service: str, *, bytecode_for: Version | Interpreter | None = LAMBDA_PYTHON, into: Path | None = None
) -> Path:
    """Stage into a fresh folder named by its content: two synths at once never share one.

    ``bytecode_for``: the Python version whose bytecode the asset ships (the runtime's, found as
    ``compile_for`` finds it), or the interpreter to compile with, or None for no bytecode.
    ``into``: the build folder (``.build``)."""
    build = BUILD if into is None else into
    build.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{service}-", dir=build))
    (staging / "services").mkdir()
    shutil.copy2(ROOT / "services" / "__init__.py", staging / "services" / "__init__.py")
    shutil.copytree(ROOT / "services" / service, staging / "services" / service, ignore=_IGNORE)
    shutil.copytree(ROOT / "shared", staging / "shared", ignore=_IGNORE)
    if bytecode_for is not None:
        try:
            if isinstance(bytecode_for, Interpreter):
                compile_tree(staging, bytecode_for, shown_as=TASK_ROOT)
            else:
                compile_for(staging, bytecode_for, shown_as=TASK_ROOT)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    target = build / "lambda" / f"{service}-{_digest(staging)}"
    if target.exists():
        shutil.rmtree(staging)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(target)
        except OSError:  # another synth staged the same content first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def layer_zip() -> Path:
    if not LAYER_ZIP.is_file():
        raise FileNotFoundError(
            f"{LAYER_ZIP} is missing: build the dependency layer with `make layer` (make synth does)."
        )
    return LAYER_ZIP


def zip_layer(folder: Path, target: Path) -> int:
    """Zip the built layer ``folder`` (its ``python/`` at the root) into ``target``, the same bytes
    for the same files (sorted, a fixed timestamp, each file's mode), so its asset hash is stable.
    Returns the number of files."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(str(path.relative_to(folder)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    partial.replace(target)
    return len(files)


# --- the interpreter ---------------------------------------------------------------------------


def lambda_interpreter(version: Version = LAMBDA_PYTHON) -> tuple[Interpreter | None, str]:
    """The interpreter that compiles for ``version``: ``$DANGOL_LAMBDA_PYTHON``, else
    ``pythonX.Y`` on ``PATH``; (None, why) when neither is that version of CPython."""
    wanted = f"python{version[0]}.{version[1]}"
    configured = os.environ.get(INTERPRETER_ENV, "").strip()
    candidate = configured or shutil.which(wanted)
    if not candidate:
        return None, f"no {wanted} on PATH and {INTERPRETER_ENV} is not set"
    found = _probe(candidate)
    where = f"{INTERPRETER_ENV}={configured}" if configured else candidate
    if found is None:
        return None, f"{where} does not run"
    if found.version != version or found.cache_tag != f"cpython-{version[0]}{version[1]}":
        return (
            None,
            f"{where} is {found.cache_tag} (Python {found.version[0]}.{found.version[1]}), not {wanted}",
        )
    return found, ""


@functools.cache
def _probe(path: str) -> Interpreter | None:
    try:
        out = subprocess.run(  # noqa: S603 - the interpreter the operator named, no shell
            [path, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()
        return Interpreter(path, (int(out[0]), int(out[1])), out[2])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def running_interpreter() -> Interpreter:
    """This process's own interpreter (to compile for it: the benchmark, the tests)."""
    return Interpreter(
        sys.executable, (sys.version_info[0], sys.version_info[1]), sys.implementation.cache_tag
    )


_noticed: set[str] = set()


def compile_for(folder: Path, version: Version, *, shown_as: str) -> Interpreter | None:
    """Compile ``folder`` for Python ``version`` if an interpreter of it is here; else ship none
    (one notice per reason), or raise ``BytecodeUnavailable`` under ``DANGOL_REQUIRE_BYTECODE=1``."""
    interpreter, why = lambda_interpreter(version)
    if interpreter is None:
        wanted = f"Python {version[0]}.{version[1]}"
        if os.environ.get(REQUIRE_BYTECODE_ENV, "").strip() not in {"", "0"}:
            raise BytecodeUnavailable(
                f"{REQUIRE_BYTECODE_ENV} is set and there is no {wanted} to compile with ({why}): "
                f"set {INTERPRETER_ENV} to a {wanted} interpreter"
            )
        notice = (
            f"shipping no bytecode, so every cold start compiles from source: no {wanted} ({why}); "
            f"set {INTERPRETER_ENV} to a {wanted} interpreter"
        )
        if notice not in _noticed:
            _noticed.add(notice)
            sys.stderr.write(f"infra.packaging: {notice}\n")
        return None
    compile_tree(folder, interpreter, shown_as=shown_as)
    return interpreter


# --- compiling ---------------------------------------------------------------------------------


def compile_tree(folder: Path, interpreter: Interpreter, *, shown_as: str) -> int:
    """Compile every ``.py`` under ``folder`` with ``interpreter`` into unchecked-hash pycs whose
    code objects name ``shown_as`` (where ``folder`` is on Lambda); returns how many."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONHASHSEED": "0",  # sets (frozenset constants) marshal in a fixed order
        "LC_ALL": "C.UTF-8",
    }
    # One process, sorted order (compileall sorts each directory), no workers: deterministic.
    command = [
        interpreter.path,
        "-I",
        "-m",
        "compileall",
        "-q",
        "-f",
        "--invalidation-mode",
        "unchecked-hash",
        "-d",
        shown_as,
        str(folder),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(
            f"{interpreter.path} could not compile {folder}:\n{(done.stdout + done.stderr)[-4000:]}"
        )
    return len(check_bytecode(folder, interpreter.cache_tag))


def check_bytecode(folder: Path, cache_tag: str) -> list[Path]:
    """The pycs under ``folder``: one per source, all for ``cache_tag``, all unchecked-hash;
    raises ``ValueError`` naming what is wrong."""
    problems: list[str] = []
    pycs: list[Path] = []
    for pyc in sorted(folder.rglob("*.pyc")):
        match = _PYC.match(pyc.name)
        source = pyc.parent.parent / f"{match['stem']}.py" if match else None
        if match is None or match["tag"] != cache_tag or pyc.parent.name != "__pycache__":
            problems.append(f"{pyc}: not {cache_tag} bytecode in __pycache__")
        elif source is None or not source.is_file():
            problems.append(f"{pyc}: no source beside it")
        elif pyc_flags(pyc) != _UNCHECKED_HASH_FLAGS:
            problems.append(f"{pyc}: not unchecked-hash (flags {pyc_flags(pyc):#x})")
        pycs.append(pyc)
    compiled = {p.parent.parent / (p.name.split(".", 1)[0] + ".py") for p in pycs}
    problems += [f"{src}: no {cache_tag} pyc" for src in sorted(set(folder.rglob("*.py")) - compiled)]
    if problems:
        raise ValueError(f"{len(problems)} bytecode problem(s): " + "; ".join(problems[:10]))
    return pycs


def pyc_flags(pyc: Path) -> int:
    """The PEP 552 flags word of a pyc's header (0: timestamp, 1: unchecked hash, 3: checked hash)."""
    with pyc.open("rb") as file:
        header = file.read(8)
    return int.from_bytes(header[4:8], "little")


def native_versions(folder: Path) -> set[Version]:
    """The CPython versions of the extension modules under ``folder`` (``*.cpython-314-*.so``)."""
    found = set()
    for so in folder.rglob("*.so"):
        if match := _EXTENSION_TAG.search(so.name):
            found.add((int(match[1]), int(match[2])))
    return found


def compile_layer(folder: Path, version: Version = LAMBDA_PYTHON) -> Interpreter | None:
    """``make layer``: after uv built ``folder`` (the layer's ``python/``) for ``version``."""
    if not folder.is_dir():
        raise FileNotFoundError(folder)
    if stray := native_versions(folder) - {version}:
        raise ValueError(
            f"{folder} holds native code for Python {sorted(stray)}, not {version}: "
            "the Makefile's --python-version and infra.packaging.LAMBDA_PYTHON disagree"
        )
    for cache in sorted(folder.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    return compile_for(folder, version, shown_as=LAYER_ROOT)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["runtime"]:
        sys.stdout.write(f"{LAMBDA_RUNTIME}\n")
        return 0
    if len(args) == 2 and args[0] == "compile-layer":
        try:
            interpreter = compile_layer(Path(args[1]))
        except (BytecodeUnavailable, ValueError, RuntimeError, FileNotFoundError) as exc:
            sys.stderr.write(f"infra.packaging: {exc}\n")
            return 1
        if interpreter is not None:
            count = len(list(Path(args[1]).rglob("*.pyc")))
            sys.stdout.write(
                f"infra.packaging: {count} modules of the layer compiled by {interpreter.path}\n"
            )
        return 0
    if len(args) == 3 and args[0] == "zip-layer":
        count = zip_layer(Path(args[1]), Path(args[2]))
        sys.stdout.write(f"infra.packaging: the layer's {count} files zipped into {args[2]}\n")
        return 0
    sys.stderr.write("usage: python -m infra.packaging runtime | compile-layer DIR | zip-layer DIR ZIP\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
