"""Bulk import from CSV: the file's columns, its rows as validated, the messages that carry
them to the importer, and the job marketing watches.

The file: UTF-8 (a byte-order mark is allowed), comma-separated, RFC 4180 quoting, a header
row naming the columns in any order (names are trimmed and case-insensitive):

=====================  ========  ==================================================================
column                 required  value
=====================  ========  ==================================================================
external_ref           yes       the customer's id in the old system (visible ASCII, inner spaces
                                 allowed, 1-128 characters): what makes a row imported once
display_name           yes       1-100 characters
email                  no        an e-mail address
phone                  no        E.164 (``+821012345678``)
birthday               no        ``YYYY-MM-DD``, not in the future
locale                 no        BCP 47 (``ko-KR``, the default)
time_zone              no        IANA (``Asia/Seoul``, the default)
wedding_anniversary    no        ``YYYY-MM-DD``, not in the future
=====================  ========  ==================================================================

Every value is checked by the same validators as ``POST /me`` (``ProfileCreate``). There is
deliberately no consent column: consent is given by the customer, with its source and time
(``POST /me/consents``); an imported customer has none, so nothing is sent to them until
they give it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.profile.models.events import CustomerImported
from services.profile.models.profile import Profile, ProfileCreate
from shared.ids import prefixed_pattern

JOB_ID_PATTERN = prefixed_pattern("imp")
REQUIRED_COLUMNS = ("external_ref", "display_name")
OPTIONAL_COLUMNS = ("email", "phone", "birthday", "locale", "time_zone", "wedding_anniversary")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_ROWS = 50_000  # data rows per file (the route also caps the body at 5 MB)
MAX_REF_CHARS = 128
JOB_TTL = timedelta(days=90)  # a job and its rejected rows expire this long after it was created
EXTERNAL_REF_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"

ExternalRef = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_REF_CHARS, pattern=EXTERNAL_REF_PATTERN)
]


class ImportStatus(StrEnum):
    QUEUED = "queued"  # validated and sent to the importer; nothing imported yet
    RUNNING = "running"  # at least one chunk done
    COMPLETED = "completed"  # every chunk done
    FAILED = "failed"  # every chunk accounted for, some of them ended in the dead-letter queue


FINAL = frozenset({ImportStatus.COMPLETED, ImportStatus.FAILED})


class Problem(BaseModel):
    """What is wrong with one cell (``column``) or a whole row (``column`` is null)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    column: str | None
    code: Literal["missing", "invalid", "duplicate", "cell_count"]
    message: str = Field(description="For humans; never repeats the cell's value")


class Rejection(BaseModel):
    """A row that was not imported, and why. ``row`` counts lines as a spreadsheet does: the
    header is row 1, the first data row is row 2."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    row: int = Field(ge=2)
    external_ref: str | None = Field(default=None, description="When the row had a valid one")
    problems: list[Problem]


class ImportRow(BaseModel):
    """A valid row, on its way to the importer."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    row: int = Field(ge=2)
    external_ref: ExternalRef
    profile: ProfileCreate


class ImportChunk(BaseModel):
    """One SQS message: a chunk of valid rows to import, or of rejections to record."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    chunk: int = Field(ge=0)
    kind: Literal["rows", "rejections"]
    rows: list[dict[str, object]] = Field(
        default_factory=list, description="ImportRow each, validated one by one by the importer"
    )
    rejections: list[Rejection] = Field(default_factory=list)


class ImportJob(BaseModel):
    """An import's progress. ``total`` = ``valid`` + ``rejected`` (blank lines are not rows);
    the valid rows end up ``imported``, ``skipped`` (imported before, by an earlier job) or
    ``failed`` (their chunk ended in the dead-letter queue; redriving it finishes them)."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    job_id: str = Field(pattern=JOB_ID_PATTERN)
    status: ImportStatus
    total: int
    valid: int
    rejected: int
    imported: int
    skipped: int
    failed: int
    percent: int = Field(ge=0, le=100, description="Valid rows processed, in percent (100 once final)")
    chunks: int = Field(description="Messages the job was split into (rows and rejections)")
    created_by: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None


# -- what the logic and the store exchange (``logic.imports.ImportStore``) -------------------------


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    status: ImportStatus
    total: int
    valid: int
    rejected: int
    chunks: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    completed_at: datetime | None = None
    chunks_done: frozenset[int] = field(default_factory=frozenset)
    chunks_failed: frozenset[int] = field(default_factory=frozenset)

    @property
    def accounted(self) -> bool:
        """Every chunk is done or ended in the dead-letter queue."""
        return len(self.chunks_done | self.chunks_failed) >= self.chunks


@dataclass(frozen=True)
class Claim:
    """A row's claim: the customer it is (or became), since when, and whether this call made it."""

    customer_id: str
    claimed_at: datetime
    fresh: bool


@dataclass(frozen=True)
class Counts:
    imported: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Imported:
    """A customer to write: their profile (None when it exists already) and their event."""

    profile: Profile | None
    external_ref: str
    event: CustomerImported
    at: datetime
