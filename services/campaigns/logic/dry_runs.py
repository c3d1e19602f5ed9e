"""A campaign's dry run: what launching it now would do, and nothing written.

It answers with the numbers a marketer checks before pressing launch (how many the segment has
now, how many the control group holds back) and, for a sample of them, the decision the sender
would make at this moment: the same ``logic.sending.decide`` on the same contact card (the profile
service's, asked for the way the sender asks), the same frequency caps (``delivery.cap_counters``,
looked at, never taken) and the same rendering (``delivery.rendered_for``). Where the sender would
claim, take a cap, log, count and send, a dry run only reads: a run of it leaves the table as it
found it.

What it cannot know, it does not pretend to: a channel's own refusal (a bounce, a dead push token)
comes only from sending (``send`` is as far as it sees), and a triggered campaign's audience is
whoever its event concerns when it comes (no count; no sample).

A customer already decided in a run under way is decided again here as if fresh: the dry run
answers "what would the sender decide for them now", not "what did it".
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.campaigns.logic import campaigns as lifecycle
from services.campaigns.logic.delivery import (
    MEMBER_SHARDS,
    Caps,
    Cards,
    Facts,
    Members,
    Templates,
    cap_counters,
    message_extra,
    rendered_for,
    sending_of,
)
from services.campaigns.logic.sending import Sending, Verdict, address_of, decide, in_control
from services.campaigns.models.cards import ContactCard
from services.campaigns.models.dry_runs import DryDecision, DryRun, DryRunAudience, DryRunLine
from services.campaigns.models.templates import Rendered, TemplateDefinition
from shared.errors import Conflict, NotFound

# Members paged to count the control group exactly (the planner's page; 16 shard queries or a few
# more). A larger audience's control group is its percent, rounded (``control_exact`` false).
EXACT_LIMIT = 5000
PREVIEW_CHARS = 60  # an SMS's first words


class Campaigns(Protocol):
    def get(self, campaign_id: str) -> dict[str, Any] | None: ...


class CapReader(Protocol):
    def cap_room(self, wanted: Mapping[str, Sequence[tuple[str, int, int]]]) -> dict[str, bool]: ...


class TemplateSource(Templates, Protocol):
    """A template's version in force (a draft pins none yet) and a version's definition."""

    def get(self, template_id: str) -> Mapping[str, Any] | None: ...


@dataclass(frozen=True)
class Sources:
    """Everything a dry run reads, and nothing it could write with."""

    campaigns: Campaigns
    members: Members
    cards: Cards
    templates: TemplateSource
    facts: Facts
    caps: CapReader


def dry_run(sources: Sources, campaign_id: str, *, sample: int, caps: Caps, now: dt.datetime) -> DryRun:
    """404 ``campaign_not_found``; 409 ``campaign_ended`` for a campaign that sends nothing more."""
    campaign = _runnable(sources.campaigns, campaign_id)
    schedule = campaign.get("schedule") or {}
    if schedule.get("kind") == "trigger":
        event = str((schedule.get("trigger") or {}).get("event") or "")
        audience = DryRunAudience(
            kind="trigger", count=None, segment_id=campaign.get("segment_id"), trigger=event
        )
        return _answer(campaign, now, audience, control=None, exact=True, lines=[])
    segment_id = str(campaign["segment_id"])
    ids, complete = page_members(sources.members, segment_id, most=EXACT_LIMIT)
    percent = int(campaign["control_percent"])
    if complete:
        count, control = len(ids), sum(in_control(campaign_id, c, percent) for c in ids)
    else:
        count = sources.members.count(segment_id)
        control = round(count * percent / 100)
    audience = DryRunAudience(kind="segment", count=count, segment_id=segment_id)
    lines = decide_sample(sources, campaign, ids[:sample], caps=caps, now=now)
    return _answer(campaign, now, audience, control=control, exact=complete, lines=lines)


def _runnable(campaigns: Campaigns, campaign_id: str) -> dict[str, Any]:
    campaign = campaigns.get(campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", code="campaign_not_found")
    status = str(campaign["status"])
    if status in lifecycle.FINAL:
        raise Conflict(
            f"A {status} campaign sends nothing more: there is nothing to dry-run.",
            code="campaign_ended",
            details=[{"loc": ["status"], "msg": status, "type": "current_state"}],
        )
    return campaign


def page_members(members: Members, segment_id: str, *, most: int) -> tuple[list[str], bool]:
    """The segment's members shard by shard, as the planner pages them, up to ``most``; True when
    that is all of them."""
    ids: list[str] = []
    for shard in range(MEMBER_SHARDS):
        after: str | None = None
        while True:
            got, after = members.members(segment_id, shard=shard, after=after, limit=most + 1 - len(ids))
            ids += got
            if len(ids) > most:
                return ids[:most], False
            if after is None:
                break
    return ids, True


def decide_sample(
    sources: Sources,
    campaign: Mapping[str, Any],
    customer_ids: Sequence[str],
    *,
    caps: Caps,
    now: dt.datetime,
) -> list[DryRunLine]:
    """The sender's decision for each customer now (``Sender._decide_all`` without its writes)."""
    if not customer_ids:
        return []
    run = int(campaign.get("runs") or 0) or 1
    sending = sending_of(campaign, run)
    found = {c.customer_id: c for c in sources.cards.cards(customer_ids, "send")}
    cards = [found.get(c) or ContactCard(customer_id=c, status="unknown") for c in customer_ids]
    verdicts = {c.customer_id: decide(sending, c, now) for c in cards}
    room = _cap_room(sources.caps, sending, cards, verdicts, caps=caps, now=now)
    template = _template(sources.templates, campaign)
    facts = sources.facts.facts(list(customer_ids))
    lines = []
    for card in cards:
        verdict = verdicts[card.customer_id]
        if verdict.decision is None and not room.get(card.customer_id, True):
            verdict = Verdict("capped", "frequency_cap")
        rendered: Rendered | str | None = None
        if verdict.decision in (None, "deferred"):  # those who would get it, now or later
            extra = message_extra(campaign, run, card, None, now)
            rendered = rendered_for(sending, template, card, facts.get(card.customer_id, {}), extra)
        lines.append(_line(sending, card, verdict, rendered))
    return lines


