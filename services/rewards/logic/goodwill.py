"""Goodwill: points an agent grants a customer, from the staff route or on a complaint case (the
feedback service's ``GoodwillRequested``). No boto3 here: the ledger store is passed in.

Both go through ``ledger.adjust`` with the agent's allowance for one UTC day: ONE counter per agent
and day (``AGENT#<agent>/GOODWILL#<day>``), so the route's grants and the cases' share one daily
limit. A case's grant is answered once, whatever is redelivered:

- credited under the ledger source ``goodwill:<grant_id>``, the case on the entry, and
  ``GoodwillCredited`` written to the outbox in the same transaction as the credit;
- or refused (the limit, no account, an erased customer): the same source is claimed with the
  refusal and ``GoodwillRefused`` written to the outbox in one transaction, so that the grant is
  never credited after (the claim's key is the credit's);
- a redelivery finds the claim and publishes nothing: the first answer is the only one (an answer
  whose publication failed is published by the outbox sweep).

A refusal is an answer, not an error: the consumer logs it and the message is consumed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from services.rewards.logic import ledger
from services.rewards.models import inbound
from services.rewards.models.events import GoodwillCredited, GoodwillRefusal, GoodwillRefused
from services.rewards.models.ledger import Claim, Entry
from shared.errors import DangolError

GOODWILL_VALID = timedelta(days=365)  # a goodwill lot's life, from its credit
# What a case's grant came to: credited, refused (one of ``GoodwillRefusal``), or already answered
# (``duplicate``); ``grant_reused``: the grant id came again with other points (answered before).
Outcome = Literal[
    "credited", "duplicate", "grant_reused", "goodwill_limit_reached", "account_not_found", "customer_erased"
]
_REFUSALS: dict[str, GoodwillRefusal] = {
    "goodwill_limit_reached": "goodwill_limit_reached",  # 409 from the ledger, the route's too
    "account_not_found": "account_not_found",  # 404: the customer has no points account
    "customer_erased": "customer_erased",  # 422: the account takes nothing new
}


def allowance(agent_id: str, at: datetime, limit: int) -> ledger.Allowance:
    """The agent's goodwill allowance for the UTC day of ``at``: the route's and the cases' one."""
    return ledger.Allowance(agent_id, at.astimezone(UTC).date().isoformat(), limit)


def grant_source(grant_id: str) -> str:
    """The ledger source of a case's grant: one effect, and one answer, per grant."""
    return f"goodwill:{grant_id}"


def case_grant(
    store: ledger.LedgerStore, request: inbound.GoodwillRequested, *, limit: int, now: datetime
) -> Outcome:
    """Credit a case's goodwill within the agent's daily ``limit`` (the UTC day it was granted), or
    refuse it; either answered by an event, once per grant."""
    source = grant_source(request.grant_id)
    answered = store.claim(request.customer_id, source)
    if answered is not None:  # before the account's state: an answer stands, whatever came after
        return "duplicate" if answered.points == request.points else "grant_reused"

    def credited(entry: Entry) -> GoodwillCredited:
        return GoodwillCredited(
            grant_id=request.grant_id,
            case_id=request.case_id,
            customer_id=request.customer_id,
            points=entry.credited,
            entry_id=entry.id,
            credited_at=entry.at,
        )

    try:
        applied = ledger.adjust(
            store,
            customer_id=request.customer_id,
            points=request.points,
            source=source,
            actor=request.agent_id,
            reason=request.reason,
            now=now,
            expires_at=now + GOODWILL_VALID,
            allowance=allowance(request.agent_id, request.requested_at, limit),
            case_id=request.case_id,
            answer=credited,
        )
    except DangolError as exc:
        if exc.code in ("source_refused", "source_reused"):  # a concurrent delivery answered it
            return "duplicate" if exc.code == "source_refused" else "grant_reused"
        reason = _REFUSALS.get(exc.code)
        if reason is None:  # a lost race too often (409 concurrent_update): the message is retried
            raise
        refused = GoodwillRefused(
            grant_id=request.grant_id,
            case_id=request.case_id,
            customer_id=request.customer_id,
            reason=reason,
            refused_at=now,
        )
        claim = Claim(source, None, request.points, refused=reason)
        return reason if store.refuse(request.customer_id, claim, [refused], at=now) else "duplicate"
    return "credited" if applied.created else "duplicate"
