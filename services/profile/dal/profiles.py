"""The profile store: the only module of the service that talks to DynamoDB.

Items in the ``profiles`` table (single-table design):
- ``CUSTOMER#<id> / PROFILE``   the profile
- ``IDENTITY#<sub> / IDENTITY``  the link from a Cognito subject to its customer id
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.profile.models.profile import Profile
from services.profile.topology import PROFILES
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write

PK = PROFILES.partition_key.name
SK = PROFILES.sort_key.name if PROFILES.sort_key else "sk"
_PROFILE_FIELDS = ("display_name", "email", "phone", "locale", "time_zone")


class ProfileExists(Exception):
    """The subject already has a profile."""


class VersionMismatch(Exception):
    """The profile changed since the version the caller holds (or is gone)."""


class ProfileStore(Protocol):
    def create(self, subject: str, profile: Profile) -> None: ...
    def get(self, customer_id: str) -> Profile | None: ...
    def customer_id_of(self, subject: str) -> str | None: ...
    def update(
        self, customer_id: str, changes: dict[str, Any], *, expected_version: int | None, at: datetime
    ) -> Profile: ...


def profile_key(customer_id: str) -> dict[str, str]:
    return {PK: f"CUSTOMER#{customer_id}", SK: "PROFILE"}


def identity_key(subject: str) -> dict[str, str]:
    return {PK: f"IDENTITY#{subject}", SK: "IDENTITY"}


def _to_item(profile: Profile) -> Item:
    item: Item = {**profile_key(profile.customer_id), "type": "profile"}
    item.update(profile.model_dump(mode="json", exclude_none=True))
    return item


def _from_item(item: Item) -> Profile:
    return Profile.model_validate({k: v for k, v in item.items() if k not in (PK, SK, "type")})


class DynamoProfileStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, subject: str, profile: Profile) -> None:
        link = {**identity_key(subject), "type": "identity", "customer_id": profile.customer_id}
        absent = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(link, **absent)},  # type: ignore[arg-type]
                    {"Put": self.table.put_op(_to_item(profile), **absent)},  # type: ignore[arg-type]
                ],
            )
        except ConditionFailed as exc:
            raise ProfileExists from exc

    def get(self, customer_id: str) -> Profile | None:
        item = self.table.get(profile_key(customer_id))
        return _from_item(item) if item else None

    def customer_id_of(self, subject: str) -> str | None:
        item = self.table.get(identity_key(subject))
        return str(item["customer_id"]) if item else None

    def update(
        self, customer_id: str, changes: dict[str, Any], *, expected_version: int | None, at: datetime
    ) -> Profile:
        sets = ["#v = #v + :one", "updated_at = :at"]
        removes: list[str] = []
        names = {"#pk": PK, "#v": "version"}
        values: dict[str, Any] = {":one": 1, ":at": iso(at)}
        for i, (field, value) in enumerate(sorted(changes.items())):
            if field not in _PROFILE_FIELDS:
                raise ValueError(f"not a profile field: {field}")
            names[f"#f{i}"] = field
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :f{i}")
                values[f":f{i}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(#pk)"
        if expected_version is not None:
            condition += " AND #v = :expected"
            values[":expected"] = expected_version
        try:
            item = self.table.update(
                profile_key(customer_id), expression, condition=condition, names=names, values=values
            )
        except ConditionFailed as exc:
            raise VersionMismatch from exc
        return _from_item(item)
