"""The campaigns stories' own system (no demo data), started once for every story of this folder:
each story sets the simulated clock where it needs it (forward only) and makes its own customers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import LocalSystem, start_system, stop_system


@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    # A batch that fails once under a loaded CI (a cold worker, a busy moto) comes back in 5 s, not
    # after its visibility timeout (minutes): the stories wait a minute at most for each step.
    started = start_system(tmp_path_factory.mktemp("campaigns"), seed=False, retry_after_s=5)
    yield started
    stop_system(started)
