"""Who read personal data in bulk: one ``AUDIT#<yyyy-mm-dd> / <at>#<id>`` item per access, with
the actor (a Cognito sub), the action and its parameters (never the data), kept 400 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.profile.dal.keys import TTL, audit_key
from shared.clock import iso
from shared.dynamo import DynamoTable
from shared.ids import ulid

KEPT = timedelta(days=400)


def record_access(
    table: DynamoTable, *, actor: str, action: str, detail: dict[str, object], at: datetime
) -> None:
    table.put(
        {
            **audit_key(at.date().isoformat(), f"{iso(at)}#{ulid()}"),
            "type": "audit",
            "actor": actor,
            "action": action,
            "detail": detail,
            "at": iso(at),
            TTL: int((at + KEPT).timestamp()),
        }
    )
