"""What each profile event does to rewards: points at once for a purchase, its exact reversal on
a refund, sign-up points, a tier decision after each, gifts for qualifying purchases, and the
account pseudonymised when the person is erased.

Every effect is idempotent on the event's own ids (the purchase, the refund, the sign-up), so a
duplicated or replayed event has one effect; tier decisions converge whatever their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.rewards.logic import earning, ledger, tiering, tiers
from services.rewards.models import inbound
from services.rewards.models.events import TierChanged
from services.rewards.models.programs import EarnRules, TierProgram

SYSTEM_ACTOR = "system"


class Programs(Protocol):
    def earn_rules(self) -> EarnRules: ...

    def tier_program(self) -> TierProgram: ...


class Gifts(Protocol):
    def on_purchase(self, purchase: inbound.PurchaseRecorded) -> object: ...


class Accounts(Protocol):
    def link(self, subject: str, customer_id: str) -> None: ...

    def mark_refunded(self, customer_id: str, purchase_id: str) -> None: ...

    def was_refunded(self, customer_id: str, purchase_id: str) -> bool: ...


@dataclass(frozen=True)
class Rewarding:
    """The ports an event's effects need."""

    ledger: ledger.LedgerStore
    tiers: tiering.TierStore
    programs: Programs
    accounts: Accounts
    gifts: Gifts | None = None


def purchase_recorded(ports: Rewarding, purchase: inbound.PurchaseRecorded, *, now: datetime) -> int:
    """Credit the purchase's points by the earn rules in force; returns the points (0: none)."""
    if ports.accounts.was_refunded(purchase.customer_id, purchase.purchase_id):
        return 0  # its refund came first
    rules, program = ports.programs.earn_rules(), ports.programs.tier_program()
    record = ports.tiers.record(purchase.customer_id)
    quote = earning.points_for_purchase(
        rules,
        earning.PurchaseFacts(
            currency=purchase.currency,
            total=purchase.total,
            store_id=purchase.store_id,
            local_date=purchase.local_date,
            lines=tuple((line.category, line.amount) for line in purchase.lines),
        ),
        tier_multiplier_pct=tiers.earn_multiplier_pct(program, record.tier if record else None),
    )
    if quote.points > 0:
        counted = purchase.total if purchase.currency == program.currency else 0
        ledger.credit(
            ports.ledger,
            customer_id=purchase.customer_id,
            points=quote.points,
            kind="earn",
            source=f"purchase:{purchase.purchase_id}",
            expires_at=purchase.purchased_at + timedelta(days=rules.points_valid_days),
            actor=SYSTEM_ACTOR,
            reason="purchase",
            now=now,
            rule_version=quote.rule_version,
            purchase=ledger.Purchase(
                purchase_id=purchase.purchase_id,
                currency=purchase.currency,
                total=purchase.total,
                qualifying_spend=counted,
                month=purchase.purchased_at.astimezone(UTC).strftime("%Y-%m"),
            ),
        )
        _place(ports, program, purchase.customer_id, now)
    if ports.gifts is not None:
        ports.gifts.on_purchase(purchase)
    return quote.points


def purchase_refunded(ports: Rewarding, refund: inbound.PurchaseRefunded, *, now: datetime) -> None:
    """Reverse exactly what the purchase earned (what was spent already becomes a debt). A refund
    that finds nothing to reverse is remembered, so that a purchase arriving after it earns nothing."""
    reversed_ = ledger.reverse(
        ports.ledger,
        customer_id=refund.customer_id,
        earned_source=f"purchase:{refund.purchase_id}",
        source=f"refund:{refund.purchase_id}",
        actor=SYSTEM_ACTOR,
        reason="refund",
        now=now,
    )
    if reversed_ is None:
        ports.accounts.mark_refunded(refund.customer_id, refund.purchase_id)
        return
    _place(ports, ports.programs.tier_program(), refund.customer_id, now)


def customer_registered(ports: Rewarding, customer: inbound.CustomerRegistered, *, now: datetime) -> None:
    """Open the account, link the login, credit the sign-up points (once per person: a returning
    one, whose earlier login was erased, gets none)."""
    ledger.open_account(ports.ledger, customer.customer_id, now=now)
    if customer.subject:
        ports.accounts.link(customer.subject, customer.customer_id)
    rules = ports.programs.earn_rules()
    if rules.signup_points > 0 and not customer.returning:
        ledger.credit(
            ports.ledger,
            customer_id=customer.customer_id,
            points=rules.signup_points,
            kind="signup",
            source="signup",
            expires_at=now + timedelta(days=rules.points_valid_days),
            actor=SYSTEM_ACTOR,
            reason="sign-up",
            now=now,
            rule_version=rules.version,
        )
    _place(ports, ports.programs.tier_program(), customer.customer_id, now)


def customer_imported(ports: Rewarding, customer: inbound.CustomerImported, *, now: datetime) -> None:
    """An imported customer gets an account (no sign-up points: they were customers already)."""
    ledger.open_account(ports.ledger, customer.customer_id, now=now)
    _place(ports, ports.programs.tier_program(), customer.customer_id, now)


def customer_erased(ports: Rewarding, customer: inbound.CustomerErased, *, now: datetime) -> None:
    ledger.pseudonymise(ports.ledger, customer.customer_id, now=now)


def _place(ports: Rewarding, program: TierProgram, customer_id: str, now: datetime) -> TierChanged | None:
    return tiering.reevaluate(ports.tiers, program, customer_id, now=now)
