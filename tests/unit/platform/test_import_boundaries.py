"""The import contracts of pyproject.toml (``lint-imports``) catch what they are there to catch.

``make lint`` runs them on the repository. Here they run, unchanged, on a small tree shaped like
ours (shared/, infra/, console/, two services with handlers, dal, logic and models) into which one import
is planted per contract; each contract must break on its own planted import, and a tree without
them must keep every contract.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# A tree that keeps every contract: each service's handlers use its dal, logic and models; the
# dal talks to AWS through shared.aws; logic and models import only shared's plain modules.
CLEAN = {
    "shared/__init__.py": "",
    "shared/aws.py": "import boto3\n",
    "shared/errors.py": "",
    "infra/__init__.py": "",
    "infra/app.py": "import services.alpha.handlers.api\nimport services.beta.handlers.api\n",
    "services/__init__.py": "",
    "console/__init__.py": "",
    "console/app.py": "import json\n",
    **{
        f"services/{svc}/{path}": text
        for svc in ("alpha", "beta")
        for path, text in {
            "__init__.py": "",
            "handlers/__init__.py": "",
            "handlers/api.py": f"from services.{svc}.dal import store\nimport services.{svc}.logic.rules\n",
            "dal/__init__.py": "",
            "dal/store.py": f"from shared import aws\nfrom services.{svc}.logic import rules\n",
            "logic/__init__.py": "",
            "logic/rules.py": f"from shared import errors\nfrom services.{svc}.models import things\n",
            "models/__init__.py": "",
            "models/things.py": "from shared import errors\n",
        }.items()
    },
}

# One import per contract, each breaking that contract only.
PLANTED = {
    "services-are-independent": ("services/alpha/handlers/api.py", "from services.beta.models import things"),
    "shared-imports-no-service": ("shared/errors.py", "import services"),
    "logic-and-models-import-no-boto3": ("services/alpha/models/things.py", "import boto3"),
    "service-layers": ("services/beta/logic/rules.py", "from services.beta.dal import store"),
    "console-is-a-pure-client": ("console/app.py", "from shared import errors"),
}


def _lint(tree: dict[str, str], where: Path) -> dict[str, str]:
    """Each contract's verdict (KEPT or BROKEN) on the tree, by the contract's id."""
    for path, text in tree.items():
        (where / path).parent.mkdir(parents=True, exist_ok=True)
        (where / path).write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
    out = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", "pyproject.toml"],
        cwd=where,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = _contract_names()
    verdicts = {}
    for contract_id, name in names.items():
        found = re.search(rf"^{re.escape(name)} (KEPT|BROKEN)", out.stdout, re.MULTILINE)
        assert found, (contract_id, out.stdout[-2000:], out.stderr[-2000:])
        verdicts[contract_id] = found.group(1)
    return verdicts


def _contract_names() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def test_every_contract_is_planted_once() -> None:
    # Given the contracts of pyproject.toml
    # Then each has its planted import here (a new contract gets one too)
    assert set(_contract_names()) == set(PLANTED)


def test_a_tree_shaped_like_ours_keeps_every_contract(tmp_path: Path) -> None:
    # Given a tree with handlers, dal, logic and models as they should be
    # When the contracts are checked
    verdicts = _lint(CLEAN, tmp_path)
    # Then every one is kept
    assert set(verdicts.values()) == {"KEPT"}, verdicts


@pytest.mark.parametrize("contract", sorted(PLANTED))
def test_each_contract_breaks_on_its_planted_import_and_only_it(tmp_path: Path, contract: str) -> None:
    # Given the tree with one import planted against this contract
    path, line = PLANTED[contract]
    tree = {**CLEAN, path: CLEAN[path] + line + "\n"}
    # When the contracts are checked
    verdicts = _lint(tree, tmp_path)
    # Then this contract is broken, and every other one kept
    assert verdicts == {c: "BROKEN" if c == contract else "KEPT" for c in verdicts}
