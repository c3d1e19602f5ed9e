"""Behaviour intake and what it tells: purchases, refunds and visits in; a customer's usual and
a store's hourly popularity out. No boto3 here: the store and the clock are passed in.

**Dayparts**, in the customer's time zone (their profile's, when the purchase is recorded):
morning 05:00-10:59, midday 11:00-16:59, evening 17:00-04:59 (a 01:00 snack is the evening's
tail, not the next morning's). The daypart and the customer-local date are fixed on the
purchase when it is recorded, so a later change of time zone never moves old purchases.

**The usual** of a daypart: the items the customer bought there at least ``MIN_USUAL_COUNT``
(2) times, net of refunds (once is a purchase, twice is a habit), ranked by that count, then by
the most recent purchase, then by SKU; the top ``limit`` (default 3) of each daypart. It is read
from per-item counters kept up to date by every purchase and refund, never recomputed from the
purchase history.

**Popularity** by the store's local hour: the hour and day come from ``purchased_at`` as sent,
whose UTC offset is the store's (a till stamps its own local time). A store's "today" (the end
of a window) is its local date at the offset of the first purchase seen there. The top
``limit`` items of each hour, summed over the last ``window_days`` local days (1..28; the
counters expire after the rolling window), ranked by purchase count, then units, then SKU.

**Times**: ``purchased_at``, ``started_at`` and ``refunded_at`` may be at most 5 minutes ahead of
our clock (tills drift) and at most 5 years old (older is a data error, not history).

**Idempotency**: an external id names one purchase (or visit) forever. The same id with the same
content (compared after normalising: equal lines merged, order ignored, the same instant with the
same offset) is the same purchase: its first result again, with no second event; with other
content it is 409 ``external_id_reused``. A refund is idempotent per refund id on its purchase;
another refund id on a refunded purchase is 409 ``already_refunded`` (refunds are of whole
purchases). A purchase whose payment ``failed`` is recorded for the payment record only: no
spend, no usual, no popularity and no ``PurchaseRecorded`` (nothing to earn points on); it cannot
be refunded (409 ``not_refundable``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.profile.models.behaviour import (
    DAYPARTS,
    AlreadyRecorded,
    BatchResult,
    Claim,
    CustomerGone,
    CustomerUsual,
    Daypart,
    HourPopularity,
    ItemResult,
    Line,
    PopCounter,
    PopularItem,
    Purchase,
    PurchaseInput,
    PurchaseLineIn,
    RefundInput,
    RefundRaced,
    StoreInfo,
    StorePopularity,
    UsualItem,
    Visit,
    VisitInput,
)
from services.profile.models.events import PurchaseLine, PurchaseRecorded, PurchaseRefunded, VisitRecorded
from shared.clock import Clock
from shared.dynamo import Key
from shared.errors import Conflict, DangolError, NotFound, Unprocessable

MIN_USUAL_COUNT = 2
FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=5 * 365 + 1)
REFUND_ATTEMPTS = 3
Loc = tuple[str | int, ...]
NewId = Callable[[str], str]


class BehaviourStore(Protocol):
    """What the logic needs of the store (``dal.behaviour.DynamoBehaviourStore``)."""

    def customer_zone(self, customer_id: str) -> str | None: ...
    def erased(self, customer_id: str) -> bool: ...
    def record_purchase(
        self, purchase: Purchase, fingerprint: str, event: PurchaseRecorded | None, *, at: datetime
    ) -> None: ...
    def purchase(self, customer_id: str, sort_key: str) -> Purchase | None: ...
    def purchase_of(self, external_id: str) -> Purchase | None: ...
    def refund(
        self, purchase: Purchase, refunded: Purchase, event: PurchaseRefunded, *, at: datetime
    ) -> None: ...
    def record_visit(self, visit: Visit, fingerprint: str, event: VisitRecorded, *, at: datetime) -> None: ...
    def visit(self, customer_id: str, sort_key: str) -> Visit | None: ...
    def usual(self, customer_id: str) -> list[tuple[Daypart, UsualItem]]: ...
    def purchases(
        self, customer_id: str, *, limit: int, start: Key | None
    ) -> tuple[list[Purchase], Key | None]: ...
    def store_info(self, store_id: str) -> StoreInfo | None: ...
    def popularity(self, store_id: str, hour: int, first: date, last: date) -> list[PopCounter]: ...
    def batch(self) -> AbstractContextManager[None]: ...

    @property
    def window_days(self) -> int: ...


# -- pure rules -----------------------------------------------------------------------------------


def daypart(moment: datetime, zone: str) -> Daypart:
    """The time of day of ``moment`` in ``zone`` (see the module's docstring)."""
    hour = moment.astimezone(ZoneInfo(zone)).hour
    if 5 <= hour < 11:
        return "morning"
    if 11 <= hour < 17:
        return "midday"
    return "evening"


def merge_lines(lines: Iterable[PurchaseLineIn]) -> list[Line]:
    """Equal lines (same SKU, unit price and premium flag) merged, in a canonical order; the
    first line of a SKU names it."""
    names: dict[str, tuple[str, str]] = {}
    quantities: dict[tuple[str, int, bool], int] = {}
    for line in lines:
        names.setdefault(line.sku, (line.name, line.category))
        key = (line.sku, line.unit_price, line.premium)
        quantities[key] = quantities.get(key, 0) + line.quantity
    return [
        Line(
            sku=sku,
            name=names[sku][0],
            category=names[sku][1],
            quantity=quantity,
            unit_price=price,
            amount=quantity * price,
            premium=premium,
        )
        for (sku, price, premium), quantity in sorted(quantities.items())
    ]


def fingerprint(content: dict[str, Any]) -> str:
    """What makes two submissions under one external id the same submission."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def purchase_fingerprint(data: PurchaseInput, lines: Sequence[Line]) -> str:
    return fingerprint(
        {
            **data.model_dump(mode="json", exclude={"external_id", "lines", "purchased_at"}),
            "purchased_at": data.purchased_at.isoformat(),
            "lines": [line.model_dump(mode="json") for line in lines],
        }
    )


def check_moment(moment: datetime, now: datetime, loc: Loc) -> None:
    """A sender's timestamp must be neither in the future (beyond a till's drift) nor absurdly old."""
    if moment > now + FUTURE_SKEW:
        problem = {"loc": list(loc), "type": "in_future", "msg": "must not be in the future"}
    elif moment < now - MAX_AGE:
        problem = {"loc": list(loc), "type": "too_old", "msg": "must be at most 5 years old"}
    else:
        return
    raise Unprocessable(details=[problem])


def rank_usual(
    items: Iterable[UsualItem], *, limit: int, min_count: int = MIN_USUAL_COUNT
) -> list[UsualItem]:
    """The usual of one daypart: bought at least ``min_count`` times; most bought, then most
    recent, then by SKU (a stable order for ties)."""
    eligible = [i for i in items if i.count >= min_count]
    eligible.sort(key=lambda i: (-i.count, -i.last_at.timestamp(), i.sku))
    return eligible[:limit]


def rank_popular(counters: Iterable[PopCounter], *, limit: int) -> list[PopularItem]:
    """One hour's counters of several days summed per SKU (named as on their latest day); items
    whose purchases were all refunded drop out."""
    summed: dict[str, list[int]] = {}
    named: dict[str, tuple[date, str, str]] = {}
    for c in counters:
        total = summed.setdefault(c.sku, [0, 0])
        total[0] += c.count
        total[1] += c.quantity
        if c.sku not in named or c.day >= named[c.sku][0]:
            named[c.sku] = (c.day, c.name, c.category)
    items = [
        PopularItem(sku=sku, name=named[sku][1], category=named[sku][2], count=count, quantity=quantity)
        for sku, (count, quantity) in summed.items()
        if count > 0
    ]
    items.sort(key=lambda i: (-i.count, -i.quantity, i.sku))
    return items[:limit]


def store_today(info: StoreInfo, now: datetime) -> date:
    return (now + timedelta(minutes=info.utc_offset_min)).date()


def problems(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the input values (they may hold anything)."""
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", ""), "msg": str(e.get("msg", ""))}
        for e in exc.errors()
    ][:20]


