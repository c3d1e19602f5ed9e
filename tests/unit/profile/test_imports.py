"""Reading an import file: what is a row, what is refused whole, what is rejected row by row,
and how the valid rows are cut into messages the imports queue takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.profile.logic.imports import (
    CHUNK_BYTES,
    REJECTIONS_PER_CHUNK,
    ROWS_PER_CHUNK,
    ParsedFile,
    parse_csv,
    plan_chunks,
    view,
)
from services.profile.models.imports import ImportChunk, ImportRow, ImportStatus, JobRecord, Rejection
from shared.errors import BadRequest, DangolError, Unprocessable
from tests.unit.fakes import PROPERTIES

JOB = "imp_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
HEAD = "external_ref,display_name"


def refused(data: bytes | str, **kw: int) -> DangolError:
    with pytest.raises(DangolError) as raised:
        parse_csv(data, **kw)
    return raised.value


def problems(rejection: Rejection) -> list[tuple[str | None, str]]:
    return [(p.column, p.code) for p in rejection.problems]


# --- the file as a whole ----------------------------------------------------------------------


def test_a_bom_crlf_quoted_commas_and_blank_lines_are_read_as_a_spreadsheet_would() -> None:
    # Given a UTF-8 file from Excel: a byte-order mark, CRLF, quoted cells with commas, quotes
    # and a line break, blank lines, and headers in another case with spaces around
    text = (
        "\ufeff External_Ref , DISPLAY_NAME ,email\r\n"
        'A-1,"Kim, Minji",minji@example.com\r\n'
        "\r\n"
        ",,\r\n"
        'A-2,"The ""Boss""",\r\n'
        'A-3,"two\r\nlines",\r\n'
    )
    # When it is read
    parsed = parse_csv(text.encode())
    # Then there are three rows, numbered by their line (blank ones count, as in a spreadsheet)
    assert [(r.row, r.external_ref, r.profile.display_name) for r in parsed.rows] == [
        (2, "A-1", "Kim, Minji"),
        (5, "A-2", 'The "Boss"'),
        (6, "A-3", "two\r\nlines"),
    ]
    assert parsed.rejections == []
    assert parsed.rows[0].profile.email == "minji@example.com"


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_any_line_ending_is_accepted(newline: str) -> None:
    # Given the same file with Unix, old Mac or Windows line endings and no final newline
    text = newline.join([HEAD, "A,Kim", "B,Lee"])
    # When it is read
    parsed = parse_csv(text)
    # Then it has the same two rows
    assert [r.external_ref for r in parsed.rows] == ["A", "B"]


@pytest.mark.parametrize(
    "data",
    [
        "external_ref,display_name\r\nA,김민지\r\n".encode("euc-kr"),
        b"external_ref,display_name\r\nA,\xff\xfe\r\n",
        "external_ref,display_name\r\nA,\ud800\r\n",  # a lone surrogate in a str
    ],
    ids=["euc-kr", "invalid-bytes", "lone-surrogate"],
)
def test_a_file_that_is_not_utf8_is_a_400(data: bytes | str) -> None:
    # Given a file that is not UTF-8
    # When it is read
    error = refused(data)
    # Then it is a 400 malformed_body
    assert isinstance(error, BadRequest)
    assert error.code == "malformed_body"


def test_an_unterminated_quote_is_a_400_naming_the_line_not_a_silently_swallowed_file() -> None:
    # Given a file whose second row opens a quote it never closes
    text = 'external_ref,display_name\r\nA,"Kim\r\nB,Lee\r\nC,Park\r\n'
    # When it is read
    error = refused(text)
    # Then the whole file is refused (rather than the rest of the file read as one cell)
    assert (error.status, error.code) == (400, "malformed_csv")
    assert "line" in error.message


