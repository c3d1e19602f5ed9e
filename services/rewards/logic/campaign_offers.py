"""What a campaign's offers do in rewards: a coupon in the customer's wallet, or points pre-granted
for a while. No boto3 here: the stores, the clock's now and the id and code makers are passed in.

Each offer has one effect whatever is redelivered: a coupon offer's claim (``OFFER#<offer_id>``) is
written in the issue's own transaction, and a points offer is credited under the ledger source
``campaign:<campaign_id>:<offer_id>`` (one effect per source), its campaign's report counted in
the same transaction. An offer that can do nothing (an unknown or retired template, a customer
without a rewards account, an offer past its end) is an outcome the consumer logs, never an error:
a redelivery could not change it, so the event is consumed, not retried.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, Protocol

from services.rewards.logic import coupons, grants, ledger
from services.rewards.models import inbound
from services.rewards.models.offers import CouponRecord, CouponTemplate, OfferStatus

SYSTEM_ACTOR = "system"
PointsStatus = Literal["credited", "duplicate", "unknown_customer", "offer_expired"]


class OfferCoupons(coupons.CouponStore, Protocol):
    def issue_once(
        self, template: CouponTemplate, coupon: CouponRecord, *, code: str, at: datetime, offer_id: str
    ) -> OfferStatus: ...


def _second(moment: datetime) -> datetime:
    """An instant as the table keeps them: UTC, to the second (rounded down: never later)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def coupon_source(offer_id: str) -> str:
    return f"offer:{offer_id}"


def points_source(offer: inbound.PointsOfferRequested) -> str:
    """The ledger source of a points offer: the campaign first, so that the history says which."""
    return f"campaign:{offer.campaign_id}:{offer.offer_id}"


def coupon_offer(
    store: OfferCoupons,
    offer: inbound.OfferCouponRequested,
    *,
    now: datetime,
    new_id: Callable[[], str],
    make_code: Callable[[], str] = coupons.new_code,
) -> OfferStatus:
    """Issue one coupon of the offer's template to its customer, valid as the template says from
    now, but never past the offer's ``valid_until``; or say why not."""
    template = store.template(offer.coupon_template_id)
    if template is None:
        return "template_not_found"
    if template.status != "active":
        return "template_retired"
    valid_from, valid_until = coupons.validity(template, now)
    valid_until = min(valid_until, _second(offer.valid_until))
    if valid_until <= now:
        return "offer_expired"
    known = store.accounts_among([offer.customer_id])
    if offer.customer_id not in known:
        return "unknown_customer"
    if known[offer.customer_id]:
        return "customer_erased"
    code = make_code()
    coupon = coupons.new_coupon(
        template,
        offer.customer_id,
        coupon_id=new_id(),
        code=code,
        valid=(valid_from, valid_until),
        now=now,
        source=coupon_source(offer.offer_id),
    )
    return store.issue_once(template, coupon, code=code, at=now, offer_id=offer.offer_id)


def points_offer(
    store: ledger.LedgerStore,
    accounts: grants.Accounts,
    offer: inbound.PointsOfferRequested,
    *,
    now: datetime,
) -> PointsStatus:
    """Pre-grant the offer's points until its ``expires_at`` (what is unused then is clawed back),
    counted on its campaign's report; or say why not."""
    expires_at = _second(offer.expires_at)
    if expires_at <= now:
        return "offer_expired"
    if offer.customer_id not in accounts.existing([offer.customer_id]):
        return "unknown_customer"
    applied = ledger.credit(
        store,
        customer_id=offer.customer_id,
        points=offer.points,
        kind="pregrant",
        source=points_source(offer),
        expires_at=expires_at,
        actor=SYSTEM_ACTOR,
        reason="campaign offer",
        now=now,
        job_id=offer.campaign_id,
        counted=True,
    )
    return "credited" if applied.created else "duplicate"
