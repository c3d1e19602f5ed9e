"""The value and lifestyle-group store: the only code of the segments that talks to DynamoDB.

Items in the ``profiles`` table:
- ``CONFIG / VALUE_MODEL``         the value model in force (``version``; absent: the defaults)
- ``CONFIG / GROUPS``              the catalog of live group ids (``ids``, ``revision``)
- ``GROUP#<id> / GROUP``           a lifestyle group's definition (``version``)
- ``CONFIG / NIGHTLY_RUN``         the last nightly run: counts, and where an unfinished one stopped
- ``CUSTOMER#<id> / VALUE``        a customer's assessment (``type=value``, ``revision``)
- ``CUSTOMER#<id> / STATS``        read only (the intake keeps it)
- ``CUSTOMER#<id> / PROFILE``      read; only its ``groups`` attribute is written here, without
                                   touching ``version`` or ``updated_at``

Every write is conditional on what was read (a lost race raises ``Stale``: read again) and
carries its events as outbox items in the same transaction, published right after.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from services.profile.dal.keys import PK, SK, outbox, profile_key
from services.profile.dal.profiles import LISTED
from services.profile.models.segments import (
    Assessment,
    Catalog,
    CustomerState,
    GroupExists,
    LifestyleGroup,
    ProfileFacts,
    PurchaseStats,
    RunSummary,
    Stale,
    StoredValue,
    ValueComponents,
    ValueModel,
)
from services.profile.topology import CUSTOMER_LIST
from shared.clock import iso, utc_now
from shared.dynamo import ConditionFailed, DynamoTable, Item, TransactionConflict, transact_write
from shared.events import DomainEvent, EventPublisher

CONFIG = "CONFIG"
VALUE_MODEL_KEY = {PK: CONFIG, SK: "VALUE_MODEL"}
CATALOG_KEY = {PK: CONFIG, SK: "GROUPS"}
RUN_KEY = {PK: CONFIG, SK: "NIGHTLY_RUN"}
_KEYS = {PK, SK, "type"}
CONDITION_FAILED = "ConditionalCheckFailed"


def group_key(group_id: str) -> dict[str, str]:
    return {PK: f"GROUP#{group_id}", SK: "GROUP"}


def value_key(customer_id: str) -> dict[str, str]:
    return {PK: f"CUSTOMER#{customer_id}", SK: "VALUE"}


def stats_key(customer_id: str) -> dict[str, str]:
    return {PK: f"CUSTOMER#{customer_id}", SK: "STATS"}


# -- items <-> records ---------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def profile_facts(item: Item) -> ProfileFacts:
    birthday = None
    if isinstance(item.get("birthday"), str):
        try:
            birthday = date.fromisoformat(item["birthday"])
        except ValueError:
            birthday = None
    groups = item.get("groups")
    kinds = {str(a.get("kind")) for a in item.get("anniversaries") or [] if isinstance(a, dict)}
    return ProfileFacts(
        version=_int(item.get("version")),
        stored_groups=[str(g) for g in groups] if isinstance(groups, list) else None,
        created_at=_time(item.get("created_at")) or utc_now(),
        locale=str(item.get("locale") or ""),
        time_zone=str(item.get("time_zone") or "UTC"),
        birthday=birthday,
        anniversary_kinds=frozenset(kinds),
    )


def purchase_stats(item: Item | None) -> PurchaseStats:
    if not item:
        return PurchaseStats()
    return PurchaseStats(
        spend={k.removeprefix("spend_"): _int(v) for k, v in item.items() if k.startswith("spend_")},
        purchase_count=_int(item.get("purchase_count")),
        refund_count=_int(item.get("refund_count")),
        premium_count=_int(item.get("premium_count")),
        first_purchase_at=_time(item.get("first_purchase_at")),
        last_purchase_at=_time(item.get("last_purchase_at")),
        payments_on_time=_int(item.get("payments_on_time")),
        payments_late=_int(item.get("payments_late")),
    )


def stored_value(item: Item | None) -> StoredValue | None:
    if not item:
        return None
    try:
        assessment = Assessment(
            score=int(item["score"]),
            segment=item["segment"],
            model_version=int(item["model_version"]),
            components=ValueComponents.model_validate(item["components"]),
        )
    except (KeyError, TypeError, ValueError, ValidationError):
        return None  # unreadable: the next evaluation overwrites it (its revision is kept)
    assessed_at = _time(item.get("assessed_at"))
    return StoredValue(assessment, assessed_at) if assessed_at else None


def value_item(customer_id: str, assessment: Assessment, *, at: datetime, revision: int) -> Item:
    return {
        **value_key(customer_id),
        "type": "value",
        "customer_id": customer_id,
        "score": assessment.score,
        "segment": assessment.segment,
        "model_version": assessment.model_version,
        "components": assessment.components.model_dump(mode="json"),
        "assessed_at": iso(at),
        "revision": revision,
    }


def _group(item: Item) -> LifestyleGroup:
    return LifestyleGroup.model_validate({k: v for k, v in item.items() if k not in _KEYS})


def _run_item(summary: RunSummary) -> Item:
    data = {k: (iso(v) if isinstance(v, datetime) else v) for k, v in asdict(summary).items()}
    return {**RUN_KEY, "type": "nightly_run", **{k: v for k, v in data.items() if v is not None}}


class DynamoSegmentStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)

    # -- the value model ------------------------------------------------------------------------

    def value_model(self) -> ValueModel | None:
        item = self.table.get(VALUE_MODEL_KEY)
        return ValueModel.model_validate({k: v for k, v in item.items() if k not in _KEYS}) if item else None

    def put_value_model(self, model: ValueModel, *, previous_version: int) -> None:
        item = {**VALUE_MODEL_KEY, "type": "value_model", **model.model_dump(mode="json")}
        try:
            self.table.put(item, **self._version_condition(previous_version))
        except ConditionFailed as exc:
            raise Stale from exc

    @staticmethod
    def _version_condition(previous: int, attribute: str = "version") -> dict[str, Any]:
        if previous == 0:
            return {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
        return {"condition": "#v = :seen", "names": {"#v": attribute}, "values": {":seen": previous}}

    # -- lifestyle groups -----------------------------------------------------------------------

    def catalog(self) -> Catalog:
        item = self.table.get(CATALOG_KEY)
        if not item:
            return Catalog()
        return Catalog(
            ids=tuple(sorted(str(i) for i in item.get("ids") or [])), revision=_int(item["revision"])
        )

    def _catalog_put(self, ids: Sequence[str], catalog: Catalog) -> dict[str, Any]:
        item = {**CATALOG_KEY, "type": "group_catalog", "ids": sorted(ids), "revision": catalog.revision + 1}
        return self.table.put_op(item, **self._version_condition(catalog.revision, "revision"))

    def group(self, group_id: str) -> LifestyleGroup | None:
        item = self.table.get(group_key(group_id))
        return _group(item) if item else None

    def groups(self, ids: Sequence[str]) -> list[LifestyleGroup]:
        return [_group(i) for i in self.table.batch_get([group_key(g) for g in ids])] if ids else []

    def _group_item(self, group: LifestyleGroup) -> Item:
        return {**group_key(group.id), "type": "group", **group.model_dump(mode="json")}

    def create_group(self, group: LifestyleGroup, catalog: Catalog) -> None:
        absent = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(self._group_item(group), **absent)},  # type: ignore[arg-type]
                    {"Put": self._catalog_put([*catalog.ids, group.id], catalog)},
                ],
            )
        except ConditionFailed as exc:
            if exc.reasons[:1] == [CONDITION_FAILED]:
                raise GroupExists from exc
            raise Stale from exc
        except TransactionConflict as exc:
            raise Stale from exc

    def replace_group(self, group: LifestyleGroup, *, previous_version: int) -> None:
        try:
            self.table.put(self._group_item(group), **self._version_condition(previous_version))
        except ConditionFailed as exc:
            raise Stale from exc

    def retire_group(self, group: LifestyleGroup, catalog: Catalog) -> None:
        remaining = [i for i in catalog.ids if i != group.id]
        delete = self.table.delete_op(group_key(group.id), **self._version_condition(group.version))
        try:
            transact_write(
                self.table.client,
                [{"Delete": delete}, {"Put": self._catalog_put(remaining, catalog)}],
            )
        except (ConditionFailed, TransactionConflict) as exc:
            raise Stale from exc

    # -- customers --------------------------------------------------------------------------------

    def has_profile(self, customer_id: str) -> bool:
        return self.table.get(profile_key(customer_id)) is not None

    def stored_value(self, customer_id: str) -> StoredValue | None:
        return stored_value(self.table.get(value_key(customer_id)))

    def customer_state(self, customer_id: str) -> CustomerState:
        """Consistent reads, ``VALUE`` first: the statistics read after it are at least as new
        as those any stored assessment was made from."""
        value = self.table.get(value_key(customer_id))
        items = self.table.batch_get([profile_key(customer_id), stats_key(customer_id)])
        return self._state(customer_id, {str(i[SK]): i for i in items}, value)

    def customer_states(self, customer_ids: Sequence[str]) -> list[CustomerState]:
        """One state per id, from batch reads (eventually consistent: a filter, not the truth)."""
        keys = [k(c) for c in customer_ids for k in (profile_key, stats_key, value_key)]
        found: dict[str, dict[str, Item]] = {}
        for item in self.table.batch_get(keys, consistent=False):
            found.setdefault(str(item[PK]), {})[str(item[SK])] = item
        states = []
        for customer_id in customer_ids:
            items = found.get(f"CUSTOMER#{customer_id}", {})
            states.append(self._state(customer_id, items, items.get("VALUE")))
        return states

    @staticmethod
    def _state(customer_id: str, items: Mapping[str, Item], value: Item | None) -> CustomerState:
        profile = items.get("PROFILE")
        return CustomerState(
            customer_id=customer_id,
            profile=profile_facts(profile) if profile else None,
            stats=purchase_stats(items.get("STATS")),
            value=stored_value(value),
            value_revision=_int(value.get("revision")) if value else 0,
        )

    def customer_ids(self, *, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Customer ids in order, through the sparse customer-list index (never a scan)."""
        condition = "#l = :l" + (" AND #c > :after" if after else "")
        names = {"#l": CUSTOMER_LIST.partition_key.name}
        values: dict[str, Any] = {":l": LISTED}
        if after:
            names["#c"] = CUSTOMER_LIST.sort_key.name if CUSTOMER_LIST.sort_key else "customer_id"
            values[":after"] = after
        page = self.table.query(condition, names=names, values=values, index=CUSTOMER_LIST.name, limit=limit)
        return [str(i["customer_id"]) for i in page.items], page.last_key is not None

    def apply(
        self,
        state: CustomerState,
        *,
        value: Assessment | None,
        groups: tuple[str, ...] | None,
        events: Sequence[DomainEvent],
        at: datetime,
    ) -> None:
        """Write the new assessment and groups if nothing they were computed from moved."""
        if state.profile is None:
            raise ValueError("no profile to write to")
        profile = state.profile
        names = {"#pk": PK, "#v": "version"}
        values: dict[str, Any] = {":ver": profile.version}
        condition = "attribute_exists(#pk) AND #v = :ver"
        actions: list[dict[str, Any]] = []
        if groups is not None:
            names["#g"] = "groups"
            values[":groups"] = list(groups)
            if profile.stored_groups is None:
                condition += " AND attribute_not_exists(#g)"
            else:
                condition += " AND #g = :old"
                values[":old"] = profile.stored_groups
            update = self.table.update_op(
                profile_key(state.customer_id),
                "SET #g = :groups",
                condition=condition,
                names=names,
                values=values,
            )
            actions.append({"Update": update})
        else:
            check = self.table.delete_op(
                profile_key(state.customer_id), condition=condition, names=names, values=values
            )
            actions.append({"ConditionCheck": check})
        seen = self._version_condition(state.value_revision, "revision")
        if value is not None:
            item = value_item(state.customer_id, value, at=at, revision=state.value_revision + 1)
            actions.append({"Put": self.table.put_op(item, **seen)})
        else:
            actions.append({"ConditionCheck": self.table.delete_op(value_key(state.customer_id), **seen)})
        pending = [self.outbox.item(self.outbox.envelope(e, at)) for e in events]
        actions += [{"Put": self.table.put_op(item)} for item in pending]
        try:
            transact_write(self.table.client, actions)
        except (ConditionFailed, TransactionConflict) as exc:
            raise Stale from exc
        self.outbox.publish_or_leave(self.publisher, pending)

    # -- nightly runs -----------------------------------------------------------------------------

    def last_run(self) -> RunSummary | None:
        item = self.table.get(RUN_KEY)
        if not item:
            return None
        started = _time(item.get("started_at"))
        if started is None:
            return None
        return RunSummary(
            started_at=started,
            finished_at=_time(item.get("finished_at")),
            complete=bool(item.get("complete")),
            resume_after=str(item["resume_after"]) if item.get("resume_after") else None,
        )

    def save_run(self, summary: RunSummary) -> None:
        self.table.put(_run_item(summary))