# -- the customer ---------------------------------------------------------------------------------


def _customer_zone(store: BehaviourStore, customer_id: str) -> str:
    zone = store.customer_zone(customer_id)
    if zone is None:
        raise _unknown_customer(store, customer_id)
    return zone


def _unknown_customer(store: BehaviourStore, customer_id: str) -> DangolError:
    if store.erased(customer_id):
        return Unprocessable("The customer was erased.", code="customer_erased")
    return Unprocessable("No customer has this id.", code="customer_not_found")


def _profile_not_found() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def _reused(kind: str) -> Conflict:
    return Conflict(f"This external_id was already used for a different {kind}.", code="external_id_reused")


# -- purchases ------------------------------------------------------------------------------------


def build_purchase(
    data: PurchaseInput, zone: str, *, now: datetime, new_id: NewId
) -> tuple[Purchase, str, PurchaseRecorded | None]:
    """The purchase as it will be recorded, its content's fingerprint and its event (none for a
    failed payment), for a customer living in ``zone``."""
    lines = merge_lines(data.lines)
    purchase = Purchase(
        purchase_id=new_id("pur"),
        external_id=data.external_id,
        customer_id=data.customer_id,
        store_id=data.store_id,
        channel=data.channel,
        currency=data.currency,
        total=sum(line.amount for line in lines),
        lines=lines,
        purchased_at=data.purchased_at,
        local_date=data.purchased_at.astimezone(ZoneInfo(zone)).date(),
        daypart=daypart(data.purchased_at, zone),
        payment_status=data.payment_status,
        recorded_at=now,
    )
    event = None if purchase.payment_status == "failed" else recorded_event(purchase)
    return purchase, purchase_fingerprint(data, lines), event


