"""The offers store: coupon templates, coupons and limited-stock gifts in the rewards table.

Items (besides those in ``dal/keys.py``'s table):
- ``COUPONTPL#<id> / TEMPLATE``       a template; ``issued`` counts its coupons
- ``COUPONTPLS / <template id>``      the template list (ids only: listing never scans)
- ``COUPON#<sha256 of code> / COUPON``  a coupon by its code (the code itself is not stored here)
- ``ACCT#<c> / COUPON#<coupon id>``   the coupon in the customer's wallet (with its code)
- ``ACCT#<c> / CTPL#<template id>``   how many coupons of the template the customer got
- ``GIFT#<id> / GIFT``                a gift: stock, ``remaining``, ``entrants``
- ``GIFTS / END#<ends_at>#<id>``      the gift list by end time (its immutable definition)
- ``GIFT#<id> / ENTRANT#<c>``         a draw entrant: ``entry_id``, ``entered_at`` (``won_at``
                                      and ``won_in`` once drawn)
- ``GIFT#<id> / CLAIM#<purchase id>`` a purchase that won the gift (one effect per purchase)
- ``ACCT#<c> / GIFTS#<gift id>``      how many of the gift the customer won
- ``ACCT#<c> / DRAWENTRY#<gift id>``  the customer's entry (its id) in the gift's draws
- ``OFFER#<offer id> / OFFER``        the coupon a campaign's offer issued (one per offer)
- ``GIFT#<id> / DRAW#..``             a gift's scheduled draws (``dal/draws.py``)

Each issuance, redemption, entry and grant is ONE transaction whose conditions hold the rules
(the template is active and under its cap, the account exists, the per-customer count is under
its limit, the stock is above zero, the coupon is unredeemed); its event is an outbox item in
that transaction, published right after. A ``TransactionConflict`` is retried with backoff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from services.rewards.dal.accounts import account_states, open_accounts
from services.rewards.dal.identity import customer_id_of
from services.rewards.dal.keys import PK, SK, account_key, account_pk, outbox
from services.rewards.models.events import CouponIssued, CouponRedeemed, GiftGranted
from services.rewards.models.offers import (
    ClaimStatus,
    CouponRecord,
    CouponTemplate,
    Gift,
    GrantVia,
    IssueStatus,
    OfferStatus,
    Stale,
    WonGift,
)
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable, Item, Key, TransactionConflict, transact_write
from shared.errors import Conflict
from shared.events import DomainEvent, EventPublisher
from shared.ids import new_id

TEMPLATES = "COUPONTPLS"
GIFTS = "GIFTS"
FAILED = "ConditionalCheckFailed"
_NOT_DATA = {PK, SK, "type"}
_GIFT_COUNTERS = {"remaining", "entrants"}
Action = dict[str, Any]


def code_hash(code: str) -> str:
    """The key of a code: SHA-256 of its normalised form (upper case, no dashes or spaces)."""
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode()).hexdigest()


def template_key(template_id: str) -> Key:
    return {PK: f"COUPONTPL#{template_id}", SK: "TEMPLATE"}


def coupon_key(hashed: str) -> Key:
    return {PK: f"COUPON#{hashed}", SK: "COUPON"}


def wallet_key(customer_id: str, coupon_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"COUPON#{coupon_id}"}


def issued_count_key(customer_id: str, template_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"CTPL#{template_id}"}


def gift_key(gift_id: str) -> Key:
    return {PK: f"GIFT#{gift_id}", SK: "GIFT"}


def gift_list_key(gift: Gift) -> Key:
    return {PK: GIFTS, SK: f"END#{iso(gift.ends_at)}#{gift.id}"}


def entrant_key(gift_id: str, customer_id: str) -> Key:
    return {PK: f"GIFT#{gift_id}", SK: f"ENTRANT#{customer_id}"}


def gift_claim_key(gift_id: str, purchase_id: str) -> Key:
    return {PK: f"GIFT#{gift_id}", SK: f"CLAIM#{purchase_id}"}


def won_key(customer_id: str, gift_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"GIFTS#{gift_id}"}


def draw_entry_key(customer_id: str, gift_id: str) -> Key:
    return {PK: account_pk(customer_id), SK: f"DRAWENTRY#{gift_id}"}


def offer_claim_key(offer_id: str) -> Key:
    return {PK: f"OFFER#{offer_id}", SK: "OFFER"}


def _data(item: Item) -> Item:
    return {k: v for k, v in item.items() if k not in _NOT_DATA}


def _gift(item: Item) -> Gift:
    data = _data(item)
    return Gift.model_validate({**data, "winners": int(data["stock"]) - int(data["remaining"])})


def _failed(exc: ConditionFailed, index: int) -> bool:
    return len(exc.reasons) > index and exc.reasons[index] == FAILED


_ABSENT: dict[str, Any] = {"condition": "attribute_not_exists(#pk)", "names": {"#pk": PK}}
_PRESENT: dict[str, Any] = {"condition": "attribute_exists(#pk)", "names": {"#pk": PK}}
# Why a grant was refused, in the order of the claim transaction's first four actions.
_CLAIM_REFUSALS: tuple[ClaimStatus, ...] = ("duplicate", "no_account", "sold_out", "limit_reached")
_WON = TypeAdapter(list[WonGift])


class DynamoOfferStore:
    def __init__(self, table: DynamoTable, publisher: EventPublisher) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = outbox(table)

    # -- shared ---------------------------------------------------------------------------------

    def customer_of(self, subject: str) -> str | None:
        """The customer a login (Cognito sub) belongs to."""
        return customer_id_of(self.table, subject)

    def has_account(self, customer_id: str) -> bool:
        return bool(open_accounts(self.table, [customer_id]))

    def accounts_among(self, customer_ids: Sequence[str]) -> dict[str, bool]:
        return account_states(self.table, customer_ids)

    def _commit(self, actions: Sequence[Action], events: Sequence[DomainEvent], at: datetime) -> None:
        """One transaction with the events' outbox items; conflicts are retried with backoff.
        ``ConditionFailed`` (with its reasons, in ``actions`` order) when a condition failed."""
        pending = [self.outbox.item(self.outbox.envelope(e, at)) for e in events]
        writes = [*actions, *({"Put": self.table.put_op(i)} for i in pending)]
        for attempt in range(self.table.backoff.attempts):
            try:
                transact_write(self.table.client, writes)
            except TransactionConflict:
                self.table.backoff.pause(attempt)
                continue
            self.outbox.publish_or_leave(self.publisher, pending)
            return
        raise Conflict("Concurrent changes to the same offer; retry.", code="concurrent_update")

    def _page(
        self, pk: str, prefix: str, *, after: str | None, limit: int, newest_first: bool
    ) -> tuple[list[Item], str | None]:
        """A page of ``pk``'s items under ``prefix``, after the sort key ``after``, and the sort
        key to continue after (None on the last page)."""
        values: dict[str, Any] = {":pk": pk}
        condition = "#pk = :pk"
        if prefix:
            condition += " AND begins_with(#sk, :prefix)"
            values[":prefix"] = prefix
        page = self.table.query(
            condition,
            names={"#pk": PK, "#sk": SK} if prefix else {"#pk": PK},
            values=values,
            limit=limit,
            forward=not newest_first,
            start_key={PK: pk, SK: after} if after is not None else None,
        )
        return page.items, (str(page.last_key[SK]) if page.last_key is not None else None)

    # -- coupon templates -----------------------------------------------------------------------

    def create_template(self, template: CouponTemplate) -> None:
        item = {**template_key(template.id), "type": "coupon_template", **template.model_dump(mode="json")}
        listed = {PK: TEMPLATES, SK: template.id, "type": "coupon_template_listed"}
        transact_write(
            self.table.client,
            [{"Put": self.table.put_op(item, **_ABSENT)}, {"Put": self.table.put_op(listed)}],
        )

    def template(self, template_id: str) -> CouponTemplate | None:
        item = self.table.get(template_key(template_id))
        return CouponTemplate.model_validate(_data(item)) if item else None

    def templates(self, *, after: str | None, limit: int) -> tuple[list[CouponTemplate], str | None]:
        """A page of templates, newest first, and the id to continue after (or None)."""
        listed, last = self._page(TEMPLATES, "", after=after, limit=limit, newest_first=True)
        ids = [str(i[SK]) for i in listed]
        found = {str(i["id"]): i for i in self.table.batch_get([template_key(t) for t in ids])} if ids else {}
        return [CouponTemplate.model_validate(_data(found[t])) for t in ids if t in found], last

    def retire_template(self, template_id: str) -> bool:
        """Mark the template retired; False when there is no such template."""
        try:
            self.table.update(
                template_key(template_id),
                "SET #s = :retired",
                condition="attribute_exists(#pk)",
                names={"#s": "status", "#pk": PK},
                values={":retired": "retired"},
            )
        except ConditionFailed:
            return False
        return True

    # -- coupons --------------------------------------------------------------------------------

    def issue(
        self, template: CouponTemplate, coupon: CouponRecord, *, code: str, at: datetime
    ) -> IssueStatus:
        """Issue one coupon to one customer, or say why not."""
        status = self._issue(template, coupon, code=code, at=at, once=None)
        assert status is not None  # without a claim, nothing is a duplicate
        return status

    def issue_once(
        self, template: CouponTemplate, coupon: CouponRecord, *, code: str, at: datetime, offer_id: str
    ) -> OfferStatus:
        """Issue the coupon a campaign's offer asks for, once per offer whatever is redelivered: the
        offer's claim is written in the issue's transaction (``duplicate`` when it exists)."""
        claim = {
            **offer_claim_key(offer_id),
            "type": "offer_claim",
            "customer_id": coupon.customer_id,
            "coupon_id": coupon.coupon_id,
            "claimed_at": iso(at),
        }
        status = self._issue(
            template, coupon, code=code, at=at, once={"Put": self.table.put_op(claim, **_ABSENT)}
        )
        return "duplicate" if status is None else status

    def _issue(
        self, template: CouponTemplate, coupon: CouponRecord, *, code: str, at: datetime, once: Action | None
    ) -> IssueStatus | None:
        """The issue's one transaction, with ``once`` (a claim) first if given; None when the
        claim was there already."""
        customer = coupon.customer_id
        cap = " AND (attribute_not_exists(#n) OR #n < :max)" if template.max_issued else ""
        template_update = self.table.update_op(
            template_key(template.id),
            "ADD #n :one",
            condition="#s = :active" + cap,
            names={"#s": "status", "#n": "issued"},
            values={":active": "active", ":one": 1, **({":max": template.max_issued} if cap else {})},
        )
        count = self.table.update_op(
            issued_count_key(customer, template.id),
            "SET #t = :type, #tpl = :tpl ADD #c :one",
            condition="attribute_not_exists(#c) OR #c < :limit",
            names={"#t": "type", "#tpl": "template_id", "#c": "count"},
            values={
                ":type": "coupon_count",
                ":tpl": template.id,
                ":one": 1,
                ":limit": template.per_customer_limit,
            },
        )
        stored = coupon.model_dump(mode="json", exclude={"code"})
        actions: list[Action] = [
            {"ConditionCheck": self.table.delete_op(account_key(customer), **_PRESENT)},
            {"Update": template_update},
            {"Update": count},
            {
                "Put": self.table.put_op(
                    {**coupon_key(code_hash(code)), "type": "coupon", **stored}, **_ABSENT
                )
            },
            {
                "Put": self.table.put_op(
                    {
                        **wallet_key(customer, coupon.coupon_id),
                        "type": "wallet_coupon",
                        **stored,
                        "code": code,
                    }
                )
            },
        ]
        event = CouponIssued(
            customer_id=customer,
            coupon_id=coupon.coupon_id,
            template_id=template.id,
            valid_until=coupon.valid_until,
            source=coupon.source,
        )
        first = 0 if once is None else 1
        try:
            self._commit(actions if once is None else [once, *actions], [event], at)
        except ConditionFailed as exc:
            if once is not None and _failed(exc, 0):
                return None
            if _failed(exc, first):
                return "unknown_customer"
            if _failed(exc, first + 1):
                current = self.template(template.id)
                return (
                    "template_retired"
                    if current is None or current.status != "active"
                    else "max_issued_reached"
                )
            if _failed(exc, first + 2):
                return "limit_reached"
            raise  # a code collision (2**-80): the caller's request fails and may be retried
        return "issued"

    def coupon_by_code(self, code: str) -> CouponRecord | None:
        item = self.table.get(coupon_key(code_hash(code)))
        return CouponRecord.model_validate(_data(item)) if item else None

    def redeem(self, code: str, redeemed: CouponRecord, *, at: datetime) -> None:
        """Mark the coupon redeemed for an order, under the condition that it was not yet
        (``Stale`` otherwise: read it again); ``CouponRedeemed`` goes out with it."""
        fields = {
            "status": "redeemed",
            "order_id": redeemed.order_id,
            "order_total": redeemed.order_total,
            "store_id": redeemed.store_id,
            "discount_applied": redeemed.discount_applied,
            "redeemed_at": iso(redeemed.redeemed_at) if redeemed.redeemed_at else None,
        }
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        by_code = self.table.update_op(
            coupon_key(code_hash(code)),
            expression,
            condition="#f0 = :issued",
            names=names,
            values={**values, ":issued": "issued"},
        )
        wallet = self.table.update_op(
            wallet_key(redeemed.customer_id, redeemed.coupon_id),
            expression,
            condition="attribute_exists(#pk)",
            names={**names, "#pk": PK},
            values=values,
        )
        assert redeemed.redeemed_at is not None
        event = CouponRedeemed(
            customer_id=redeemed.customer_id,
            coupon_id=redeemed.coupon_id,
            template_id=redeemed.template_id,
            source=redeemed.source,
            redeemed_at=redeemed.redeemed_at,
        )
        try:
            self._commit([{"Update": by_code}, {"Update": wallet}], [event], at)
        except ConditionFailed as exc:
            raise Stale from exc

    def wallet(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[CouponRecord], str | None]:
        """A page of the customer's coupons, newest first, and the sort key to continue after."""
        items, last = self._page(
            account_pk(customer_id), "COUPON#", after=after, limit=limit, newest_first=True
        )
        return [CouponRecord.model_validate(_data(i)) for i in items], last

    # -- gifts ----------------------------------------------------------------------------------

    def create_gift(self, gift: Gift) -> None:
        data = gift.model_dump(mode="json", exclude={"winners"})
        listed = {k: v for k, v in data.items() if k not in _GIFT_COUNTERS}
        transact_write(
            self.table.client,
            [
                {"Put": self.table.put_op({**gift_key(gift.id), "type": "gift", **data}, **_ABSENT)},
                {"Put": self.table.put_op({**gift_list_key(gift), "type": "gift_listed", **listed})},
            ],
        )

    def gift(self, gift_id: str) -> Gift | None:
        item = self.table.get(gift_key(gift_id))
        return _gift(item) if item else None

    def gifts(self, *, after: str | None, limit: int) -> tuple[list[Gift], str | None]:
        """A page of gifts, latest-ending first, and the sort key to continue after."""
        listed, last = self._page(GIFTS, "END#", after=after, limit=limit, newest_first=True)
        ids = [str(i["id"]) for i in listed]
        found = (
            {str(i["id"]): _gift(i) for i in self.table.batch_get([gift_key(g) for g in ids])} if ids else {}
        )
        return [found[g] for g in ids if g in found], last

    def live_gifts(self, at: datetime) -> list[Gift]:
        """The gifts whose event has started and not ended at ``at``: a query of the small
        ``GIFTS`` partition from that end time on (never a scan), then their counters."""
        ids: list[str] = []
        start: Key | None = None
        while True:
            page = self.table.query(
                "#pk = :pk AND #sk > :from",
                names={"#pk": PK, "#sk": SK, "#start": "starts_at"},
                values={":pk": GIFTS, ":from": f"END#{iso(at)}#~", ":at": iso(at)},
                filter_expression="#start <= :at",
                start_key=start,
            )
            ids += [str(i["id"]) for i in page.items]
            start = page.last_key
            if start is None:
                break
        return [_gift(i) for i in self.table.batch_get([gift_key(g) for g in ids])] if ids else []

    def enter(self, gift: Gift, customer_id: str, *, at: datetime) -> bool:
        """Enter the customer in the gift's draws (once, with an entry id of its own, also kept in
        their account for ``/me/draw-entries``); False when they have no account."""
        entry = {"customer_id": customer_id, "entry_id": new_id("ent"), "entered_at": iso(at)}
        entrant = {**entrant_key(gift.id, customer_id), "type": "gift_entrant", **entry}
        mine = {**draw_entry_key(customer_id, gift.id), "type": "draw_entry", "gift_id": gift.id, **entry}
        actions: list[Action] = [
            {"ConditionCheck": self.table.delete_op(account_key(customer_id), **_PRESENT)},
            {"Put": self.table.put_op(entrant, **_ABSENT)},
            {"Put": self.table.put_op({**mine, "name": gift.name})},
            {
                "Update": self.table.update_op(
                    gift_key(gift.id), "ADD #e :one", names={"#e": "entrants"}, values={":one": 1}
                )
            },
        ]
        try:
            self._commit(actions, [], at)
        except ConditionFailed as exc:
            if _failed(exc, 0):
                return False
            if _failed(exc, 1):
                return True  # entered before
            raise
        return True

    def entrants_not_won(self, gift_id: str) -> list[str]:
        """Every entrant of the gift's draw who has not won yet."""
        unwon = self._entrants(gift_id, "attribute_not_exists(#won)", {"#won": "won_at"}, {})
        return [str(i["customer_id"]) for i in unwon]

    def _entrants(
        self, gift_id: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> list[Item]:
        """The gift's entrant items that meet ``condition`` (a filter), every page."""
        found: list[Item] = []
        start: Key | None = None
        while True:
            page = self.table.query(
                "#pk = :pk AND begins_with(#sk, :entrant)",
                names={"#pk": PK, "#sk": SK, **names},
                values={":pk": f"GIFT#{gift_id}", ":entrant": "ENTRANT#", **values},
                filter_expression=condition,
                start_key=start,
            )
            found += page.items
            start = page.last_key
            if start is None:
                return found

    def claim(
        self, gift: Gift, customer_id: str, *, via: GrantVia, source: str, seen_remaining: int, at: datetime
    ) -> ClaimStatus:
        """Grant one unit of the gift to the customer, or say why not. ``source``: the purchase
        id (one effect per purchase) or, for a draw, which draw (kept as the entrant's ``won_in``:
        one win per entrant)."""
        if via == "purchase":
            marker: Action = {
                "Put": self.table.put_op(
                    {
                        **gift_claim_key(gift.id, source),
                        "type": "gift_claim",
                        "customer_id": customer_id,
                        "claimed_at": iso(at),
                    },
                    **_ABSENT,
                )
            }
        else:
            marker = {
                "Update": self.table.update_op(
                    entrant_key(gift.id, customer_id),
                    "SET #won = :at, #in = :in",
                    condition="attribute_exists(#pk) AND attribute_not_exists(#won)",
                    names={"#pk": PK, "#won": "won_at", "#in": "won_in"},
                    values={":at": iso(at), ":in": source},
                )
            }
        won = self.table.update_op(
            won_key(customer_id, gift.id),
            "SET #t = :type, #g = :gift, #name = :name, #via = :via, #last = :at ADD #c :one",
            condition="attribute_not_exists(#c) OR #c < :limit",
            names={
                "#t": "type",
                "#g": "gift_id",
                "#name": "name",
                "#via": "via",
                "#last": "last_won_at",
                "#c": "count",
            },
            values={
                ":type": "gift_won",
                ":gift": gift.id,
                ":name": gift.name,
                ":via": via,
                ":at": iso(at),
                ":one": 1,
                ":limit": gift.per_customer_limit,
            },
        )
        stock = self.table.update_op(
            gift_key(gift.id),
            "SET #r = #r - :one",
            condition="#r > :zero",
            names={"#r": "remaining"},
            values={":one": 1, ":zero": 0},
        )
        actions: list[Action] = [
            marker,
            {"ConditionCheck": self.table.delete_op(account_key(customer_id), **_PRESENT)},
            {"Update": stock},
            {"Update": won},
        ]
        event = GiftGranted(
            customer_id=customer_id, gift_id=gift.id, via=via, remaining_stock=max(seen_remaining - 1, 0)
        )
        try:
            self._commit(actions, [event], at)
        except ConditionFailed as exc:
            for index, status in enumerate(_CLAIM_REFUSALS):
                if _failed(exc, index):
                    return status
            raise
        return "granted"

    def won_gifts(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> tuple[list[WonGift], str | None]:
        items, last = self._page(
            account_pk(customer_id), "GIFTS#", after=after, limit=limit, newest_first=False
        )
        return _WON.validate_python([_data(i) for i in items]), last
