"""The rewards service on moto, fed as AWS feeds it: profile and campaigns events go on the bus,
the rules ``rewards-profile-events`` and ``rewards-campaign-events`` queue them, and the consumer
gets them as SQS records; grant chunks go through the grants queue the same way. Helpers shared by
the rewards integration tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.rewards.topology import API, EVENTS, EVENTS_QUEUE, GRANTER, GRANTS_QUEUE, PROGRAMS_API, REWARDS
from shared.events import Envelope, EventPublisher, RecordedEvent
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import ApiResponse, Invoker, api_event
from tests.integration.conftest import STAGE, BusWatch, QueueDrain, table

HOLD = "/customers/{customer_id}/holds/{order_id}"
WATCHED = [
    "PointsEarned",
    "PointsExpired",
    "PointsExpiring",
    "TierChanged",
    "GiftGranted",
    "CouponIssued",
    "CouponRedeemed",
    "DrawCommitted",
    "DrawCompleted",
]


@dataclass
class Rewards:
    bus: str
    api: Invoker
    programs: Invoker
    events: QueueDrain
    grants: QueueDrain
    published: Callable[[str], list[dict[str, Any]]]

    def profile_event(self, detail_type: str, data: dict[str, Any]) -> None:
        """Publish a profile event as the profile service does (source ``dangol.profile``)."""
        event = RecordedEvent(detail_type, "1", data)
        EventPublisher(self.bus, "dangol.profile").publish([Envelope(event, occurred_at=datetime.now(UTC))])

    def campaign_event(self, detail_type: str, data: dict[str, Any], *, deliver: bool = True) -> None:
        """Publish a campaigns event as the campaigns service does (source ``dangol.campaigns``)."""
        event = RecordedEvent(detail_type, "1", data)
        EventPublisher(self.bus, "dangol.campaigns").publish([Envelope(event, occurred_at=datetime.now(UTC))])
        if deliver:
            self.events()

    def register(self, *, subject: str | None = None) -> str:
        """A new customer signs up (CustomerRegistered delivered): their id."""
        customer_id = new_id("cus")
        data = {"customer_id": customer_id, "locale": "ko-KR", "time_zone": "Asia/Seoul"}
        self.profile_event("CustomerRegistered", {**data, "subject": subject or f"sub-{customer_id}"})
        self.events()
        return customer_id

    def purchase(
        self, customer_id: str, total: int, *, at: datetime | None = None, category: str = "bakery", **kw: Any
    ) -> str:
        """A purchase recorded by the profile service (PurchaseRecorded delivered): its id."""
        at = at or datetime.now(UTC).replace(microsecond=0)
        purchase_id = kw.pop("purchase_id", None) or new_id("pur")
        data = {
            "purchase_id": purchase_id,
            "external_id": new_id("ext"),
            "customer_id": customer_id,
            "store_id": kw.pop("store_id", "gangnam-01"),
            "channel": "store",
            "currency": kw.pop("currency", "KRW"),
            "total": total,
            "lines": [
                {"sku": "CAKE", "category": category, "quantity": 1, "unit_price": total, "amount": total}
            ],
            "purchased_at": at.isoformat(),
            "local_date": at.date().isoformat(),
        }
        self.profile_event("PurchaseRecorded", data)
        if kw.pop("deliver", True):
            self.events()
        return purchase_id

    def refund(self, customer_id: str, purchase_id: str, *, deliver: bool = True) -> None:
        data = {
            "purchase_id": purchase_id,
            "external_id": new_id("ext"),
            "refund_id": new_id("ref"),
            "customer_id": customer_id,
            "store_id": "gangnam-01",
            "currency": "KRW",
            "total": 0,
            "refunded_at": datetime.now(UTC).isoformat(),
        }
        self.profile_event("PurchaseRefunded", data)
        if deliver:
            self.events()

    def points(self, customer_id: str) -> dict[str, Any]:
        params = {"customer_id": customer_id}
        response = self.call(self.api, "GET", "/customers/{customer_id}/points", params, groups="agent")
        assert response.status == 200, response.body
        return dict(response.json())

    def member_code(self, customer_id: str) -> str:
        """The code a registered customer's app shows at the counter (their login: ``sub-<id>``)."""
        made = self.call(
            self.api, "POST", "/me/member-code", body=None, groups="customer", sub=f"sub-{customer_id}"
        )
        assert made.status == 201, made.body
        return str(made.json()["code"])

    def hold(self, customer_id: str, order_id: str, points: int, **more: Any) -> ApiResponse:
        """A till holds points for an order, with the customer's member code."""
        body = {"points": points, "member_code": self.member_code(customer_id), **more}
        params = {"customer_id": customer_id, "order_id": order_id}
        return self.call(self.api, "PUT", HOLD, params, body=body, groups="machine")

    def capture(self, customer_id: str, order_id: str) -> ApiResponse:
        params = {"customer_id": customer_id, "order_id": order_id}
        return self.call(self.api, "POST", f"{HOLD}/capture", params, body={}, groups="machine")

    def call(
        self,
        invoker: Invoker,
        method: str,
        resource: str,
        params: dict[str, str] | None = None,
        *,
        body: Any = None,
        groups: str = "marketing",
        sub: str = "staff-1",
        headers: dict[str, str | None] | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        event = api_event(
            "profile_get_customer",
            method=method,
            resource=resource,
            path_parameters=params,
            path=None if params else resource,
            body=body,
            groups=groups,
            sub=sub,
            headers=headers,
            **({"query": query} if query is not None else {}),
        )
        return invoker(event)


def items(customer_id: str, prefix: str) -> list[dict[str, Any]]:
    """The account's items whose sort key starts with ``prefix`` (LOT#, ENTRY#, ...)."""
    page = table(REWARDS).query(
        "#pk = :pk AND begins_with(#sk, :p)",
        names={"#pk": "pk", "#sk": "sk"},
        values={":pk": f"ACCT#{customer_id}", ":p": prefix},
    )
    return page.items


@pytest.fixture
def rewards(moto: None, bus: str, lambda_function: Callable[[Function], Invoker]) -> Rewards:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    return Rewards(
        bus=bus,
        api=lambda_function(API),
        programs=lambda_function(PROGRAMS_API),
        events=QueueDrain(lambda_function(EVENTS), messaging, EVENTS_QUEUE),
        grants=QueueDrain(lambda_function(GRANTER), messaging, GRANTS_QUEUE),
        published=BusWatch(bus, WATCHED).data,
    )
