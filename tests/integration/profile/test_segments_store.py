"""The segments' data layer against moto: each write asserts what it was computed from (the
VALUE revision, the profile's version and stored groups) and, when any moved, writes and
publishes nothing; a group write leaves the profile's version and updated_at alone."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from services.profile.dal.profiles import profile_item
from services.profile.dal.segments import DynamoSegmentStore, group_key
from services.profile.logic.value import DEFAULT_MODEL, assess
from services.profile.models.events import LifestyleGroupsChanged, ValueSegmentChanged
from services.profile.models.profile import Profile
from services.profile.models.segments import (
    Catalog,
    CustomerState,
    GroupExists,
    LifestyleGroup,
    PurchaseStats,
    Stale,
)
from services.profile.topology import PROFILES
from shared.events import EventPublisher
from tests.integration.conftest import scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
CUSTOMER = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"


@pytest.fixture
def store(tables: dict[str, str], bus: str) -> DynamoSegmentStore:
    profile = Profile(
        customer_id=CUSTOMER,
        display_name="가게 손님",
        locale="ko-KR",
        time_zone="Asia/Seoul",
        version=4,
        created_at=NOW,
        updated_at=NOW,
    )
    table(PROFILES).put(profile_item(profile))
    return DynamoSegmentStore(table(PROFILES), EventPublisher(bus, "dangol.profile"))


@pytest.fixture
def published(bus: str) -> Any:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="watched")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = json.dumps({"detail-type": ["ValueSegmentChanged", "LifestyleGroupsChanged"]})
    events.put_rule(Name="watched", EventBusName=bus, EventPattern=pattern)
    events.put_targets(Rule="watched", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return lambda: [
        json.loads(m["Body"])["detail-type"]
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def first_assessment() -> Any:
    stats = PurchaseStats(spend={"KRW": 100_000}, purchase_count=3, last_purchase_at=NOW)
    return assess(stats, created_at=NOW, now=NOW, model=DEFAULT_MODEL)


def write(
    store: DynamoSegmentStore, state: CustomerState, groups: tuple[str, ...] | None = ("vips",)
) -> None:
    value = first_assessment()
    events = [
        ValueSegmentChanged(
            customer_id=CUSTOMER, previous=None, segment=value.segment, score=value.score, model_version=0
        ),
        LifestyleGroupsChanged(customer_id=CUSTOMER, groups=["vips"], joined=["vips"], left=[]),
    ]
    store.apply(state, value=value, groups=groups, events=events, at=NOW)


def non_outbox() -> list[dict[str, Any]]:
    return sorted(
        (i for i in scan_all(PROFILES) if not i["pk"]["S"].startswith("OUTBOX#")), key=lambda i: i["sk"]["S"]
    )


def test_a_write_stores_value_and_groups_and_publishes_in_one_go(
    store: DynamoSegmentStore, published: Any
) -> None:
    # Given the customer's state as read
    state = store.customer_state(CUSTOMER)
    assert (state.value, state.value_revision, state.profile and state.profile.stored_groups) == (None, 0, [])
    # When the new assessment and groups are written
    write(store, state)
    # Then both are stored, the profile keeps its version and updated_at, and both events went out
    after = store.customer_state(CUSTOMER)
    assert after.value is not None
    assert after.value.assessment.same_as(first_assessment())
    assert after.value_revision == 1
    assert after.profile is not None
    assert (after.profile.version, after.profile.stored_groups) == (4, ["vips"])
    profile = table(PROFILES).get({"pk": f"CUSTOMER#{CUSTOMER}", "sk": "PROFILE"})
    assert profile is not None
    assert profile["updated_at"] == "2025-03-14T09:00:00Z"
    assert sorted(published()) == ["LifestyleGroupsChanged", "ValueSegmentChanged"]
    assert [i for i in scan_all(PROFILES) if i["pk"]["S"].startswith("OUTBOX#")] == []


@pytest.mark.parametrize(
    "moved",
    ["value_revision", "profile_version", "groups", "profile_gone", "groups_absent"],
)
def test_a_write_computed_from_something_that_moved_writes_and_publishes_nothing(
    store: DynamoSegmentStore, published: Any, moved: str
) -> None:
    # Given a state read before something changed under it
    state = store.customer_state(CUSTOMER)
    assert state.profile is not None
    profiles = table(PROFILES)
    key = {"pk": f"CUSTOMER#{CUSTOMER}", "sk": "PROFILE"}
    if moved == "value_revision":
        write(store, state, groups=None)  # another segmenter got there first
        published()
    elif moved == "profile_version":
        profiles.update(key, "SET version = :v", values={":v": 5})
    elif moved == "groups":
        profiles.update(key, "SET #g = :g", names={"#g": "groups"}, values={":g": ["other"]})
    elif moved == "profile_gone":
        profiles.delete(key)
    else:  # the state said "no groups attribute", but one exists
        state = dataclasses.replace(state, profile=dataclasses.replace(state.profile, stored_groups=None))
    before = non_outbox()
    # When the write computed from it is attempted
    with pytest.raises(Stale):
        write(store, state)
    # Then nothing changed and nothing was published
    assert non_outbox() == before
    assert published() == []


def test_a_group_definition_needs_a_free_id_and_the_catalog_it_read(store: DynamoSegmentStore) -> None:
    group = LifestyleGroup(
        id="parents",
        name="Parents",
        description="",
        rules=[{"field": "anniversary", "op": "has", "value": "child_birthday"}],  # type: ignore[list-item]
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )
    store.create_group(group, Catalog())
    assert store.catalog() == Catalog(("parents",), 1)
    # A stale catalog is refused; so is an id whose item exists even if the catalog lost it
    with pytest.raises(Stale):
        store.create_group(group.model_copy(update={"id": "other"}), Catalog())
    with pytest.raises(GroupExists):
        store.create_group(group, store.catalog())
    orphan = group.model_copy(update={"id": "orphan"})
    table(PROFILES).put({**group_key("orphan"), "type": "group", **orphan.model_dump(mode="json")})
    with pytest.raises(GroupExists):
        store.create_group(orphan, store.catalog())
    assert store.catalog() == Catalog(("parents",), 1)
