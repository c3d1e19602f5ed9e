"""Grant jobs: the job item (progress and the pre-grant report's counters) and its chunks.

A job is ``JOB#<job_id>/JOB``. Each chunk of customers is counted once: its number joins the
``chunks_done`` set in the same update that adds its counts, under the condition that it is not
there yet, so a redelivered chunk changes no count (its grants are idempotent in the ledger). The
ledger adds ``used_points``, ``clawed_back_points``, ``purchases_while_open`` and
``spend_while_open#<currency>`` to the job item as the customers spend, lose or buy while it is open.

A campaign's points offers are counted the same way in ``CAMPAIGN#<campaign_id>/POINTS``, which
the ledger also gives ``issued_points`` and ``customers`` in each offer's credit (no job item:
each offer is one event, credited once).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from services.rewards.dal.keys import PK, TTL, job_key, point_campaign_key
from services.rewards.models.grants import CampaignCounts, GrantJob, GrantKind, JobRecord, JobStatus
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item

SPEND = "spend_while_open#"  # + currency: the spend of purchases made while the grant was open
JOB_TTL = timedelta(days=400)  # kept past the longest award validity, for the report
MAX_REJECTED_IDS = 100


def job_record(item: Item) -> JobRecord:
    rejected = [str(c) for c in item.get("rejected_ids", [])]
    job = GrantJob(
        job_id=item["job_id"],
        kind=GrantKind(item["kind"]),
        status=JobStatus(item["status"]),
        points=int(item["points"]),
        customers=int(item["customers"]),
        granted=int(item.get("granted", 0)),
        rejected=int(item.get("rejected", 0)),
        rejected_ids=rejected[:MAX_REJECTED_IDS],
        expires_at=datetime.fromisoformat(item["lots_expire_at"]),
        created_at=datetime.fromisoformat(item["created_at"]),
        created_by=item["created_by"],
        reason=item["reason"],
        completed_at=datetime.fromisoformat(item["completed_at"]) if item.get("completed_at") else None,
    )
    return JobRecord(
        job=job,
        chunks=int(item["chunks"]),
        chunks_done=frozenset(int(c) for c in item.get("chunks_done", set())),
        used_points=int(item.get("used_points", 0)),
        clawed_back_points=int(item.get("clawed_back_points", 0)),
        purchases_while_open=int(item.get("purchases_while_open", 0)),
        spend_while_open={
            key.removeprefix(SPEND): int(v) for key, v in item.items() if key.startswith(SPEND)
        },
    )


class DynamoGrantStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, job: GrantJob, *, chunks: int) -> None:
        item: dict[str, Any] = {
            **job_key(job.job_id),
            "job_id": job.job_id,
            "kind": job.kind.value,
            "status": job.status.value,
            "points": job.points,
            "customers": job.customers,
            "granted": 0,
            "rejected": 0,
            "chunks": chunks,
            "lots_expire_at": iso(job.expires_at),
            "created_at": iso(job.created_at),
            "created_by": job.created_by,
            "reason": job.reason,
            "used_points": 0,
            "clawed_back_points": 0,
            "purchases_while_open": 0,
            TTL: int((job.created_at + JOB_TTL).timestamp()),
        }
        self.table.put(item, condition="attribute_not_exists(#pk)", names={"#pk": PK})

    def job(self, job_id: str) -> JobRecord | None:
        item = self.table.get(job_key(job_id))
        return job_record(item) if item else None

    def finish_chunk(
        self, job_id: str, chunk: int, *, granted: int, rejected: Sequence[str], at: datetime
    ) -> JobRecord | None:
        """Count a chunk once; None if it was counted already."""
        expression = "ADD chunks_done :c, granted :g, rejected :r SET updated_at = :at"
        values: dict[str, Any] = {
            ":c": {str(chunk)},
            ":n": str(chunk),
            ":g": granted,
            ":r": len(rejected),
            ":at": iso(at),
        }
        if rejected:
            expression += ", rejected_ids = list_append(if_not_exists(rejected_ids, :none), :ids)"
            values |= {":none": [], ":ids": list(rejected[:MAX_REJECTED_IDS])}
        try:
            item = self.table.update(
                job_key(job_id),
                expression,
                condition="attribute_exists(#pk) AND NOT contains(chunks_done, :n)",
                names={"#pk": PK},
                values=values,
            )
        except ConditionFailed:
            return None
        return job_record(item)

    def complete(self, job_id: str, *, at: datetime) -> None:
        """Mark the job completed (once every chunk is counted); a second call changes nothing."""
        try:
            self.table.update(
                job_key(job_id),
                "SET #st = :done, completed_at = :at",
                condition="attribute_exists(#pk) AND #st <> :done",
                names={"#pk": PK, "#st": "status"},
                values={":done": JobStatus.COMPLETED.value, ":at": iso(at)},
            )
        except ConditionFailed:
            return

    def point_campaign(self, campaign_id: str) -> CampaignCounts | None:
        """A campaign's points offers' counters; None when it pre-granted nothing."""
        item = self.table.get(point_campaign_key(campaign_id))
        if item is None:
            return None
        return CampaignCounts(
            customers=int(item.get("customers", 0)),
            issued=int(item.get("issued_points", 0)),
            used=int(item.get("used_points", 0)),
            clawed_back=int(item.get("clawed_back_points", 0)),
        )
