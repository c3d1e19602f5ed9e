"""Segment preview jobs in the campaigns table (``SEGPREV#<id> / JOB``, ``dal/keys.py``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from services.campaigns.dal import keys
from shared.dynamo import ConditionFailed, DynamoTable, Item


class DynamoSegmentPreviews:
    """``logic.segment_previews.PreviewStore``."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, item: dict[str, Any]) -> None:
        expires = dt.datetime.fromisoformat(item["expires_at"])
        self.table.put(
            {**keys.preview_key(item["id"]), **item, keys.TTL: int(expires.timestamp())},
            condition=f"attribute_not_exists({keys.PK})",
        )

    def get(self, preview_id: str) -> Item | None:
        return self.table.get(keys.preview_key(preview_id))

    def advance(self, preview_id: str, *, cursor: str, before: int, progress: dict[str, Any]) -> bool:
        """A step's progress, if the job is still where the step started (False: it is not)."""
        names = {f"#{name}": name for name in progress}
        values = {f":{name}": value for name, value in progress.items()}
        try:
            self.table.update(
                keys.preview_key(preview_id),
                "SET " + ", ".join(f"#{name} = :{name}" for name in progress),
                condition="#looked_at = :before AND #cursor = :at",
                names={**names, "#looked_at": "looked_at", "#cursor": "cursor"},
                values={**values, ":before": before, ":at": cursor},
            )
        except ConditionFailed:
            return False
        return True

    def next_sent(self, preview_id: str, *, looked_at: int) -> None:
        """The step after ``looked_at`` views is queued (nothing when the job moved on meanwhile)."""
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                keys.preview_key(preview_id),
                "SET next_sent = :t",
                condition="looked_at = :n",
                values={":t": True, ":n": looked_at},
            )
