"""Import jobs, their rejected rows, the import claims and the chunk queue.

Items in the profiles table:
- ``IMPORT#<job_id> / JOB`` (``type=import_job``): status, counts (``total``, ``valid``,
  ``rejected``, ``imported``, ``skipped``, ``failed``), ``chunks`` (how many messages the job
  was split into), the string sets ``chunks_done`` and ``chunks_failed`` (chunk numbers),
  ``created_by``, ``created_at``, ``updated_at``, ``completed_at``; expires after 90 days.
- ``IMPORT#<job_id> / REJECT#<row, 8 digits>`` (``type=import_rejection``): a rejected row,
  its problems (column, code, message; never the cell's value) and its ``external_ref`` when
  valid; expires with the job.
- ``IMPORTREF#<external_ref> / IMPORTREF`` (``type=import_claim``): the row was imported once,
  as ``customer_id``, by ``job_id``, at ``claimed_at``. Kept after erasure, so that importing
  an old file again cannot bring an erased person back.
- The imported customer's ``PROFILE`` (with ``import_ref`` = the external ref), anniversary
  index items and a ``CustomerImported`` event through the outbox, as ``DynamoProfileStore``
  writes them for a sign-up, but without an ``IDENTITY#`` link: an imported customer has no
  Cognito identity yet.

How a chunk is imported, idempotently and without transactions
----------------------------------------------------------------
Each row's claim is one conditional PutItem (``attribute_not_exists``); a ref claimed already
is read back (BatchGetItem): claimed by this same job, it is a redelivered chunk's row and
is finished with the claim's customer id and time; claimed by another job, it is *skipped*.
The claim is the commit point. What follows are plain
BatchWriteItem puts with keys derived from the claim (customer id, claim time, an event id
made from the customer id), so writing them again writes the same items: anniversary items
first, then profiles, then outbox items; then the outbox is flushed (PutEvents in tens). A
crash anywhere leaves the chunk undone: SQS delivers it again, the claims come back as this
job's, profiles that exist are not written again (staff may have edited them meanwhile;
their anniversaries were written before them), missing ones are, and outbox items are put
again (a repeated event has the same ``event_id``; consumers drop it).

Why not one transaction per row: a transaction costs twice the write capacity of the same
puts on DynamoDB, and moto (the local runtime) deep-copies the whole table for every action
of a transaction, so an import of 10,000 rows would take hours locally. Batch writes of
deterministic items behind a conditional claim give the same outcome: every valid row ends
imported exactly once, with its event.

The job's counters move once per chunk, with ADD, under the condition that the chunk is not
already in ``chunks_done``: a redelivered chunk cannot count twice.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.profile.dal.keys import PK, SK, TTL, outbox, profile_key
from services.profile.dal.profiles import DynamoProfileStore, anniversary_items, profile_item
from services.profile.models.imports import (
    JOB_TTL,
    Claim,
    Counts,
    Imported,
    ImportStatus,
    JobRecord,
    Rejection,
)
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item, Key
from shared.events import Envelope, EventPublisher
from shared.observability import make_logger
from shared.outbox import PREFIX as OUTBOX_PREFIX
from shared.outbox import SHARDS as OUTBOX_SHARDS

if TYPE_CHECKING:
    pass

_log = make_logger()
REJECT_PREFIX = "REJECT#"
_EVENT_IDS = uuid.UUID("6f0d5a52-3c1e-4d0b-9a51-2f7c1b8e4a10")  # namespace of imported customers' events


def job_key(job_id: str) -> Key:
    return {PK: f"IMPORT#{job_id}", SK: "JOB"}


def rejection_key(job_id: str, row: int) -> Key:
    return {PK: f"IMPORT#{job_id}", SK: f"{REJECT_PREFIX}{row:08d}"}


def claim_key(external_ref: str) -> Key:
    return {PK: f"IMPORTREF#{external_ref}", SK: "IMPORTREF"}


def _second(at: datetime) -> datetime:
    """A moment as stored (UTC, to the second), so a first attempt and a redelivery agree."""
    return datetime.fromisoformat(iso(at))


def imported_event_id(customer_id: str) -> str:
    """The one event id of a customer's CustomerImported: the same however often it is written."""
    return str(uuid.uuid5(_EVENT_IDS, customer_id))


