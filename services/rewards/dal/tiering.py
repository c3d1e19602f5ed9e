"""An account's tier state and its monthly qualifying measures, and the tier's conditional update.

The tier fields live on the account item but are changed apart from the ledger: the ledger
conditions its writes on ``version``, the tier on ``tier_version``, so a tier decision never
invalidates a concurrent spend (and the other way round). The month items ``QUAL#<yyyy-mm>`` are
written by the ledger with every purchase credit and reversal.
"""

from __future__ import annotations

import datetime as dt

from services.rewards.dal.keys import PK, SK, account_key, account_pk, outbox
from services.rewards.models.programs import TierRecord
from shared.dynamo import ConditionFailed, DynamoTable, TransactionConflict, transact_write
from shared.events import DomainEvent, EventPublisher


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


class DynamoTierStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)

    def record(self, customer_id: str) -> TierRecord | None:
        """The account's tier state; None when the customer has no account."""
        item = self.table.get(account_key(customer_id))
        if item is None:
            return None
        return TierRecord(
            tier=item.get("tier"),
            since=_date(item.get("tier_since")),
            below_since=_date(item.get("tier_below_since")),
            version=int(item.get("tier_version", 0)),
        )

    def months(self, customer_id: str, first: str, last: str) -> dict[str, tuple[int, int]]:
        """The qualifying (spend, points) of each month from ``first`` to ``last`` ("YYYY-MM")."""
        page = self.table.query(
            "#pk = :pk AND #sk BETWEEN :first AND :last",
            names={"#pk": PK, "#sk": SK},
            values={":pk": account_pk(customer_id), ":first": f"QUAL#{first}", ":last": f"QUAL#{last}"},
        )
        return {
            str(i[SK]).removeprefix("QUAL#"): (int(i.get("spend", 0)), int(i.get("points", 0)))
            for i in page.items
        }

    def save(
        self,
        customer_id: str,
        *,
        tier: str | None,
        since: dt.date | None,
        below_since: dt.date | None,
        expected_version: int,
        event: DomainEvent | None,
        now: dt.datetime,
    ) -> bool:
        """Write the tier state (and its event) if nobody changed it since ``expected_version``;
        False when someone did (the caller re-reads and decides again)."""
        fields = {"tier": tier, "tier_since": since, "tier_below_since": below_since}
        present = {
            k: (v if isinstance(v, str) else v.isoformat()) for k, v in fields.items() if v is not None
        }
        names = {"#pk": PK, **{f"#{k}": k for k in fields}}
        values: dict[str, object] = {f":{k}": v for k, v in present.items()}
        values |= {":expected": expected_version, ":next": expected_version + 1, ":zero": 0}
        expression = "SET tier_version = :next" + "".join(f", #{k} = :{k}" for k in present)
        if absent := [k for k in fields if k not in present]:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in absent)
        update = self.table.update_op(
            account_key(customer_id),
            expression,
            condition="attribute_exists(#pk) AND "
            "(tier_version = :expected OR (attribute_not_exists(tier_version) AND :expected = :zero))",
            names=names,
            values=values,
        )
        actions: list[dict[str, dict[str, object]]] = [{"Update": update}]
        items = []
        if event is not None:
            items.append(self.outbox.item(self.outbox.envelope(event, now)))
            actions.append({"Put": self.table.put_op(items[-1])})
        try:
            transact_write(self.table.client, actions)
        except (ConditionFailed, TransactionConflict):
            return False
        self.outbox.publish_or_leave(self.publisher, items)
        return True
