"""The segmenter on moto, fed the way AWS feeds it: profile and purchase events go on the bus,
the rule ``profile-segment-triggers`` puts them on the segments queue, and the consumer gets
them as SQS records. Value and groups follow the customer's data; each change is published
once; duplicates and re-runs publish nothing; bad messages fail alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.models.events import PurchaseLine, PurchaseRecorded, PurchaseRefunded
from services.profile.topology import (
    GROUP_CREATE,
    PROFILES,
    SEGMENTER,
    SEGMENTS_API,
    SEGMENTS_QUEUE,
)
from shared import aws
from shared.events import EventPublisher
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import FROZEN_AT, STAGE, BusWatch, QueueDrain, table

pytestmark = [
    pytest.mark.usefixtures("frozen_clock"),  # the functions' clock stands at NOW, where the data is stamped
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]
NOW = FROZEN_AT
WATCHED = ["ValueSegmentChanged", "LifestyleGroupsChanged", "ProfileUpdated"]
PARENTS = {
    "id": "parents",
    "name": "Parents",
    "rules": [{"field": "anniversary", "op": "has", "value": "child_birthday"}],
}
TOP_CUSTOMERS = {
    "id": "top-customers",
    "name": "Top",
    "rules": [{"field": "segment", "op": "in", "value": ["top"]}],
}


@pytest.fixture
def messaging(moto: None, bus: str) -> provision.Messaging:
    """Every queue and rule of the topology, SEGMENT_TRIGGERS -> profile-segments among them."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    return provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]


@pytest.fixture
def published(bus: str) -> Callable[[str], list[dict[str, Any]]]:
    """What reached the bus, by detail-type (each call returns what arrived since the last)."""
    return BusWatch(bus, WATCHED).data


@pytest.fixture
def segmenter(messaging: provision.Messaging, lambda_function: Callable[[Function], Invoker]) -> QueueDrain:
    return QueueDrain(lambda_function(SEGMENTER), messaging, SEGMENTS_QUEUE)


@pytest.fixture
def admin(messaging: provision.Messaging, lambda_function: Callable[[Function], Invoker]) -> Invoker:
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


def register(profile_api: Invoker, sub: str, **body: Any) -> str:
    created = profile_api(api_event("profile_create_me", sub=sub, body={"display_name": "고객", **body}))
    assert created.status == 201, created.body
    return str(created.json()["customer_id"])


def update_me(profile_api: Invoker, sub: str, **changes: Any) -> None:
    updated = profile_api(api_event("profile_update_me", sub=sub, body=changes, headers={"If-Match": None}))
    assert updated.status == 200, updated.body


def profile_of(profile_api: Invoker, customer_id: str) -> dict[str, Any]:
    response = profile_api(api_event("profile_get_customer", path_parameters={"customer_id": customer_id}))
    assert response.status == 200
    return dict(response.json())


def item(customer_id: str, sk: str) -> dict[str, Any] | None:
    return table(PROFILES).get({"pk": f"CUSTOMER#{customer_id}", "sk": sk})


def purchase(bus: str, customer_id: str, *, spend: int, count: int, premium: int = 0) -> PurchaseRecorded:
    """What the intake does, in short: STATS written, then PurchaseRecorded published (at NOW, the
    segmenter's now too: a first purchase 365 days before it is exactly on a frequency band)."""
    now = NOW
    table(PROFILES).put(
        {
            "pk": f"CUSTOMER#{customer_id}",
            "sk": "STATS",
            "type": "stats",
            "spend_KRW": spend,
            "purchase_count": count,
            "refund_count": 0,
            "premium_count": premium,
            "first_purchase_at": (now - timedelta(days=365)).isoformat(),
            "last_purchase_at": now.isoformat(),
            "payments_on_time": count,
            "payments_late": 0,
        }
    )
    event = PurchaseRecorded(
        purchase_id=new_id("pur"),
        external_id=new_id("ext"),
        customer_id=customer_id,
        store_id="store-1",
        channel="store",
        currency="KRW",
        total=50_000,
        lines=[PurchaseLine(sku="CAKE", category="cake", quantity=1, unit_price=50_000, amount=50_000)],
        purchased_at=now,
        local_date=now.date(),
    )
    EventPublisher(bus, "dangol.profile").publish([event])
    return event


