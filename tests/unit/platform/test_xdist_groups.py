"""`make test` runs on two workers with ``--dist loadgroup``: the tests of one ``xdist_group``
share a worker, so a costly session fixture (the app's synthesis, a local system) is built once.
pytest 9.2 stopped reading the id field pytest-xdist 3.8 marks a test's group in, and every group
silently fell apart (each fixture built on both workers); pyproject.toml pins pytest below it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

GROUPED = """
    import pytest

    pytestmark = pytest.mark.xdist_group("{group}")

    @pytest.mark.parametrize("n", range(3))
    def test_grouped(request, n):
        assert request.node.nodeid.endswith("@{group}"), request.node.nodeid
"""


def test_loadgroup_keeps_each_group_on_one_worker(tmp_path: Path) -> None:
    # Given two modules, each in its own group, whose tests check the id xdist scheduled them by
    for group in ("alpha", "beta"):
        (tmp_path / f"test_{group}.py").write_text(textwrap.dedent(GROUPED.format(group=group)))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    # When they run as `make test` runs them
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "xdist",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # xdist alone starts in a second
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then every test carried its group to the scheduler
    assert done.returncode == 0, done.stdout[-3000:]
    assert "6 passed" in done.stdout
