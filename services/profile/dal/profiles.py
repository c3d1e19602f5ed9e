"""The profile store: the only module of the service that talks to DynamoDB.

Items in the ``profiles`` table (single-table design):
- ``CUSTOMER#<id> / PROFILE``   the profile
- ``IDENTITY#<sub> / IDENTITY``  the link from a Cognito subject to its customer id
- ``HANDLE#<network>#<handle> / HANDLE``  the claim of a linked social handle (``dal.handles``),
  written and deleted in the transaction that changes the profile's ``social_handles``
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from services.profile.dal.handles import claim_op, release_op
from services.profile.dal.keys import PK, SK, identity_key, outbox, profile_key
from services.profile.models.profile import HandleTaken, Profile, ProfileExists, VersionMismatch
from services.profile.topology import BY_EMAIL, BY_PHONE, CUSTOMER_LIST
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item, Key, transact_write
from shared.events import DomainEvent, EventPublisher

_PROFILE_FIELDS = (
    "display_name",
    "email",
    "phone",
    "locale",
    "time_zone",
    "birthday",
    "anniversaries",
    "devices",
    "social_handles",
)
# What the lookup indexes key on, kept next to the contact point it normalizes.
_LOOKUP_KEYS: dict[str, tuple[str, Callable[[str], str]]] = {
    "email": (BY_EMAIL.partition_key.name, str.lower),
    "phone": (BY_PHONE.partition_key.name, str),
}


ANNIVERSARY_SHARDS = 8


def _shard(customer_id: str) -> int:
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % ANNIVERSARY_SHARDS


def anniversary_partition(month_day: str, shard: int) -> str:
    return f"ANNIV#{month_day}#{shard}"


def anniversary_items(profile: Profile) -> list[Item]:
    """The month-day index items of a profile's anniversaries and birthday."""
    days = [(a.kind.value, a.label, a.date) for a in profile.anniversaries]
    if profile.birthday:
        days.append(("birthday", None, profile.birthday))
    items = []
    for i, (kind, label, day) in enumerate(days):
        item: Item = {
            PK: anniversary_partition(f"{day.month:02d}-{day.day:02d}", _shard(profile.customer_id)),
            SK: f"{profile.customer_id}#{i}",
            "type": "anniversary",
            "customer_id": profile.customer_id,
            "kind": kind,
            "date": day.isoformat(),
            "time_zone": profile.time_zone,
        }
        if label:
            item["label"] = label
        items.append(item)
    return items


LISTED = "CUSTOMER"  # the customer-list index's one partition value


def profile_item(profile: Profile) -> Item:
    """The stored item of a profile, with the keys of its lookup and list indexes."""
    item: Item = {**profile_key(profile.customer_id), "type": "profile", "listed": LISTED}
    item.update(profile.model_dump(mode="json", exclude_none=True))
    for field, (key, normal) in _LOOKUP_KEYS.items():
        if item.get(field):
            item[key] = normal(item[field])
    return item


_NOT_PROFILE = {PK, SK, "type", "listed", "subject", *(key for key, _ in _LOOKUP_KEYS.values())}


def _from_item(item: Item) -> Profile:
    return Profile.model_validate({k: v for k, v in item.items() if k not in _NOT_PROFILE})


class DynamoProfileStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)

    def create(
        self, subject: str, profile: Profile, events: Sequence[DomainEvent], *, username: str | None = None
    ) -> None:
        """The profile, the link from its login (with the login's username, which erasure needs to
        delete it), its index entries and its events, in one transaction."""
        link = {**identity_key(subject), "type": "identity", "customer_id": profile.customer_id}
        if username:
            link["username"] = username
        absent = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
        pending = [self.outbox.item(self.outbox.envelope(e, profile.created_at)) for e in events]
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(link, **absent)},  # type: ignore[arg-type]
                    {"Put": self.table.put_op({**profile_item(profile), "subject": subject}, **absent)},  # type: ignore[arg-type]
                    *({"Put": self.table.put_op(item)} for item in anniversary_items(profile)),
                    *({"Put": self.table.put_op(item)} for item in pending),
                ],
            )
        except ConditionFailed as exc:
            raise ProfileExists from exc
        self.flush(pending)

    def get(self, customer_id: str) -> Profile | None:
        item = self.table.get(profile_key(customer_id))
        return _from_item(item) if item else None

    def customer_id_of(self, subject: str) -> str | None:
        item = self.table.get(identity_key(subject))
        return str(item["customer_id"]) if item else None

    def find(self, *, email: str | None = None, phone: str | None = None) -> list[Profile]:
        """Customers by exact contact point, through its lookup index (never a scan)."""
        field, value = ("email", email) if email is not None else ("phone", phone)
        if value is None:
            return []
        key, normal = _LOOKUP_KEYS[field]
        index = BY_EMAIL if field == "email" else BY_PHONE
        page = self.table.query(
            "#k = :v", names={"#k": key}, values={":v": normal(value)}, index=index.name, limit=25
        )
        found = self.table.batch_get([{PK: i[PK], SK: i[SK]} for i in page.items]) if page.items else []
        return sorted((_from_item(i) for i in found), key=lambda p: p.customer_id)

    def page(self, *, limit: int, start: Key | None = None) -> tuple[list[Profile], Key | None]:
        """Customers in sign-up order, through the sparse customer-list index (never a scan)."""
        page = self.table.query(
            "#l = :l",
            names={"#l": CUSTOMER_LIST.partition_key.name},
            values={":l": LISTED},
            index=CUSTOMER_LIST.name,
            limit=limit,
            start_key=start,
        )
        found = {
            str(i["customer_id"]): _from_item(i)
            for i in (
                self.table.batch_get([{PK: i[PK], SK: i[SK]} for i in page.items]) if page.items else []
            )
        }
        # The index lags its table a moment: a profile erased meanwhile is simply left out.
        ordered = [found[str(i["customer_id"])] for i in page.items if str(i["customer_id"]) in found]
        return ordered, page.last_key

    def update(
        self, profile: Profile, changes: dict[str, Any], events: Sequence[DomainEvent], *, at: datetime
    ) -> Profile:
        """Apply ``changes`` to ``profile`` if it is still at its version (else VersionMismatch).
        A changed e-mail or phone is unverified again, and its lookup key follows it. Changed
        ``social_handles`` (the whole mapping after the change) claim each handle linked and release
        each unlinked, in the same transaction: HandleTaken when another customer holds one."""
        changes = dict(changes)
        derived: dict[str, Any] = {}
        for field, (key, normal) in _LOOKUP_KEYS.items():
            if field in changes:
                derived[f"{field}_verified"] = False
                derived[key] = normal(changes[field]) if changes[field] is not None else None
        sets = ["#v = :next", "updated_at = :at"]
        removes: list[str] = []
        names = {"#pk": PK, "#v": "version"}
        values: dict[str, Any] = {":next": profile.version + 1, ":at": iso(at), ":seen": profile.version}
        for i, (field, value) in enumerate(sorted({**changes, **derived}.items())):
            if field not in _PROFILE_FIELDS and field not in derived:
                raise ValueError(f"not a profile field: {field}")
            names[f"#f{i}"] = field
            if value is None or (field == "social_handles" and not value):
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :f{i}")
                values[f":f{i}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update = self.table.update_op(
            profile_key(profile.customer_id),
            expression,
            condition="attribute_exists(#pk) AND #v = :seen",
            names=names,
            values=values,
        )
        pending = [self.outbox.item(self.outbox.envelope(e, at)) for e in events]
        derived_fields = {k: v for k, v in derived.items() if k.endswith("_verified")}
        updated = Profile.model_validate(
            {
                **profile.model_dump(),
                **changes,
                **derived_fields,
                "version": profile.version + 1,
                "updated_at": at,
            }
        )
        index: list[dict[str, Any]] = []
        if {"anniversaries", "birthday", "time_zone"} & set(changes):
            new = anniversary_items(updated)
            kept = {(i[PK], i[SK]) for i in new}
            gone = [(i[PK], i[SK]) for i in anniversary_items(profile) if (i[PK], i[SK]) not in kept]
            index += [{"Delete": self.table.delete_op({PK: pk, SK: sk})} for pk, sk in gone]
            index += [{"Put": self.table.put_op(item)} for item in new]
        actions: list[dict[str, Any]] = [{"Update": update}, *index]
        claimed: dict[int, str] = {}  # the index of each claim's action -> its network
        for network, op in self._handle_claims(profile, changes, at):
            if "Put" in op:
                claimed[len(actions)] = network
            actions.append(op)
        try:
            transact_write(
                self.table.client, [*actions, *({"Put": self.table.put_op(item)} for item in pending)]
            )
        except ConditionFailed as exc:
            failed = {i for i, reason in enumerate(exc.reasons) if reason == "ConditionalCheckFailed"}
            taken = sorted(claimed[i] for i in failed & set(claimed))
            if taken and 0 not in failed:  # the profile was as read: another customer's handle
                raise HandleTaken(taken[0]) from exc
            raise VersionMismatch from exc
        self.flush(pending)
        return updated

    def _handle_claims(
        self, profile: Profile, changes: dict[str, Any], at: datetime
    ) -> list[tuple[str, dict[str, Any]]]:
        """(network, action): release each handle the change unlinks or replaces, claim each it links."""
        if "social_handles" not in changes:
            return []
        before: dict[str, str] = {str(network): h for network, h in profile.social_handles.items()}
        after: dict[str, str] = dict(changes["social_handles"] or {})
        ops: list[tuple[str, dict[str, Any]]] = []
        for network in sorted(before.keys() | after.keys()):
            old, new = before.get(network), after.get(network)
            if old == new:
                continue
            if old:
                ops.append((network, release_op(self.table, network, old, profile.customer_id)))
            if new:
                ops.append((network, claim_op(self.table, network, new, profile.customer_id, at)))
        return ops

    def flush(self, pending: list[Item]) -> None:
        self.outbox.publish_or_leave(self.publisher, pending)
