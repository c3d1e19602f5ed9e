"""The feedback table: its key names, every item's key, its outbox and its claims.

One table, ``feedback`` (``pk``/``sk``):

- ``MENTION#<source>#<external id> / MENTION``: a mention, classified, with the customer it is
  linked to. Kept ``MENTION_TTL_DAYS``.
- ``PENDING / <received at>#<mention key>``: a mention the topic has not taken yet (deleted when
  it has; the poller publishes what stayed pending).
- ``REPLAY#<sha256 of the source and body> / REPLAY``: a webhook delivery already taken (TTL: the
  replay window and more).
- ``CASE#<case id> / CASE``: a case (``logic.cases.CaseRecord``; ``version`` conditions every
  change); ``queue`` = ``<team>#<status>`` and ``queued_at`` put it on ``case-queue``,
  ``case_customer`` and ``opened_at`` on ``customer-cases``.
- ``CASE#<case id> / LOG#<at>#<version>#<n>``: its timeline; ``GRANT#<grant id>``: a goodwill grant.
- ``CASEOF#<mention key> / CASE``: the case a mention opened (one per mention).
- ``ALERT#<mention key> / ALERT``: the person on duty was told of the mention (once).
- ``INSIGHT#<mention key> / INSIGHT``: the mention is counted into its week (once).
- ``WEEK#<iso week> / COUNT``: the week's counters (``theme#wait``, ``product#latte``...).
- ``SLA#<iso week> / CASE#<case id>``: a closed case's SLA figures, in the week it closed.
- ``DIGEST / <iso week>``: a week's digest; ``SUBSCRIBER / <sub>``: who gets it by mail.
- ``SUB#<login sub> / LOGIN``: the login's customer id (from ``CustomerRegistered``).
- ``CUSTOMER#<customer id> / VALUE``: the customer's value segment (``ValueSegmentChanged``);
  ``CUSTOMER#<customer id> / MENTION#<mention key>``: their linked mentions (for erasure).
- ``POLL#<source> / CURSOR``: how far a polled source was read.
- ``OUTBOX#<shard>`` (``shared.outbox``) and idempotency claims (``shared.idempotency``).
"""

from __future__ import annotations

from datetime import datetime

from services.feedback.topology import FEEDBACK
from shared.dynamo import DynamoTable, Key
from shared.idempotency import IdempotencyStore
from shared.outbox import Outbox

PK = FEEDBACK.partition_key.name
SK = FEEDBACK.sort_key_name
TTL = FEEDBACK.ttl_name
MENTION_TTL_DAYS = 400  # a year of weekly digests, and the week before
REPLAY_TTL_S = 24 * 3600


def mention_key(key: str) -> Key:
    return {PK: f"MENTION#{key}", SK: "MENTION"}


def pending_key(mention: str, at: datetime) -> Key:
    """A mention the topic has not taken yet, by when it came (the poller's sweep reads them)."""
    return {PK: "PENDING", SK: f"{at.isoformat()}#{mention}"}


def replay_key(digest: str) -> Key:
    return {PK: f"REPLAY#{digest}", SK: "REPLAY"}


def case_pk(case_id: str) -> str:
    return f"CASE#{case_id}"


def case_key(case_id: str) -> Key:
    return {PK: case_pk(case_id), SK: "CASE"}


def log_key(case_id: str, at: str, version: int, n: int) -> Key:
    """A timeline line: by when, then by the case version that wrote it (two changes in one second
    are two versions: neither line overwrites the other), then its place in that change."""
    return {PK: case_pk(case_id), SK: f"LOG#{at}#{version:06d}#{n:03d}"}


def grant_key(case_id: str, grant_id: str) -> Key:
    return {PK: case_pk(case_id), SK: f"GRANT#{grant_id}"}


def case_of_key(mention: str) -> Key:
    return {PK: f"CASEOF#{mention}", SK: "CASE"}


def alert_key(mention: str) -> Key:
    return {PK: f"ALERT#{mention}", SK: "ALERT"}


def insight_key(mention: str) -> Key:
    return {PK: f"INSIGHT#{mention}", SK: "INSIGHT"}


def week_key(week: str) -> Key:
    return {PK: f"WEEK#{week}", SK: "COUNT"}


def sla_key(week: str, case_id: str) -> Key:
    return {PK: f"SLA#{week}", SK: f"CASE#{case_id}"}


def digest_key(week: str) -> Key:
    return {PK: "DIGEST", SK: week}


def subscriber_key(sub: str) -> Key:
    return {PK: "SUBSCRIBER", SK: sub}


def login_key(sub: str) -> Key:
    return {PK: f"SUB#{sub}", SK: "LOGIN"}


def value_key(customer_id: str) -> Key:
    return {PK: f"CUSTOMER#{customer_id}", SK: "VALUE"}


def customer_mention_key(customer_id: str, mention: str) -> Key:
    return {PK: f"CUSTOMER#{customer_id}", SK: f"MENTION#{mention}"}


def poll_key(source: str) -> Key:
    return {PK: f"POLL#{source}", SK: "CURSOR"}


def outbox(table: DynamoTable) -> Outbox:
    """The feedback table's outbox (``OUTBOX#<shard>`` items)."""
    return Outbox.of(table, FEEDBACK)


def claims(table: DynamoTable, *, lock_s: int, ttl_s: int = 24 * 3600) -> IdempotencyStore:
    """Idempotency claims (request keys and consumed messages) in the feedback table."""
    return IdempotencyStore.of(table, FEEDBACK, lock_s=lock_s, ttl_s=ttl_s)
