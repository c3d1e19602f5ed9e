"""The rewards table: its key names, every item's key, its outbox and its claims.

One table, ``rewards`` (``pk``/``sk``), holds every item of the service. An account's items share
its partition, so one query reads what an operation needs and one transaction changes it.

An account, ``pk = ACCT#<customer>``:
- ``ACCOUNT``: balance, held, debt, ``version`` (every ledger operation is conditioned on it), the
  tier state (conditioned on ``tier_version``), open pre-grants; ``listed = "ACCOUNT"`` puts it
  on the sparse ``account-list`` index.
- ``LOT#<expires_at>#<lot_id>``: a lot (kind, points, remaining, expires_at); while
  remaining > 0 it carries ``due_day``/``due_at`` (the ``by-due`` index).
- ``ENTRY#<entry_id>``: a ledger entry (ULID: chronological), never changed but by erasure,
  which drops its free text.
- ``SRC#<source>``: one effect per source (a purchase, a refund, a job, an order, an
  adjustment's key, a case's goodwill grant) -> the entry id; or, for a case's grant refused,
  the refusal (``refused``, no entry): answered once either way.
- ``HOLD#<order_id>``: a hold (points, draws, status); on ``by-due`` while held.
- ``QUAL#<yyyy-mm>``: the month's tier-qualifying spend and points.
- ``WARN#<yyyy-mm-dd>``: PointsExpiring sent for that expiry day.
- ``REFUNDED#<purchase_id>``: a refund that came before its purchase.
- ``COUPON#..``, ``CTPL#..``, ``GIFTS#..``, ``DRAWENTRY#..``: the wallet, coupons per template,
  gifts won, entries in gifts' draws (``dal/offers.py`` lists the offers' items).

Elsewhere:
- ``SUBJECT#<sub> / SUBJECT``: the login (Cognito sub) -> customer id.
- ``AGENT#<sub> / GOODWILL#<yyyy-mm-dd>``: the points an agent granted that (UTC) day.
- ``CONFIG / EARN_RULES``, ``EARN_RULES#<v>``, ``TIERS``, ``TIERS#<v>``: the programs in force
  and every version; ``CONFIG / EXPIRY_WARNED_UNTIL``: how far ahead warnings have looked.
- ``JOB#<job_id> / JOB``: a grant job: progress and the pre-grant report's counters.
- ``CAMPAIGN#<campaign_id> / POINTS``: a campaign's points offers: the same counters, plus the
  points issued and the offers credited (``report_key``).
- ``OFFER#<offer_id> / OFFER``: the coupon a campaign's offer issued (one per offer).
- ``COUPONTPL#..``, ``COUPON#<code hash>``, ``GIFT#..``, ``GIFTS``: templates, coupons, gifts.
- ``AUDIT / REPORT#<at>``: a verification run's report.
- ``MEMBERCODE#<sha256 of the code> / CODE``: a member code for the counter (customer, expiry,
  the client and order it serves once used; TTL a day after it expires).
- ``OUTBOX#<shard>`` (``shared.outbox``) and idempotency claims (``shared.idempotency``).
"""

from __future__ import annotations

from services.rewards.topology import REWARDS
from shared.dynamo import DynamoTable, Key
from shared.idempotency import IdempotencyStore
from shared.outbox import Outbox

PK = REWARDS.partition_key.name
SK = REWARDS.sort_key_name
TTL = REWARDS.ttl_name
DUE_SHARDS = 8  # by-due partitions per day: ~8,000 writes/s of lots and holds per day key


def account_pk(customer_id: str) -> str:
    return f"ACCT#{customer_id}"


def account_key(customer_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: "ACCOUNT"}


def member_code_key(digest: str) -> Key:
    return {PK: f"MEMBERCODE#{digest}", SK: "CODE"}


def subject_key(subject: str) -> Key:
    return {PK: f"SUBJECT#{subject}", SK: "SUBJECT"}


def source_key(customer_id: str, source: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"SRC#{source}"}


def job_key(job_id: str) -> Key:
    return {PK: f"JOB#{job_id}", SK: "JOB"}


def point_campaign_key(campaign_id: str) -> Key:
    return {PK: f"CAMPAIGN#{campaign_id}", SK: "POINTS"}


def report_key(grant_id: str) -> Key:
    """Where a pre-grant's report counters go: a campaign's (``cmp_...``: its points offers) or a
    grant job's (``pgj_...``). A lot names its grant in ``job_id``."""
    return point_campaign_key(grant_id) if grant_id.startswith("cmp_") else job_key(grant_id)


def config_key(name: str, version: int | None = None) -> Key:
    """``config_key("EARN_RULES")`` is the version in force; with a version, that version."""
    return {PK: "CONFIG", SK: name if version is None else f"{name}#{version:08d}"}


def due_shard(customer_id: str) -> int:
    """A customer's by-due shard: stable, spread evenly (ULIDs end in 80 random bits)."""
    return sum(customer_id.encode()) % DUE_SHARDS


def due_attributes(customer_id: str, sk: str, due_at_iso: str) -> dict[str, str]:
    """What puts an item (a lot, a hold) on the by-due index at ``due_at_iso`` (UTC, ISO 8601)."""
    return {
        "due_day": f"{due_at_iso[:10]}#{due_shard(customer_id)}",
        "due_at": f"{due_at_iso}#{customer_id}#{sk}",
    }


def outbox(table: DynamoTable) -> Outbox:
    """The rewards table's outbox (``OUTBOX#<shard>`` items)."""
    return Outbox.of(table, REWARDS)


def claims(table: DynamoTable, *, lock_s: int, ttl_s: int = 24 * 3600) -> IdempotencyStore:
    """Idempotency claims (request keys) in the rewards table."""
    return IdempotencyStore.of(table, REWARDS, lock_s=lock_s, ttl_s=ttl_s)
