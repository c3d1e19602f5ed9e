"""The campaigns table: its key names, every item's key, its outbox and its claims.

One table, ``campaigns`` (``pk``/``sk``).

A customer's view, ``pk = CUST#<customer>``:
- ``VIEW``: the view (``models.view.CustomerView`` as JSON in ``view``), ``version`` (every change
  is conditioned on it), ``listed = "VIEW"`` and ``customer_id`` (the sparse ``view-list`` index).
- ``PUR#<purchase_id>``: a purchase counted into the view (its local day, currency, total);
  written in the same transaction as the view, so a purchase counts once (TTL: ``KEPT_DAYS``).
- ``REF#<purchase_id>``: its refund, taken back once (a refund before its purchase stays here
  and the purchase then counts nothing).
- ``VIS#<visit_id>``: a visit added to the browsing time (TTL 30 days).
- ``ERASED``: the customer was erased: events that arrive later create nothing (TTL 30 days).

Segments:
- ``SEGMENTS / <segment_id>``: a segment in force (name, rule, version, when): the list.
- ``SEG#<segment_id> / V#<version>``: every version, never changed.
- ``SEG#<segment_id> / COUNT#<shard>``: its member count, sharded (``COUNT_SHARDS``).
- ``SEGM#<segment_id>#<shard> / <customer_id>``: a member (``MEMBER_SHARDS`` partitions per
  segment: a campaign's audience of millions is written and read in parallel).
- ``SEGJOB#<segment_id> / V#<version>``: an evaluation job's progress.
- ``SEGPREV#<preview_id> / JOB``: a draft rule's preview job (progress, count, a sample of ids;
  TTL a day): no segment, no members.

Templates:
- ``TEMPLATES / <template_id>``: a template in force (its definition, version, when): the list,
  newest first (ids are ULIDs).
- ``TPL#<template_id> / V#<version>``: every version, never changed (written in the same
  transaction as the template, conditioned on its absence: two changes cannot both win).

Campaigns:
- ``CAMPAIGNS / <campaign_id>``: a campaign (its definition, status, version, runs).
- ``CAMP#<campaign_id> / RUN#<run>``: a run that started (once: written on its absence), and
  how many planner chains it has.
- ``CAMP#<campaign_id> / PLAN#<run>#<chain>``: the last step of a planner chain, what it planned (the
  audience is their sum), and whether it
  came to the end of its member shards.
- ``CAMP#<campaign_id> / STAT#<shard>``: decision counters, sharded (``STAT_SHARDS``), added to
  once per batch.
- ``LOG#<campaign_id>#<shard> / <customer_id>#<run>``: the message log, one line per recipient
  and run (the claim, then the decision): ids, decision and reason only.
- ``DUE#<yyyymmddHH>#<shard> / <MM>#...``: what is due in that hour, by minute (a run to start,
  recipients deferred to it); ``campaigns-release`` takes each minute once (``RELEASE / CURSOR``),
  one release at a time (``RELEASE / LEASE``), a query per hour and shard however long it was away.
- ``CAP#<customer_id> / D#<local date>`` and ``W#<iso week>``: frequency cap counters.
- ``FEEDBACK#<SES message id> / <event type>``: an SES event about a campaign e-mail, counted
  (written in the same transaction as its counter and its event: once; TTL 30 days).

Triggered campaigns, offers and results (``dal/journeys.py``):
- ``LIVE / <trigger>#<campaign_id>``: a live triggered campaign, listed under its trigger's event.
- ``CUST#<customer_id> / TRIG#<campaign_id>``: the customer's entries of a triggered campaign (how
  many: each is a run; when each subject was last entered; the runs waiting that a purchase ends).
- ``CUST#<customer_id> / WINBACK``: when the customer last entered a winback (one per period).
- ``CUST#<customer_id> / TOUCH#<campaign_id>#<run>``: a message sent (or held back for the control
  group) and the attribution window after it; a conversion is recorded on it once.
- ``CUST#<customer_id> / OFFER#<offer_id>``: an offer waiting at login (its coupon, when opened,
  when redeemed); ``CUST#<customer_id> / LOGIN`` and ``SUB#<subject> / LOGIN``: the login's subject,
  so ``/me/offers`` finds the customer. All of it goes with the customer's erasure.
- ``DRAWS / <schedule_id>``: a draw schedule; its draws' commitments and results on the item.

``OUTBOX#<shard>`` (``shared.outbox``) and idempotency claims (``shared.idempotency``).
"""

from __future__ import annotations

from services.campaigns.topology import CAMPAIGNS
from shared.dynamo import DynamoTable, Key
from shared.idempotency import IdempotencyStore
from shared.outbox import Outbox

PK = CAMPAIGNS.partition_key.name
SK = CAMPAIGNS.sort_key_name
TTL = CAMPAIGNS.ttl_name
MEMBER_SHARDS = 16
COUNT_SHARDS = 8
STAT_SHARDS = 8
LOG_SHARDS = 16
DUE_SHARDS = 4


