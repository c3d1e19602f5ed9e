"""The customer view kept from the bus, and the standing segments' members kept with it.

One event changes one view: read it, apply the event (``logic.view``), write it back conditioned
on its version (a concurrent change: read again and retry), together with the event's own effect
record for counted events (a purchase, a refund, a visit), so a redelivered event counts once.
Then each standing segment whose answer changed for this customer gains or loses them; adding
and removing are idempotent, and a redelivered event re-checks every segment, so a crash between
the view's write and the members' leaves nothing behind for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.campaigns.logic import view as views
from services.campaigns.models import inbound
from services.campaigns.models.view import CustomerView

Predicate = Callable[[CustomerView, dt.datetime], bool]
ATTEMPTS = 8
# How long an events function may go on with the standing segments it read (``Members.standing``):
# a segment created or changed meanwhile gains or loses nobody through it until then. Reading them
# is one query of at most 40 items, so a few seconds cost little.
STANDING_CACHE_S = 5


class Stale(Exception):
    """The view changed since it was read."""


class AlreadyApplied(Exception):
    """The event's effect record exists: it was counted before."""


@dataclass(frozen=True)
class Stored:
    view: CustomerView | None
    version: int
    erased: bool


@dataclass(frozen=True)
class Effect:
    """The record that makes a counted event count once: ``kind`` PUR, REF or VIS."""

    kind: str
    ref: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StandingSegment:
    segment_id: str
    version: int
    matches: Predicate


class ViewStore(Protocol):
    def load(self, customer_id: str) -> Stored: ...
    def save(self, view: CustomerView, expected: int, effect: Effect | None, at: dt.datetime) -> None: ...
    def effect(self, customer_id: str, kind: str, ref: str) -> dict[str, Any] | None: ...
    def erase(self, customer_id: str, at: dt.datetime) -> None: ...


class Members(Protocol):
    """A segment's members. ``view_version``: the change stands only if the customer's view is
    still at that version (else ``Stale``), for a decision made on a view read a while ago."""

    def standing(self) -> Sequence[StandingSegment]: ...
    def add(self, segment_id: str, customer_id: str, *, view_version: int | None = None) -> bool: ...
    def remove(self, segment_id: str, customer_id: str, *, view_version: int | None = None) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    applied: bool
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    view: CustomerView | None = None  # the view as it is now (None: erased)


Change = Callable[[CustomerView], "tuple[CustomerView | None, Effect | None]"]


class Projection:
    def __init__(self, store: ViewStore, members: Members) -> None:
        self.store = store
        self.members = members

    # -- one event -------------------------------------------------------------------------

    def apply(self, detail_type: str, event: Any, *, at: dt.datetime, now: dt.datetime) -> Outcome:
        customer_id = str(event.customer_id)
        if detail_type == "CustomerErased":
            return self._erase(customer_id, now)
        change = self._change(detail_type, event, at)
        for _ in range(ATTEMPTS):
            stored = self.store.load(customer_id)
            if stored.erased:
                return Outcome(applied=False)
            before = stored.view or views.fresh(customer_id)
            after, effect = change(before)
            if after is None:
                return Outcome(applied=False, view=stored.view)
            try:
                self.store.save(after, stored.version, effect, now)
            except Stale:
                continue
            except AlreadyApplied:
                return self._reconcile(None, before, now, applied=False)  # its members may lag
            return self._reconcile(stored.view, after, now, applied=True)
        raise Stale(f"the view of {customer_id} kept changing")

    def _change(self, detail_type: str, event: Any, at: dt.datetime) -> Change:
        simple: dict[str, views.Applier] = {
            "CustomerRegistered": views.registered,
            "CustomerImported": views.registered,
            "ConsentChanged": views.consent_changed,
            "ValueSegmentChanged": views.value_segment_changed,
            "LifestyleGroupsChanged": views.groups_changed,
            "TierChanged": views.tier_changed,
            "PointsExpiring": views.points_expiring,
            "PointsBalanceChanged": views.points_balance,
        }
        if detail_type in simple:
            applier = simple[detail_type]
            return lambda view: (applier(view, event, at), None)
        if detail_type == "PurchaseRecorded":
            return lambda view: self._purchase(view, event)
        if detail_type == "PurchaseRefunded":
            return lambda view: self._refund(view, event)
        if detail_type == "VisitRecorded":
            return lambda view: (views.visit_recorded(view, event), Effect("VIS", event.visit_id))
        if detail_type == "CouponRedeemed":
            return lambda view: (views.coupon_redeemed(view, event, at), Effect("CPN", event.coupon_id))
        raise ValueError(f"no view change for {detail_type}")

    def _purchase(
        self, view: CustomerView, event: inbound.PurchaseRecorded
    ) -> tuple[CustomerView | None, Effect]:
        record = Effect(
            "PUR",
            event.purchase_id,
            {"day": event.local_date.isoformat(), "currency": event.currency, "total": event.total},
        )
        if self.store.effect(view.customer_id, "REF", event.purchase_id) is not None:
            return view, record  # refunded before it arrived: it counts nothing, but is recorded
        return views.purchase_recorded(view, event, event.purchased_at), record

    def _refund(
        self, view: CustomerView, event: inbound.PurchaseRefunded
    ) -> tuple[CustomerView | None, Effect]:
        record = Effect("REF", event.purchase_id, {"refund_id": event.refund_id})
        counted = self.store.effect(view.customer_id, "PUR", event.purchase_id)
        if counted is None:
            return view, record  # the purchase will find this record and count nothing
        day = dt.date.fromisoformat(str(counted["day"]))
        return views.purchase_refunded(view, day, event), record

    def _erase(self, customer_id: str, now: dt.datetime) -> Outcome:
        left = tuple(
            s.segment_id for s in self.members.standing() if self.members.remove(s.segment_id, customer_id)
        )
        self.store.erase(customer_id, now)
        return Outcome(applied=True, left=left)

    # -- the standing segments -------------------------------------------------------------

    def _reconcile(
        self, before: CustomerView | None, after: CustomerView, now: dt.datetime, *, applied: bool
    ) -> Outcome:
        """Each standing segment whose answer for this customer changed (every one, when what
        the members said before is not known) is told the answer now."""
        joined: list[str] = []
        left: list[str] = []
        for segment in self.members.standing():
            now_in = segment.matches(after, now)
            if before is not None and segment.matches(before, now) == now_in:
                continue
            if now_in and self.members.add(segment.segment_id, after.customer_id):
                joined.append(segment.segment_id)
            elif not now_in and self.members.remove(segment.segment_id, after.customer_id):
                left.append(segment.segment_id)
        return Outcome(applied=applied, joined=tuple(joined), left=tuple(left), view=after)
