"""One run at a time of a scheduled job, held by a lease in the service's own table.

Scheduled jobs (outbox sweeps, the anniversary finder, expiry, nightly runs) must not overlap: a
run that outlives its period, or the Scheduler's retry of one that looked failed, would do the
same work twice at once. Reserved concurrency of 1 would prevent it, but a new AWS account's
concurrency quota (10) leaves nothing to reserve and the stack would fail to deploy. A lease does
it with any quota: a run writes ``JOB#<name>`` on the condition that no other run holds it (or
the holder's lease has run out), works, and deletes it. A run that finds it held does nothing and
says so. The lease lasts the function's timeout, so a run that was killed frees it by itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.clock import utc_now
from shared.dynamo import ConditionFailed, DynamoTable
from shared.ids import ulid
from shared.observability import make_logger
from shared.topology import Table

T = TypeVar("T")
PREFIX = "JOB#"
_log = make_logger()


@dataclass(frozen=True)
class JobLease:
    """The lease of one job in a table with a partition key, a sort key and a TTL attribute."""

    table: DynamoTable
    job: str
    partition_key: str
    sort_key: str
    ttl_attribute: str
    clock: Callable[[], datetime] = utc_now

    @property
    def key(self) -> dict[str, str]:
        return {self.partition_key: f"{PREFIX}{self.job}", self.sort_key: "LEASE"}

    def acquire(self, holder: str, duration: timedelta) -> bool:
        """Take the lease for ``duration`` unless a live one is held; True if taken."""
        now = self.clock()
        until = int((now + duration).timestamp())
        try:
            self.table.put(
                {**self.key, "holder": holder, "until": until, self.ttl_attribute: until + 86400},
                condition="attribute_not_exists(#pk) OR #until < :now",
                names={"#pk": self.partition_key, "#until": "until"},
                values={":now": int(now.timestamp())},
            )
        except ConditionFailed:
            return False
        return True

    def release(self, holder: str) -> None:
        """Give the lease back, if it is still this holder's."""
        try:
            self.table.delete(self.key, condition="holder = :me", values={":me": holder})
        except ConditionFailed:
            _log.warning("job lease was no longer held by this run", extra={"job": self.job})


@dataclass(frozen=True)
class Skipped:
    """What a run returns when another run of the same job holds the lease."""

    job: str

    def as_dict(self) -> dict[str, str]:
        return {"skipped": "another run of this job is in progress", "job": self.job}


def run_alone(lease: JobLease, duration: timedelta, work: Callable[[], T]) -> T | Skipped:
    """Run ``work`` under the job's lease, or skip it if another run holds the lease."""
    holder = ulid()
    if not lease.acquire(holder, duration):
        _log.info("job skipped: another run holds its lease", extra={"job": lease.job})
        return Skipped(lease.job)
    try:
        return work()
    finally:
        lease.release(holder)


LEASE_MARGIN = timedelta(seconds=30)
DEFAULT_RUN = timedelta(minutes=15)  # Lambda's longest run, when no context tells the remaining time
H = TypeVar("H", bound=Callable[..., Any])


def lease_duration(context: Any) -> timedelta:
    """What this run may still take (Lambda stops it then), and a margin."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    left = timedelta(milliseconds=remaining()) if callable(remaining) else DEFAULT_RUN
    return left + LEASE_MARGIN


def exclusive(table: Table, job: str) -> Callable[[H], H]:
    """A scheduled job's handler that runs alone: under the lease ``JOB#<job>`` in ``table`` (whose
    name its environment holds), or not at all, returning ``Skipped.as_dict()``."""

    def wrap(handler: H) -> H:
        @functools.cache
        def lease() -> JobLease:
            return JobLease(
                DynamoTable(os.environ[table.env_var]),
                job,
                partition_key=table.partition_key.name,
                sort_key=table.sort_key_name,
                ttl_attribute=table.ttl_name,
            )

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            outcome = run_alone(lease(), lease_duration(context), lambda: handler(event, context))
            return outcome.as_dict() if isinstance(outcome, Skipped) else outcome

        return run  # type: ignore[return-value]

    return wrap