def record_purchase(
    store: BehaviourStore, data: PurchaseInput, *, clock: Clock, new_id: NewId, loc: Loc = ("body",)
) -> tuple[Purchase, bool]:
    """Record a purchase; returns it and whether it is new (False: the same one was recorded before)."""
    now = clock()
    check_moment(data.purchased_at, now, (*loc, "purchased_at"))
    zone = _customer_zone(store, data.customer_id)
    purchase, content, event = build_purchase(data, zone, now=now, new_id=new_id)
    try:
        store.record_purchase(purchase, content, event, at=now)
    except AlreadyRecorded as exc:
        earlier = _earlier_purchase(store, exc.claim, content)
        # Ours when a retried call had in fact landed (a client timeout): still the first record.
        return earlier, earlier.purchase_id == purchase.purchase_id
    except CustomerGone:
        raise _unknown_customer(store, data.customer_id) from None
    return purchase, True


def recorded_event(purchase: Purchase) -> PurchaseRecorded:
    return PurchaseRecorded(
        purchase_id=purchase.purchase_id,
        external_id=purchase.external_id,
        customer_id=purchase.customer_id,
        store_id=purchase.store_id,
        channel=purchase.channel,
        currency=purchase.currency,
        total=purchase.total,
        lines=[
            PurchaseLine(
                sku=line.sku,
                category=line.category,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                premium=line.premium,
            )
            for line in purchase.lines
        ],
        purchased_at=purchase.purchased_at,
        local_date=purchase.local_date,
    )


def _earlier_purchase(store: BehaviourStore, claim: Claim, content: str) -> Purchase:
    if claim.fingerprint != content:
        raise _reused("purchase")
    earlier = store.purchase(claim.customer_id, claim.sort_key)
    if earlier is None:  # the claim outlives an erased customer: the purchase cannot come back
        raise _unknown_customer(store, claim.customer_id)
    return earlier