# --- groups follow the profile -------------------------------------------------------------------------


def test_a_parent_joins_the_parents_group_on_registration_without_a_profile_version(
    profile_api: Invoker, admin: Invoker, segmenter: QueueDrain, published: Any
) -> None:
    # Given the parents group, and a customer who registers with a child's birthday
    define(admin, PARENTS)
    child = [{"kind": "child_birthday", "date": "2019-05-05"}]
    customer_id = register(profile_api, "sub-parent", anniversaries=child)
    # When the segmenter gets the CustomerRegistered event the rule queued
    assert segmenter() == 1
    # Then the profile shows the group, at the same version, with no ProfileUpdated (no loop)
    profile = profile_of(profile_api, customer_id)
    assert (profile["groups"], profile["version"]) == (["parents"], 1)
    assert published("ProfileUpdated") == []
    # And LifestyleGroupsChanged was published once
    assert published("LifestyleGroupsChanged") == [
        {"customer_id": customer_id, "groups": ["parents"], "joined": ["parents"], "left": []}
    ]
    # And a redelivery of the same message changes and publishes nothing
    assert segmenter.deliver(segmenter.delivered) == []
    assert published("LifestyleGroupsChanged") == []
    assert segmenter() == 0


def test_groups_follow_profile_changes_and_new_definitions_apply_at_the_next_change(
    profile_api: Invoker, admin: Invoker, segmenter: QueueDrain, published: Any
) -> None:
    # Given a customer without children, and no groups yet
    customer_id = register(profile_api, "sub-later", birthday="1988-08-08")
    segmenter()
    # When marketing defines the parents group, the customer is not in it yet
    define(admin, PARENTS)
    assert profile_of(profile_api, customer_id)["groups"] == []
    # When the customer adds a child's birthday
    update_me(profile_api, "sub-later", anniversaries=[{"kind": "child_birthday", "date": "2024-01-02"}])
    segmenter()
    # Then they joined at once
    assert profile_of(profile_api, customer_id)["groups"] == ["parents"]
    assert published("LifestyleGroupsChanged")[-1]["joined"] == ["parents"]
    # When they remove it again
    update_me(profile_api, "sub-later", anniversaries=[])
    segmenter()
    # Then they left, and the profile's version counts only their own two changes
    profile = profile_of(profile_api, customer_id)
    assert (profile["groups"], profile["version"]) == ([], 3)
    assert published("LifestyleGroupsChanged")[-1] == {
        "customer_id": customer_id,
        "groups": [],
        "joined": [],
        "left": ["parents"],
    }
    assert len(published("ProfileUpdated")) == 2  # the customer's, none from the segmenter


# --- value follows purchases -------------------------------------------------------------------------


def test_a_purchase_assesses_the_value_and_announces_the_segment_once(
    profile_api: Invoker, admin: Invoker, segmenter: QueueDrain, published: Any, bus: str
) -> None:
    # Given a registered customer, and a group of top customers
    define(admin, TOP_CUSTOMERS)
    customer_id = register(profile_api, "sub-buyer")
    segmenter()
    # When purchases bring them to 2,000,000 won over 60 purchases in a year
    purchase(bus, customer_id, spend=2_000_000, count=60, premium=20)
    assert segmenter() == 1
    # Then their value is stored with the model version and its components
    value = item(customer_id, "VALUE")
    assert value is not None
    assert (value["type"], value["segment"], value["model_version"], value["revision"]) == (
        "value",
        "top",
        0,
        1,
    )
    assert value["components"]["spend"] == 2_000_000
    # And ValueSegmentChanged was published once, and the segment put them in the top group
    (changed,) = published("ValueSegmentChanged")
    assert changed == {
        "customer_id": customer_id,
        "previous": None,
        "segment": "top",
        "score": value["score"],
        "model_version": 0,
    }
    assert profile_of(profile_api, customer_id)["groups"] == ["top-customers"]
    # When the same PurchaseRecorded is delivered again
    assert segmenter.deliver(segmenter.delivered[-1:]) == []
    # Then nothing is written or published again
    assert item(customer_id, "VALUE") == value
    assert published("ValueSegmentChanged") == []


