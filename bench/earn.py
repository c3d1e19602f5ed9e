"""Points earned per second through the rewards consumer, end to end, against a raw boto3 loop
sending the ledger's own transactions on the same moto server, in one run.

    .venv/bin/python -m bench earn [--purchases 120] [--rounds 4] [--json] [--check]

Ours: ``PurchaseRecorded`` events, as the rule ``rewards-profile-events`` delivers them, sent to
``rewards-events`` (send_message_batch, 10 per call) -> the local poller -> a Lambda worker running
the real consumer (``services.rewards.handlers.events``: the refund marker, the tier state, the
earn rules (cached), the account read, the ledger's one TransactWriteItems of account, claim,
entry, lot, month counter and outbox item, PutEvents and the outbox's delete, the tier decision,
the gifts on sale) -> ``PointsEarned`` on the bus, counted when the bus tap has seen them all.
Floor: the same TransactWriteItems (the ledger builds them, for other customers' purchases), sent
by a plain boto3 loop, nothing else. Every purchase is a new account's first, so both sides write
the same items at the same table sizes; the two run in alternating rounds on one table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.local import provision
from infra.local.runtime import Config, LocalRuntime
from services.rewards.dal.ledger import DynamoLedgerStore
from services.rewards.logic import ledger
from services.rewards.models.ledger import Change
from services.rewards.topology import EVENTS, EVENTS_QUEUE, REWARDS
from shared.dynamo import DynamoTable
from shared.events import EventPublisher
from shared.platform import BUS
from shared.topology import Consumer, Service, System

SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(
        Service(
            name="rewards",
            tables=(REWARDS,),
            functions=(EVENTS,),
            routes=(),
            queues=(EVENTS_QUEUE,),
            consumers=(Consumer(EVENTS, EVENTS_QUEUE, batch_size=10),),
        ),
    ),
)
TARGET = 0.5
TOTAL = 12_000  # won: 120 points by the default rules


def _customer(n: int, tag: str) -> str:
    return f"cus_01JBENCH{tag}{n:017d}"  # a ULID-shaped id (Crockford letters only)


def _purchase(customer_id: str, n: int) -> dict[str, Any]:
    at = datetime.now(UTC).replace(microsecond=0)
    return {
        "purchase_id": f"pur_01JBENCHP{n:017d}",
        "external_id": f"bench-{n}",
        "customer_id": customer_id,
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "total": TOTAL,
        "lines": [{"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": 6000, "amount": TOTAL}],
        "purchased_at": at.isoformat(),
        "local_date": at.date().isoformat(),
    }


def _event(data: dict[str, Any]) -> str:
    """The event as the rule puts it on the queue (EventBridge's envelope, our metadata)."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "PurchaseRecorded",
            "source": "dangol.profile",
            "time": datetime.now(UTC).isoformat(),
            "detail": {
                "metadata": {"event_id": str(uuid.uuid4()), "schema_version": "1", "occurred_at": "x"},
                "data": data,
            },
        }
    )


class _Recorder(DynamoLedgerStore):
    """Builds the ledger's transaction for a change without sending it (the floor's items)."""

    recorded: list[list[dict[str, Any]]]

    def commit(self, change: Change) -> None:
        self.recorded.append(self._actions(change)[0])


def _open(store: DynamoLedgerStore, customers: list[str]) -> None:
    for customer_id in customers:
        ledger.open_account(store, customer_id, now=datetime.now(UTC))


