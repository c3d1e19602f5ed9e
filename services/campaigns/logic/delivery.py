"""The sending machine: runs start, the planner pages the audience into batches, the sender
decides for each recipient, the releaser brings back what was deferred.

- **A run starts** (``start_run``): one planner chain per ``CHAIN_SIZE`` recipients (1 to 16),
  each over its share of the segment's member shards, its first step queued.
- **The planner** (``plan_step``) reads up to ``PLAN_PAGE`` members from its chain's shards and
  queues them as batches of ``RECIPIENTS_PER_MESSAGE``, ten to a ``SendMessageBatch``, delayed
  by the campaign's priority; then it records the step, on condition that no other delivery of
  the same step did (a redelivered step queues the same batches again; the sender's claims make
  that harmless), counts the audience, and queues the chain's next step.
- **The sender** (``deliver``) decides for each recipient at send time (``logic.sending``):
  claim, then send, then record. A line that was claimed and never recorded (a crash between the
  two) is recorded ``failed`` (``interrupted``), never sent again: at most one send per campaign
  run and customer.
- **The releaser** (``release``), every minute: the runs due and the recipients deferred to each
  minute since it last looked go to the planner and the sender.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.campaigns.logic import campaigns as lifecycle
from services.campaigns.logic.addressing import first_name
from services.campaigns.logic.offers import OFFERED, message_context, offer_id
from services.campaigns.logic.results import exposure_counters
from services.campaigns.logic.sending import (
    Sending,
    Verdict,
    cap_periods,
    decide,
    priority_delay_s,
    zone_of,
)
from services.campaigns.models.campaigns import DECISIONS, SendRecurring
from services.campaigns.models.cards import CardPurpose, ContactCard
from services.campaigns.models.templates import Rendered, TemplateDefinition

RECIPIENTS_PER_MESSAGE = 50
PLAN_PAGE = 5000  # recipients a planner step queues: 100 batches, ten SendMessageBatch calls
MEMBER_SHARDS = 16
CHAIN_SIZE = 100_000  # recipients per planner chain: a larger audience is planned by chains side by side
PAUSED_RECHECK = dt.timedelta(minutes=5)
MAX_RELEASE_HOURS = 48  # hours one release looks at after a long pause; the next goes on from there
RELEASE_LEASE_S = 60  # the releaser's timeout
# Minutes before the cursor that each release looks at again: an item written just after its minute
# was released (a writer whose clock is a little behind, a write that raced the release) still
# goes. What was released is deleted, so a second look finds only what came late.
RELEASE_LOOKBACK = dt.timedelta(minutes=5)


class Store(Protocol):
    def get(self, campaign_id: str) -> dict[str, Any] | None: ...
    def set_status(self, campaign_id: str, status: str, *, when: Iterable[str], **fields: Any) -> bool: ...
    def add_counts(self, campaign_id: str, deltas: Mapping[str, int]) -> None: ...
    def counts(self, campaign_id: str) -> dict[str, int]: ...
    def planned(self, campaign_id: str, runs: int) -> bool: ...
    def record_run(self, campaign_id: str, run: int, at: dt.datetime, *, chains: int) -> bool: ...
    def advance_plan(
        self, campaign_id: str, run: int, chain: int, *, step: int, done: bool, planned: int
    ) -> bool: ...
    def log_lines(
        self, campaign_id: str, run: int, customer_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]: ...
    def claim(self, campaign_id: str, run: int, customer_id: str, at: dt.datetime) -> bool: ...
    def unclaim(self, campaign_id: str, run: int, customer_id: str) -> None: ...
    def decide(
        self,
        campaign_id: str,
        run: int,
        customer_id: str,
        *,
        decision: str,
        reason: str | None,
        at: dt.datetime,
        message_id: str | None = None,
        until: dt.datetime | None = None,
        claimed: bool = False,
        provider: str | None = None,
        context: str | None = None,
    ) -> bool: ...
    def due_run(self, campaign_id: str, run: int, at: dt.datetime) -> None: ...
    def defer(self, campaign_id: str, run: int, customer_ids: Sequence[str], until: dt.datetime) -> None: ...
    def due_between(self, first: str, last: str) -> list[dict[str, Any]]: ...
    def forget_due(self, items: Sequence[dict[str, Any]]) -> None: ...
    def release_cursor(self) -> str | None: ...
    def move_release_cursor(self, minute: str) -> None: ...
    def take_release_lease(self, seconds: int) -> bool: ...
    def drop_release_lease(self) -> None: ...
    def take_cap(
        self, customer_id: str, periods: Sequence[tuple[str, int, int]], at: dt.datetime
    ) -> bool: ...


class Members(Protocol):
    def count(self, segment_id: str) -> int: ...
    def members(
        self, segment_id: str, *, shard: int, after: str | None, limit: int
    ) -> tuple[list[str], str | None]: ...


class Work(Protocol):
    def plan_steps(self, steps: Sequence[Mapping[str, Any]]) -> None: ...
    def batches(
        self, campaign_id: str, run: int, recipients: Sequence[Sequence[str]], *, delay_s: int
    ) -> None: ...


class Cards(Protocol):
    def cards(self, customer_ids: Sequence[str], purpose: CardPurpose) -> list[ContactCard]: ...


class Templates(Protocol):
    def definition(self, template_id: str, version: int) -> TemplateDefinition | None: ...


class Facts(Protocol):
    """What the campaigns' own view adds to a card for personalisation (tier, points)."""

    def facts(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...


class ChannelRefused(Exception):
    """The channel will not take this message (a bad address, a disabled device, suppressed):
    final, ``failed`` with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Notices(Protocol):
    """What the sender learns of a customer's channels, for their owner (the profile service)."""

    def push_token_disabled(
        self, campaign_id: str, run: int, customer_id: str, device_id: str, at: dt.datetime
    ) -> None:
        """Announce it once per campaign run, customer and device however often it is called."""
        ...


class Aftermath(Protocol):
    """What follows a recipient's final decision: the exposure a conversion is measured from (the
    message sent, or held back for the control group), and the offer that waits at login."""

    def exposed(
        self,
        campaign_id: str,
        run: int,
        customer_id: str,
        *,
        group: str,
        at: dt.datetime,
        attribution_days: int,
    ) -> bool: ...

    def offered(self, campaign: Mapping[str, Any], run: int, customer_id: str, at: dt.datetime) -> None: ...


DISABLED_PREFIX = "endpoint_disabled:"  # a ChannelRefused reason: the device's push token is dead


class Channels(Protocol):
    def send(
        self, rendered: Rendered, card: ContactCard, *, unsubscribe_url: str | None, ref: str
    ) -> tuple[str, str]:
        """(provider, message id); ``ChannelRefused`` when final, any other error when it may
        succeed on a retry (then surely not sent)."""
        ...


class Pacer:
    """At most ``rate_per_s`` sends a second from one sender: the campaign's whole rate is this
    times the sender's concurrency (``topology.SENDER``), set under the SES account's quota."""

    def __init__(
        self,
        rate_per_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate_per_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._next = 0.0

    def __call__(self) -> None:
        now = self._monotonic()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


@dataclass(frozen=True)
class Caps:
    daily: int = 1
    weekly: int = 3


def cap_counters(caps: Caps, card: ContactCard, now: dt.datetime) -> list[tuple[str, int, int]]:
    """The frequency caps a marketing message counts against now: ``(period key, cap, ttl days)``
    for the customer's local day and ISO week (``Store.take_cap`` takes one of each, all or none)."""
    day, week = cap_periods(card, now)
    return [(f"D#{day}", caps.daily, 2), (f"W#{week}", caps.weekly, 9)]


# -- runs and the planner ------------------------------------------------------------------------


def chains_for(audience: int) -> int:
    """How many planner chains run side by side: one per ``CHAIN_SIZE`` recipients, a power of
    two up to the member shards (each chain takes every n-th shard)."""
    wanted, chains = max(1, -(-audience // CHAIN_SIZE)), 1
    while chains < wanted and chains < MEMBER_SHARDS:
        chains *= 2
    return chains


def start_run(
    store: Store, work: Work, campaign: Mapping[str, Any], run: int, *, audience: int, at: dt.datetime
) -> bool:
    """Record a run and queue its first planner steps (``chains_for(audience)`` of them, each over
    its share of the member shards); False: it had started."""
    campaign_id = str(campaign["id"])
    chains = chains_for(audience)
    if not store.record_run(campaign_id, run, at, chains=chains):
        return False
    work.plan_steps(
        [
            {
                "campaign_id": campaign_id,
                "run": run,
                "chain": c,
                "step": 0,
                "positions": {str(s): None for s in range(c, MEMBER_SHARDS, chains)},
            }
            for c in range(chains)
        ]
    )
    return True


class RunStarter:
    """``logic.campaigns.Runs``: a launch starts its first run now, or makes it due."""

    def __init__(self, store: Store, members: Members, work: Work) -> None:
        self.store = store
        self.members = members
        self.work = work

    def start(self, campaign: Mapping[str, Any], run: int, *, at: dt.datetime) -> bool:
        audience = self.members.count(str(campaign["segment_id"]))
        return start_run(self.store, self.work, campaign, run, audience=audience, at=at)

    def due(self, campaign_id: str, run: int, at: dt.datetime) -> None:
        self.store.due_run(campaign_id, run, at)


def plan_step(
    store: Store,
    members: Members,
    work: Work,
    campaign_id: str,
    *,
    run: int,
    chain: int,
    step: int,
    positions: Mapping[str, str | None],
    priority_step_s: int = 2,
) -> int | None:
    """Up to ``PLAN_PAGE`` members from the chain's shards (in turn, from where the last step
    left each) into batches, ten to a ``SendMessageBatch``; then the chain's next step. How many
    recipients (None: nothing to do, or another delivery of this step did it)."""
    campaign = store.get(campaign_id)
    if campaign is None or campaign["status"] in ("draft", "cancelled"):
        return None
    left = {int(k): v for k, v in positions.items()}
    ids: list[str] = []
    for shard in sorted(left):
        while len(ids) < PLAN_PAGE:
            got, last = members.members(
                str(campaign["segment_id"]), shard=shard, after=left[shard], limit=PLAN_PAGE - len(ids)
            )
            ids += got
            if last is None:
                del left[shard]
                break
            left[shard] = last
        if len(ids) >= PLAN_PAGE:
            break
    chunks = [ids[i : i + RECIPIENTS_PER_MESSAGE] for i in range(0, len(ids), RECIPIENTS_PER_MESSAGE)]
    if chunks:
        delay = priority_delay_s(int(campaign["priority"]), step_s=priority_step_s)
        work.batches(campaign_id, run, chunks, delay_s=delay)
    if not store.advance_plan(campaign_id, run, chain, step=step, done=not left, planned=len(ids)):
        return None  # another delivery of this step planned it (its batches are claimed once)
    if left:
        following = {str(k): v for k, v in left.items()}
        work.plan_steps(
            [
                {
                    "campaign_id": campaign_id,
                    "run": run,
                    "chain": chain,
                    "step": step + 1,
                    "positions": following,
                }
            ]
        )
    return len(ids)


# -- the sender -----------------------------------------------------------------------------------


def sending_of(campaign: Mapping[str, Any], run: int) -> Sending:
    schedule = campaign.get("schedule") or {}
    local = None
    if schedule.get("kind") == "local_time":
        local = (dt.date.fromisoformat(schedule["date"]), dt.time.fromisoformat(schedule["time"]))
    return Sending(
        campaign_id=str(campaign["id"]),
        run=run,
        channel=str(campaign["channel"]),
        purpose=str(campaign.get("purpose", "marketing")),
        priority=int(campaign["priority"]),
        control_percent=int(campaign["control_percent"]),
        local_time=local,
    )


def _context(
    card: ContactCard,
    facts: Mapping[str, Any],
    brand: str,
    *,
    trigger: Mapping[str, Any] | None = None,
    offer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    name = card.name or ""
    return {
        "trigger": {**TRIGGER_BLANK, **(trigger or {})},
        "offer": dict(offer or message_context(None, "", dt.date.min)),
        "customer": {
            "name": name,
            "first_name": first_name(name) or name,
            "tier": facts.get("tier") or "",
            "points": int(facts.get("points") or 0),
            "usual": card.usual or "",
        },
        "brand": brand,
    }


TRIGGER_BLANK: dict[str, Any] = {
    "kind": "",
    "years": 0,
    "occurs_on": "",
    "tier": "",
    "previous": "",
    "tier_name": "",
    "perks": "",
    "earn_multiplier_pct": 0,
    "points": 0,
    "expires_on": "",
    "minutes": 0,
    "draw": 0,
}


def message_extra(
    campaign: Mapping[str, Any], run: int, card: ContactCard, context: str | None, now: dt.datetime
) -> dict[str, Any]:
    """What a message may say beyond the customer: the trigger's facts, the offer."""
    offer = campaign.get("offer")
    extra: dict[str, Any] = {"trigger": json.loads(context) if context else {}}
    if offer:
        expires = (now + dt.timedelta(days=int(offer.get("valid_days") or 14))).astimezone(zone_of(card))
        extra["offer"] = message_context(
            offer, offer_id(str(campaign["id"]), card.customer_id, run), expires.date()
        )
    return extra


def rendered_for(
    sending: Sending,
    template: TemplateDefinition | None,
    card: ContactCard,
    facts: Mapping[str, Any],
    extra: Mapping[str, Any],
) -> Rendered | str:
    """The message as this customer would get it, or why it cannot be made: the reason a
    ``failed`` line records (``template_missing``, ``render_error:<kind>``)."""
    if template is None:
        return "template_missing"
    from services.campaigns.logic.templates import render  # noqa: PLC0415 - liquid: only where it renders

    try:
        return render(
            template,
            locale=card.locale,
            context=_context(
                card, facts, template.sender, trigger=extra.get("trigger"), offer=extra.get("offer")
            ),
            time_zone=card.time_zone or "Asia/Seoul",
            unsubscribe_url=card.unsubscribe_urls.get(f"{sending.channel}.{sending.purpose}"),
        )
    except Exception as bad:
        return f"render_error:{type(bad).__name__}"


@dataclass
class Delivery:
    """What a batch did: counters to add, and recipients whose send may succeed on a retry."""

    counts: Counter[str]
    retry: list[str]


class Sender:
    def __init__(
        self,
        store: Store,
        cards: Cards,
        templates: Templates,
        facts: Facts,
        channels: Channels,
        *,
        caps: Caps = Caps(),
        pace: Callable[[], None] = lambda: None,
        notices: Notices | None = None,
        aftermath: Aftermath | None = None,
    ) -> None:
        self.notices = notices
        self.aftermath = aftermath
        self.store = store
        self.cards = cards
        self.templates = templates
        self.facts = facts
        self.channels = channels
        self.caps = caps
        self.pace = pace

    def deliver(self, campaign_id: str, run: int, recipients: Sequence[str], *, now: dt.datetime) -> Delivery:
        done = Delivery(Counter(), [])
        campaign = self.store.get(campaign_id)
        if campaign is None or campaign["status"] in ("draft", "cancelled", "done"):
            return done  # nothing more is sent for it
        if campaign["status"] == "paused":  # held, not decided: back when it may have resumed
            self.store.defer(campaign_id, run, recipients, now + PAUSED_RECHECK)
            return done
        lines = self.store.log_lines(campaign_id, run, recipients)
        todo: list[str] = []
        was_deferred: set[str] = set()
        contexts: dict[str, str] = {}
        for customer_id in dict.fromkeys(recipients):
            line = lines.get(customer_id)
            if line is None:
                todo.append(customer_id)
            elif line.get("state") == "claimed":  # claimed, never recorded: the send's fate is unknown
                if self.store.decide(
                    campaign_id,
                    run,
                    customer_id,
                    decision="failed",
                    reason="interrupted",
                    at=now,
                    claimed=True,
                ):
                    done.counts["failed"] += 1
                    self._follow(campaign, run, customer_id, "failed", now, done)
            elif line.get("decision") == "deferred":
                until = dt.datetime.fromisoformat(str(line["deferred_until"]))
                if until <= now:
                    todo.append(customer_id)
                    was_deferred.add(customer_id)
                    if line.get("context"):
                        contexts[customer_id] = str(line["context"])
        if todo:
            self._decide_all(
                campaign, run=run, todo=todo, was_deferred=was_deferred, contexts=contexts, now=now, done=done
            )
        self.store.add_counts(campaign_id, done.counts)
        self._maybe_finish(campaign, now)
        return done

    def _decide_all(
        self,
        campaign: Mapping[str, Any],
        *,
        run: int,
        todo: list[str],
        was_deferred: set[str],
        contexts: Mapping[str, str],
        now: dt.datetime,
        done: Delivery,
    ) -> None:
        sending = sending_of(campaign, run)
        template = self.templates.definition(
            str(campaign["template_id"]), int(campaign.get("template_version") or 1)
        )
        cards = {c.customer_id: c for c in self.cards.cards(todo, "send")}
        facts = self.facts.facts(todo)
        deferred: dict[dt.datetime, list[str]] = defaultdict(list)
        for customer_id in todo:
            card = cards.get(customer_id) or ContactCard(customer_id=customer_id, status="unknown")
            verdict = decide(sending, card, now)
            context = contexts.get(customer_id)
            if verdict.decision is None:
                sent = self._send(
                    sending,
                    template=template,
                    card=card,
                    facts=facts.get(customer_id, {}),
                    extra=message_extra(campaign, run, card, context, now),
                    now=now,
                    done=done,
                )
                if sent is not None:  # None: another delivery has it, or a retry will
                    self._count(done, sent, customer_id in was_deferred, recorded=True)
                    self._follow(campaign, run, customer_id, str(sent.decision), now, done)
                continue
            recorded = self.store.decide(
                sending.campaign_id,
                run,
                customer_id,
                decision=str(verdict.decision),
                reason=verdict.reason,
                at=now,
                until=verdict.until,
                context=context if verdict.decision == "deferred" else None,
            )
            if recorded and verdict.decision != "deferred":
                self._follow(campaign, run, customer_id, str(verdict.decision), now, done)
            if verdict.decision == "deferred" and verdict.until is not None:
                deferred[verdict.until].append(customer_id)
            self._count(done, verdict, customer_id in was_deferred, recorded=recorded)
        for until, ids in deferred.items():
            self.store.defer(sending.campaign_id, run, ids, until)

    def _follow(  # noqa: PLR0917 - the recipient's decision and where it goes
        self,
        campaign: Mapping[str, Any],
        run: int,
        customer_id: str,
        decision: str,
        now: dt.datetime,
        done: Delivery,
    ) -> None:
        """After a final decision: the exposure (sent: ``t``; control: ``c``), counted with the
        batch's decisions, and the offer."""
        if self.aftermath is None:
            return
        if decision in ("sent", "control"):
            group = "t" if decision == "sent" else "c"
            if self.aftermath.exposed(
                str(campaign["id"]),
                run,
                customer_id,
                group=group,
                at=now,
                attribution_days=int(campaign.get("attribution_days") or 7),
            ):
                for name in exposure_counters(group, now):
                    done.counts[name] += 1
        if campaign.get("offer") and decision in OFFERED:
            self.aftermath.offered(campaign, run, customer_id, now)

    @staticmethod
    def _count(done: Delivery, verdict: Verdict, was_deferred: bool, *, recorded: bool) -> None:
        if not recorded:
            return
        if verdict.decision == "deferred":
            if not was_deferred:
                done.counts["deferred"] += 1
            return
        done.counts[str(verdict.decision)] += 1
        if was_deferred:
            done.counts["deferred"] -= 1

    def _send(
        self,
        sending: Sending,
        *,
        template: TemplateDefinition | None,
        card: ContactCard,
        facts: Mapping[str, Any],
        extra: Mapping[str, Any],
        now: dt.datetime,
        done: Delivery,
    ) -> Verdict | None:
        """Claim, take the cap, render, send, record: the verdict recorded. None when another
        delivery holds the claim, or when the channel failed in a way a retry may mend (the
        claim is given back and the recipient is left for the batch's retry)."""
        campaign_id, run, customer_id = sending.campaign_id, sending.run, card.customer_id
        if not self.store.claim(campaign_id, run, customer_id, now):
            return None
        if not sending.transactional and not self.store.take_cap(
            customer_id, cap_counters(self.caps, card, now), now
        ):
            self.store.decide(
                campaign_id,
                run,
                customer_id,
                decision="capped",
                reason="frequency_cap",
                at=now,
                claimed=True,
            )
            return Verdict("capped", "frequency_cap")
        outcome = self._dispatch(sending, template, card, facts, extra)
        if outcome is None:
            self.store.unclaim(campaign_id, run, customer_id)
            done.retry.append(customer_id)
            return None
        provider, message_id, reason = outcome
        decision = "sent" if message_id else "failed"
        if reason and reason.startswith(DISABLED_PREFIX) and self.notices is not None:
            # Before the decision: a crash between the two leaves the line claimed (recorded
            # ``interrupted`` on the retry) and the notice written; its id makes a second one the same.
            device_id = reason.removeprefix(DISABLED_PREFIX)
            self.notices.push_token_disabled(campaign_id, run, customer_id, device_id, now)
        self.store.decide(
            campaign_id,
            run,
            customer_id,
            decision=decision,
            reason=reason,
            at=now,
            message_id=message_id,
            provider=provider,
            claimed=True,
        )
        return Verdict(decision, reason)  # type: ignore[arg-type]

    def _dispatch(
        self,
        sending: Sending,
        template: TemplateDefinition | None,
        card: ContactCard,
        facts: Mapping[str, Any],
        extra: Mapping[str, Any],
    ) -> tuple[str | None, str | None, str | None] | None:
        """(provider, message id, reason): a message id when sent, a reason when refused; None
        when the channel failed in a way a retry may mend."""
        rendered = rendered_for(sending, template, card, facts, extra)
        if isinstance(rendered, str):
            return None, None, rendered
        self.pace()
        try:
            provider, message_id = self.channels.send(
                rendered,
                card,
                unsubscribe_url=card.unsubscribe_urls.get(f"{sending.channel}.{sending.purpose}"),
                ref=f"{sending.campaign_id}/{card.customer_id}/{sending.run}",
            )
        except ChannelRefused as refused:
            return None, None, refused.reason
        except Exception:
            return None
        return provider, message_id, None

    def _maybe_finish(self, campaign: Mapping[str, Any], now: dt.datetime) -> None:
        """``sending`` → ``done`` (or back to ``scheduled`` for a recurring one with a run due)
        once every planned recipient has a final decision."""
        if campaign["status"] != "sending":
            return
        campaign_id, runs = str(campaign["id"]), int(campaign.get("runs") or 1)
        if not self.store.planned(campaign_id, runs):
            return
        counts = self.store.counts(campaign_id)
        decided = sum(v for k, v in counts.items() if k in DECISIONS and k != "deferred")
        if decided < counts.get("audience", 0) or counts.get("deferred", 0) > 0:
            return
        following = "scheduled" if campaign.get("next_run_at") else "done"
        self.store.set_status(campaign_id, following, when=("sending",), finished_at=now.isoformat())


# -- the releaser -----------------------------------------------------------------------------------


def _minute(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


def _at_minute(minute: str) -> dt.datetime:
    return dt.datetime.strptime(minute, "%Y%m%d%H%M").replace(tzinfo=dt.UTC)


DrawsDue = Callable[[str, int, dt.datetime], None]  # (gift, draw, now): its entries have closed


def release(
    store: Store,
    members: Members,
    work: Work,
    *,
    clock: Callable[[], dt.datetime],
    priority_step_s: int = 2,
    draws: DrawsDue | None = None,
) -> int:
    """Everything due from the minute after the cursor (less ``RELEASE_LOOKBACK``, for what came
    late) up to now, an hour's partition at a time (at most ``MAX_RELEASE_HOURS`` of them; the
    next release goes on from there); one release at a time. A release that finds the minute
    has moved on while it worked goes on to it: the firings it kept out (they found the lease
    taken) are not lost. How many items it released."""
    if not store.take_release_lease(RELEASE_LEASE_S):
        return 0  # another release is at it: it goes on to this minute when it is done
    try:
        cursor = store.release_cursor()
        now = clock()
        current = _at_minute(_minute(now))
        start = _at_minute(cursor) + dt.timedelta(minutes=1) - RELEASE_LOOKBACK if cursor else current
        released = 0
        for _ in range(MAX_RELEASE_HOURS):
            if start > current:
                now = clock()
                current = _at_minute(_minute(now))
                if start > current:
                    break
            end = min(current, start.replace(minute=59))
            items = store.due_between(_minute(start), _minute(end))
            released += _release_items(
                store, members, work, items, now=now, priority_step_s=priority_step_s, draws=draws
            )
            store.forget_due(items)
            store.move_release_cursor(_minute(end))
            start = end + dt.timedelta(minutes=1)
        return released
    finally:
        store.drop_release_lease()


def _release_items(
    store: Store,
    members: Members,
    work: Work,
    items: Sequence[dict[str, Any]],
    *,
    now: dt.datetime,
    priority_step_s: int,
    draws: DrawsDue | None,
) -> int:
    recipients: dict[tuple[str, int], list[str]] = defaultdict(list)
    for item in items:
        if item.get("kind") == "draw":
            if draws is not None:
                draws(str(item["gift_id"]), int(item["draw"]), now)
            continue
        campaign_id, run = str(item["campaign_id"]), int(item["run"])
        if item.get("kind") == "run":
            _start_due_run(store, members, work, campaign_id, run, now=now)
        else:
            recipients[(campaign_id, run)].append(str(item["customer_id"]))
    for (campaign_id, run), ids in recipients.items():
        campaign = store.get(campaign_id)
        if campaign is None:
            continue
        chunks = [ids[i : i + RECIPIENTS_PER_MESSAGE] for i in range(0, len(ids), RECIPIENTS_PER_MESSAGE)]
        delay = priority_delay_s(int(campaign["priority"]), step_s=priority_step_s)
        work.batches(campaign_id, run, chunks, delay_s=delay)
    return len(items)


def _start_due_run(
    store: Store, members: Members, work: Work, campaign_id: str, run: int, *, now: dt.datetime
) -> None:
    campaign = store.get(campaign_id)
    if campaign is None or campaign["status"] in ("cancelled", "done", "draft"):
        return
    if campaign["status"] == "paused":
        store.due_run(campaign_id, run, now + PAUSED_RECHECK)
        return
    following: dt.datetime | None = None
    schedule = campaign.get("schedule") or {}
    if schedule.get("kind") == "recurring":
        following = lifecycle.next_recurrence(SendRecurring.model_validate(schedule), now)
        if following is not None:
            store.due_run(campaign_id, run + 1, following)
    audience = members.count(str(campaign["segment_id"]))
    if start_run(store, work, campaign, run, audience=audience, at=now):
        store.set_status(
            campaign_id,
            "sending",
            when=("scheduled", "sending"),
            runs=run,
            next_run_at=following.isoformat() if following else None,
        )
