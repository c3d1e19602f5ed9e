"""The customer views in the campaigns table (``dal/keys.py`` has the layout)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.campaigns.dal import keys
from services.campaigns.logic.projection import AlreadyApplied, Effect, Stale, Stored
from services.campaigns.models.view import KEPT_DAYS, CustomerView
from services.campaigns.topology import VIEW_LIST
from shared.dynamo import ConditionFailed, DynamoTable, transact_write

ERASED_KEPT = timedelta(days=30)
EFFECT_KEPT = {
    "PUR": timedelta(days=KEPT_DAYS),
    "REF": timedelta(days=KEPT_DAYS),
    "VIS": timedelta(days=30),
    "CPN": timedelta(days=KEPT_DAYS),
}


class DynamoViews:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def load(self, customer_id: str) -> Stored:
        items = self.table.batch_get([keys.view_key(customer_id), keys.erased_key(customer_id)])
        by_sk = {item[keys.SK]: item for item in items}
        if "ERASED" in by_sk:
            return Stored(view=None, version=0, erased=True)
        item = by_sk.get("VIEW")
        if item is None:
            return Stored(view=None, version=0, erased=False)
        return Stored(
            view=CustomerView.model_validate_json(item["view"]), version=int(item["version"]), erased=False
        )

    def save(self, view: CustomerView, expected: int, effect: Effect | None, at: datetime) -> None:
        item = {
            **keys.view_key(view.customer_id),
            "listed": "VIEW",
            "customer_id": view.customer_id,
            "version": expected + 1,
            "view": view.model_dump_json(),
        }
        condition = f"attribute_not_exists({keys.PK})" if expected == 0 else "version = :v"
        values = None if expected == 0 else {":v": expected}
        actions = [{"Put": self.table.put_op(item, condition=condition, values=values)}]
        if effect is not None:
            record = {
                **keys.effect_key(view.customer_id, effect.kind, effect.ref),
                **effect.data,
                keys.TTL: int((at + EFFECT_KEPT[effect.kind]).timestamp()),
            }
            actions.append({"Put": self.table.put_op(record, condition=f"attribute_not_exists({keys.PK})")})
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed as failed:
            if len(failed.reasons) > 1 and failed.reasons[1] == "ConditionalCheckFailed":
                raise AlreadyApplied from failed
            raise Stale from failed

    def effect(self, customer_id: str, kind: str, ref: str) -> dict[str, object] | None:
        return self.table.get(keys.effect_key(customer_id, kind, ref))

    def erase(self, customer_id: str, at: datetime) -> None:
        """Delete every item of the customer's partition and their login's link, and leave the tombstone."""
        pk = keys.customer_pk(customer_id)
        start = None
        while True:
            page = self.table.query(f"{keys.PK} = :pk", values={":pk": pk}, start_key=start)
            doomed = [
                {keys.PK: i[keys.PK], keys.SK: i[keys.SK]} for i in page.items if i[keys.SK] != "ERASED"
            ]
            # the login's link (``/me/offers`` finds the customer by it) lives outside the partition
            doomed += [keys.subject_key(str(i["subject"])) for i in page.items if i[keys.SK] == "LOGIN"]
            self.table.batch_write(deletes=doomed)
            if page.last_key is None:
                break
            start = page.last_key
        self.table.put({**keys.erased_key(customer_id), keys.TTL: int((at + ERASED_KEPT).timestamp())})

    def page(self, *, after: str | None, limit: int) -> tuple[list[CustomerView], str | None]:
        """Views in customer-id order, ``limit`` at a time (the ``view-list`` index, then one batch read)."""
        versioned, last = self.versioned_page(after=after, limit=limit)
        return [view for view, _ in versioned], last

    def versioned_page(
        self, *, after: str | None, limit: int
    ) -> tuple[list[tuple[CustomerView, int]], str | None]:
        """``page``, each view with its version."""
        start = None if after is None else {"listed": "VIEW", "customer_id": after, **keys.view_key(after)}
        page = self.table.query(
            "listed = :l", values={":l": "VIEW"}, index=VIEW_LIST.name, limit=limit, start_key=start
        )
        ids = [str(i["customer_id"]) for i in page.items]
        items = self.table.batch_get([keys.view_key(c) for c in ids], consistent=False) if ids else []
        views = sorted(
            ((CustomerView.model_validate_json(i["view"]), int(i["version"])) for i in items),
            key=lambda found: found[0].customer_id,
        )
        return views, (ids[-1] if page.last_key is not None and ids else None)
