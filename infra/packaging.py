"""Lambda code assets without Docker.

- Each function's code is its service package plus ``shared/`` (nothing else of
  the repository), staged into ``build/lambda/<service>/`` without ``__pycache__``
  or bytecode, so the asset hash changes only when the code does.
- Third-party dependencies (Powertools and pydantic, pinned in
  ``requirements-lambda.txt``) are one layer built by ``make layer`` with uv for
  the Lambda platform (manylinux aarch64, CPython 3.13) from PyPI wheels. boto3 is
  the runtime's own. The public Powertools layer was not used: its version number
  is not the library's and pydantic's native core must match the architecture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
LAYER_DIR = BUILD / "layer"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


def stage_service_code(service: str) -> Path:
    target = BUILD / "lambda" / service
    if target.exists():
        shutil.rmtree(target)
    (target / "services").mkdir(parents=True)
    shutil.copy2(ROOT / "services" / "__init__.py", target / "services" / "__init__.py")
    shutil.copytree(ROOT / "services" / service, target / "services" / service, ignore=_IGNORE)
    shutil.copytree(ROOT / "shared", target / "shared", ignore=_IGNORE)
    return target


def layer_dir() -> Path:
    if not (LAYER_DIR / "python").is_dir():
        raise FileNotFoundError(
            f"{LAYER_DIR}/python is missing: build the dependency layer with `make layer` (make synth does)."
        )
    return LAYER_DIR
