"""Nightly: every account's tier re-decided (months roll out of the window, grace periods end)
and every account verified from its entries and lots. The report says how many drift; it must be
0. Re-running is harmless: tier decisions converge, verification only reads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Protocol

from services.rewards.logic import ledger, tiering
from services.rewards.models.audit import AuditReport
from services.rewards.models.programs import TierProgram

MAX_IDS = 100


class AuditStore(Protocol):
    def account_pages(self, *, page_size: int = 100) -> Iterator[list[str]]: ...

    def save(self, report: AuditReport) -> None: ...


def nightly(
    store: AuditStore,
    ledger_store: ledger.LedgerStore,
    tier_store: tiering.TierStore,
    program: TierProgram,
    *,
    clock: Callable[[], datetime],
    should_stop: Callable[[], bool] = lambda: False,
) -> AuditReport:
    started = clock()
    accounts = tiers_changed = 0
    drifting: list[str] = []
    complete = True
    for page in store.account_pages():
        if should_stop():
            complete = False
            break
        for customer_id in page:
            accounts += 1
            if tiering.reevaluate(tier_store, program, customer_id, now=started) is not None:
                tiers_changed += 1
            if not ledger.verify(ledger_store, customer_id).ok:
                drifting.append(customer_id)
    report = AuditReport(
        started_at=started,
        finished_at=clock(),
        complete=complete,
        accounts=accounts,
        drifting=len(drifting),
        drifting_ids=drifting[:MAX_IDS],
        tiers_changed=tiers_changed,
    )
    store.save(report)
    return report