def _ours(runtime: LocalRuntime, queue_url: str, customers: list[str], first: int) -> float:
    """Seconds from the first send until the bus tap has seen a PointsEarned for each purchase."""
    sqs, tap = runtime.client("sqs"), runtime.tap
    assert tap is not None
    before = tap.count
    started = time.perf_counter()
    for start in range(0, len(customers), 10):
        batch = customers[start : start + 10]
        entries = [
            {"Id": str(i), "MessageBody": _event(_purchase(c, first + start + i))}
            for i, c in enumerate(batch)
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
    while tap.count - before < len(customers):
        time.sleep(0.005)
        if time.perf_counter() - started > 600:
            raise TimeoutError(f"only {tap.count - before} of {len(customers)} PointsEarned in 600 s")
    return time.perf_counter() - started


def _floor(runtime: LocalRuntime, recorder: _Recorder, customers: list[str], first: int) -> float:
    """Seconds for a boto3 loop to send the ledger's transactions for these customers' purchases."""
    recorder.recorded = []
    for n, customer_id in enumerate(customers):
        data = _purchase(customer_id, first + n)
        ledger.credit(
            recorder,
            customer_id=customer_id,
            points=TOTAL // 100,
            kind="earn",
            source=f"purchase:{data['purchase_id']}",
            expires_at=datetime.now(UTC).replace(year=datetime.now(UTC).year + 1),
            actor="system",
            reason="purchase",
            now=datetime.now(UTC),
            rule_version=0,
            purchase=ledger.Purchase(data["purchase_id"], "KRW", TOTAL, TOTAL, data["purchased_at"][:7]),
        )
    client = runtime.client("dynamodb")
    started = time.perf_counter()
    for actions in recorder.recorded:
        client.transact_write_items(TransactItems=actions)
    return time.perf_counter() - started


def run(purchases: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        runtime = LocalRuntime(SYSTEM, Config(port=0, state_dir=Path(state), access_log=False))
        runtime.start()
        try:
            assert runtime.messaging is not None
            table_name = provision.table_name(SYSTEM, "local", REWARDS)
            queue_url = runtime.messaging.queue_urls[EVENTS_QUEUE.id]
            table = DynamoTable(table_name, runtime.client("dynamodb"))
            publisher = EventPublisher("unused", "bench", runtime.client("events"))  # never publishes
            store = DynamoLedgerStore(table, publisher)
            recorder = _Recorder(table, publisher)
            per_round = max(10, purchases // rounds)
            warm = [_customer(n, "W") for n in range(20)]
            _open(store, warm)
            _ours(runtime, queue_url, warm, 900_000)  # the worker's cold start is another benchmark's
            ours_s = floor_s = 0.0
            done = 0
            for r in range(rounds):
                mine = [_customer(r * per_round + n, "R") for n in range(per_round)]
                raw = [_customer(r * per_round + n, "F") for n in range(per_round)]
                _open(store, mine + raw)
                ours_s += _ours(runtime, queue_url, mine, done)
                floor_s += _floor(runtime, recorder, raw, 500_000 + done)
                done += per_round
            failures = runtime.pollers[0].stats.failed
            items = runtime.client("dynamodb").describe_table(TableName=table_name)["Table"]["ItemCount"]
        finally:
            runtime.stop()
    ours, floor = done / ours_s, done / floor_s
    return {
        "purchases": done,
        "rounds": rounds,
        "ours_per_s": ours,
        "floor_per_s": floor,
        "ratio": ours / floor,
        "target": TARGET,
        "consumer_failures": failures,
        "table_items_at_end": items,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench earn", description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=120, help="purchases on each side (120)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (4)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help=f"exit 1 below the target ratio ({TARGET})")
    args = parser.parse_args(argv)
    result = run(args.purchases, args.rounds)
    if args.json:
        print(json.dumps(result))
    else:
        verdict = "PASS" if result["ratio"] >= TARGET else "FAIL"
        print(
            f"earn: {result['purchases']} purchases in {result['rounds']} rounds; "
            f"queue -> consumer -> PointsEarned on the bus {result['ours_per_s']:.1f}/s; "
            f"raw transact_write_items loop {result['floor_per_s']:.1f}/s; "
            f"ratio {result['ratio']:.2f} (target >= {TARGET}: {verdict}); "
            f"consumer failures {result['consumer_failures']}; table items {result['table_items_at_end']}"
        )
    return 1 if args.check and result["ratio"] < TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
