"""The campaigns service's own view of each customer, fed only by the bus, and the segments
marketing writes over it: standing members and counts kept as events arrive, a new version
evaluated over every customer, duplicates and late events with one effect, erasure at once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.campaigns.dal.segments import DynamoSegments
from services.campaigns.handlers import events as events_handler
from services.campaigns.handlers import segmenter
from services.campaigns.logic import audiences
from services.campaigns.topology import (
    API,
    CAMPAIGNS,
    EVENTS,
    EVENTS_QUEUE,
    REFRESHER,
    SEGMENT_JOBS,
    SEGMENTER,
)
from shared.events import Envelope, EventPublisher, RecordedEvent
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, LambdaContext, api_event
from tests.integration.conftest import FROZEN_AT, STAGE, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

LAPSED_AND_MAILABLE = {
    "all": [
        {"field": "last_purchase_at", "op": "not_within_days", "value": 60},
        {"field": "consent", "op": "granted", "value": "email.marketing"},
    ]
}


@dataclass
class Campaigns:
    bus: str
    api: Invoker
    events: QueueDrain
    jobs: QueueDrain
    refresher: Invoker
    clock: Callable[[datetime], None]

    def refresh(self) -> list[str]:
        """The nightly schedule fires (then its evaluation steps run)."""
        out = self.refresher.handler({}, LambdaContext.of(self.refresher.function))
        self.jobs()
        return list(out["refreshed"])

    def publish(
        self, source: str, detail_type: str, data: dict[str, Any], *, at: datetime | None = None
    ) -> None:
        event = RecordedEvent(detail_type, "1", data)
        EventPublisher(self.bus, f"dangol.{source}").publish([Envelope(event, occurred_at=at or FROZEN_AT)])

    def register(self, *, zone: str = "Asia/Seoul") -> str:
        customer_id = new_id("cus")
        data = {
            "customer_id": customer_id,
            "subject": f"sub-{customer_id}",
            "locale": "ko-KR",
            "time_zone": zone,
        }
        self.publish("profile", "CustomerRegistered", data)
        return customer_id

    def consent(self, customer_id: str, *, email: bool, at: datetime | None = None) -> None:
        consents = {"email.marketing": email, "email.service": True, "sms.marketing": False}
        data = {
            "customer_id": customer_id,
            "channel": "email",
            "purpose": "marketing",
            "granted": email,
            "consents": consents,
        }
        self.publish("profile", "ConsentChanged", data, at=at)

    def purchase(self, customer_id: str, total: int, *, at: datetime, purchase_id: str | None = None) -> str:
        purchase_id = purchase_id or new_id("pur")
        data = {
            "purchase_id": purchase_id,
            "external_id": new_id("ext"),
            "customer_id": customer_id,
            "store_id": "gangnam-01",
            "channel": "store",
            "currency": "KRW",
            "total": total,
            "lines": [
                {"sku": "CAKE", "category": "bakery", "quantity": 1, "unit_price": total, "amount": total}
            ],
            "purchased_at": at.isoformat(),
            "local_date": at.date().isoformat(),
        }
        self.publish("profile", "PurchaseRecorded", data)
        return purchase_id

    def call(
        self, method: str, resource: str, params: dict[str, str] | None = None, **kw: Any
    ) -> ApiResponse:
        headers = kw.pop("headers", None)
        event = api_event(
            "profile_get_customer",
            method=method,
            resource=resource,
            path_parameters=params,
            path=None if params else resource,
            groups=kw.pop("groups", "marketing"),
            sub="staff-1",
            headers=headers,
            **kw,
        )
        return self.api(event)

    def segment(self, rule: dict[str, Any], name: str = "lapsed, mailable") -> dict[str, Any]:
        created = self.call("POST", "/admin/segments", body={"name": name, "rule": rule})
        assert created.status == 201, created.body
        self.jobs()
        return dict(created.json())

    def get(self, segment_id: str) -> dict[str, Any]:
        response = self.call("GET", "/admin/segments/{segment_id}", {"segment_id": segment_id})
        assert response.status == 200, response.body
        return dict(response.json())

    def members(self, segment_id: str) -> list[str]:
        found: list[str] = []
        cursor = None
        while True:
            query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = self.call(
                "GET", "/admin/segments/{segment_id}/members", {"segment_id": segment_id}, query=query
            )
            assert page.status == 200, page.body
            found += [m["customer_id"] for m in page.json()["items"]]
            cursor = page.json().get("next_cursor")
            if not cursor:
                return sorted(found)


@pytest.fixture
def campaigns(
    moto: None,
    bus: str,
    lambda_function: Callable[[Function], Invoker],
    frozen_clock: Callable[[datetime], None],
) -> Campaigns:
    """The campaigns functions on moto, fed as AWS feeds them, on a clock standing at FROZEN_AT."""
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    return Campaigns(
        bus=bus,
        api=lambda_function(API),
        events=QueueDrain(lambda_function(EVENTS), messaging, EVENTS_QUEUE),
        jobs=QueueDrain(lambda_function(SEGMENTER), messaging, SEGMENT_JOBS),
        refresher=lambda_function(REFRESHER),
        clock=frozen_clock,
    )


def view_of(customer_id: str) -> dict[str, Any] | None:
    """The customer's view as stored (its JSON), or None."""
    item = table(CAMPAIGNS).get({"pk": f"CUST#{customer_id}", "sk": "VIEW"})
    return None if item is None else dict(json.loads(item["view"]))


