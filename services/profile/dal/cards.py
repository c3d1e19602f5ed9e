"""What contact cards are read from: per asked customer, the profile, the consent state and the
erasure tombstone in one BatchGetItem (three keys a customer, 100 keys a call), then the usual
counters (``USUAL#<daypart>#<sku>``) of each customer found, one Query each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.profile.dal.keys import PK, SK, consents_key, profile_key, tombstone_key
from services.profile.logic.cards import Found, Person
from services.profile.models.behaviour import UsualItem
from services.profile.models.cards import CardDevice
from shared.dynamo import DynamoTable, Item

_USUAL_FIELDS = tuple(UsualItem.model_fields)


def _person(item: Item) -> Person:
    devices: list[Any] = list(item.get("devices") or [])
    return Person(
        name=str(item["display_name"]),
        locale=str(item["locale"]),
        time_zone=str(item["time_zone"]),
        email=item.get("email"),
        email_verified=bool(item.get("email_verified", False)),
        phone=item.get("phone"),
        phone_verified=bool(item.get("phone_verified", False)),
        devices=tuple(
            CardDevice(
                device_id=str(d["device_id"]),
                platform=str(d["platform"]),
                token=str(d["token"]),
                verified=bool(d.get("verified", False)),
            )
            for d in devices
        ),
    )


class DynamoCardStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def find(self, customer_ids: Sequence[str]) -> Found:
        """``customer_ids`` without repeats (BatchGetItem refuses a key asked twice)."""
        owners: dict[tuple[str, str], tuple[str, str]] = {}
        for customer_id in customer_ids:
            for kind, key in (
                ("profile", profile_key(customer_id)),
                ("consents", consents_key(customer_id)),
                ("erased", tombstone_key(customer_id)),
            ):
                owners[(str(key[PK]), str(key[SK]))] = (kind, customer_id)
        items = self.table.batch_get([{PK: pk, SK: sk} for pk, sk in owners])
        people: dict[str, Person] = {}
        consents: dict[str, dict[str, bool]] = {}
        erased: set[str] = set()
        for item in items:
            kind, customer_id = owners[(str(item[PK]), str(item[SK]))]
            if kind == "profile":
                people[customer_id] = _person(item)
            elif kind == "consents":
                consents[customer_id] = {str(k): bool(v) for k, v in dict(item.get("consents") or {}).items()}
            else:
                erased.add(customer_id)
        return Found(people=people, consents=consents, erased=frozenset(erased))

    def usual(self, customer_id: str) -> list[UsualItem]:
        """Every usual counter of the customer (one per daypart and item they ever bought)."""
        found: list[UsualItem] = []
        start = None
        while True:
            page = self.table.query(
                "#pk = :pk AND begins_with(#sk, :p)",
                names={"#pk": PK, "#sk": SK},
                values={":pk": profile_key(customer_id)[PK], ":p": "USUAL#"},
                start_key=start,
            )
            found += [
                UsualItem.model_validate({k: i[k] for k in _USUAL_FIELDS if k in i}) for i in page.items
            ]
            if page.last_key is None:
                return found
            start = page.last_key
