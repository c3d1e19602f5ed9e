"""A gift's scheduled draws in the rewards table, beside the gift's other items (``dal/offers.py``).

Items:
- ``GIFT#<id> / DRAW#<nn>``: a draw (``models.draws.DrawRecord``): its secret seed and public
  commitment, its status, and once planned its picks (winners) and the plan naming its entries
- ``GIFT#<id> / DRAW#<nn>#ENTRIES#<plan>#<kkkkk>``: the sorted entry ids the draw was drawn among,
  ``CHUNK`` per item (an item holds at most 400 KB)

The draw is put once, under ``attribute_not_exists``, with its ``DrawCommitted`` in the same
transaction. A plan writes its entry chunks under a fresh plan id, then sets the draw's picks and
plan under the condition that it has none: of two runs at once, one plan wins and the other run
reads it (its chunks are left unreferenced). The reveal sets ``drawn`` under ``drawing``, with
``DrawCompleted`` in the same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime

from services.rewards.dal.keys import PK, SK, account_pk
from services.rewards.dal.offers import _ABSENT, DynamoOfferStore, _data, entrant_key
from services.rewards.models.draws import DrawRecord, Entrant, MyDrawEntry
from services.rewards.models.events import DrawCommitted, DrawCompleted, DrawWinner
from shared.clock import iso
from shared.dynamo import ConditionFailed, Key
from shared.ids import ulid

CHUNK = 5000  # entry ids per item: ~35 bytes each, well under DynamoDB's 400 KB


def draw_key(gift_id: str, number: int) -> Key:
    return {PK: f"GIFT#{gift_id}", SK: f"DRAW#{number:02d}"}


def _entries_prefix(draw: DrawRecord, plan_id: str) -> str:
    return f"DRAW#{draw.draw:02d}#ENTRIES#{plan_id}#"


class DynamoDrawStore(DynamoOfferStore):
    """The offers store (gifts, entrants, claims) with the gifts' scheduled draws."""

    def schedule(self, draw: DrawRecord, event: DrawCommitted, *, at: datetime) -> bool:
        """Create the draw and publish its commitment; False when it exists (nothing changes)."""
        item = {
            **draw_key(draw.gift_id, draw.draw),
            "type": "gift_draw",
            **draw.model_dump(mode="json", exclude_none=True),
        }
        try:
            self._commit([{"Put": self.table.put_op(item, **_ABSENT)}], [event], at)
        except ConditionFailed:
            return False
        return True

    def draw(self, gift_id: str, number: int) -> DrawRecord | None:
        item = self.table.get(draw_key(gift_id, number))
        return DrawRecord.model_validate(_data(item)) if item else None

    def open_entrants(self, gift_id: str, *, closes_at: datetime) -> list[Entrant]:
        """The gift's entries made at or before ``closes_at`` that have not won it."""
        found = self._entrants(
            gift_id,
            "attribute_not_exists(#won) AND attribute_exists(#id) AND #at <= :closes",
            {"#won": "won_at", "#id": "entry_id", "#at": "entered_at"},
            {":closes": iso(closes_at)},
        )
        return [Entrant(entry_id=str(i["entry_id"]), customer_id=str(i["customer_id"])) for i in found]

    def plan(
        self, draw: DrawRecord, entries: Sequence[str], picks: Sequence[DrawWinner], *, at: datetime
    ) -> DrawRecord:
        """Fix the draw's entries and picks, once: the draw as stored after (another run's plan if
        it got there first)."""
        plan_id = ulid()
        prefix = _entries_prefix(draw, plan_id)
        chunks = [list(entries[i : i + CHUNK]) for i in range(0, len(entries), CHUNK)]
        for n, ids in enumerate(chunks):
            self.table.put(
                {PK: f"GIFT#{draw.gift_id}", SK: f"{prefix}{n:05d}", "type": "draw_entries", "ids": ids}
            )
        fields = {  # the condition names the first two: #f0 status, #f1 plan_id
            "status": "drawing",
            "plan_id": plan_id,
            "entry_chunks": len(chunks),
            "entries": len(entries),
            "picks": [p.model_dump(mode="json") for p in picks],
            "planned_at": iso(at),
        }
        with contextlib.suppress(ConditionFailed):  # another run planned it first: read its plan
            self.table.update(
                draw_key(draw.gift_id, draw.draw),
                "SET " + ", ".join(f"#f{n} = :v{n}" for n in range(len(fields))),
                condition="#f0 = :committed AND attribute_not_exists(#f1)",
                names={f"#f{n}": name for n, name in enumerate(fields)},
                values={":committed": "committed", **{f":v{n}": v for n, v in enumerate(fields.values())}},
            )
        stored = self.draw(draw.gift_id, draw.draw)
        assert stored is not None  # draws are never deleted
        return stored

    def entry_ids(self, draw: DrawRecord) -> list[str]:
        """The sorted entry ids the draw's plan fixed (none before it is planned)."""
        if draw.plan_id is None:
            return []
        items = self.table.query_all(
            "#pk = :pk AND begins_with(#sk, :prefix)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": f"GIFT#{draw.gift_id}", ":prefix": _entries_prefix(draw, draw.plan_id)},
        )
        return [str(entry) for item in items for entry in item["ids"]]

    def not_won(self, gift_id: str, customer_ids: Sequence[str]) -> set[str]:
        """Those of these customers whose entry in the gift's draws has not won (100 per read)."""
        found = self.table.batch_get([entrant_key(gift_id, c) for c in dict.fromkeys(customer_ids)])
        return {str(i["customer_id"]) for i in found if "won_at" not in i}

    def reveal(self, draw: DrawRecord, event: DrawCompleted, *, at: datetime) -> bool:
        """Mark the draw drawn (its seed public) and publish ``DrawCompleted``, once."""
        drawn = self.table.update_op(
            draw_key(draw.gift_id, draw.draw),
            "SET #s = :drawn, drawn_at = :at",
            condition="#s = :drawing",
            names={"#s": "status"},
            values={":drawn": "drawn", ":drawing": "drawing", ":at": iso(at)},
        )
        try:
            self._commit([{"Update": drawn}], [event], at)
        except ConditionFailed:
            return False
        return True

    def my_entries(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[MyDrawEntry], str | None]:
        """A page of the customer's entries, latest gift first, and the sort key to continue after."""
        items, last = self._page(
            account_pk(customer_id), "DRAWENTRY#", after=after, limit=limit, newest_first=True
        )
        return [MyDrawEntry.model_validate(_data(i)) for i in items], last
