"""Message templates and their versions in the campaigns table (``dal/keys.py``)."""

from __future__ import annotations

from typing import Any

from services.campaigns.dal import keys, versions
from shared.dynamo import DynamoTable, Item

TEMPLATES_PK = "TEMPLATES"


class DynamoTemplates:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def page(self, *, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        """Templates newest first (ids are ULIDs), ``limit`` at a time after ``after``; the last id
        when the list goes on."""
        condition = f"{keys.PK} = :pk" + (f" AND {keys.SK} < :after" if after else "")
        values: dict[str, Any] = {":pk": TEMPLATES_PK}
        if after:
            values[":after"] = after
        page = self.table.query(condition, values=values, limit=limit, forward=False)
        items = page.items
        return items, (str(items[-1]["id"]) if page.last_key is not None and items else None)

    def get(self, template_id: str) -> Item | None:
        return self.table.get(keys.template_key(template_id))

    def version(self, template_id: str, version: int) -> Item | None:
        return self.table.get(keys.template_version_key(template_id, version))

    def create(self, item: Item) -> None:
        """The template and its first version, at once."""
        self._save(item, expected=None)

    def replace(self, item: Item, *, expected: int) -> None:
        """The template's next version (``item["version"]`` = expected + 1), if it is still at
        ``expected``: of two changes read at the same version, one wins and the other is 412."""
        self._save(item, expected=expected)

    def _save(self, item: Item, *, expected: int | None) -> None:
        versions.save(
            self.table,
            head=keys.template_key(item["id"]),
            version=keys.template_version_key(item["id"], item["version"]),
            item=item,
            version_fields=_version(item),
            expected=expected,
            what="template",
        )


def _version(item: Item) -> Item:
    return {k: item[k] for k in ("id", "version", "definition", "updated_at") if k in item}
