"""The nightly run on moto over a few hundred customers: everyone is re-evaluated through the
customer-list index (never a scan), each change is published once, a re-run changes nothing,
time alone moves segments and ages, a run short of time resumes where it stopped, and the
run leaves a summary of counts only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.profile.dal.profiles import profile_item
from services.profile.models.profile import Profile
from services.profile.topology import CUSTOMER_LIST, GROUP_CREATE, NIGHTLY, PROFILES, SEGMENTS_API
from shared import aws
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker, LambdaContext, api_event
from tests.integration.conftest import BusWatch, scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
START = datetime(2025, 6, 1, 18, 30, tzinfo=UTC)  # 03:30 in Seoul on 2 June
WATCHED = ["ValueSegmentChanged", "LifestyleGroupsChanged"]


@dataclass(frozen=True)
class Context(LambdaContext):
    """A Lambda context whose invocation has ``remaining_ms`` left."""

    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def published(bus: str) -> Callable[[], list[dict[str, Any]]]:
    watch = BusWatch(bus, WATCHED)
    return lambda: [{"type": e["detail-type"], **e["detail"]["data"]} for e in watch.all()]


@dataclass
class Population:
    buyers: set[str]
    parents: set[str]
    turning_60: set[str]
    everyone: list[str]


@pytest.fixture
def populate(tables: dict[str, str], frozen_clock: Callable[[datetime], None]) -> Callable[..., Population]:
    """``n`` customers written as the profile API and the intake write them: all but every
    ``idle``-th bought something, every ``parent``-th has a child's birthday, every 50th turns
    60 within the year. (moto copies the table for each transaction, so the sizes stay modest.)
    The functions' clock stands at START."""
    frozen_clock(START)

    def populate(n: int, *, idle: int = 3, parent: int = 5) -> Population:
        buyers, parents, turning, everyone = set(), set(), set(), []
        profiles, stats = [], []
        for i in range(n):
            customer_id = new_id("cus")
            everyone.append(customer_id)
            birthday = date(1965, 12, 1) if i % 50 == 0 else date(1980 + i % 20, 1 + i % 12, 1 + i % 28)
            anniversaries = [{"kind": "child_birthday", "date": "2018-04-04"}] if i % parent == 0 else []
            created = START - timedelta(days=400 + i)
            profile = Profile(
                customer_id=customer_id,
                display_name=f"고객 {i}",
                email=f"customer{i}@example.com",
                locale="ko-KR",
                time_zone="Asia/Seoul",
                birthday=birthday,
                anniversaries=anniversaries,
                version=1,
                created_at=created,
                updated_at=created,
            )
            profiles.append(profile_item(profile))
            if i % 50 == 0:
                turning.add(customer_id)
            if i % parent == 0:
                parents.add(customer_id)
            if i % idle:
                buyers.add(customer_id)
                stats.append(
                    {
                        "pk": f"CUSTOMER#{customer_id}",
                        "sk": "STATS",
                        "type": "stats",
                        "spend_KRW": 40_000 * (i % 40),
                        "purchase_count": i % 60 + 1,
                        "premium_count": i % 7,
                        "first_purchase_at": (START - timedelta(days=390)).isoformat(),
                        "last_purchase_at": (START - timedelta(days=i % 200)).isoformat(),
                        "payments_on_time": 5,
                        "payments_late": i % 4,
                    }
                )
        table(PROFILES).batch_write(puts=[*profiles, *stats])
        return Population(buyers, parents, turning, everyone)

    return populate


@pytest.fixture
def admin(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    return lambda_function(SEGMENTS_API)


def define(admin: Invoker, group: dict[str, Any]) -> None:
    event = api_event(
        "profile_get_customer",
        method="POST",
        resource=GROUP_CREATE.path,
        path=GROUP_CREATE.path,
        path_parameters=None,
        body=group,
        groups="[marketing]",
    )
    assert admin(event).status == 201


@pytest.fixture
def nightly(
    lambda_function: Callable[[Function], Invoker], serialized_moto: None
) -> Callable[..., dict[str, Any]]:
    """The nightly function (its re-evaluations run on threads: moto takes them one at a time)."""
    function = lambda_function(NIGHTLY)

    def run(remaining_ms: int = 900_000) -> dict[str, Any]:
        base = LambdaContext.of(NIGHTLY)
        context = Context(
            base.function_name, base.memory_limit_in_mb, base.invoked_function_arn, remaining_ms=remaining_ms
        )
        return dict(function.handler({}, context))

    return run


def items(sk: str) -> list[dict[str, Any]]:
    return [i for i in scan_all(PROFILES) if i["sk"]["S"] == sk]


def test_every_customer_is_evaluated_once_and_a_rerun_changes_nothing(
    populate: Any, admin: Invoker, nightly: Any, published: Any
) -> None:
    # Given 120 customers (two pages of the list), two in three buyers, and the parents group
    population = populate(120)
    define(
        admin,
        {
            "id": "parents",
            "name": "P",
            "rules": [{"field": "anniversary", "op": "has", "value": "child_birthday"}],
        },
    )
    calls: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("IndexName")))

    client = aws.client("dynamodb")
    client.meta.events.register("before-parameter-build.dynamodb", record, unique_id="nightly-watch")
    # When the nightly run goes through them
    try:
        summary = nightly()
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="nightly-watch")
    # Then every customer was read, each buyer assessed and announced once, each parent grouped once
    assert summary["complete"] is True
    assert (summary["customers"], summary["skipped"], summary["failed"]) == (len(population.everyone), 0, 0)
    assert summary["values_written"] == summary["segments_changed"] == len(population.buyers)
    assert summary["groups_changed"] == len(population.parents)
    events = published()
    segments = [e for e in events if e["type"] == "ValueSegmentChanged"]
    groups = [e for e in events if e["type"] == "LifestyleGroupsChanged"]
    assert sorted(e["customer_id"] for e in segments) == sorted(population.buyers)
    assert {e["previous"] for e in segments} == {None}
    assert sorted(e["customer_id"] for e in groups) == sorted(population.parents)
    assert len(items("VALUE")) == len(population.buyers)
    # And it listed customers through the index, 100 at a time, and never scanned
    queries = [index for name, index in calls if name == "Query"]
    assert queries == [CUSTOMER_LIST.name] * 2
    assert "Scan" not in {name for name, _ in calls}
    # When it runs again over the same data
    again = nightly()
    # Then it wrote and published nothing
    counts = ("customers", "values_written", "segments_changed", "groups_changed")
    assert [again[k] for k in counts] == [len(population.everyone), 0, 0, 0]
    assert published() == []


