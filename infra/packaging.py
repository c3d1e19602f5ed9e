"""Lambda code assets without Docker.

- Each function's code is its service package plus ``shared/`` (nothing else of
  the repository), staged into ``.build/lambda/<service>/`` without ``__pycache__``
  or bytecode, so the asset hash changes only when the code does.
- Third-party dependencies (Powertools and pydantic, pinned in
  ``requirements-lambda.txt``) are one layer built by ``make layer`` with uv for
  the Lambda platform (manylinux aarch64, CPython 3.14) from PyPI wheels. boto3 is
  the runtime's own. The public Powertools layer was not used: its version number
  is not the library's and pydantic's native core must match the architecture.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".build"  # hidden like .venv: our own code, staged
LAYER_DIR = ROOT / ".venv" / "lambda-layer"  # third-party code sits with the venv's (``make layer``)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


def stage_service_code(service: str) -> Path:
    """Stage into a fresh folder named by its content: two synths at once never share one."""
    BUILD.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{service}-", dir=BUILD))
    (staging / "services").mkdir()
    shutil.copy2(ROOT / "services" / "__init__.py", staging / "services" / "__init__.py")
    shutil.copytree(ROOT / "services" / service, staging / "services" / service, ignore=_IGNORE)
    shutil.copytree(ROOT / "shared", staging / "shared", ignore=_IGNORE)
    target = BUILD / "lambda" / f"{service}-{_digest(staging)}"
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


def layer_dir() -> Path:
    if not (LAYER_DIR / "python").is_dir():
        raise FileNotFoundError(
            f"{LAYER_DIR}/python is missing: build the dependency layer with `make layer` (make synth does)."
        )
    return LAYER_DIR