def job_item(job: JobRecord) -> Item:
    item: Item = {
        **job_key(job.job_id),
        "type": "import_job",
        "job_id": job.job_id,
        "status": job.status.value,
        "total": job.total,
        "valid": job.valid,
        "rejected": job.rejected,
        "imported": job.imported,
        "skipped": job.skipped,
        "failed": job.failed,
        "chunks": job.chunks,
        "created_by": job.created_by,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        TTL: int((job.created_at + JOB_TTL).timestamp()),
    }
    if job.chunks_done:
        item["chunks_done"] = {str(c) for c in job.chunks_done}
    if job.chunks_failed:
        item["chunks_failed"] = {str(c) for c in job.chunks_failed}
    return item


def job_record(item: Item) -> JobRecord:
    completed = item.get("completed_at")
    return JobRecord(
        job_id=str(item["job_id"]),
        status=ImportStatus(str(item["status"])),
        total=int(item["total"]),
        valid=int(item["valid"]),
        rejected=int(item["rejected"]),
        imported=int(item.get("imported", 0)),
        skipped=int(item.get("skipped", 0)),
        failed=int(item.get("failed", 0)),
        chunks=int(item["chunks"]),
        created_by=str(item["created_by"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
        updated_at=datetime.fromisoformat(str(item["updated_at"])),
        completed_at=datetime.fromisoformat(str(completed)) if completed else None,
        chunks_done=frozenset(int(c) for c in item.get("chunks_done") or ()),
        chunks_failed=frozenset(int(c) for c in item.get("chunks_failed") or ()),
    )


class DynamoImportStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.profiles = DynamoProfileStore(table, publisher)
        self.outbox = outbox(table)

    # -- jobs --------------------------------------------------------------------------------

    def create_job(self, job: JobRecord) -> None:
        self.table.put(job_item(job), condition="attribute_not_exists(#pk)", names={"#pk": PK})

    def job(self, job_id: str) -> JobRecord | None:
        item = self.table.get(job_key(job_id))
        return job_record(item) if item else None

    def fail_job(self, job_id: str, *, at: datetime) -> None:
        """The job could not be handed to the importer (some chunks may have been)."""
        self.table.update(
            job_key(job_id),
            "SET #st = :failed, updated_at = :at, completed_at = :at",
            condition="attribute_exists(#pk)",
            names={"#pk": PK, "#st": "status"},
            values={":failed": ImportStatus.FAILED.value, ":at": iso(at)},
        )

    def finish_chunk(
        self, job: JobRecord, chunk: int, counts: Counts, *, failed_before: int, at: datetime
    ) -> JobRecord | None:
        """Count a chunk once: None if it was counted already. A chunk that had ended in the
        dead-letter queue (``failed_before`` rows counted failed) and was redriven moves from
        ``chunks_failed`` to ``chunks_done`` and takes its failed rows back."""
        redriven = chunk in job.chunks_failed
        expression = "ADD chunks_done :c, imported :i, skipped :s, failed :f SET updated_at = :at"
        condition = "attribute_exists(#pk) AND NOT contains(chunks_done, :n)"
        if redriven:
            expression += " DELETE chunks_failed :c"
            condition += " AND contains(chunks_failed, :n)"
        else:
            condition += " AND NOT contains(chunks_failed, :n)"
        failed = counts.failed - (failed_before if redriven else 0)
        try:
            item = self.table.update(
                job_key(job.job_id),
                expression,
                condition=condition,
                names={"#pk": PK},
                values={
                    ":c": {str(chunk)},
                    ":n": str(chunk),
                    ":i": counts.imported,
                    ":s": counts.skipped,
                    ":f": failed,
                    ":at": iso(at),
                },
            )
        except ConditionFailed:
            return None
        return job_record(item)

    def fail_chunk(self, job_id: str, chunk: int, *, rows: int, at: datetime) -> JobRecord | None:
        """Count a chunk that is going to the dead-letter queue: its rows are failed (until a
        redrive imports them). None if the chunk was already accounted for."""
        try:
            item = self.table.update(
                job_key(job_id),
                "ADD chunks_failed :c, failed :f SET updated_at = :at",
                condition=(
                    "attribute_exists(#pk) AND NOT contains(chunks_done, :n)"
                    " AND NOT contains(chunks_failed, :n)"
                ),
                names={"#pk": PK},
                values={":c": {str(chunk)}, ":n": str(chunk), ":f": rows, ":at": iso(at)},
            )
        except ConditionFailed:
            return None
        return job_record(item)

    def set_status(
        self, job_id: str, status: ImportStatus, *, at: datetime, only_from: ImportStatus | None
    ) -> None:
        """Move the job to ``status`` (from ``only_from``, when given); a lost race changes nothing."""
        expression = "SET #st = :st, updated_at = :at"
        condition = "attribute_exists(#pk) AND #st <> :st"
        values: dict[str, Any] = {":st": status.value, ":at": iso(at)}
        if status in {ImportStatus.COMPLETED, ImportStatus.FAILED}:
            expression += ", completed_at = :at"
        if only_from is not None:
            condition += " AND #st = :from"
            values[":from"] = only_from.value
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                job_key(job_id),
                expression,
                condition=condition,
                names={"#pk": PK, "#st": "status"},
                values=values,
            )

    # -- rejections --------------------------------------------------------------------------

    def put_rejections(self, job_id: str, rejections: Sequence[Rejection], *, expires: datetime) -> None:
        items = []
        for rejection in rejections:
            item: Item = {
                **rejection_key(job_id, rejection.row),
                "type": "import_rejection",
                **rejection.model_dump(mode="json", exclude_none=True),
                TTL: int(expires.timestamp()),
            }
            items.append(item)
        self.table.batch_write(puts=items)

    def rejections(
        self, job_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[Rejection], Key | None]:
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :prefix)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": job_key(job_id)[PK], ":prefix": REJECT_PREFIX},
            limit=limit,
            start_key=start,
        )
        fields = Rejection.model_fields
        found = [Rejection.model_validate({k: v for k, v in i.items() if k in fields}) for i in page.items]
        return found, page.last_key

    # -- claims and imported customers -------------------------------------------------------

    def claim(self, rows: Sequence[tuple[str, str]], *, job_id: str, at: datetime) -> list[Claim | None]:
        """Claim rows (external ref, proposed customer id) for this job, in order: a new claim
        (``fresh``), this job's earlier claim (a redelivery), or None when another job imported
        the row before. One conditional PutItem a row; the refs claimed already are read back
        in batches of 100."""
        claims: list[Claim | None] = []
        taken: list[int] = []
        for i, (ref, customer_id) in enumerate(rows):
            item = {
                **claim_key(ref),
                "type": "import_claim",
                "customer_id": customer_id,
                "job_id": job_id,
                "claimed_at": iso(at),
            }
            try:
                self.table.put(item, condition="attribute_not_exists(#pk)", names={"#pk": PK})
            except ConditionFailed:
                taken.append(i)
                claims.append(None)
                continue
            claims.append(Claim(customer_id=customer_id, claimed_at=_second(at), fresh=True))
        if taken:
            found = self.table.batch_get([claim_key(rows[i][0]) for i in taken])
            mine = {str(c[PK]): c for c in found if c.get("job_id") == job_id}
            for i in taken:
                earlier = mine.get(claim_key(rows[i][0])[PK])
                if earlier is not None:
                    claimed_at = datetime.fromisoformat(str(earlier["claimed_at"]))
                    claims[i] = Claim(str(earlier["customer_id"]), claimed_at, fresh=False)
        return claims

    def existing(self, customer_ids: Sequence[str]) -> set[str]:
        """Which of these customers have a profile."""
        if not customer_ids:
            return set()
        found = self.table.batch_get([profile_key(c) for c in customer_ids])
        return {str(i["customer_id"]) for i in found}

    def write_imported(self, customers: Sequence[Imported]) -> None:
        """Write the customers (see the module's docstring for the order) and publish their
        events; events EventBridge refuses now stay in the outbox for the sweep."""
        anniversaries: list[Item] = []
        profiles: list[Item] = []
        for customer in customers:
            if customer.profile is not None:
                anniversaries += anniversary_items(customer.profile)
                profiles.append({**profile_item(customer.profile), "import_ref": customer.external_ref})
        pending = [self._outbox_item(c) for c in customers]
        self.table.batch_write(puts=[*anniversaries, *profiles, *pending])
        self.profiles.flush(pending)

    def _outbox_item(self, customer: Imported) -> Item:
        event_id = imported_event_id(customer.event.customer_id)
        item = self.outbox.item(Envelope(customer.event, event_id=event_id, occurred_at=customer.at))
        item[PK] = f"{OUTBOX_PREFIX}{uuid.UUID(event_id).int % OUTBOX_SHARDS}"  # the same item every time
        return item


# --- the queue to the importer ---------------------------------------------------------------