@pytest.mark.parametrize(
    ("text", "code", "columns"),
    [
        ("external_ref,display_name,colour\r\nA,B,red\r\n", "unknown_columns", ["colour"]),
        ("external_ref;display_name\r\nA;B\r\n", "unknown_columns", ["external_ref;display_name"]),
        ("display_name,email\r\nB,b@x.co\r\n", "missing_columns", ["external_ref"]),
        ("email\r\nb@x.co\r\n", "missing_columns", ["external_ref", "display_name"]),
        ("external_ref,display_name,EMAIL,email\r\nA,B,,\r\n", "duplicate_columns", ["email"]),
        ("", "missing_columns", []),
        ("\r\n \r\n", "missing_columns", []),
        ("external_ref,display_name\r\n\r\n", "no_rows", []),
    ],
    ids=["unknown", "semicolons", "missing-ref", "missing-both", "duplicate", "empty", "blank", "no-rows"],
)
def test_a_bad_header_or_no_rows_refuses_the_whole_file(text: str, code: str, columns: list[str]) -> None:
    # Given a file whose header cannot be used, or which has no rows
    # When it is read
    error = refused(text)
    # Then it is a 422 with a code, and the details name the columns at fault
    assert isinstance(error, Unprocessable)
    assert error.code == code
    assert [d["loc"][1] for d in error.details] == columns


def test_too_many_rows_refuse_the_file_but_blank_lines_do_not_count() -> None:
    # Given files of 3 and of 4 rows, with blank lines between, against a limit of 3
    three = HEAD + "\r\nA,a\r\n\r\n\r\nB,b\r\n\r\nC,c\r\n\r\n"
    four = three + "D,d\r\n"
    # When they are read
    # Then the first is accepted and the second refused
    assert parse_csv(three, max_rows=3).total == 3
    error = refused(four, max_rows=3)
    assert (error.status, error.code) == (422, "too_many_rows")


def test_a_trailing_unnamed_column_is_ignored_when_empty_and_a_problem_when_not() -> None:
    # Given a header with a stray trailing comma, one row that leaves it empty and one that does not
    text = "external_ref,display_name,\r\nA,Kim,\r\nB,Lee,surprise\r\n"
    # When it is read
    parsed = parse_csv(text)
    # Then the first row is valid and the second is rejected for the value without a column
    assert [r.external_ref for r in parsed.rows] == ["A"]
    (rejection,) = parsed.rejections
    assert (rejection.row, problems(rejection)) == (3, [(None, "invalid")])


# --- rows, one by one ---------------------------------------------------------------------------


def test_every_field_of_a_valid_row_is_kept_trimmed_with_defaults_for_blank_settings() -> None:
    # Given a row with every column, padded with spaces, and a row with only the required ones
    text = (
        "external_ref,display_name,email,phone,birthday,locale,time_zone,wedding_anniversary\n"
        " 00042 , 김민지 , minji@example.com , +821012345678 , 1990-03-14 ,"
        " en-US , Europe/Paris , 2015-05-20 \n"
        "00043,Lee,,,,,,\n"
    )
    # When it is read
    full, bare = parse_csv(text).rows
    # Then the values are trimmed and typed, and the blank settings take the profile defaults
    assert full.external_ref == "00042"
    profile = full.profile
    assert (profile.display_name, profile.email, profile.phone) == (
        "김민지",
        "minji@example.com",
        "+821012345678",
    )
    assert (str(profile.birthday), profile.locale, profile.time_zone) == (
        "1990-03-14",
        "en-US",
        "Europe/Paris",
    )
    assert [(a.kind.value, str(a.date)) for a in profile.anniversaries] == [("wedding", "2015-05-20")]
    assert (bare.profile.locale, bare.profile.time_zone, bare.profile.anniversaries) == (
        "ko-KR",
        "Asia/Seoul",
        [],
    )


