"""A template's preview: the message as one customer (or the sample customer) would get it.

What a template reads of a customer comes from two places. The campaigns service's own view
(``models.view``) gives the tier, the points balance, the locale and the zone. The name and the
usual order are personal data the campaigns service never keeps: they come from the profile service's contact
card (``purpose="preview"``: name, locale and zone only), asked for at the moment of the preview
through ``CardSource`` and kept nowhere.

Without a customer, the sample customer below is used: 김민지 (민지), gold, 3,000 points, whose
usual is an 아메리카노, in ko-KR and Asia/Seoul. Without an offer, the sample offer
(``models.messages.SampleOffer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from liquid.exceptions import LiquidError

from services.campaigns.logic import templates
from services.campaigns.logic.addressing import first_name
from services.campaigns.logic.projection import ViewStore
from services.campaigns.logic.templates import MessageTooLong
from services.campaigns.models.cards import CardPurpose, ContactCard
from services.campaigns.models.messages import Preview, PreviewRequest, SampleOffer
from services.campaigns.models.templates import TemplateDefinition
from shared.errors import NotFound, Unprocessable

SAMPLE_CUSTOMER: dict[str, Any] = {
    "name": "김민지",
    "first_name": "민지",
    "tier": "gold",
    "points": 3000,
    "usual": "아메리카노",
}
SAMPLE_LOCALE = "ko-KR"
SAMPLE_ZONE = "Asia/Seoul"
# A preview has no opt-out link of its own (a card asked for a preview carries none): this stands
# in for the one each customer's message will carry.
PREVIEW_UNSUBSCRIBE_URL = "https://dangol.example/unsubscribe/preview"


class CardSource(Protocol):
    """The profile service's contact cards, asked for by customer id."""

    def cards(self, customer_ids: Sequence[str], purpose: CardPurpose) -> list[ContactCard]: ...


# What a triggered campaign's event may say, as a sample (the longest of each: a wedding's years).
SAMPLE_TRIGGER: dict[str, Any] = {
    "kind": "wedding",
    "years": 10,
    "occurs_on": "2026-12-25",
    "tier": "gold",
    "previous": "silver",
    "tier_name": "Gold",
    "perks": "Birthday coupon, Free size-up, Early access to events",
    "earn_multiplier_pct": 125,
    "points": 3000,
    "expires_on": "2026-12-31",
    "minutes": 45,
    "draw": 1,
}


def context_for(customer: dict[str, Any], offer: SampleOffer, brand: str) -> dict[str, Any]:
    return {
        "customer": customer,
        "offer": {**offer.model_dump(mode="json"), "points": 3000},
        "trigger": SAMPLE_TRIGGER,
        "brand": brand,
    }


def preview(
    definition: TemplateDefinition,
    request: PreviewRequest,
    *,
    template_id: str,
    version: int,
    views: ViewStore,
    cards: CardSource,
) -> Preview:
    """The template rendered for the request's customer (or the sample one); 404
    ``customer_not_found`` for a customer the campaigns service or the profile service does not
    know, or who was erased."""
    if request.customer_id is None:
        customer, locale, zone = dict(SAMPLE_CUSTOMER), SAMPLE_LOCALE, SAMPLE_ZONE
    else:
        customer, locale, zone = _customer(request.customer_id, views, cards)
    chosen_locale = templates.pick_locale(definition, request.locale or locale)
    context = context_for(customer, request.offer or SampleOffer(), definition.sender)
    try:
        message = templates.render(
            definition,
            locale=chosen_locale,
            context=context,
            time_zone=zone,
            unsubscribe_url=PREVIEW_UNSUBSCRIBE_URL,
        )
    except MessageTooLong as long:
        raise Unprocessable(
            f"For this customer the message is too long: {long}.",
            code="message_too_long",
            details=[{"loc": ["locales", chosen_locale, long.field], "type": "too_long", "msg": str(long)}],
        ) from None
    except LiquidError as failed:
        raise Unprocessable(
            f"The template does not render for this customer: {str(failed).splitlines()[0]}",
            code="template_render_failed",
        ) from None
    return Preview(
        template_id=template_id,
        version=version,
        customer_id=request.customer_id,
        sample=request.customer_id is None,
        locale=message.locale,
        message=message,
        advertisement_marked=definition.purpose == "marketing" and templates.is_korean_market(zone),
        night_rule=templates.needs_night_consent(definition.channel, definition.purpose, zone),
    )


def _customer(customer_id: str, views: ViewStore, cards: CardSource) -> tuple[dict[str, Any], str, str]:
    """The variables of a real customer, their locale and their zone."""
    stored = views.load(customer_id)
    if stored.erased or stored.view is None:
        raise NotFound("No such customer.", code="customer_not_found")
    card = next((c for c in cards.cards([customer_id], "preview") if c.customer_id == customer_id), None)
    if card is None or card.status != "active":
        raise NotFound("No such customer.", code="customer_not_found")
    view = stored.view
    customer = {
        "name": card.name,
        "first_name": first_name(card.name),
        "tier": view.tier,
        "points": view.points_balance,
        "usual": card.usual,
    }
    return customer, view.locale, view.time_zone
