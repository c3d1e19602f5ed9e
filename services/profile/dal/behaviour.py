"""Purchases, refunds and visits in the profiles table, with the counters they keep up to date.

Items (see ``services/profile/dal/__init__.py``):
- ``PURCHASEID#<external_id> / PURCHASEID``   the claim of an external id: customer, sort key of
  the purchase and the fingerprint of its content (``VISITID#`` the same for visits);
- ``CUSTOMER#<id> / PURCHASE#<UTC second>#<external_id>``  the purchase (``type=purchase``);
- ``CUSTOMER#<id> / VISIT#<UTC second>#<external_id>``     the visit (``type=visit``);
- ``CUSTOMER#<id> / STATS``                   ADD ``spend_<CUR>``, ``purchase_count``,
  ``premium_count`` (purchases with a premium line), ``payments_on_time`` / ``payments_late``
  (and ``payments_failed``, also counted as late), ``refund_count``, ``visit_count``;
  ``first_purchase_at`` = min, ``last_purchase_at`` / ``last_visit_at`` = max (UTC text);
- ``CUSTOMER#<id> / USUAL#<daypart>#<sku>``   ``count``, ``quantity``, ``last_at`` (max), name,
  category: "the usual" is read from these, never recomputed;
- ``STORE#<store_id> / POP#<HH>#<YYYY-MM-DD>#<sku>``  purchases and units of an item in one
  local hour of one local day of the store; expires (TTL) ``window_days`` after that day;
- ``STORE#<store_id> / STORE``                the store as first seen (its UTC offset, which
  dates the end of a popularity window); written once, after its first purchase.

**One transaction per purchase**: the claim (``attribute_not_exists``), the purchase, a
``ConditionCheck`` that the profile exists (an erasure deletes it atomically with writing its
tombstone), STATS, one usual and one popularity counter per distinct SKU, and the
``PurchaseRecorded`` outbox item; at most 4 + 2 x 40 = 84 actions. Events are published right
after the commit (or, in a batch, once at its end); if that fails, the outbox sweep does it.

**Max and min in a transaction.** DynamoDB has no ``SET a = max(a, :v)``. The first attempt
assumes purchases arrive in order: it sets ``last_*`` under the condition that the stored value
is not later (and ``first_purchase_at`` with ``if_not_exists`` under the condition that it is
not later either). When a purchase arrives late, that condition fails; the counters named in
the cancellation reasons are read and the transaction retried, setting only what moves (under
a condition that it still moves). A concurrent writer can only make another round necessary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.profile.dal.keys import PK, SK, TTL, outbox, profile_key, tombstone_key
from services.profile.models.behaviour import (
    AlreadyRecorded,
    Claim,
    CustomerGone,
    Daypart,
    PopCounter,
    Purchase,
    RefundRaced,
    StoreInfo,
    UsualItem,
    Visit,
)
from services.profile.models.events import PurchaseRecorded, PurchaseRefunded, VisitRecorded
from shared.clock import iso
from shared.dynamo import (
    ConditionFailed,
    DynamoTable,
    Item,
    Key,
    TransactionConflict,
    deserialize,
    transact_write,
)
from shared.errors import Conflict
from shared.events import DomainEvent, EventPublisher

COMMIT_ATTEMPTS = 12  # each round one of the racing writers wins; enough for a busy till
DEFAULT_WINDOW_DAYS = 28
Action = dict[str, Any]


# -- keys -----------------------------------------------------------------------------------------


def purchase_claim_key(external_id: str) -> Key:
    return {PK: f"PURCHASEID#{external_id}", SK: "PURCHASEID"}


def visit_claim_key(external_id: str) -> Key:
    return {PK: f"VISITID#{external_id}", SK: "VISITID"}


def purchase_key(customer_id: str, purchased_at: datetime, external_id: str) -> Key:
    return {PK: profile_key(customer_id)[PK], SK: f"PURCHASE#{iso(purchased_at)}#{external_id}"}


def visit_key(customer_id: str, started_at: datetime, external_id: str) -> Key:
    return {PK: profile_key(customer_id)[PK], SK: f"VISIT#{iso(started_at)}#{external_id}"}


def stats_key(customer_id: str) -> Key:
    return {PK: profile_key(customer_id)[PK], SK: "STATS"}


def usual_key(customer_id: str, daypart: str, sku: str) -> Key:
    return {PK: profile_key(customer_id)[PK], SK: f"USUAL#{daypart}#{sku}"}


def store_key(store_id: str) -> Key:
    return {PK: f"STORE#{store_id}", SK: "STORE"}


def pop_sort_key(hour: int, day: date, sku: str = "") -> str:
    return f"POP#{hour:02d}#{day.isoformat()}#{sku}"


def pop_key(store_id: str, hour: int, day: date, sku: str) -> Key:
    return {PK: store_key(store_id)[PK], SK: pop_sort_key(hour, day, sku)}


# -- counters: one Update action each, with max/min done by conditions ------------------------


@dataclass
class Counter:
    key: Key
    add: dict[str, int] = field(default_factory=dict)  # ADD a :v
    put: dict[str, Any] = field(default_factory=dict)  # SET a = :v
    init: dict[str, Any] = field(default_factory=dict)  # SET a = if_not_exists(a, :v)
    latest: dict[str, str] = field(default_factory=dict)  # a = max(a, :v) (ISO text)
    earliest: dict[str, str] = field(default_factory=dict)  # a = min(a, :v)

    def update(self, table: DynamoTable, *, read: bool, seen: Mapping[str, Any] | None) -> Action:
        """The Update action; ``read`` says whether ``seen`` (the stored item or None) was read."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        adds: list[str] = []
        conditions: list[str] = []

        def ref(attr: str, value: Any) -> tuple[str, str]:
            n, v = f"#a{len(names)}", f":v{len(values)}"
            names[n], values[v] = attr, value
            return n, v

        stored = dict(seen or {})
        for attr, value in self.put.items():
            n, v = ref(attr, value)
            sets.append(f"{n} = {v}")
        for attr, value in self.init.items():
            n, v = ref(attr, value)
            sets.append(f"{n} = if_not_exists({n}, {v})")
        for attr, number in self.add.items():
            if number:
                n, v = ref(attr, number)
                adds.append(f"{n} {v}")
        for attr, moment in self.latest.items():
            if not read or attr not in stored or str(stored[attr]) < moment:
                n, v = ref(attr, moment)
                sets.append(f"{n} = {v}")
                conditions.append(f"(attribute_not_exists({n}) OR {n} {'<' if read else '<='} {v})")
        for attr, moment in self.earliest.items():
            if not read:
                n, v = ref(attr, moment)
                sets.append(f"{n} = if_not_exists({n}, {v})")
                conditions.append(f"(attribute_not_exists({n}) OR {n} <= {v})")
            elif attr not in stored or str(stored[attr]) > moment:
                n, v = ref(attr, moment)
                sets.append(f"{n} = {v}")
                conditions.append(f"(attribute_not_exists({n}) OR {n} > {v})")
        expression = " ".join(
            part
            for part in ("SET " + ", ".join(sets) if sets else "", "ADD " + ", ".join(adds) if adds else "")
            if part
        )
        return table.update_op(
            self.key, expression, condition=" AND ".join(conditions) or None, names=names, values=values
        )