def test_the_story_segment_counts_exactly_the_lapsed_customers_who_allow_marketing_mail(
    campaigns: Campaigns,
) -> None:
    now = FROZEN_AT
    # Given four customers: lapsed and mailable, lapsed without consent, recent and mailable,
    # and mailable but never bought
    lapsed, silent, recent, never = (campaigns.register() for _ in range(4))
    for customer_id, email in ((lapsed, True), (silent, False), (recent, True), (never, True)):
        campaigns.consent(customer_id, email=email)
    campaigns.purchase(lapsed, 12_000, at=now - timedelta(days=90))
    campaigns.purchase(silent, 12_000, at=now - timedelta(days=90))
    campaigns.purchase(recent, 12_000, at=now - timedelta(days=3))
    assert campaigns.events() == 11
    # When marketing defines "no purchase for 60 days and consented to marketing e-mail"
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    # Then its evaluation over every view finds exactly the lapsed and the never-bought mailable ones
    shown = campaigns.get(segment["id"])
    assert (shown["status"], shown["evaluated"], shown["count"]) == ("ready", 4, 2)
    assert campaigns.members(segment["id"]) == sorted([lapsed, never])
    # And no name, e-mail or phone is in the view
    stored = view_of(lapsed)
    assert stored is not None
    assert "@" not in json.dumps(stored)
    assert not {"name", "email", "phone", "display_name", "devices"} & set(stored)


