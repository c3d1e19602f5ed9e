"""The console as a user runs it, against the running local system."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from console.app import main
from tests.e2e.conftest import LocalSystem

Run = Callable[..., "Ran"]


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def dangol(
    local: LocalSystem, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """The console as a user runs it, in a home of its own, pointed at the local system."""
    monkeypatch.setenv("DANGOL_STATE_DIR", str(local.state_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("DANGOL_PROFILE", raising=False)
    monkeypatch.delenv("DANGOL_OUTPUT", raising=False)

    def run(*argv: str) -> Ran:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run
