"""A hot account: 100 earns on one customer at once, against 100 earns one after another.

    .venv/bin/python -m bench hot-account [--earns 100] [--json] [--check]

Each concurrent earn is its own thread with its own client and store, as separate Lambda
execution environments are; all start together at a barrier. moto runs behind the local runtime's
lock (one request at a time), so what races is our logic: the ledger's optimistic transaction on
the account's ``version``, re-read and retried with jittered backoff when another earn won. The
check: every earn applied exactly once (balance, entries, no drift), and how much longer the
contended run takes than the sequential one on another account of the same table. The stores
retry as the event consumer's do (``PATIENT``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from infra.local import provision
from infra.local.moto_server import MotoServer
from infra.local.runtime import LOCAL_CREDENTIALS
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from services.rewards.models.ledger import Change
from services.rewards.topology import REWARDS
from shared.dynamo import DynamoTable
from shared.events import EventPublisher
from shared.platform import BUS
from shared.topology import Service, System

SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(Service(name="rewards", tables=(REWARDS,), functions=(), routes=()),),
)
POINTS = 10
REGION = "ap-northeast-2"


class _Counting(DynamoLedgerStore):
    """Counts the transactions it sends (an earn's first attempt plus its retries)."""

    attempts = 0
    _lock = threading.Lock()

    def commit(self, change: Change) -> None:
        with _Counting._lock:
            _Counting.attempts += 1
        super().commit(change)


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def _store(url: str, table_name: str, bus: str) -> _Counting:
    return _Counting(
        DynamoTable(table_name, _client(url, "dynamodb")),
        EventPublisher(bus, "bench", _client(url, "events")),
    )


def _earn(store: DynamoLedgerStore, customer_id: str, n: int) -> None:
    now = datetime.now(UTC)
    ledger.credit(
        store,
        customer_id=customer_id,
        points=POINTS,
        kind="earn",
        source=f"purchase:bench-{n}",
        expires_at=now + timedelta(days=365),
        actor="system",
        reason="purchase",
        now=now,
    )


def run(earns: int) -> dict[str, Any]:
    moto = MotoServer()
    url = moto.start()
    try:
        provision.create_tables(_client(url, "dynamodb"), SYSTEM, "local")
        bus = provision.create_bus(_client(url, "events"), SYSTEM, "local")
        table_name = provision.table_name(SYSTEM, "local", REWARDS)
        hot, calm = "cus_01JBENCHH00000000000000000", "cus_01JBENCHC00000000000000000"
        setup = _store(url, table_name, bus)
        for customer_id in (hot, calm):
            ledger.open_account(setup, customer_id, now=datetime.now(UTC))
        _Counting.attempts = 0
        started = time.perf_counter()
        for n in range(earns):
            _earn(setup, calm, n)
        sequential_s = time.perf_counter() - started
        stores = [_store(url, table_name, bus) for _ in range(earns)]
        barrier = threading.Barrier(earns)
        _Counting.attempts = 0

        def one(n: int) -> None:
            barrier.wait(timeout=60)
            _earn(stores[n], hot, n)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=earns) as pool:
            failures = [f.exception() for f in [pool.submit(one, n) for n in range(earns)]]
        concurrent_s = time.perf_counter() - started
        attempts = _Counting.attempts
        account = ledger.account(setup, hot, now=datetime.now(UTC))
        entries = len(setup.all_entries(hot))
        drift = ledger.verify(setup, hot)
    finally:
        moto.stop()
    errors = [repr(e) for e in failures if e is not None]
    return {
        "earns": earns,
        "applied": entries,
        "balance": account.balance,
        "expected_balance": earns * POINTS,
        "no_drift": drift.ok,
        "errors": errors[:5],
        "concurrent_s": concurrent_s,
        "sequential_s": sequential_s,
        "time_ratio": concurrent_s / sequential_s,
        "transactions_sent": attempts,
        "retries": attempts - earns,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench hot-account", description=__doc__.splitlines()[0])
    parser.add_argument("--earns", type=int, default=100, help="earns on each side (100)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every earn applied once")
    args = parser.parse_args(argv)
    result = run(args.earns)
    ok = (
        result["applied"] == args.earns
        and result["balance"] == result["expected_balance"]
        and result["no_drift"]
    )
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"hot-account: {result['earns']} concurrent earns on one account: "
            f"{result['applied']} applied, balance {result['balance']} "
            f"(expected {result['expected_balance']}), drift-free {result['no_drift']}, "
            f"errors {len(result['errors'])}; {result['concurrent_s']:.1f} s against "
            f"{result['sequential_s']:.1f} s for {result['earns']} sequential earns "
            f"(x{result['time_ratio']:.1f}); "
            f"{result['transactions_sent']} transactions sent ({result['retries']} retries after a lost race)"
        )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
