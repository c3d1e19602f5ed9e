"""The local runtime's functions run as on Lambda: init (the cold import) has its own 10 s,
apart from the function's timeout, and a worker sees only its code asset (its own service and
``shared/``), so a function cannot import another service, nor anything else of the checkout."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import lambdas
from infra.local.lambdas import FunctionPool, InvocationError
from services.profile.topology import SIGNUP
from shared.topology import Function

SLOW = Function(
    id="e2e-slow",
    service="e2e",
    handler="tests.e2e.platform.slow_handler.lambda_handler",
    description="sleeps at init and per invocation",
    memory_mb=128,
    timeout_s=2,
)


@pytest.fixture
def pools(tmp_path: Path) -> Iterator[list[FunctionPool]]:
    made: list[FunctionPool] = []
    yield made
    for pool in made:
        pool.close()


def pool_of(pools: list[FunctionPool], tmp: Path, function: Function, **env: str) -> FunctionPool:
    pool = FunctionPool(function, dict(env), tmp / "logs", max_workers=1, code_dir=tmp / "code")
    pools.append(pool)
    return pool


def test_a_slow_init_does_not_eat_the_functions_timeout(tmp_path: Path, pools: list[FunctionPool]) -> None:
    # Given a function whose init takes 3 s and whose timeout is 2 s
    pool = pool_of(pools, tmp_path, SLOW, SLOW_INIT_S="3")
    # When its first invocation (the cold start) works for 1 s
    result = pool.invoke({"sleep_s": 1}).result
    # Then it succeeds: init had its own budget, the invocation its whole 2 s
    assert result["slept"] == 1
    assert 0 < result["remaining_ms"] <= 2000


def test_an_invocation_gets_its_own_timeout_even_on_a_cold_start(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    # Given a function with a 2 s timeout and a fast init
    pool = pool_of(pools, tmp_path, SLOW)
    # When its first invocation works for 4 s
    started = time.monotonic()
    with pytest.raises(InvocationError) as failed:
        pool.invoke({"sleep_s": 4})
    # Then it times out after its 2 s (and a moment to start), not 2 s plus the init's 10 s
    assert failed.value.kind == "timeout"
    assert time.monotonic() - started < 8


def test_an_init_past_its_budget_goes_on_inside_the_invocation(
    tmp_path: Path, pools: list[FunctionPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given init budgets of 1 s (Lambda's is 10 s) and a function (timeout 4 s) whose init takes 2 s
    monkeypatch.setattr(lambdas, "INIT_BUDGET_S", 1)
    function = dataclasses.replace(SLOW, timeout_s=4)
    quick = pool_of(pools, tmp_path, function, SLOW_INIT_S="2")
    slow = pool_of(pools, tmp_path, function, SLOW_INIT_S="2")
    # When one cold invocation works 0.5 s and another 3.5 s
    # Then the rest of init (1 s and more) counted against the 4 s, as Lambda's re-run init does:
    # the first fits, the second (which would fit in a timeout of its own) does not
    assert quick.invoke({"sleep_s": 0.5}).result["slept"] == 0.5
    with pytest.raises(InvocationError) as failed:
        slow.invoke({"sleep_s": 3.5})
    assert failed.value.kind == "timeout"


def test_an_init_that_fails_fails_the_invocation(tmp_path: Path, pools: list[FunctionPool]) -> None:
    # Given a function whose import raises
    pool = pool_of(pools, tmp_path, SLOW, SLOW_INIT_S="not a number")
    # When it is invoked
    with pytest.raises(InvocationError) as failed:
        pool.invoke({})
    # Then the invocation fails as an init error, naming the exception
    assert failed.value.kind == "init_error"
    assert "ValueError" in failed.value.message


def test_a_functions_code_is_its_service_and_shared_only(tmp_path: Path, pools: list[FunctionPool]) -> None:
    # Given the profile service's sign-up function
    pool = pool_of(pools, tmp_path, SIGNUP)
    # Then its code asset holds its service package and shared/, as the Lambda asset does
    assert sorted(str(p.relative_to(pool.code)) for p in pool.code.rglob("*") if p.parent == pool.code) == [
        "services",
        "shared",
    ]
    assert sorted(p.name for p in (pool.code / "services").iterdir()) == ["__init__.py", "profile"]
    # And its worker imports its own handler
    pool.warm()


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("services.rewards.handlers.api", "services.rewards"),  # another service
        ("infra.local.cli", "infra"),  # the runtime and the CDK app
        ("tests.e2e.conftest", "tests"),  # anything else of the checkout
    ],
)
def test_a_worker_of_one_service_cannot_import_another(
    tmp_path: Path, pools: list[FunctionPool], module: str, missing: str
) -> None:
    # Given a worker of the profile service (its code asset, its environment)
    pool = pool_of(pools, tmp_path, SIGNUP)
    # When it is made to import a module of the rewards service (or of the rest of the checkout)
    pool.env["DANGOL_HANDLER"] = f"{module}.lambda_handler"
    with pytest.raises(InvocationError) as failed:
        pool.warm()
    # Then the import fails at init: that code is not in the profile service's asset
    assert failed.value.kind == "init_error"
    assert f"No module named '{missing}'" in failed.value.message