def refund_purchase(
    store: BehaviourStore, external_id: str, data: RefundInput, *, clock: Clock
) -> tuple[Purchase, bool]:
    """Refund a whole purchase; returns it refunded and whether this call refunded it."""
    now = clock()
    refunded_at = data.refunded_at or now
    check_moment(refunded_at, now, ("body", "refunded_at"))
    for _ in range(REFUND_ATTEMPTS):
        purchase = store.purchase_of(external_id)
        if purchase is None:
            raise NotFound("No purchase has this external id.", code="purchase_not_found")
        if purchase.refund_id == data.refund_id:
            return purchase, False
        if purchase.refund_id is not None:
            raise Conflict("The purchase was already refunded (refund id differs).", code="already_refunded")
        if purchase.payment_status == "failed":
            raise Conflict("A purchase whose payment failed cannot be refunded.", code="not_refundable")
        if refunded_at < purchase.purchased_at:
            raise Unprocessable(
                details=[
                    {
                        "loc": ["body", "refunded_at"],
                        "type": "before_purchase",
                        "msg": "is before the purchase",
                    }
                ]
            )
        refunded = purchase.model_copy(
            update={"status": "refunded", "refund_id": data.refund_id, "refunded_at": refunded_at}
        )
        event = PurchaseRefunded(
            purchase_id=purchase.purchase_id,
            external_id=purchase.external_id,
            refund_id=data.refund_id,
            customer_id=purchase.customer_id,
            store_id=purchase.store_id,
            currency=purchase.currency,
            total=purchase.total,
            refunded_at=refunded_at,
        )
        try:
            store.refund(purchase, refunded, event, at=now)
        except RefundRaced:
            continue  # another refund (or an erasure) got there first: look again
        return refunded, True
    raise Conflict("The purchase kept changing; retry.", code="concurrent_update")


# -- visits ---------------------------------------------------------------------------------------


def record_visit(
    store: BehaviourStore, data: VisitInput, *, clock: Clock, new_id: NewId, loc: Loc = ("body",)
) -> tuple[Visit, bool]:
    now = clock()
    check_moment(data.started_at, now, (*loc, "started_at"))
    _customer_zone(store, data.customer_id)
    visit = Visit(
        visit_id=new_id("vis"),
        external_id=data.external_id,
        customer_id=data.customer_id,
        kind=data.kind,
        place=data.place,
        started_at=data.started_at,
        duration_s=data.duration_s,
        recorded_at=now,
    )
    content = fingerprint(
        {
            **data.model_dump(mode="json", exclude={"external_id", "started_at"}),
            "started_at": data.started_at.isoformat(),
        }
    )
    event = VisitRecorded(
        visit_id=visit.visit_id,
        external_id=visit.external_id,
        customer_id=visit.customer_id,
        kind=visit.kind,
        place=visit.place,
        started_at=visit.started_at,
        duration_s=visit.duration_s,
    )
    try:
        store.record_visit(visit, content, event, at=now)
    except AlreadyRecorded as exc:
        if exc.claim.fingerprint != content:
            raise _reused("visit") from None
        earlier = store.visit(exc.claim.customer_id, exc.claim.sort_key)
        if earlier is None:
            raise _unknown_customer(store, exc.claim.customer_id) from None
        return earlier, earlier.visit_id == visit.visit_id  # ours: a retried call that had landed
    except CustomerGone:
        raise _unknown_customer(store, data.customer_id) from None
    return visit, True


# -- batches --------------------------------------------------------------------------------------


