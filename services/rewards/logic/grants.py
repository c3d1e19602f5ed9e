"""Awards and pre-grants to many customers: a job, its chunks on the grants queue, its report.

``start`` writes the job and queues its customers in chunks of 100 (one message each); the
``rewards-grants`` consumer credits every customer of a chunk with ``source = grant:<job_id>``,
so a customer is granted once per job however often the chunk arrives. Every lot of a job expires
at the same instant (the job's ``expires_at``): pre-grants in days, clawed back if unused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from services.rewards.logic import ledger
from services.rewards.models.events import LotKind
from services.rewards.models.grants import (
    CHUNK,
    CampaignCounts,
    GrantJob,
    GrantKind,
    GrantReport,
    GrantRequest,
    JobRecord,
    JobStatus,
    PointCampaignReport,
    PurchasesWhileOpen,
)
from shared.errors import NotFound
from shared.queues import message_body


class GrantStore(Protocol):
    def create(self, job: GrantJob, *, chunks: int) -> None: ...

    def job(self, job_id: str) -> JobRecord | None: ...

    def finish_chunk(
        self, job_id: str, chunk: int, *, granted: int, rejected: Sequence[str], at: datetime
    ) -> JobRecord | None: ...

    def complete(self, job_id: str, *, at: datetime) -> None: ...


class CampaignReports(Protocol):
    def point_campaign(self, campaign_id: str) -> CampaignCounts | None: ...


class Sender(Protocol):
    def send(self, bodies: Sequence[str]) -> None: ...


class Accounts(Protocol):
    def existing(self, customer_ids: Sequence[str]) -> set[str]: ...


@dataclass(frozen=True)
class Chunk:
    job_id: str
    chunk: int
    customer_ids: tuple[str, ...]

    @classmethod
    def parse(cls, body: str) -> Chunk:
        """A chunk message; ValueError when it is not one."""
        data: Any = json.loads(body)
        if not isinstance(data, dict) or set(data) != {"job_id", "chunk", "customer_ids"}:
            raise ValueError("not a grant chunk")
        ids = data["customer_ids"]
        if not isinstance(ids, list) or not all(isinstance(c, str) for c in ids):
            raise ValueError("not a grant chunk")
        return cls(str(data["job_id"]), int(data["chunk"]), tuple(ids))


def _no_job() -> NotFound:
    return NotFound("No such grant job.", code="job_not_found")


def start(
    store: GrantStore,
    queue: Sender,
    request: GrantRequest,
    *,
    actor: str,
    now: datetime,
    default_valid_days: int,
    new_id: Callable[[], str],
) -> GrantJob:
    """Record the job, then queue its chunks (a failure to queue is a 503: the client retries
    with its Idempotency-Key and gets a new job; the unqueued one grants nobody)."""
    valid_days = request.valid_days or default_valid_days
    job = GrantJob(
        job_id=new_id(),
        kind=request.kind,
        status=JobStatus.QUEUED,
        points=request.points,
        customers=len(request.customer_ids),
        granted=0,
        rejected=0,
        rejected_ids=[],
        expires_at=now + timedelta(days=valid_days),
        created_at=now,
        created_by=actor,
        reason=request.reason,
    )
    ids = request.customer_ids
    chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    store.create(job, chunks=len(chunks))
    queue.send(
        [message_body({"job_id": job.job_id, "chunk": n, "customer_ids": c}) for n, c in enumerate(chunks)]
    )
    return job


def job(store: GrantStore, job_id: str) -> GrantJob:
    record = store.job(job_id)
    if record is None:
        raise _no_job()
    return record.job


def grant_chunk(
    store: GrantStore,
    ledger_store: ledger.LedgerStore,
    accounts: Accounts,
    chunk: Chunk,
    *,
    now: datetime,
) -> JobRecord | None:
    """Credit each customer of the chunk once; count the chunk once. None for an unknown job."""
    record = store.job(chunk.job_id)
    if record is None:
        return None
    kind: LotKind = "pregrant" if record.job.kind is GrantKind.PREGRANT else "award"
    granted, rejected = 0, []
    known = accounts.existing(chunk.customer_ids)
    for customer_id in chunk.customer_ids:
        if customer_id not in known:
            rejected.append(customer_id)
            continue
        ledger.credit(
            ledger_store,
            customer_id=customer_id,
            points=record.job.points,
            kind=kind,
            source=f"grant:{chunk.job_id}",
            expires_at=record.job.expires_at,
            actor=record.job.created_by,
            reason=record.job.reason,
            now=now,
            job_id=chunk.job_id,
        )
        granted += 1
    room = max(0, 100 - len(record.job.rejected_ids))
    done = store.finish_chunk(chunk.job_id, chunk.chunk, granted=granted, rejected=rejected[:room], at=now)
    if done is not None and len(done.chunks_done) >= done.chunks:
        store.complete(chunk.job_id, at=now)
    return done


def report(store: GrantStore, job_id: str, *, now: datetime) -> GrantReport:
    record = store.job(job_id)
    if record is None:
        raise _no_job()
    issued = record.job.granted * record.job.points
    return GrantReport(
        job_id=job_id,
        kind=record.job.kind,
        status=record.job.status,
        customers_granted=record.job.granted,
        issued_points=issued,
        used_points=record.used_points,
        clawed_back_points=record.clawed_back_points,
        open_points=max(0, issued - record.used_points - record.clawed_back_points),
        expires_at=record.job.expires_at,
        open=now < record.job.expires_at,
        purchases_while_open=PurchasesWhileOpen(
            count=record.purchases_while_open, spend=record.spend_while_open
        ),
        as_of=now,
    )


def point_campaign_report(store: CampaignReports, campaign_id: str) -> PointCampaignReport:
    """What a campaign's points offers did (its counters move in the ledger's own transactions, so
    a redelivered offer or a replayed spend counts once); 404 when it pre-granted nothing."""
    counts = store.point_campaign(campaign_id)
    if counts is None:
        raise NotFound("This campaign pre-granted no points.", code="point_campaign_not_found")
    return PointCampaignReport(
        campaign_id=campaign_id,
        customers=counts.customers,
        issued=counts.issued,
        used=counts.used,
        clawed_back=counts.clawed_back,
        outstanding=counts.issued - counts.used - counts.clawed_back,
    )
