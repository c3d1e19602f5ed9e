"""Versioned items (segments, templates): the one in force and every version, written together.

The head item (``head``) carries ``version``; each version's item is written once, never changed.
A change is conditioned on the head still being at the version the caller read: of two changes
read at the same version one wins and the other is 412 ``version_mismatch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.campaigns.dal import keys
from shared.dynamo import ConditionFailed, DynamoTable, Key, transact_write
from shared.errors import PreconditionFailed


def save(
    table: DynamoTable,
    *,
    head: Key,
    version: Key,
    item: Mapping[str, Any],
    version_fields: Mapping[str, Any],
    expected: int | None,
    what: str,
) -> None:
    """``expected`` None: the first version (the head must not exist yet)."""
    condition = f"attribute_not_exists({keys.PK})" if expected is None else "version = :v"
    values = None if expected is None else {":v": expected}
    try:
        transact_write(
            table.client,
            [
                {"Put": table.put_op({**head, **item}, condition=condition, values=values)},
                {
                    "Put": table.put_op(
                        {**version, **version_fields}, condition=f"attribute_not_exists({keys.PK})"
                    )
                },
            ],
        )
    except ConditionFailed as failed:  # another change won the race since it was read
        if expected is None:
            raise
        raise PreconditionFailed(
            f"The {what} changed meanwhile; read it again.", code="version_mismatch"
        ) from failed
