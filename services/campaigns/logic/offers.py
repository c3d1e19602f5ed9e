"""Offers waiting at login: what a campaign attaches to each recipient, and what ``/me/offers`` shows.

A campaign's ``offer`` is given to each recipient who was meant to get the message: sent, or kept
from it by the channel (no consent for it, no address, the frequency cap, a failed send); never to
the control group (the holdout gets nothing, or the lift means nothing), nor to those a guard
excluded, who exited, or who are gone. Its id is derived from the campaign run and the customer, so
it is given once however often the sender decides. A coupon offer asks the rewards service for the
coupon (``OfferCouponRequested``: it lands in the wallet, ``CouponIssued`` links it here), a
points offer for pre-granted points (``PointsOfferRequested``); a content offer is shown as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from services.campaigns.models.events import OfferCouponRequested, PointsOfferRequested
from services.campaigns.models.offers import MyOffer
from shared.events import DomainEvent

OFFERED: frozenset[str] = frozenset({"sent", "no_consent", "no_address", "capped", "failed"})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def offer_id(campaign_id: str, customer_id: str, run: int) -> str:
    """``ofr_`` and 26 Crockford characters of the run's and customer's hash: the same on every call."""
    digest = int.from_bytes(
        hashlib.sha256(f"{campaign_id}:{customer_id}:{run}".encode()).digest()[:17], "big"
    )
    chars = [_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(26)]
    chars[0] = _CROCKFORD[(digest >> 130) & 7]  # a ULID's first character is at most 7
    return "ofr_" + "".join(chars)


def offer_of(
    campaign: Mapping[str, Any], run: int, customer_id: str, at: dt.datetime
) -> tuple[dict[str, Any], DomainEvent | None]:
    """The offer item for this recipient and the event that asks the rewards service for its part."""
    offer = campaign["offer"]
    campaign_id = str(campaign["id"])
    oid = offer_id(campaign_id, customer_id, run)
    expires = at + dt.timedelta(days=int(offer.get("valid_days") or 14))
    item = {
        "offer_id": oid,
        "customer_id": customer_id,
        "campaign_id": campaign_id,
        "run": run,
        "kind": offer["kind"],
        "title": offer["title"],
        "description": offer.get("description") or None,
        "url": offer.get("url"),
        "points": offer.get("points"),
        "offered_at": at.isoformat(),
        "expires_at": expires.isoformat(),
    }
    event: DomainEvent | None = None
    if offer["kind"] == "coupon":
        event = OfferCouponRequested(
            offer_id=oid,
            customer_id=customer_id,
            campaign_id=campaign_id,
            coupon_template_id=str(offer["coupon_template_id"]),
            valid_until=expires,
        )
    elif offer["kind"] == "points":
        event = PointsOfferRequested(
            offer_id=oid,
            customer_id=customer_id,
            campaign_id=campaign_id,
            points=int(offer["points"]),
            expires_at=expires,
        )
    return item, event


def message_context(offer: Mapping[str, Any] | None, oid: str, expires: dt.date) -> dict[str, Any]:
    """``offer.*`` in a template: the title, the last day, the link, the points."""
    if not offer:
        return {"title": "", "code": "", "expires_on": "", "url": "", "points": 0}
    return {
        "title": offer.get("title", ""),
        "code": "",  # a coupon's code is a bearer secret: it lives in the wallet, never in a message
        "expires_on": expires.isoformat(),
        "url": offer.get("url") or "",
        "points": int(offer.get("points") or 0),
        "id": oid,
    }


def shown(item: Mapping[str, Any], now: dt.datetime) -> MyOffer:
    expires = dt.datetime.fromisoformat(str(item["expires_at"]))
    status = (
        "redeemed"
        if item.get("redeemed_at")
        else "expired"
        if expires <= now
        else ("opened" if item.get("opened_at") else "waiting")
    )
    return MyOffer.model_validate(
        {
            "id": item["offer_id"],
            "campaign_id": item["campaign_id"],
            "kind": item["kind"],
            "title": item["title"],
            "description": item.get("description"),
            "url": item.get("url"),
            "points": item.get("points"),
            "coupon_id": item.get("coupon_id"),
            "offered_at": item["offered_at"],
            "expires_at": item["expires_at"],
            "opened_at": item.get("opened_at"),
            "redeemed_at": item.get("redeemed_at"),
            "status": status,
        }
    )


def waiting(items: Sequence[Mapping[str, Any]], now: dt.datetime) -> list[MyOffer]:
    """What waits: the offers not yet expired (redeemed ones too, marked), newest first."""
    offers = [shown(i, now) for i in items]
    return sorted((o for o in offers if o.status != "expired"), key=lambda o: o.offered_at, reverse=True)
