"""Bulk import from CSV: read and validate the file, split it into chunks for the importer,
import a chunk idempotently, and report progress. No boto3 here: the store, the queue, the
clock and the id factory are passed in.

The upload (``POST /imports``) does everything that can be refused at once, synchronously:
- the body must be UTF-8 (400 ``malformed_body``) and well-formed CSV (400 ``malformed_csv``,
  e.g. an unterminated quote, with the line);
- the header must name known columns (422 ``unknown_columns``), each once
  (422 ``duplicate_columns``), and both required ones (422 ``missing_columns``); a column
  with an empty name is allowed only if all its cells are empty (a spreadsheet's stray
  trailing comma);
- at least one and at most ``MAX_ROWS`` data rows (422 ``no_rows`` / ``too_many_rows``);
  blank lines are not rows.
Nothing is written when the upload is refused. Then every row is validated (the profile
fields by ``ProfileCreate``, as ``POST /me`` does): a row with problems is *rejected* with
each problem's column, code and message (never the value); the second and later rows with
an external ref already seen in the file are rejected as ``duplicate``. The job is created
(``queued``) with its counts, and the valid rows (in chunks of at most ``ROWS_PER_CHUNK`` rows
and ``CHUNK_BYTES``) and the rejections (``REJECTIONS_PER_CHUNK`` a chunk) are sent to the
importer's queue; the answer is 202 with the job. If the queue refuses, the job is marked
``failed`` and the answer is 503 (chunks sent before the failure are still imported; a
retry of the upload skips them).

The importer (see ``import_chunk`` and ``services.profile.dal.imports``) claims each row's
external ref, writes the customer and their ``CustomerImported`` event, and counts the chunk
into the job once. ``percent`` = the valid rows processed (imported + skipped + failed) in
percent of the valid rows, rounded down, and 100 once the job is final (``completed`` when
every chunk is done; ``failed`` when some chunk ended in the dead-letter queue).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from services.profile.models.events import CustomerImported
from services.profile.models.imports import (
    COLUMNS,
    FINAL,
    JOB_TTL,
    MAX_ROWS,
    REQUIRED_COLUMNS,
    Claim,
    Counts,
    ExternalRef,
    ImportChunk,
    Imported,
    ImportJob,
    ImportRow,
    ImportStatus,
    JobRecord,
    Problem,
    Rejection,
)
from services.profile.models.profile import Profile, ProfileCreate
from shared.clock import Clock
from shared.dynamo import Key
from shared.errors import BadRequest, DangolError, NotFound, ServiceUnavailable, Unprocessable
from shared.observability import make_logger
from shared.queues import message_body

_log = make_logger()
ROWS_PER_CHUNK = 250
REJECTIONS_PER_CHUNK = 500
CHUNK_BYTES = 200 * 1024  # a chunk's JSON stays well under SQS's 256 KiB
_PROFILE_COLUMNS = {
    "display_name": "display_name",
    "email": "email",
    "phone": "phone",
    "birthday": "birthday",
    "locale": "locale",
    "time_zone": "time_zone",
}
_REF: TypeAdapter[str] = TypeAdapter(ExternalRef)


class ImportStore(Protocol):
    def create_job(self, job: JobRecord) -> None: ...
    def job(self, job_id: str) -> JobRecord | None: ...
    def fail_job(self, job_id: str, *, at: datetime) -> None: ...
    def finish_chunk(
        self, job: JobRecord, chunk: int, counts: Counts, *, failed_before: int, at: datetime
    ) -> JobRecord | None: ...
    def fail_chunk(self, job_id: str, chunk: int, *, rows: int, at: datetime) -> JobRecord | None: ...
    def set_status(
        self, job_id: str, status: ImportStatus, *, at: datetime, only_from: ImportStatus | None
    ) -> None: ...
    def put_rejections(self, job_id: str, rejections: Sequence[Rejection], *, expires: datetime) -> None: ...
    def rejections(
        self, job_id: str, *, limit: int, start: Key | None = None
    ) -> tuple[list[Rejection], Key | None]: ...
    def claim(self, rows: Sequence[tuple[str, str]], *, job_id: str, at: datetime) -> list[Claim | None]: ...
    def existing(self, customer_ids: Sequence[str]) -> set[str]: ...
    def write_imported(self, customers: Sequence[Imported]) -> None: ...


class ChunkQueue(Protocol):
    def send(self, bodies: Sequence[str]) -> None: ...


# --- reading the file ------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedFile:
    rows: list[ImportRow]
    rejections: list[Rejection]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejections)


def _header_problem(code: str, message: str, columns: Sequence[str]) -> Unprocessable:
    details = [{"loc": ["header", c], "type": code, "msg": message} for c in columns]
    return Unprocessable(f"{message}: {', '.join(repr(c) for c in columns)}.", code=code, details=details)


def _text(data: bytes | str) -> str:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        text.encode("utf-8")  # a str may still hold lone surrogates
    except UnicodeError:
        raise BadRequest("The file is not UTF-8 text.", code="malformed_body") from None
    return text.removeprefix("\ufeff")


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    named = [n for n in names if n]
    if duplicates := sorted({n for n in named if named.count(n) > 1}):
        raise _header_problem("duplicate_columns", "Columns named more than once", duplicates)
    if unknown := [n for n in named if n not in COLUMNS]:
        raise _header_problem("unknown_columns", f"Unknown columns (known: {', '.join(COLUMNS)})", unknown)
    if missing := [c for c in REQUIRED_COLUMNS if c not in named]:
        raise _header_problem("missing_columns", "Required columns missing", missing)
    return names


def parse_csv(data: bytes | str, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read and validate an import file (see the module's docstring for its rules)."""
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    header: list[str] | None = None
    rows: list[ImportRow] = []
    rejections: list[Rejection] = []
    first_row_of: dict[str, int] = {}
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(c.strip() for c in cells):
                continue  # a blank line is not a row (it keeps its number, as in a spreadsheet)
            if header is None:
                header = _header(cells)
                continue
            if len(rows) + len(rejections) >= max_rows:
                raise Unprocessable(f"A file may hold at most {max_rows} rows.", code="too_many_rows")
            outcome = _row(number, header, cells, first_row_of)
            if isinstance(outcome, ImportRow):
                rows.append(outcome)
            else:
                rejections.append(outcome)
    except csv.Error as exc:
        raise BadRequest(
            f"The file is not valid CSV near line {reader.line_num}.",
            code="malformed_csv",
            details=[{"loc": ["body", reader.line_num], "type": "malformed_csv", "msg": str(exc)}],
        ) from None
    if header is None:
        raise Unprocessable("The file needs a header row naming its columns.", code="missing_columns")
    if not rows and not rejections:
        raise Unprocessable("The file has a header but no rows.", code="no_rows")
    return ParsedFile(rows, rejections)