def test_a_change_the_events_function_made_before_it_knew_a_new_segment_is_caught_up(
    campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catching-up pass comes a second after the first (CATCH_UP_S, 10 s on a stage)
    monkeypatch.setattr(audiences, "CATCH_UP_S", 1)
    # Given a customer who does not allow marketing mail yet, as the events function has seen
    # (it now holds the standing segments, none, for 5 s: here, for as long as the test takes)
    customer_id = campaigns.register()
    campaigns.consent(customer_id, email=False)
    campaigns.events()
    segments = events_handler.dependencies().projection.members
    assert isinstance(segments, DynamoSegments)
    monkeypatch.setattr(segments, "cache_s", 3600.0)
    # When marketing defines a segment, its first pass finds nobody, and the customer then consents
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    assert (campaigns.get(segment["id"])["status"], campaigns.get(segment["id"])["count"]) == ("ready", 0)
    campaigns.consent(customer_id, email=True)
    campaigns.events()
    # Then the events function, which did not know the segment yet, left them out of it
    assert campaigns.members(segment["id"]) == []
    # And the second pass, once every events function knows the segment, takes them in
    time.sleep(1.2)
    assert campaigns.jobs() == 1
    assert campaigns.members(segment["id"]) == [customer_id]
    shown = campaigns.get(segment["id"])
    assert (shown["status"], shown["evaluated"], shown["count"]) == ("ready", 1, 1)
    # And that pass is the last: nothing more is queued
    time.sleep(1.2)
    assert campaigns.jobs() == 0


def test_a_pass_that_read_a_view_before_an_event_changed_it_does_not_undo_the_event(
    campaigns: Campaigns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a standing segment, and a customer who does not allow marketing mail yet
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    customer_id = campaigns.register()
    campaigns.consent(customer_id, email=False)
    campaigns.events()
    # And a pass over every view that read the customer's view then (as one running now would)
    deps = segmenter.dependencies()
    stale = deps.views.versioned_page(after=None, limit=200)
    monkeypatch.setattr(deps.views, "versioned_page", lambda **_: stale)
    # When the customer consents, and the events function takes them into the segment
    campaigns.consent(customer_id, email=True)
    campaigns.events()
    assert campaigns.members(segment["id"]) == [customer_id]
    # And the pass then writes what it decided on the view it read
    looked = audiences.evaluate_step(
        deps.segments, deps.views, deps.jobs, segment["id"], 1, after=None, looked_at=0,
        now=FROZEN_AT, catching_up=True,
    )  # fmt: skip
    # Then its stale "out" does not stand: it read the view again, and the customer stays in
    assert looked == 1
    assert campaigns.members(segment["id"]) == [customer_id]
    assert campaigns.get(segment["id"])["count"] == 1


def test_members_follow_events_as_they_arrive_and_a_duplicate_changes_nothing(campaigns: Campaigns) -> None:
    now = FROZEN_AT
    # Given a standing segment and a lapsed customer who allows marketing mail
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    customer_id = campaigns.register()
    campaigns.consent(customer_id, email=True)
    campaigns.events()
    assert campaigns.members(segment["id"]) == [customer_id]
    # When they buy today, and the same purchase is delivered twice
    campaigns.purchase(customer_id, 5_000, at=now)
    campaigns.events()
    for message in campaigns.events.delivered[-1:]:
        campaigns.events.deliver([message])
    # Then they leave the segment, the count follows, and the purchase counted once
    assert campaigns.members(segment["id"]) == []
    assert campaigns.get(segment["id"])["count"] == 0
    stored = view_of(customer_id)
    assert stored is not None
    assert [bucket["count"] for bucket in stored["purchases"].values()] == [1]
    # When they withdraw consent and an older consent event arrives late
    campaigns.consent(customer_id, email=False)
    campaigns.consent(customer_id, email=True, at=now - timedelta(hours=1))
    campaigns.events()
    # Then the newer state stands
    stored = view_of(customer_id)
    assert stored is not None
    assert stored["consents"]["email.marketing"] is False


def test_a_new_version_is_evaluated_again_and_a_stale_if_match_is_refused(campaigns: Campaigns) -> None:
    # Given a segment at version 1 and two customers, one of them mailable
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    mailable, other = campaigns.register(), campaigns.register()
    campaigns.consent(mailable, email=True)
    campaigns.consent(other, email=False)
    campaigns.events()
    # When marketing changes it to "marketing e-mail withdrawn" with If-Match 1
    rule = {"field": "consent", "op": "not_granted", "value": "email.marketing"}
    params = {"segment_id": segment["id"]}
    changed = campaigns.call(
        "PUT",
        "/admin/segments/{segment_id}",
        params,
        body={"name": "no mail", "rule": rule},
        headers={"If-Match": '"1"'},
    )
    assert (changed.status, changed.header("ETag"), changed.json()["version"]) == (200, '"2"', 2)
    campaigns.jobs()
    # Then version 2's members replace version 1's
    assert campaigns.members(segment["id"]) == [other]
    assert campaigns.get(segment["id"])["count"] == 1
    # And version 1 is still readable
    first = campaigns.call(
        "GET", "/admin/segments/{segment_id}/versions/{version}", {**params, "version": "1"}
    )
    assert (first.status, first.json()["rule"]) == (200, LAPSED_AND_MAILABLE)
    # And a change sent with the old version is refused, and nothing changes
    stale = campaigns.call(
        "PUT",
        "/admin/segments/{segment_id}",
        params,
        body={"name": "x", "rule": rule},
        headers={"If-Match": '"1"'},
    )
    assert (stale.status, stale.error["code"]) == (412, "version_mismatch")
    assert campaigns.get(segment["id"])["version"] == 2


def test_an_erased_customer_leaves_every_segment_at_once_and_late_events_bring_nothing_back(
    campaigns: Campaigns,
) -> None:
    # Given a mailable lapsed customer in a standing segment
    segment = campaigns.segment(LAPSED_AND_MAILABLE)
    customer_id = campaigns.register()
    campaigns.consent(customer_id, email=True)
    campaigns.events()
    assert campaigns.get(segment["id"])["count"] == 1
    # When they are erased, and a consent event arrives afterwards
    campaigns.publish("profile", "CustomerErased", {"customer_id": customer_id, "erased_by": "customer"})
    campaigns.events()
    campaigns.consent(customer_id, email=True)
    campaigns.events()
    # Then they are in no segment and the service holds nothing of them but the tombstone
    assert campaigns.members(segment["id"]) == []
    assert campaigns.get(segment["id"])["count"] == 0
    left = table(CAMPAIGNS).query("pk = :pk", values={":pk": f"CUST#{customer_id}"}).items
    assert [i["sk"] for i in left] == ["ERASED"]


def test_a_bad_rule_is_refused_with_the_path_to_the_bad_part_and_nothing_is_stored(
    campaigns: Campaigns,
) -> None:
    # Given a rule whose second condition names an operator that does not exist
    rule = {
        "all": [
            LAPSED_AND_MAILABLE["all"][0],
            {"field": "consent", "op": "sometimes", "value": "email.marketing"},
        ]
    }
    # When marketing submits it
    refused = campaigns.call("POST", "/admin/segments", body={"name": "bad", "rule": rule})
    # Then it is a 422 whose details point into the second condition, and no segment exists
    assert refused.status == 422, refused.body
    locations = [".".join(str(p) for p in d["loc"]) for d in refused.error["details"]]
    assert any("all.1" in where for where in locations), locations
    listed = campaigns.call("GET", "/admin/segments")
    assert listed.json()["items"] == []


def test_the_nightly_refresh_moves_customers_across_a_relative_date_without_any_event(
    campaigns: Campaigns,
) -> None:
    # Given a mailable customer whose last purchase was 59 days ago, and a segment of consents only
    customer_id = campaigns.register()
    campaigns.consent(customer_id, email=True)
    campaigns.purchase(customer_id, 8_000, at=FROZEN_AT - timedelta(days=59))
    campaigns.events()
    lapsed = campaigns.segment(LAPSED_AND_MAILABLE)
    mailable = campaigns.segment(
        {"field": "consent", "op": "granted", "value": "email.marketing"}, "mailable"
    )
    assert campaigns.members(lapsed["id"]) == []
    # When two days pass with no event about them, and the nightly refresh runs
    campaigns.clock(FROZEN_AT + timedelta(days=2))
    refreshed = campaigns.refresh()
    # Then only the time-dependent segment was evaluated again, and it now holds them
    assert refreshed == [lapsed["id"]]
    assert campaigns.members(lapsed["id"]) == [customer_id]
    assert campaigns.get(lapsed["id"])["count"] == 1
    assert campaigns.members(mailable["id"]) == [customer_id]