def _per_sku(purchase: Purchase) -> dict[str, tuple[str, str, int]]:
    """Distinct SKUs of a purchase: name, category and units (lines of one SKU at two prices add up)."""
    skus: dict[str, tuple[str, str, int]] = {}
    for line in purchase.lines:
        name, category, units = skus.get(line.sku, (line.name, line.category, 0))
        skus[line.sku] = (name, category, units + line.quantity)
    return skus


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def purchase_item(purchase: Purchase) -> Item:
    key = purchase_key(purchase.customer_id, purchase.purchased_at, purchase.external_id)
    return {**key, "type": "purchase", **purchase.model_dump(mode="json", exclude_none=True)}


def _from_item(item: Item) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in {PK, SK, "type"}}


class DynamoBehaviourStore:
    def __init__(
        self, table: DynamoTable, publisher: EventPublisher, *, window_days: int = DEFAULT_WINDOW_DAYS
    ) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)
        self._window_days = window_days
        self._deferred: list[Item] | None = None
        self._known_stores: set[str] = set()

    @property
    def window_days(self) -> int:
        return self._window_days

    # -- the transaction of a purchase (also used by ``bench/intake.py`` for its floor) ---------

    def purchase_actions(
        self, purchase: Purchase, fingerprint: str, event: DomainEvent | None, *, at: datetime
    ) -> tuple[list[Action], list[Counter], list[Action]]:
        """The head (claim, purchase, profile check), the counters and the tail (outbox)."""
        item = purchase_item(purchase)
        claim: Item = {
            **purchase_claim_key(purchase.external_id),
            "type": "purchase_claim",
            "customer_id": purchase.customer_id,
            "sort_key": item[SK],
            "fingerprint": fingerprint,
            "recorded_at": iso(at),
        }
        head = [
            {"Put": self.table.put_op(claim, condition="attribute_not_exists(#pk)", names={"#pk": PK})},
            {"Put": self.table.put_op(item)},
            self._profile_check(purchase.customer_id),
        ]
        return head, self._purchase_counters(purchase, at), self._outbox_puts(event, at)

    def _profile_check(self, customer_id: str) -> Action:
        check = self.table.delete_op(
            profile_key(customer_id), condition="attribute_exists(#pk)", names={"#pk": PK}
        )
        return {"ConditionCheck": check}

    def _outbox_puts(self, event: DomainEvent | None, at: datetime) -> list[Action]:
        if event is None:
            return []
        return [{"Put": self.table.put_op(self.outbox.item(self.outbox.envelope(event, at)))}]

    def _purchase_counters(self, purchase: Purchase, at: datetime) -> list[Counter]:
        customer = purchase.customer_id
        stats = Counter(stats_key(customer), put={"type": "stats", "customer_id": customer})
        if purchase.payment_status == "failed":
            stats.add = {"payments_late": 1, "payments_failed": 1}
            return [stats]
        moment = iso(purchase.purchased_at)
        stats.add = {
            f"spend_{purchase.currency}": purchase.total,
            "purchase_count": 1,
            "premium_count": int(any(line.premium for line in purchase.lines)),
            "payments_on_time" if purchase.payment_status == "paid" else "payments_late": 1,
        }
        stats.earliest = {"first_purchase_at": moment}
        stats.latest = {"last_purchase_at": moment}
        counters = [stats]
        skus = _per_sku(purchase)
        for sku, (name, category, units) in skus.items():
            counters.append(
                Counter(
                    usual_key(customer, purchase.daypart, sku),
                    add={"count": 1, "quantity": units},
                    put={
                        "type": "usual",
                        "daypart": purchase.daypart,
                        "sku": sku,
                        "name": name,
                        "category": category,
                    },
                    latest={"last_at": moment},
                )
            )
        counters += self._pop_counters(purchase, skus, at, sign=1)
        return counters

    def _pop_counters(
        self, purchase: Purchase, skus: dict[str, tuple[str, str, int]], at: datetime, *, sign: int
    ) -> list[Counter]:
        """The store-local hour and day are those of ``purchased_at`` as sent (the till's offset).
        A purchase older than the window counts in no window: no counter."""
        local = purchase.purchased_at
        expires = _epoch(local.date() + timedelta(days=self._window_days + 1))
        if expires <= at.timestamp():
            return []
        return [
            Counter(
                pop_key(purchase.store_id, local.hour, local.date(), sku),
                add={"count": sign, "quantity": sign * units},
                init={
                    "type": "popularity",
                    "store_id": purchase.store_id,
                    "hour": local.hour,
                    "date": local.date().isoformat(),
                    "sku": sku,
                    TTL: expires,
                },
                put={"name": name, "category": category} if sign > 0 else {},
            )
            for sku, (name, category, units) in skus.items()
        ]

    # -- writes ---------------------------------------------------------------------------------

    def record_purchase(
        self, purchase: Purchase, fingerprint: str, event: PurchaseRecorded | None, *, at: datetime
    ) -> None:
        """AlreadyRecorded if the external id was claimed; CustomerGone if there is no profile."""
        head, counters, tail = self.purchase_actions(purchase, fingerprint, event, at=at)
        try:
            self._commit(head, counters, tail)
        except ConditionFailed:
            self._why_not(purchase_claim_key(purchase.external_id))
        self._published(tail)
        self._remember_store(purchase)

    def refund(
        self, purchase: Purchase, refunded: Purchase, event: PurchaseRefunded, *, at: datetime
    ) -> None:
        """Mark it refunded and take it back out of every counter; RefundRaced if it changed."""
        key = purchase_key(purchase.customer_id, purchase.purchased_at, purchase.external_id)
        mark = self.table.update_op(
            key,
            "SET #st = :st, refund_id = :rid, refunded_at = :rat",
            condition="attribute_exists(#pk) AND attribute_not_exists(refund_id)",
            names={"#pk": PK, "#st": "status"},
            values={
                ":st": refunded.status,
                ":rid": refunded.refund_id,
                ":rat": refunded.model_dump(mode="json")["refunded_at"],
            },
        )
        customer = purchase.customer_id
        stats = Counter(
            stats_key(customer),
            add={
                f"spend_{purchase.currency}": -purchase.total,
                "purchase_count": -1,
                "premium_count": -int(any(line.premium for line in purchase.lines)),
                "refund_count": 1,
            },
        )
        skus = _per_sku(purchase)
        usual = [
            Counter(usual_key(customer, purchase.daypart, sku), add={"count": -1, "quantity": -units})
            for sku, (_, _, units) in skus.items()
        ]
        tail = self._outbox_puts(event, at)
        try:
            self._commit(
                [{"Update": mark}], [stats, *usual, *self._pop_counters(purchase, skus, at, sign=-1)], tail
            )
        except ConditionFailed:
            raise RefundRaced from None
        self._published(tail)

    def record_visit(self, visit: Visit, fingerprint: str, event: VisitRecorded, *, at: datetime) -> None:
        key = visit_key(visit.customer_id, visit.started_at, visit.external_id)
        claim: Item = {
            **visit_claim_key(visit.external_id),
            "type": "visit_claim",
            "customer_id": visit.customer_id,
            "sort_key": key[SK],
            "fingerprint": fingerprint,
            "recorded_at": iso(at),
        }
        head = [
            {"Put": self.table.put_op(claim, condition="attribute_not_exists(#pk)", names={"#pk": PK})},
            {"Put": self.table.put_op({**key, "type": "visit", **visit.model_dump(mode="json")})},
            self._profile_check(visit.customer_id),
        ]
        stats = Counter(
            stats_key(visit.customer_id),
            put={"type": "stats", "customer_id": visit.customer_id},
            add={"visit_count": 1},
            latest={"last_visit_at": iso(visit.started_at)},
        )
        tail = self._outbox_puts(event, at)
        try:
            self._commit(head, [stats], tail)
        except ConditionFailed:
            self._why_not(visit_claim_key(visit.external_id))
        self._published(tail)

    def _commit(self, head: list[Action], counters: list[Counter], tail: list[Action]) -> None:
        """One transaction; re-read and retried only when a counter's max/min condition failed.
        ConditionFailed when one of ``head`` failed (the caller knows what that means)."""
        seen: dict[int, Item | None] = {}
        for attempt in range(COMMIT_ATTEMPTS):
            updates = [
                {"Update": c.update(self.table, read=i in seen, seen=seen.get(i))}
                for i, c in enumerate(counters)
            ]
            try:
                transact_write(self.table.client, [*head, *updates, *tail])
                return
            except ConditionFailed as exc:
                failed = [i for i, reason in enumerate(exc.reasons) if reason == "ConditionalCheckFailed"]
                mine = [i - len(head) for i in failed if len(head) <= i < len(head) + len(counters)]
                if not failed or len(mine) != len(failed):
                    raise
                for i in mine:
                    seen[i] = self.table.get(counters[i].key)
                if attempt >= 2:  # still racing: let the others through first
                    self.table.backoff.pause(attempt - 2)
            except TransactionConflict:
                self.table.backoff.pause(attempt)
        raise Conflict("Concurrent changes to the same counters; retry.", code="concurrent_update")

    def _why_not(self, claim_key: Key) -> None:
        """Why the head of a transaction failed: the external id was taken, or the customer is gone."""
        claim = self.table.get(claim_key)
        if claim is not None:
            raise AlreadyRecorded(
                Claim(str(claim["customer_id"]), str(claim["sort_key"]), str(claim["fingerprint"]))
            )
        raise CustomerGone

    def _remember_store(self, purchase: Purchase) -> None:
        """The store marker, once per store and execution environment (a conditional put that
        changes nothing once the store is known; outside the purchase's transaction so that
        concurrent purchases of one store do not conflict on it)."""
        if purchase.store_id in self._known_stores:
            return
        offset = purchase.purchased_at.utcoffset() or timedelta(0)
        marker = {
            **store_key(purchase.store_id),
            "type": "store",
            "store_id": purchase.store_id,
            "utc_offset_min": int(offset.total_seconds() // 60),
            "first_seen_at": iso(purchase.recorded_at),
        }
        with contextlib.suppress(ConditionFailed):
            self.table.put(marker, condition="attribute_not_exists(#pk)", names={"#pk": PK})
        self._known_stores.add(purchase.store_id)

    # -- publishing -----------------------------------------------------------------------------

    def _published(self, tail: list[Action]) -> None:
        pending = [deserialize(action["Put"]["Item"]) for action in tail]
        if self._deferred is not None:
            self._deferred += pending
        else:
            self.flush(pending)

    def flush(self, pending: list[Item]) -> None:
        self.outbox.publish_or_leave(self.publisher, pending)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Within it, events are published once, at its end (PutEvents takes 10 per call)."""
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
        finally:
            pending, self._deferred = self._deferred, None
            self.flush(pending)

    # -- reads ----------------------------------------------------------------------------------

    def customer_zone(self, customer_id: str) -> str | None:
        item = self.table.get(profile_key(customer_id))
        return str(item["time_zone"]) if item else None

    def erased(self, customer_id: str) -> bool:
        return self.table.get(tombstone_key(customer_id)) is not None

    def purchase(self, customer_id: str, sort_key: str) -> Purchase | None:
        item = self.table.get({PK: profile_key(customer_id)[PK], SK: sort_key})
        return Purchase.model_validate(_from_item(item)) if item else None

    def purchase_of(self, external_id: str) -> Purchase | None:
        claim = self.table.get(purchase_claim_key(external_id))
        return self.purchase(str(claim["customer_id"]), str(claim["sort_key"])) if claim else None

    def visit(self, customer_id: str, sort_key: str) -> Visit | None:
        item = self.table.get({PK: profile_key(customer_id)[PK], SK: sort_key})
        return Visit.model_validate(_from_item(item)) if item else None

    def _all(self, condition: str, values: dict[str, Any]) -> Iterator[Item]:
        start: Key | None = None
        while True:
            page = self.table.query(condition, names={"#pk": PK, "#sk": SK}, values=values, start_key=start)
            yield from page.items
            if page.last_key is None:
                return
            start = page.last_key

    def usual(self, customer_id: str) -> list[tuple[Daypart, UsualItem]]:
        """Every usual counter of the customer (one per daypart and item they ever bought)."""
        values = {":pk": profile_key(customer_id)[PK], ":p": "USUAL#"}
        return [
            (item["daypart"], UsualItem.model_validate(_from_item(item)))
            for item in self._all("#pk = :pk AND begins_with(#sk, :p)", values)
        ]

    def purchases(
        self, customer_id: str, *, limit: int, start: Key | None
    ) -> tuple[list[Purchase], Key | None]:
        page = self.table.query(
            "#pk = :pk AND begins_with(#sk, :p)",
            names={"#pk": PK, "#sk": SK},
            values={":pk": profile_key(customer_id)[PK], ":p": "PURCHASE#"},
            limit=limit,
            start_key=start,
            forward=False,
        )
        return [Purchase.model_validate(_from_item(i)) for i in page.items], page.last_key

    def store_info(self, store_id: str) -> StoreInfo | None:
        item = self.table.get(store_key(store_id))
        return StoreInfo(store_id, int(item["utc_offset_min"])) if item else None

    def popularity(self, store_id: str, hour: int, first: date, last: date) -> list[PopCounter]:
        """One hour's counters from ``first`` to ``last`` (local days): one key range."""
        values = {
            ":pk": store_key(store_id)[PK],
            ":lo": pop_sort_key(hour, first),
            ":hi": pop_sort_key(hour, last)[:-1] + "$",  # '$' sorts right after '#': the whole last day
        }
        return [
            PopCounter(
                sku=str(i["sku"]),
                name=str(i.get("name", i["sku"])),
                category=str(i.get("category", "")),
                count=int(i["count"]),
                quantity=int(i["quantity"]),
                day=date.fromisoformat(str(i["date"])),
            )
            for i in self._all("#pk = :pk AND #sk BETWEEN :lo AND :hi", values)
        ]