def _row(
    number: int, header: list[str], cells: list[str], first_row_of: dict[str, int]
) -> ImportRow | Rejection:
    problems: list[Problem] = []
    width = len(header)
    if len(cells) < width or any(c.strip() for c in cells[width:]):
        message = f"The row has {len(cells)} cells; the header names {width} columns."
        return Rejection(row=number, problems=[Problem(column=None, code="cell_count", message=message)])
    values: dict[str, str] = {}
    for name, cell in zip(header, cells, strict=False):
        if not name:
            if cell.strip():
                message = "A value in a column without a name."
                problems.append(Problem(column=None, code="invalid", message=message))
            continue
        if cell.strip():
            values[name] = cell.strip()
    ref = _external_ref(values.get("external_ref"), problems)
    if ref is not None:
        if ref in first_row_of:
            message = f"The same external_ref as row {first_row_of[ref]}."
            problems.append(Problem(column="external_ref", code="duplicate", message=message))
        else:
            first_row_of[ref] = number
    profile = _profile(values, problems)
    if problems or profile is None or ref is None:
        return Rejection(row=number, external_ref=ref, problems=problems)
    return ImportRow(row=number, external_ref=ref, profile=profile)


def _external_ref(value: str | None, problems: list[Problem]) -> str | None:
    if value is None:
        problems.append(Problem(column="external_ref", code="missing", message="external_ref is required."))
        return None
    try:
        return _REF.validate_python(value)
    except ValidationError:
        message = "external_ref must be 1-128 visible ASCII characters (inner spaces allowed)."
        problems.append(Problem(column="external_ref", code="invalid", message=message))
        return None


