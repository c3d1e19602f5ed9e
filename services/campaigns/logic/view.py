"""The customer view, changed by one event at a time: pure functions, no AWS.

Each applier takes the view as stored (or a fresh one) and the event with its instant, and
returns the view to store, or ``None`` when nothing changes (a duplicate, or an event older than
what the view already holds for that aspect: SQS keeps no order). Counted effects (purchases,
refunds, visits) are made once per event by the caller's per-event claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from services.campaigns.models import inbound
from services.campaigns.models.view import KEPT_DAYS, CustomerView, DayBucket


def fresh(customer_id: str) -> CustomerView:
    return CustomerView(customer_id=customer_id)


def _newer(view: CustomerView, aspect: str, at: dt.datetime) -> bool:
    """Not older than what set the aspect (a tie: the later delivered wins; a duplicate of the
    same event sets the same state again)."""
    seen = view.stamps.get(aspect)
    return seen is None or at >= seen


def _stamped(view: CustomerView, aspect: str, at: dt.datetime, **changes: Any) -> CustomerView:
    return view.model_copy(update={**changes, "stamps": {**view.stamps, aspect: at}})


def registered(
    view: CustomerView, event: inbound.CustomerRegistered | inbound.CustomerImported, at: dt.datetime
) -> CustomerView | None:
    if not _newer(view, "profile", at):
        return None
    registered_at = view.registered_at if view.registered_at is not None else at
    return _stamped(
        view, "profile", at, locale=event.locale, time_zone=event.time_zone, registered_at=registered_at
    )


def consent_changed(
    view: CustomerView, event: inbound.ConsentChanged, at: dt.datetime
) -> CustomerView | None:
    if not _newer(view, "consents", at):
        return None
    return _stamped(view, "consents", at, consents=dict(event.consents))


def value_segment_changed(
    view: CustomerView, event: inbound.ValueSegmentChanged, at: dt.datetime
) -> CustomerView | None:
    if not _newer(view, "value_segment", at):
        return None
    return _stamped(view, "value_segment", at, value_segment=event.segment)


def groups_changed(
    view: CustomerView, event: inbound.LifestyleGroupsChanged, at: dt.datetime
) -> CustomerView | None:
    if not _newer(view, "groups", at):
        return None
    return _stamped(view, "groups", at, groups=sorted(set(event.groups)))


def tier_changed(view: CustomerView, event: inbound.TierChanged, at: dt.datetime) -> CustomerView | None:
    if not _newer(view, "tier", at):
        return None
    return _stamped(view, "tier", at, tier=event.tier)


def points_balance(
    view: CustomerView, event: inbound.PointsBalanceChanged, at: dt.datetime
) -> CustomerView | None:
    """Ordered by the rewards account's version, not by time: two moves may share an instant."""
    if event.account_version <= view.points_version:
        return None
    return view.model_copy(update={"points_balance": event.balance, "points_version": event.account_version})


def points_expiring(
    view: CustomerView, event: inbound.PointsExpiring, at: dt.datetime
) -> CustomerView | None:
    if not _newer(view, "points_expiring", at):
        return None
    return _stamped(
        view, "points_expiring", at, points_expiring=event.points, points_expire_on=event.expires_on
    )


def _pruned(purchases: dict[str, DayBucket], today: dt.date) -> dict[str, DayBucket]:
    oldest = (today - dt.timedelta(days=KEPT_DAYS)).isoformat()
    return {day: bucket for day, bucket in purchases.items() if day >= oldest}


def _add(
    purchases: dict[str, DayBucket], day: dt.date, currency: str, count: int, spend: int
) -> dict[str, DayBucket]:
    key = day.isoformat()
    bucket = purchases.get(key, DayBucket())
    spent = {**bucket.spend, currency: bucket.spend.get(currency, 0) + spend}
    changed = DayBucket(count=max(0, bucket.count + count), spend={c: v for c, v in spent.items() if v})
    out = {**purchases, key: changed}
    if not changed.count and not changed.spend:
        del out[key]
    return out


def purchase_recorded(view: CustomerView, event: inbound.PurchaseRecorded, at: dt.datetime) -> CustomerView:
    """Counted once per purchase (the caller claims the event). Resets the browsing time."""
    purchases = _pruned(
        _add(view.purchases, event.local_date, event.currency, 1, event.total), event.local_date
    )
    latest = view.last_purchase_at
    first = view.first_purchase_id or (event.purchase_id if latest is None else None)
    update: dict[str, Any] = {
        "purchases": purchases,
        "first_purchase_id": first,
        "purchases_ever": view.purchases_ever + 1,
    }
    if latest is None or event.purchased_at > latest:
        update |= {"last_purchase_at": event.purchased_at, "browsing_s": 0}
    return view.model_copy(update=update)


def purchase_refunded(view: CustomerView, day: dt.date, event: inbound.PurchaseRefunded) -> CustomerView:
    """Takes back what the purchase added to its day (``day``: the purchase's local day)."""
    purchases = _add(view.purchases, day, event.currency, -1, -event.total)
    return view.model_copy(update={"purchases": purchases, "purchases_ever": max(0, view.purchases_ever - 1)})


def visit_recorded(view: CustomerView, event: inbound.VisitRecorded) -> CustomerView:
    """Browsing time adds up while no purchase comes after the visit."""
    last = view.last_visit_at
    update: dict[str, Any] = {
        "last_visit_at": event.started_at if last is None or event.started_at > last else last
    }
    if view.last_purchase_at is None or event.started_at > view.last_purchase_at:
        update["browsing_s"] = view.browsing_s + event.duration_s
    return view.model_copy(update=update)


def coupon_redeemed(view: CustomerView, event: inbound.CouponRedeemed, at: dt.datetime) -> CustomerView:
    """Counted once per coupon (the caller claims the event), so that a winback can tell a
    customer who only ever buys on offers."""
    return view.model_copy(update={"coupons_ever": view.coupons_ever + 1})


Applier = Callable[[CustomerView, Any, dt.datetime], CustomerView | None]
