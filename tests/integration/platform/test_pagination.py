"""Cursor pagination over real DynamoDB queries (moto)."""

from __future__ import annotations

from typing import Any

import pytest

from services.profile.topology import PROFILES
from shared.dynamo import DynamoTable
from shared.errors import BadRequest
from shared.pagination import decode_cursor, encode_cursor
from tests.integration.conftest import CURSOR_KEY, table

PARTITION = "LIST#visits"
SCOPE = "GET /customers/{customer_id}/visits?customer_id=cus_1"


@pytest.fixture
def visits(tables: dict[str, str]) -> DynamoTable:
    """57 items under one partition (and a few under another, which must never show up)."""
    profiles = table(PROFILES)
    profiles.batch_write(
        puts=[{"pk": PARTITION, "sk": f"VISIT#{n:03d}", "n": n} for n in range(57)]
        + [{"pk": "LIST#other", "sk": f"VISIT#{n:03d}", "n": 1000 + n} for n in range(5)]
    )
    return profiles


def list_page(
    profiles: DynamoTable, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the list, as a list route serves it: cursor in, items and next cursor out."""
    page = profiles.query(
        "pk = :pk",
        values={":pk": PARTITION},
        limit=limit,
        start_key=decode_cursor(cursor, scope=SCOPE, key=CURSOR_KEY),
    )
    return page.items, encode_cursor(page.last_key, scope=SCOPE, key=CURSOR_KEY)


def test_paging_57_items_by_20_sees_each_exactly_once_in_3_pages(visits: DynamoTable) -> None:
    # Given 57 items under one partition
    seen: list[int] = []
    cursors: list[str | None] = []
    cursor: str | None = None

    # When a client pages through with limit=20, passing back each next cursor
    while True:
        items, cursor = list_page(visits, cursor, limit=20)
        seen += [i["n"] for i in items]
        cursors.append(cursor)
        if cursor is None:
            break
        assert len(cursors) < 10, "paging does not end"

    # Then it took 3 pages (20, 20, 17), every item appeared once in order, the last page has no cursor
    assert len(cursors) == 3
    assert seen == list(range(57))
    assert cursors[-1] is None
    assert all(isinstance(c, str) and c for c in cursors[:-1])


def test_a_cursor_reveals_nothing_readable(visits: DynamoTable) -> None:
    # Given the cursor after the first page
    _, cursor = list_page(visits, None, limit=20)

    # When it is inspected
    # Then it is URL-safe text that does not spell out the partition key
    assert cursor is not None
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert PARTITION not in cursor


def test_a_cursor_from_another_list_is_refused(visits: DynamoTable) -> None:
    # Given a cursor issued for a different list (another customer's visits)
    page = visits.query("pk = :pk", values={":pk": PARTITION}, limit=20)
    foreign = encode_cursor(page.last_key, scope=SCOPE.replace("cus_1", "cus_2"), key=CURSOR_KEY)

    # When it is used on this list
    # Then it is a 400 invalid_cursor
    with pytest.raises(BadRequest) as raised:
        list_page(visits, foreign, limit=20)
    assert raised.value.code == "invalid_cursor"


def test_a_tampered_cursor_is_refused(visits: DynamoTable) -> None:
    # Given a valid cursor with one character changed
    _, cursor = list_page(visits, None, limit=20)
    assert cursor is not None
    tampered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]

    # When it is used
    # Then it is a 400 invalid_cursor
    with pytest.raises(BadRequest) as raised:
        list_page(visits, tampered, limit=20)
    assert raised.value.code == "invalid_cursor"