def customer_pk(customer_id: str) -> str:
    return f"CUST#{customer_id}"


def view_key(customer_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: "VIEW"}


def effect_key(customer_id: str, kind: str, ref: str) -> Key:
    """``kind``: ``PUR`` (a purchase), ``REF`` (its refund), ``VIS`` (a visit)."""
    return {PK: customer_pk(customer_id), SK: f"{kind}#{ref}"}


def erased_key(customer_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: "ERASED"}


def segment_key(segment_id: str) -> Key:
    return {PK: "SEGMENTS", SK: segment_id}


def segment_version_key(segment_id: str, version: int) -> Key:
    return {PK: f"SEG#{segment_id}", SK: f"V#{version:08d}"}


def count_key(segment_id: str, shard: int) -> Key:
    return {PK: f"SEG#{segment_id}", SK: f"COUNT#{shard:02d}"}


def shard_of(customer_id: str, shards: int) -> int:
    """A customer's shard: stable, spread evenly (ULIDs end in 80 random bits)."""
    return sum(customer_id.encode()) % shards


def member_pk(segment_id: str, shard: int) -> str:
    return f"SEGM#{segment_id}#{shard:02d}"


def member_key(segment_id: str, customer_id: str) -> Key:
    return {PK: member_pk(segment_id, shard_of(customer_id, MEMBER_SHARDS)), SK: customer_id}


def job_key(segment_id: str, version: int) -> Key:
    return {PK: f"SEGJOB#{segment_id}", SK: f"V#{version:08d}"}


def preview_key(preview_id: str) -> Key:
    return {PK: f"SEGPREV#{preview_id}", SK: "JOB"}


def template_key(template_id: str) -> Key:
    return {PK: "TEMPLATES", SK: template_id}


def template_version_key(template_id: str, version: int) -> Key:
    return {PK: f"TPL#{template_id}", SK: f"V#{version:08d}"}


def campaign_key(campaign_id: str) -> Key:
    return {PK: "CAMPAIGNS", SK: campaign_id}


def run_key(campaign_id: str, run: int) -> Key:
    return {PK: f"CAMP#{campaign_id}", SK: f"RUN#{run:06d}"}


def plan_key(campaign_id: str, run: int, chain: int) -> Key:
    return {PK: f"CAMP#{campaign_id}", SK: f"PLAN#{run:06d}#{chain:02d}"}


def stat_key(campaign_id: str, shard: int) -> Key:
    return {PK: f"CAMP#{campaign_id}", SK: f"STAT#{shard:02d}"}


def log_pk(campaign_id: str, shard: int) -> str:
    return f"LOG#{campaign_id}#{shard:02d}"


def log_key(campaign_id: str, customer_id: str, run: int) -> Key:
    return {PK: log_pk(campaign_id, shard_of(customer_id, LOG_SHARDS)), SK: f"{customer_id}#{run:06d}"}


def due_pk(hour: str, shard: int) -> str:
    """``hour``: ``yyyymmddHH`` in UTC; the sort key starts with the minute (``MM#``)."""
    return f"DUE#{hour}#{shard}"


RELEASE_CURSOR: Key = {PK: "RELEASE", SK: "CURSOR"}
RELEASE_LEASE: Key = {PK: "RELEASE", SK: "LEASE"}


def cap_key(customer_id: str, period: str) -> Key:
    """``period``: ``D#2026-12-02`` (a local day) or ``W#2026-W49`` (an ISO week)."""
    return {PK: f"CAP#{customer_id}", SK: period}


def feedback_key(message_id: str, event_type: str) -> Key:
    return {PK: f"FEEDBACK#{message_id}", SK: event_type}


def live_key(trigger: str, campaign_id: str) -> Key:
    return {PK: "LIVE", SK: f"{trigger}#{campaign_id}"}


def journey_key(customer_id: str, campaign_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: f"TRIG#{campaign_id}"}


def winback_key(customer_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: "WINBACK"}


def touch_key(customer_id: str, campaign_id: str, run: int) -> Key:
    return {PK: customer_pk(customer_id), SK: f"TOUCH#{campaign_id}#{run:06d}"}


def offer_key(customer_id: str, offer_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: f"OFFER#{offer_id}"}


def login_key(customer_id: str) -> Key:
    return {PK: customer_pk(customer_id), SK: "LOGIN"}


def subject_key(subject: str) -> Key:
    return {PK: f"SUB#{subject}", SK: "LOGIN"}


def draw_schedule_key(schedule_id: str) -> Key:
    return {PK: "DRAWS", SK: schedule_id}


def outbox(table: DynamoTable) -> Outbox:
    """The campaigns table's outbox (``OUTBOX#<shard>`` items)."""
    return Outbox.of(table, CAMPAIGNS)


def claims(table: DynamoTable, *, lock_s: int, ttl_s: int = 24 * 3600) -> IdempotencyStore:
    """Idempotency claims (request keys) in the campaigns table."""
    return IdempotencyStore.of(table, CAMPAIGNS, lock_s=lock_s, ttl_s=ttl_s)