def test_the_run_leaves_a_summary_of_counts_only(populate: Any, nightly: Any) -> None:
    # Given 20 customers, when the nightly run is over
    population = populate(20)
    nightly()
    # Then its summary holds counts, and nothing about any person
    (run,) = items("NIGHTLY_RUN")
    assert run["pk"]["S"] == "CONFIG"
    assert int(run["customers"]["N"]) == len(population.everyone)
    assert run["complete"]["BOOL"] is True
    text = json.dumps(run, ensure_ascii=False)
    assert "@example.com" not in text
    assert "고객" not in text
    assert "resume_after" not in run


def test_time_moves_segments_and_ages_and_new_definitions_reach_everyone(
    populate: Any, admin: Invoker, nightly: Any, published: Any, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given 60 customers and a first run
    population = populate(60)
    nightly()
    published()
    # When marketing defines the seniors group, and a run happens a year later
    define(admin, {"id": "seniors", "name": "S", "rules": [{"field": "age", "op": "gte", "value": 60}]})
    frozen_clock(START + timedelta(days=400))
    summary = nightly()
    # Then every buyer lapsed (no purchase for over 365 days) and it was announced once each
    events = published()
    lapsed = [e for e in events if e["type"] == "ValueSegmentChanged"]
    assert sorted(e["customer_id"] for e in lapsed) == sorted(population.buyers)
    assert {e["segment"] for e in lapsed} == {"lapsed"}
    # And those who turned 60 joined the seniors group
    joined = [e for e in events if e["type"] == "LifestyleGroupsChanged"]
    assert sorted(e["customer_id"] for e in joined) == sorted(population.turning_60)
    assert {tuple(e["joined"]) for e in joined} == {("seniors",)}
    assert summary["segments_changed"] == len(population.buyers)


def test_a_run_short_of_time_stops_between_pages_and_the_next_goes_on(
    populate: Any, nightly: Any, published: Any
) -> None:
    # Given 150 customers, one in ten a buyer, and a run with no time to spare
    population = populate(150, idle=1, parent=10**6)
    for customer_id in sorted(population.everyone)[::10]:
        population.buyers.add(customer_id)
        table(PROFILES).put(
            {
                "pk": f"CUSTOMER#{customer_id}",
                "sk": "STATS",
                "type": "stats",
                "spend_KRW": 10_000,
                "purchase_count": 1,
                "last_purchase_at": START.isoformat(),
            }
        )
    # When it runs: it does one page and stops
    short = nightly(remaining_ms=1)
    assert (short["customers"], short["complete"]) == (100, False)
    (run,) = items("NIGHTLY_RUN")
    assert run["resume_after"]["S"] == sorted(population.everyone)[99]
    # When the next run has time
    rest = nightly()
    # Then it went on where the first stopped, and everyone was announced exactly once
    assert [rest[k] for k in ("customers", "complete", "resumed")] == [
        len(population.everyone) - 100,
        True,
        True,
    ]
    events = [e for e in published() if e["type"] == "ValueSegmentChanged"]
    assert sorted(e["customer_id"] for e in events) == sorted(population.buyers)
    # And the run after that starts from the beginning again, with nothing to do
    full = nightly()
    assert [full[k] for k in ("customers", "resumed", "values_written")] == [
        len(population.everyone),
        False,
        0,
    ]


def test_a_customer_erased_between_listing_and_reading_is_skipped(
    populate: Any, nightly: Any, published: Any
) -> None:
    # Given a customer whose profile is gone but whose STATS linger (an erasure in progress)
    # and whose index entry the run still sees
    population = populate(10)
    gone = population.everyone[1]
    profiles = table(PROFILES)
    profile = profiles.get({"pk": f"CUSTOMER#{gone}", "sk": "PROFILE"})
    assert profile is not None
    profiles.delete({"pk": f"CUSTOMER#{gone}", "sk": "PROFILE"})
    profiles.put({"pk": "LISTED-GHOST", "sk": "PROFILE", "listed": "CUSTOMER", "customer_id": gone})
    # When the nightly run goes through
    summary = nightly()
    # Then that customer is skipped: no VALUE written for them, nothing announced
    assert summary["skipped"] == 1
    assert all(e["customer_id"] != gone for e in published())
    assert profiles.get({"pk": f"CUSTOMER#{gone}", "sk": "VALUE"}) is None
