"""Draw schedules in the campaigns table (``DRAWS / <gift_id>``): one per gift, its draws on the item.

Made in one transaction with each draw's ``DrawScheduled`` (in the outbox: the rewards service
commits to a seed at once) and its due item (the releaser says ``DrawDue`` when its entries close).
The rewards service's ``DrawCommitted`` and ``DrawCompleted`` fill in the commitment and the result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from services.campaigns.dal import keys
from services.campaigns.dal.campaigns import DynamoCampaigns
from services.campaigns.models.draws import DrawSlot
from services.campaigns.models.events import DrawDue, DrawScheduled
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write
from shared.errors import Conflict
from shared.events import Envelope, EventPublisher

_DUE = uuid.UUID("0b6d3f4e-5a1c-4f7e-8c2d-9e1f0a3b5c7d")  # the namespace of DrawDue event ids


class DynamoDraws:
    def __init__(self, table: DynamoTable, publisher: EventPublisher | None = None) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = keys.outbox(table)

    def create(self, gift_id: str, slots: Sequence[DrawSlot], at: dt.datetime) -> Item:
        draws = {
            str(n): {"closes_at": s.closes_at.astimezone(dt.UTC).isoformat(), "winners": s.winners}
            for n, s in enumerate(slots, start=1)
        }
        item = {
            **keys.draw_schedule_key(gift_id),
            "gift_id": gift_id,
            "draws": draws,
            "created_at": at.isoformat(),
        }
        pending = [
            self.outbox.item(
                self.outbox.envelope(
                    DrawScheduled(gift_id=gift_id, draw=n, closes_at=s.closes_at, winners=s.winners), at
                )
            )
            for n, s in enumerate(slots, start=1)
        ]
        due = [DynamoCampaigns.due_draw(gift_id, n, s.closes_at) for n, s in enumerate(slots, start=1)]
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(item, condition=f"attribute_not_exists({keys.PK})")},
                    *({"Put": self.table.put_op(p)} for p in pending),
                    *({"Put": self.table.put_op(d)} for d in due),
                ],
            )
        except ConditionFailed as exists:
            raise Conflict("The gift has a draw schedule already.", code="draw_schedule_exists") from exists
        if self.publisher is not None:
            self.outbox.publish_or_leave(self.publisher, pending)
        return item

    def get(self, gift_id: str) -> Item | None:
        return self.table.get(keys.draw_schedule_key(gift_id))

    def _set(self, gift_id: str, draw: int, fields: dict[str, Any]) -> None:
        names = {"#draws": "draws", "#d": str(draw)} | {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": v for i, v in enumerate(fields.values())}
        sets = ", ".join(f"#draws.#d.#f{i} = :f{i}" for i in range(len(fields)))
        with contextlib.suppress(ConditionFailed):  # a draw scheduled elsewhere: not ours to show
            self.table.update(
                keys.draw_schedule_key(gift_id),
                f"SET {sets}",
                condition="attribute_exists(#draws.#d)",
                names=names,
                values=values,
            )

    def committed(self, gift_id: str, draw: int, commitment: str) -> None:
        self._set(gift_id, draw, {"commitment": commitment})

    def completed(self, gift_id: str, draw: int, *, seed: str, winners: int) -> None:
        self._set(gift_id, draw, {"seed": seed, "winners_drawn": winners})

    def announce_due(self, gift_id: str, draw: int, at: dt.datetime) -> None:
        """``DrawDue``, under an id of its own per draw (however often the releaser says it)."""
        event_id = str(uuid.uuid5(_DUE, f"{gift_id}/{draw}"))
        item = self.outbox.item(
            Envelope(DrawDue(gift_id=gift_id, draw=draw), event_id=event_id, occurred_at=at)
        )
        self.table.put(item)
        if self.publisher is not None:
            self.outbox.publish_or_leave(self.publisher, [item])