@pytest.mark.parametrize(
    ("header", "cells", "expected"),
    [
        ("birthday", "1990-02-30", [("birthday", "invalid")]),
        ("birthday", "14/03/1990", [("birthday", "invalid")]),
        ("birthday", "2999-01-01", [("birthday", "invalid")]),
        ("birthday", "1850-01-01", [("birthday", "invalid")]),
        ("wedding_anniversary", "2024-13-01", [("wedding_anniversary", "invalid")]),
        ("time_zone", "Mars/Olympus", [("time_zone", "invalid")]),
        ("time_zone", "KST", [("time_zone", "invalid")]),
        ("time_zone", "../../etc/passwd", [("time_zone", "invalid")]),
        ("phone", "010-1234-5678", [("phone", "invalid")]),
        ("email", "not-an-email", [("email", "invalid")]),
        ("locale", "korean", [("locale", "invalid")]),
    ],
)
def test_a_bad_value_rejects_its_row_naming_the_column_without_repeating_the_value(
    header: str, cells: str, expected: list[tuple[str, str]]
) -> None:
    # Given a row with one bad value
    text = f"external_ref,display_name,{header}\r\nA,Kim,{cells}\r\n"
    # When it is read
    parsed = parse_csv(text)
    # Then the row is rejected for that column, and the message does not repeat the value
    (rejection,) = parsed.rejections
    assert (rejection.row, rejection.external_ref, problems(rejection)) == (2, "A", expected)
    assert cells not in json.dumps(rejection.model_dump())
    assert parsed.rows == []


def test_a_row_lists_all_its_problems_at_once() -> None:
    # Given a row with no ref, no name and a bad phone
    text = "external_ref,display_name,phone\r\n ,  ,12345\r\n"
    # When it is read
    (rejection,) = parse_csv(text).rejections
    # Then each problem is listed with its column
    assert sorted(problems(rejection), key=str) == sorted(
        [("external_ref", "missing"), ("display_name", "missing"), ("phone", "invalid")], key=str
    )


@pytest.mark.parametrize("ref", ["x" * 129, "tab\there", "caf\u00e9", " "])
def test_an_external_ref_must_be_short_visible_ascii(ref: str) -> None:
    # Given a ref that is too long, holds control characters or non-ASCII, or is blank
    text = f'{HEAD}\r\n"{ref}",Kim\r\n'
    # When it is read
    (rejection,) = parse_csv(text).rejections
    # Then the row is rejected for its ref
    assert problems(rejection)[0][0] == "external_ref"
    assert rejection.external_ref is None


def test_a_ref_seen_before_in_the_file_rejects_the_later_rows_even_if_the_first_was_rejected() -> None:
    # Given three rows with the same ref, the first of them invalid
    text = f"{HEAD},phone\r\nA,Kim,bad\r\nA,Lee,\r\nB,Park,\r\nA,Choi,\r\n"
    # When it is read
    parsed = parse_csv(text)
    # Then the first is rejected for its phone and the later ones as duplicates of row 2
    assert [r.external_ref for r in parsed.rows] == ["B"]
    assert [(r.row, problems(r)) for r in parsed.rejections] == [
        (2, [("phone", "invalid")]),
        (3, [("external_ref", "duplicate")]),
        (5, [("external_ref", "duplicate")]),
    ]
    assert parsed.rejections[1].problems[0].message == "The same external_ref as row 2."


def test_refs_are_compared_exactly_after_trimming() -> None:
    # Given refs that differ only in case, and one that differs only by padding
    text = f"{HEAD}\r\nabc,a\r\nABC,b\r\n abc ,c\r\n"
    # When it is read
    parsed = parse_csv(text)
    # Then case matters (old systems' ids may be case-sensitive), padding does not
    assert [r.external_ref for r in parsed.rows] == ["abc", "ABC"]
    assert [problems(r) for r in parsed.rejections] == [[("external_ref", "duplicate")]]


@pytest.mark.parametrize(("cells", "count"), [("A", 1), ("A,Kim,extra", 3)])
def test_a_row_with_another_number_of_cells_is_rejected(cells: str, count: int) -> None:
    # Given a row with fewer or more (non-blank) cells than the header names
    text = f"{HEAD}\r\n{cells}\r\nB,Lee,\r\n"
    # When it is read
    parsed = parse_csv(text)
    # Then that row is rejected as a whole (and a trailing blank cell is fine)
    (rejection,) = parsed.rejections
    assert problems(rejection) == [(None, "cell_count")]
    assert str(count) in rejection.problems[0].message
    assert [r.external_ref for r in parsed.rows] == ["B"]


# --- chunks for the queue ------------------------------------------------------------------------


def _rows(count: int, name: str = "Kim") -> ParsedFile:
    text = "\r\n".join([f"{HEAD},email", *(f"R{i},{name},r{i}@example.com" for i in range(count))])
    return parse_csv(text)


