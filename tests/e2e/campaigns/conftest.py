"""The campaigns stories' own system (no demo data), started once for every story of this folder:
each story sets the simulated clock where it needs it (forward only) and makes its own customers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import LocalSystem, start_system, stop_system


@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    started = start_system(tmp_path_factory.mktemp("campaigns"), seed=False)
    yield started
    stop_system(started)