def _external_id(raw: Any) -> str | None:
    value = raw.get("external_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and len(value) <= 100 else None


def _each(
    store: BehaviourStore,
    items: Sequence[Any],
    model: type[PurchaseInput] | type[VisitInput],
    record: Callable[[Any], tuple[Purchase | Visit, bool]],
) -> BatchResult:
    results: list[ItemResult] = []
    with store.batch():  # one publication of all the batch's events, at its end
        for index, raw in enumerate(items):
            try:
                data = model.model_validate(raw)
                done, created = record(data)
            except ValidationError as exc:
                results.append(
                    ItemResult(
                        index=index,
                        external_id=_external_id(raw),
                        status=422,
                        code="validation_error",
                        details=problems(exc),
                    )
                )
                continue
            except DangolError as exc:
                results.append(
                    ItemResult(
                        index=index,
                        external_id=_external_id(raw),
                        status=exc.status,
                        code=exc.code,
                        details=exc.details,
                    )
                )
                continue
            results.append(
                ItemResult(
                    index=index,
                    external_id=data.external_id,
                    status=201 if created else 200,
                    code="recorded" if created else "already_recorded",
                    id=done.purchase_id if isinstance(done, Purchase) else done.visit_id,
                )
            )
    return BatchResult(
        results=results,
        recorded=sum(r.code == "recorded" for r in results),
        already_recorded=sum(r.code == "already_recorded" for r in results),
        failed=sum(r.status >= 300 for r in results),
    )


def record_purchases(
    store: BehaviourStore, items: Sequence[Any], *, clock: Clock, new_id: NewId
) -> BatchResult:
    """Each purchase validated and recorded on its own (its own transaction): one bad item fails
    alone, with the status and code it would have had if sent alone."""
    return _each(
        store,
        items,
        PurchaseInput,
        lambda data: record_purchase(store, data, clock=clock, new_id=new_id, loc=()),
    )


def record_visits(store: BehaviourStore, items: Sequence[Any], *, clock: Clock, new_id: NewId) -> BatchResult:
    return _each(
        store, items, VisitInput, lambda data: record_visit(store, data, clock=clock, new_id=new_id, loc=())
    )


# -- reads ----------------------------------------------------------------------------------------


def customer_usual(store: BehaviourStore, customer_id: str, *, limit: int) -> CustomerUsual:
    zone = store.customer_zone(customer_id)
    if zone is None:
        raise _profile_not_found()
    by_part: dict[Daypart, list[UsualItem]] = {part: [] for part in DAYPARTS}
    for part, item in store.usual(customer_id):
        by_part[part].append(item)
    return CustomerUsual(
        customer_id=customer_id,
        time_zone=zone,
        min_count=MIN_USUAL_COUNT,
        morning=rank_usual(by_part["morning"], limit=limit),
        midday=rank_usual(by_part["midday"], limit=limit),
        evening=rank_usual(by_part["evening"], limit=limit),
    )


def customer_purchases(
    store: BehaviourStore, customer_id: str, *, limit: int, start: Key | None
) -> tuple[list[Purchase], Key | None]:
    if store.customer_zone(customer_id) is None:
        raise _profile_not_found()
    return store.purchases(customer_id, limit=limit, start=start)


def store_popularity(
    store: BehaviourStore,
    store_id: str,
    *,
    hour: int | None,
    window_days: int | None,
    limit: int,
    clock: Clock,
) -> StorePopularity:
    """The top items of each local hour over the last ``window_days`` local days of the store
    (all of the counters' rolling window when None)."""
    window_days = window_days or store.window_days
    if window_days > store.window_days:
        raise Unprocessable(
            details=[
                {
                    "loc": ["query", "window_days"],
                    "type": "less_than_equal",
                    "msg": f"must be at most {store.window_days} (the counters' rolling window)",
                }
            ]
        )
    info = store.store_info(store_id)
    if info is None:
        raise NotFound("No purchase was ever recorded at this store.", code="store_not_found")
    last = store_today(info, clock())
    first = last - timedelta(days=window_days - 1)
    hours = [hour] if hour is not None else list(range(24))
    return StorePopularity(
        store_id=store_id,
        window_days=window_days,
        from_date=first,
        to_date=last,
        hours=[
            HourPopularity(
                hour=h, items=rank_popular(store.popularity(store_id, h, first, last), limit=limit)
            )
            for h in hours
        ],
    )
