"""SnapStart: what a restored execution environment must not share with the others (shared/snapstart.py)."""

from __future__ import annotations

import importlib
import random
import sys
import types
from collections.abc import Callable, Iterator

import pytest

from shared import snapstart


class FakeRuntimeHooks(types.ModuleType):
    """``snapshot_restore_py`` as Lambda's managed runtime has it: it keeps the hooks it is given."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.after_restore: list[Callable[[], None]] = []

    def register_after_restore(self, hook: Callable[[], None]) -> Callable[[], None]:
        self.after_restore.append(hook)
        return hook

    def restore(self) -> None:
        for hook in self.after_restore:
            hook()


@pytest.fixture
def on_lambda() -> Iterator[FakeRuntimeHooks]:
    hooks = FakeRuntimeHooks()
    sys.modules["snapshot_restore_py"] = hooks
    try:
        yield hooks
    finally:
        del sys.modules["snapshot_restore_py"]
        importlib.reload(snapstart)


def test_on_lambda_a_restore_reseeds_random_once_per_registration(on_lambda: FakeRuntimeHooks) -> None:
    # Given the module loaded where SnapStart's hooks exist, registered twice (init runs once, but safe)
    module = importlib.reload(snapstart)
    assert module.register() is True
    assert module.register() is True
    assert len(on_lambda.after_restore) == 1
    # And random's state as the snapshot froze it: every restored environment would draw the same
    random.seed(20260514)
    frozen = random.Random(20260514).random()  # noqa: S311 - the state, not a secret
    # When the environment is restored
    on_lambda.restore()
    # Then it draws from a fresh seed of its own
    assert random.random() != frozen  # noqa: S311


def test_elsewhere_there_is_nothing_to_register() -> None:
    # Given no snapshot_restore_py (tests, the local runtime, anything not Lambda's managed runtime)
    assert "snapshot_restore_py" not in sys.modules
    # Then registering is a no-op that says so
    assert importlib.reload(snapstart).register() is False