def test_a_refund_that_drops_the_segment_is_announced_with_the_previous_one(
    profile_api: Invoker, segmenter: QueueDrain, published: Any, bus: str
) -> None:
    customer_id = register(profile_api, "sub-refund")
    bought = purchase(bus, customer_id, spend=2_000_000, count=60, premium=20)
    segmenter()
    published("ValueSegmentChanged")
    # When the big purchase is refunded: STATS go down, then PurchaseRefunded is published
    stats = item(customer_id, "STATS")
    assert stats is not None
    table(PROFILES).put(
        {**stats, "spend_KRW": 60_000, "purchase_count": 3, "premium_count": 0, "refund_count": 1}
    )
    refund = PurchaseRefunded(
        purchase_id=bought.purchase_id,
        external_id=bought.external_id,
        refund_id=new_id("ref"),
        customer_id=customer_id,
        store_id="store-1",
        currency="KRW",
        total=bought.total,
        refunded_at=NOW,
    )
    EventPublisher(bus, "dangol.profile").publish([refund])
    assert segmenter() == 1
    # Then the new, lower segment is announced with the previous one
    (changed,) = published("ValueSegmentChanged")
    assert (changed["previous"], changed["customer_id"]) == ("top", customer_id)
    assert changed["segment"] in {"regular", "occasional", "loyal"}
    value = item(customer_id, "VALUE")
    assert value is not None
    assert value["revision"] == 2


def test_a_late_purchase_event_for_an_erased_customer_writes_nothing(
    segmenter: QueueDrain, published: Any, bus: str
) -> None:
    # Given purchase statistics for a customer whose profile is gone (erased meanwhile)
    gone = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
    purchase(bus, gone, spend=1_000_000, count=10)
    # When the segmenter gets the event
    assert segmenter() == 1
    # Then no VALUE item brings them back and nothing is published
    assert item(gone, "VALUE") is None
    assert published("ValueSegmentChanged") == []


# --- messages that are not triggers --------------------------------------------------------------------


def test_bad_messages_fail_alone(profile_api: Invoker, segmenter: QueueDrain, bus: str) -> None:
    # Given a good event among a message that is not JSON, an event of another type,
    # an event from another source, and a trigger without a customer id
    customer_id = register(profile_api, "sub-good")
    (good,) = boto3.client("sqs").receive_message(QueueUrl=segmenter.url, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(good["Body"])

    def message(text: str, message_id: str) -> dict[str, Any]:
        return {**good, "MessageId": message_id, "Body": text, "MD5OfBody": None}

    no_customer = {**body, "detail": {**body["detail"], "data": {"locale": "ko-KR", "time_zone": "UTC"}}}
    bad = [
        message("not json", "m-not-json"),
        message(json.dumps({**body, "detail-type": "ConsentChanged"}), "m-other-type"),
        message(json.dumps({**body, "source": "dangol.rewards"}), "m-other-source"),
        message(json.dumps(no_customer), "m-no-customer"),
        message(json.dumps([1, 2]), "m-list"),
    ]
    # When they come in one batch
    failed = segmenter.deliver([*bad, good])
    # Then exactly the bad ones are reported, and the good one was processed
    assert sorted(failed) == sorted(m["MessageId"] for m in bad)
    assert item(customer_id, "PROFILE") is not None


def test_nothing_is_scanned(profile_api: Invoker, admin: Invoker, segmenter: QueueDrain, bus: str) -> None:
    # Given a customer, a definition and a purchase
    define(admin, PARENTS)
    customer_id = register(profile_api, "sub-scan", birthday="1990-01-01")
    purchase(bus, customer_id, spend=100_000, count=2)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    # When the segmenter processes their events, watching the DynamoDB client it uses
    client = aws.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", record, unique_id="scan-watch")
    try:
        assert segmenter() == 2
    finally:
        client.meta.events.unregister("before-call.dynamodb", unique_id="scan-watch")
    # Then it read items by key and wrote with one transaction, never a Scan
    assert "Scan" not in calls
    assert calls.count("TransactWriteItems") == 1
    assert item(customer_id, "VALUE") is not None
