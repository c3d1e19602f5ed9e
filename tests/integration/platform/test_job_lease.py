"""Scheduled jobs run one at a time by a lease in their service's table (no reserved concurrency)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profile.topology import OUTBOX_SWEEPER, PROFILES
from services.rewards.topology import EXPIRER, REWARDS
from shared.jobs import JobLease, lease_duration, run_alone
from shared.topology import Function, Table
from tests.integration.apigw import LambdaContext
from tests.integration.conftest import table

T0 = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def lease_of(declared: Table, job: str, clock: Callable[[], datetime]) -> JobLease:
    return JobLease(
        table(declared),
        job,
        partition_key=declared.partition_key.name,
        sort_key=declared.sort_key.name if declared.sort_key else "sk",
        ttl_attribute=declared.ttl_attribute or "expires_at",
        clock=clock,
    )


def test_a_held_lease_keeps_a_second_run_out_until_it_is_released(tables: dict[str, str]) -> None:
    # Given a run that took the lease of a job for 5 minutes
    lease = lease_of(PROFILES, "profile-outbox", Clock())
    assert lease.acquire("run-1", timedelta(minutes=5))
    # When a second run asks for it
    # Then it is refused while the first holds it, and granted once the first gave it back
    assert not lease.acquire("run-2", timedelta(minutes=5))
    lease.release("run-1")
    assert lease.acquire("run-2", timedelta(minutes=5))


def test_the_lease_of_a_run_that_was_killed_runs_out_by_itself(tables: dict[str, str]) -> None:
    # Given a run that took the lease and never gave it back (Lambda stopped it at its timeout)
    clock = Clock()
    lease = lease_of(REWARDS, "rewards-expiry", clock)
    assert lease.acquire("killed", timedelta(minutes=5))
    # When the next run comes before the lease ran out, and then after
    clock.now = T0 + timedelta(minutes=4, seconds=59)
    assert not lease.acquire("next", timedelta(minutes=5))
    clock.now = T0 + timedelta(minutes=5, seconds=1)
    # Then it is refused, then granted
    assert lease.acquire("next", timedelta(minutes=5))


def test_a_run_gives_back_only_its_own_lease(tables: dict[str, str]) -> None:
    # Given a lease taken over by a second run after the first one's ran out
    clock = Clock()
    lease = lease_of(PROFILES, "profile-nightly", clock)
    assert lease.acquire("slow", timedelta(minutes=1))
    clock.now = T0 + timedelta(minutes=2)
    assert lease.acquire("fresh", timedelta(minutes=10))
    # When the slow run finishes and releases
    lease.release("slow")
    # Then the fresh run still holds it
    assert not lease.acquire("third", timedelta(minutes=10))


def test_leases_of_different_jobs_do_not_exclude_each_other(tables: dict[str, str]) -> None:
    clock = Clock()
    assert lease_of(PROFILES, "profile-outbox", clock).acquire("a", timedelta(minutes=5))
    assert lease_of(PROFILES, "profile-anniversaries", clock).acquire("b", timedelta(minutes=5))


def test_run_alone_skips_the_work_while_another_run_holds_the_lease(tables: dict[str, str]) -> None:
    # Given a job whose lease another run holds
    lease = lease_of(PROFILES, "profile-outbox", Clock())
    assert lease.acquire("other", timedelta(minutes=5))
    done: list[str] = []
    # When a run tries it
    outcome = run_alone(lease, timedelta(minutes=5), lambda: done.append("work"))
    # Then the work did not happen and the run says why
    assert done == []
    assert outcome.as_dict()["skipped"]  # type: ignore[union-attr]


def test_run_alone_gives_the_lease_back_even_when_the_work_fails(tables: dict[str, str]) -> None:
    lease = lease_of(PROFILES, "profile-outbox", Clock())

    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_alone(lease, timedelta(minutes=5), fail)
    assert lease.acquire("next", timedelta(minutes=5))


def test_a_lease_lasts_what_is_left_of_the_run_and_a_margin() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    assert lease_duration(Context()) == timedelta(seconds=90)
    assert lease_duration(object()) == timedelta(minutes=15, seconds=30)


@pytest.mark.parametrize(("function", "declared"), [(OUTBOX_SWEEPER, PROFILES), (EXPIRER, REWARDS)])
def test_a_scheduled_handler_that_finds_its_lease_held_does_nothing_and_says_so(
    lambda_function: Callable[[Function], Any], function: Function, declared: Table
) -> None:
    # Given a scheduled job's handler, cold-started, and its lease held by another run
    invoker = lambda_function(function)
    assert lease_of(declared, function.id, lambda: datetime.now(UTC)).acquire("other", timedelta(minutes=5))
    # When the schedule invokes it
    result = invoker.handler({}, LambdaContext.of(function))
    # Then it skipped the run
    assert result == {"skipped": "another run of this job is in progress", "job": function.id}


@pytest.mark.parametrize(("function", "declared"), [(OUTBOX_SWEEPER, PROFILES), (EXPIRER, REWARDS)])
def test_a_scheduled_handler_runs_and_gives_its_lease_back(
    lambda_function: Callable[[Function], Any], function: Function, declared: Table
) -> None:
    # Given a scheduled job's handler and a free lease
    invoker = lambda_function(function)
    # When the schedule invokes it
    result = invoker.handler({}, LambdaContext.of(function))
    # Then it did its work, and the next run may take the lease at once
    assert "skipped" not in result
    assert lease_of(declared, function.id, lambda: datetime.now(UTC)).acquire("next", timedelta(minutes=5))
