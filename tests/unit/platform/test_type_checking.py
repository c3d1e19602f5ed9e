"""mypy checks every aws_cdk module that infra/ imports: pyproject.toml skips the ~300 others
(checking them all was most of mypy's time on a fresh clone), so a module infra/ starts to use
must join the list there, or its names would silently be Any."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _cdk_modules_imported_by(folder: Path) -> set[str]:
    found: set[str] = set()
    for source in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "aws_cdk":
                found |= {f"aws_cdk.{a.name}" for a in node.names if a.name.islower()}  # modules, not classes
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aws_cdk."):
                found.add(str(node.module))
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("aws_cdk.")}
    return found


def _followed() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {
        module
        for override in config["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }


def test_every_aws_cdk_module_infra_imports_is_type_checked() -> None:
    # Given the aws_cdk modules infra/ imports, and the ones mypy follows
    imported, followed = _cdk_modules_imported_by(ROOT / "infra"), _followed()
    # Then each is followed (and the list holds nothing infra/ has stopped using)
    assert imported, "infra/ builds its stacks with aws_cdk"
    assert sorted(imported - followed) == [], "add these to the aws_cdk list in pyproject.toml"
    assert sorted(followed - imported - {"aws_cdk"}) == [], "infra/ no longer imports these"