def _profile(values: dict[str, str], problems: list[Problem]) -> ProfileCreate | None:
    data: dict[str, Any] = {
        field: values[column] for column, field in _PROFILE_COLUMNS.items() if column in values
    }
    if "wedding_anniversary" in values:
        data["anniversaries"] = [{"kind": "wedding", "date": values["wedding_anniversary"]}]
    try:
        return ProfileCreate.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc = error["loc"]
            column = (
                "wedding_anniversary" if loc and loc[0] == "anniversaries" else str(loc[0]) if loc else None
            )
            code = "missing" if error["type"] == "missing" else "invalid"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(Problem(column=column, code=code, message=message))
        return None


# --- chunks ----------------------------------------------------------------------------------


def plan_chunks(job_id: str, parsed: ParsedFile) -> list[str]:
    """The messages of a job: its valid rows in chunks of at most ``ROWS_PER_CHUNK`` rows and
    ``CHUNK_BYTES`` of JSON, then its rejections. Chunks are numbered from 0 in that order.
    Each entry is serialized once (pydantic's JSON) and the chunks are joined from the pieces."""
    bodies: list[str] = []

    def emit(kind: str, pieces: list[str]) -> None:
        head = message_body({"job_id": job_id, "chunk": len(bodies), "kind": kind})
        bodies.append(f'{head[:-1]},"{kind}":[{",".join(pieces)}]}}')

    for kind, pieces, per_chunk in (
        ("rows", [r.model_dump_json() for r in parsed.rows], ROWS_PER_CHUNK),
        (
            "rejections",
            [r.model_dump_json(exclude_none=True) for r in parsed.rejections],
            REJECTIONS_PER_CHUNK,
        ),
    ):
        current: list[str] = []
        size = 0
        for piece in pieces:
            length = len(piece.encode()) + 1
            if current and (len(current) == per_chunk or size + length > CHUNK_BYTES):
                emit(kind, current)
                current, size = [], 0
            current.append(piece)
            size += length
        if current:
            emit(kind, current)
    return bodies


# --- the job ---------------------------------------------------------------------------------