def _cap_room(
    reader: CapReader,
    sending: Sending,
    cards: Sequence[ContactCard],
    verdicts: Mapping[str, Verdict],
    *,
    caps: Caps,
    now: dt.datetime,
) -> dict[str, bool]:
    """Whether each customer who would be sent to has room under the caps (a service message is
    never capped): read in one batch."""
    if sending.transactional:
        return {}
    wanted = {
        c.customer_id: cap_counters(caps, c, now) for c in cards if verdicts[c.customer_id].decision is None
    }
    return reader.cap_room(wanted) if wanted else {}


def _template(templates: TemplateSource, campaign: Mapping[str, Any]) -> TemplateDefinition | None:
    """The version the sender would render: pinned at launch, or (a draft) the one in force."""
    template_id = str(campaign["template_id"])
    version = campaign.get("template_version")
    if not version:
        current = templates.get(template_id)
        version = current.get("version") if current else None
    return templates.definition(template_id, int(version)) if version else None


def _line(
    sending: Sending, card: ContactCard, verdict: Verdict, rendered: Rendered | str | None
) -> DryRunLine:
    decision: DryDecision = "send" if verdict.decision is None else verdict.decision  # type: ignore[assignment]
    reason = verdict.reason
    if isinstance(rendered, str):  # the message cannot be made: the sender would log it failed
        if decision == "send":
            decision, reason = "failed", rendered
        rendered = None
    reachable = card.status == "active"
    return DryRunLine(
        customer_id=card.customer_id,
        decision=decision,
        reason=reason,
        until=verdict.until,
        channel=sending.channel,
        address=masked(sending.channel, address_of(sending.channel, card)) if reachable else None,
        locale=rendered.locale if rendered else None,
        preview=preview_of(rendered) if rendered else None,
    )


def masked(channel: str, address: str | None) -> str | None:
    """Enough to recognise an address, not to use it: ``j***@example.com``, ``***5678``."""
    if not address:
        return None
    if channel == "email":
        local, at, domain = address.partition("@")
        return f"{local[:1]}***{at}{domain}" if at else "***"
    return f"***{address[-4:]}" if len(address) > 4 else "***"


def preview_of(rendered: Rendered) -> str | None:
    """The message's first line: an e-mail's subject, a push's title, an SMS's first words."""
    if rendered.subject or rendered.title:
        return rendered.subject or rendered.title
    text = " ".join((rendered.body or rendered.text or "").split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _answer(
    campaign: Mapping[str, Any],
    now: dt.datetime,
    audience: DryRunAudience,
    *,
    control: int | None,
    exact: bool,
    lines: list[DryRunLine],
) -> DryRun:
    return DryRun(
        campaign_id=str(campaign["id"]),
        status=str(campaign["status"]),
        channel=str(campaign["channel"]),
        purpose=str(campaign.get("purpose", "marketing")),
        at=now,
        audience=audience,
        control=control,
        control_percent=int(campaign["control_percent"]),
        control_exact=exact,
        sample=lines,
        summary=dict(Counter(line.decision for line in lines)),
    )
