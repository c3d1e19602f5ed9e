"""What became of a campaign e-mail, from SES's events (``campaigns-feedback``): pure, no boto3.

- ``Delivery``: the recipient's mail server took it: the campaign's ``delivered`` counter.
- ``Bounce`` of type ``Permanent``: ``bounced``, and ``EmailUndeliverable`` (reason ``bounce``).
  A transient or undetermined bounce is SES still trying (or not knowing): nothing is counted.
- ``Complaint``: ``complained``, and ``EmailUndeliverable`` (reason ``complaint``).

The e-mail's campaign, customer and run come from its tags (``campaign``, ``customer``, ``run``:
SES includes an e-mail's tags in every event it publishes through a configuration set), else from
its ``X-Dangol-Ref`` header (``<campaign>/<customer>/<run>``; SES includes the headers unless they
were truncated). An e-mail with neither (the user pool's mail goes through the same configuration
set) is none of ours: ignored.

One effect per SES event: the key is SES's message id and the event type,
claimed in the same transaction as the counter and the event (``dal.feedback``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from services.campaigns.models.campaigns import CAMPAIGN_ID_PATTERN
from services.campaigns.models.events import CUSTOMER_ID_PATTERN, EmailUndeliverable
from services.campaigns.models.feedback import SesEvent

# The report's counters that SES's events fill: they count what became of sent messages, not
# decisions (a campaign is done once every recipient has a decision, whatever SES says later).
FEEDBACK_COUNTERS = frozenset({"delivered", "bounced", "complained"})
REF_HEADER = "x-dangol-ref"
_CAMPAIGN = re.compile(CAMPAIGN_ID_PATTERN)
_CUSTOMER = re.compile(CUSTOMER_ID_PATTERN)


@dataclass(frozen=True)
class Feedback:
    """One SES event about one of our e-mails: the counter it adds 1 to, and the event to publish."""

    message_id: str  # SES's, with the event type the key: the same event delivered twice has it
    event_type: str
    campaign_id: str
    customer_id: str
    run: int | None
    counter: str
    at: dt.datetime
    event: EmailUndeliverable | None = None


def reference(event: SesEvent) -> tuple[str, str, int | None] | None:
    """(campaign id, customer id, run) of the e-mail, from its tags, else its header; None if it
    carries no valid reference (not a campaign's e-mail)."""
    tags = {name: values[0] for name, values in event.mail.tags.items() if values}
    campaign_id, customer_id, run = tags.get("campaign"), tags.get("customer"), tags.get("run")
    if not (campaign_id and customer_id):
        header = next((h.value for h in event.mail.headers if h.name.lower() == REF_HEADER), None)
        parts = header.strip().split("/") if header else []
        if len(parts) != 3:  # campaign/customer/run
            return None
        campaign_id, customer_id, run = parts
    if not (_CAMPAIGN.fullmatch(campaign_id) and _CUSTOMER.fullmatch(customer_id)):
        return None
    return campaign_id, customer_id, int(run) if run and run.isdigit() else None


def read(event: SesEvent, *, now: dt.datetime) -> Feedback | None:
    """The feedback an SES event gives, or None: not one of ours, or nothing to count."""
    found = reference(event)
    if found is None:
        return None
    campaign_id, customer_id, run = found
    key = (event.mail.message_id, event.event_type)
    if event.event_type == "Delivery":
        at = event.delivery.timestamp if event.delivery else now
        return Feedback(*key, campaign_id, customer_id, run, "delivered", at)
    if event.event_type == "Bounce":
        if event.bounce is None or event.bounce.bounce_type != "Permanent":
            return None  # SES retries a transient bounce; only a permanent one is final
        at = event.bounce.timestamp
        undeliverable = EmailUndeliverable(customer_id=customer_id, reason="bounce", at=at)
        return Feedback(*key, campaign_id, customer_id, run, "bounced", at, undeliverable)
    if event.event_type == "Complaint":
        at = event.complaint.timestamp if event.complaint else now
        undeliverable = EmailUndeliverable(customer_id=customer_id, reason="complaint", at=at)
        return Feedback(*key, campaign_id, customer_id, run, "complained", at, undeliverable)
    return None  # a type the destination does not publish to us