def test_valid_rows_go_in_chunks_of_250_and_rejections_after_them_in_chunks_of_500() -> None:
    # Given 600 valid rows and 501 rejected ones
    text = "\r\n".join([HEAD, *(f"R{i},Kim" for i in range(600)), *(f"X{i}," for i in range(501))])
    parsed = parse_csv(text)
    # When the job's messages are planned
    chunks = [ImportChunk.model_validate_json(b) for b in plan_chunks(JOB, parsed)]
    # Then rows come first in chunks of 250, then rejections in chunks of 500, numbered from 0
    assert [(c.chunk, c.kind, len(c.rows) or len(c.rejections)) for c in chunks] == [
        (0, "rows", ROWS_PER_CHUNK),
        (1, "rows", ROWS_PER_CHUNK),
        (2, "rows", 100),
        (3, "rejections", REJECTIONS_PER_CHUNK),
        (4, "rejections", 1),
    ]
    assert {c.job_id for c in chunks} == {JOB}
    # And every row travels whole, and reads back as the row it was
    assert [ImportRow.model_validate(r) for c in chunks for r in c.rows] == parsed.rows


def test_chunks_of_the_largest_rows_stay_under_the_queues_message_limit() -> None:
    # Given rows as large as valid rows get (100-character Korean names, 3 bytes a character)
    parsed = _rows(600, name="가" * 100)
    # When the job's messages are planned
    bodies = plan_chunks(JOB, parsed)
    # Then each is under 256 KiB, with fewer rows a chunk, and no row is lost
    assert all(len(b.encode()) <= CHUNK_BYTES + 1024 for b in bodies)
    assert sum(len(ImportChunk.model_validate_json(b).rows) for b in bodies) == 600


@PROPERTIES
@given(valid=st.integers(0, 700), rejected=st.integers(0, 1100))
def test_every_row_and_rejection_is_in_exactly_one_chunk(valid: int, rejected: int) -> None:
    # Given any mix of valid and rejected rows (at least one)
    if valid + rejected == 0:
        return
    text = "\r\n".join([HEAD, *(f"R{i},Kim" for i in range(valid)), *(f"X{i}," for i in range(rejected))])
    parsed = parse_csv(text)
    # When the job's messages are planned
    chunks = [ImportChunk.model_validate_json(b) for b in plan_chunks(JOB, parsed)]
    # Then each row and each rejection is in exactly one chunk, and chunk numbers are 0..n-1
    assert [c.chunk for c in chunks] == list(range(len(chunks)))
    assert sorted(int(str(r["row"])) for c in chunks for r in c.rows) == [r.row for r in parsed.rows]
    assert sorted(r.row for c in chunks for r in c.rejections) == [r.row for r in parsed.rejections]


# --- progress ----------------------------------------------------------------------------------


def _job(status: ImportStatus, valid: int, imported: int = 0, skipped: int = 0, failed: int = 0) -> JobRecord:
    at = datetime(2025, 3, 14, tzinfo=UTC)
    return JobRecord(
        job_id=JOB,
        status=status,
        total=valid + 5,
        valid=valid,
        rejected=5,
        chunks=3,
        created_by="marketer",
        created_at=at,
        updated_at=at,
        imported=imported,
        skipped=skipped,
        failed=failed,
    )


@pytest.mark.parametrize(
    ("job", "percent"),
    [
        (_job(ImportStatus.QUEUED, 300), 0),
        (_job(ImportStatus.RUNNING, 300, imported=100, skipped=49), 49),
        (_job(ImportStatus.RUNNING, 300, imported=300), 99),  # the rejections are still being recorded
        (_job(ImportStatus.COMPLETED, 300, imported=250, skipped=50), 100),
        (_job(ImportStatus.FAILED, 300, imported=50, failed=250), 100),
        (_job(ImportStatus.RUNNING, 0), 0),
        (_job(ImportStatus.COMPLETED, 0), 100),
    ],
)
def test_percent_is_the_valid_rows_processed_and_100_only_once_final(job: JobRecord, percent: int) -> None:
    # Given a job at some point of its life
    # When it is shown
    # Then its percent is the share of valid rows processed, rounded down, 100 only when final
    assert view(job).percent == percent