def start_import(
    store: ImportStore,
    queue: ChunkQueue,
    data: bytes | str,
    *,
    by: str,
    clock: Clock,
    new_id: Callable[[], str],
) -> ImportJob:
    """Validate the file, create the job and hand its chunks to the importer."""
    parsed = parse_csv(data)
    job_id, now = new_id(), clock()
    bodies = plan_chunks(job_id, parsed)
    record = JobRecord(
        job_id=job_id,
        status=ImportStatus.QUEUED,
        total=parsed.total,
        valid=len(parsed.rows),
        rejected=len(parsed.rejections),
        chunks=len(bodies),
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    store.create_job(record)
    try:
        queue.send(bodies)
    except Exception as exc:
        store.fail_job(job_id, at=clock())
        if isinstance(exc, DangolError):
            raise
        raise ServiceUnavailable("The import could not be queued; retry.", code="import_not_queued") from exc
    return view(record)


def view(job: JobRecord) -> ImportJob:
    processed = job.imported + job.skipped + job.failed
    percent = min(99, processed * 100 // job.valid) if job.valid else 0
    if job.status in FINAL:
        percent = 100
    return ImportJob(
        job_id=job.job_id,
        status=job.status,
        total=job.total,
        valid=job.valid,
        rejected=job.rejected,
        imported=job.imported,
        skipped=job.skipped,
        failed=job.failed,
        percent=percent,
        chunks=job.chunks,
        created_by=job.created_by,
        created_at=job.created_at,
        updated_at=job.updated_at,
        completed_at=job.completed_at,
    )


def _no_job() -> NotFound:
    return NotFound("No import job with this id.", code="import_not_found")


def job(store: ImportStore, job_id: str) -> ImportJob:
    found = store.job(job_id)
    if found is None:
        raise _no_job()
    return view(found)


def rejections(
    store: ImportStore, job_id: str, *, limit: int, start: Key | None
) -> tuple[list[Rejection], Key | None]:
    if store.job(job_id) is None:
        raise _no_job()
    return store.rejections(job_id, limit=limit, start=start)


# --- the importer ----------------------------------------------------------------------------


class JobNotFound(LookupError):
    """A chunk of a job that does not exist (expired, or a stray message): dead-lettered."""


class ForeignChunk(ValueError):
    """A chunk number the job does not have: not a message we sent."""


def import_chunk(
    store: ImportStore,
    chunk: ImportChunk,
    *,
    clock: Clock,
    new_id: Callable[[], str],
    last_attempt: bool = False,
) -> Counts | None:
    """Import one chunk and count it into its job, once. None when it was counted before (a
    redelivery). On the queue's last attempt a failing chunk is counted as failed (its rows
    ``failed``) before it goes to the dead-letter queue, so that the job can end; redriving it
    later imports its rows and moves them from ``failed`` to ``imported``."""
    found = store.job(chunk.job_id)
    if found is None:
        raise JobNotFound(chunk.job_id)
    if chunk.chunk >= found.chunks:
        raise ForeignChunk(chunk.chunk)
    if chunk.chunk in found.chunks_done:
        return None
    try:
        if chunk.kind == "rejections":
            store.put_rejections(chunk.job_id, chunk.rejections, expires=found.created_at + JOB_TTL)
            counts = Counts()
        else:
            counts = _import_rows(store, chunk, clock=clock, new_id=new_id)
    except Exception:
        if last_attempt:
            failed = store.fail_chunk(chunk.job_id, chunk.chunk, rows=len(chunk.rows), at=clock())
            if failed is not None:
                _settle(store, failed, clock)
        raise
    done = store.finish_chunk(found, chunk.chunk, counts, failed_before=len(chunk.rows), at=clock())
    if done is None:
        return None
    _settle(store, done, clock)
    return counts


def _import_rows(
    store: ImportStore, chunk: ImportChunk, *, clock: Clock, new_id: Callable[[], str]
) -> Counts:
    valid: list[ImportRow] = []
    broken: list[int] = []
    refs: set[str] = set()
    for raw in chunk.rows:
        try:
            row = ImportRow.model_validate(raw)
        except ValidationError:
            number = raw.get("row")
            broken.append(number if isinstance(number, int) else -1)
            continue
        if row.external_ref in refs:  # the upload lets a ref through once: a forged chunk
            broken.append(row.row)
            continue
        refs.add(row.external_ref)
        valid.append(row)
    if broken:  # validated at upload: only a changed validator or a forged message gets here
        _log.warning("rows invalid at import", extra={"job_id": chunk.job_id, "rows": broken[:50]})
    proposed = [(row.external_ref, new_id()) for row in valid]
    results = store.claim(proposed, job_id=chunk.job_id, at=clock())
    claimed = [(row, claim) for row, claim in zip(valid, results, strict=True) if claim is not None]
    skipped = len(valid) - len(claimed)
    exists = store.existing([c.customer_id for _, c in claimed if not c.fresh])
    customers = []
    for row, claim in claimed:
        profile = None
        if claim.customer_id not in exists:
            profile = Profile(
                customer_id=claim.customer_id,
                version=1,
                created_at=claim.claimed_at,
                updated_at=claim.claimed_at,
                **row.profile.model_dump(),
            )
        event = CustomerImported(
            customer_id=claim.customer_id,
            job_id=chunk.job_id,
            locale=row.profile.locale,
            time_zone=row.profile.time_zone,
        )
        customers.append(Imported(profile, row.external_ref, event, claim.claimed_at))
    store.write_imported(customers)
    return Counts(imported=len(claimed), skipped=skipped, failed=len(broken))


def _settle(store: ImportStore, job: JobRecord, clock: Clock) -> None:
    """Move the job on after a chunk: final once every chunk is accounted for, else running."""
    if job.accounted:
        final = ImportStatus.FAILED if job.chunks_failed else ImportStatus.COMPLETED
        store.set_status(job.job_id, final, at=clock(), only_from=None)
    elif job.status == ImportStatus.QUEUED:
        store.set_status(job.job_id, ImportStatus.RUNNING, at=clock(), only_from=ImportStatus.QUEUED)
