"""The local runtime's timekeeper and the schedules services create at run time (EventBridge
Scheduler's API, stored by moto, fired by the runtime): as on AWS, a one-time timer set just before
the clock moves past it still fires, once, and is then deleted from the API, as AWS deletes a
schedule whose action after completion is DELETE."""

from __future__ import annotations

from datetime import UTC, datetime

from infra.local.clock import SimulatedClock
from infra.local.lambdas import Invocation
from infra.local.schedules import Firing, ScheduleEntry, Scheduler
from infra.local.timekeeper import Timekeeper
from shared.jobs import Skipped
from shared.topology import Function

START = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
QUEUE_ARN = "arn:aws:sqs:ap-northeast-2:123456789012:dangol-local-feedback-sla"


def timer(name: str, at: str, *, after: str = "DELETE") -> ScheduleEntry:
    return ScheduleEntry(
        name=name,
        group="dangol-local-feedback-sla",
        expression=f"at({at})",
        target=QUEUE_ARN,
        input='{"case_id": "c"}',
        action_after_completion=after,  # type: ignore[arg-type]
    )


class Api:
    """What moto's Scheduler holds, as the runtime reads and deletes it."""

    def __init__(self) -> None:
        self.schedules: dict[tuple[str, str], ScheduleEntry] = {}

    def put(self, entry: ScheduleEntry) -> None:
        self.schedules[(entry.group, entry.name)] = entry

    def list(self) -> list[ScheduleEntry]:
        return list(self.schedules.values())

    def delete(self, group: str, name: str) -> None:
        self.schedules.pop((group, name), None)


def keeper(api: Api, sent: list[tuple[str, str]]) -> tuple[Timekeeper, SimulatedClock]:
    clock = SimulatedClock()
    clock.set(START)
    scheduler = Scheduler((), now=START)
    keeper = Timekeeper(
        scheduler,
        clock,
        pools={},
        send=lambda target, body: sent.append((target, body)),
        api_schedules=api.list,
        delete_api_schedule=api.delete,
    )
    return keeper, clock


def test_a_timer_set_just_before_the_clock_moves_past_it_fires_once_and_is_deleted() -> None:
    api, sent = Api(), []
    clock_keeper, clock = keeper(api, sent)
    clock_keeper.tick()  # the runtime has synced once: nothing yet
    # Given a timer for 02:00 set after that sync, and the clock advanced past it before the next
    api.put(timer("case-1-first-response", "2026-12-03T02:00:00"))
    clock.set(datetime(2026, 12, 3, 2, 30, tzinfo=UTC))
    clock_keeper._synced = float("-inf")  # the next tick syncs (every 2 s)
    # When the timekeeper ticks
    clock_keeper.tick()
    # Then the timer's input went to its queue, once, and the schedule is gone from the API too
    assert sent == [(QUEUE_ARN, '{"case_id": "c"}')]
    assert api.schedules == {}
    clock_keeper._synced = float("-inf")
    clock_keeper.tick()
    assert len(sent) == 1


def test_a_timer_kept_after_it_fires_stays_in_the_api_and_does_not_fire_again() -> None:
    api, sent = Api(), []
    clock_keeper, clock = keeper(api, sent)
    clock_keeper.tick()
    api.put(timer("case-2-first-response", "2026-12-03T01:30:00", after="NONE"))
    clock.set(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    for _ in range(2):
        clock_keeper._synced = float("-inf")
        clock_keeper.tick()
    assert len(sent) == 1
    assert list(api.schedules) == [("dangol-local-feedback-sla", "case-2-first-response")]


def test_a_timer_the_clock_jumped_over_never_fires_and_is_deleted_from_the_api() -> None:
    api, sent = Api(), []
    clock_keeper, _ = keeper(api, sent)
    api.put(timer("case-3-first-response", "2026-12-03T05:00:00"))
    clock_keeper.tick()  # synced: the timer waits for 05:00
    # When the clock is set a week on (a jump fires nothing of what it skips)
    clock_keeper.jump("2026-12-10T01:00:00", "UTC")
    for _ in range(2):
        clock_keeper._synced = float("-inf")
        clock_keeper.tick()
    # Then the timer never fired, even after syncs that still found it in the API, and it is gone
    assert sent == []
    assert api.schedules == {}


class Pool:
    """A function's pool that answers every invocation with ``result``."""

    def __init__(self, result: object) -> None:
        self.result = result

    def invoke(self, event: object) -> Invocation:
        return Invocation(self.result, cold=False, duration_ms=1.0)


def test_a_scheduled_run_that_found_its_job_busy_is_recorded_as_skipped() -> None:
    # Given a job whose run answers as shared/jobs.py's lease does when another run holds it
    job = Function("profile-anniversaries", "profile", "h.handler", "a job")
    firing = Firing(
        "finder", "default", START, START, job, "{}", ScheduleEntry("finder", "rate(15 minutes)", job)
    )
    clock_keeper, _ = keeper(Api(), [])
    clock_keeper.pools = {job.id: Pool(Skipped(job.id).as_dict())}  # type: ignore[dict-item]
    # When the firing is delivered
    clock_keeper._invoke(firing, job.id, "{}")
    # Then the history says it was invoked and skipped, which a missed announcement traces back to
    (fired,) = clock_keeper.history("finder")
    assert fired["outcome"] == "invoked, skipped: another run of this job is in progress"
    # And a run that did its work is recorded plainly
    clock_keeper.pools = {job.id: Pool({"announced": 1})}  # type: ignore[dict-item]
    clock_keeper._invoke(firing, job.id, "{}")
    assert clock_keeper.history("finder")[-1]["outcome"] == "invoked"
