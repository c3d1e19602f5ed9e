"""Purchases per second through the intake queue, end to end, against a raw boto3 loop doing
the same DynamoDB writes on the same moto server, in one run.

    .venv/bin/python -m bench intake [--purchases 120] [--rounds 4] [--json] [--check]

Ours: purchases sent to ``profile-purchases`` (send_message_batch, 10 per call) -> the local
poller -> a Lambda worker running the real intake consumer (``services.profile.handlers.intake``:
per purchase, a GetItem of the profile and the one TransactWriteItems of claim, purchase, profile
check, STATS, usual and popularity counters and outbox item; per batch, one PutEvents and the
outbox's BatchWriteItem) -> ``PurchaseRecorded`` on the bus, counted when the bus tap has seen
them all. Floor: the same TransactWriteItems (the DAL builds them, for other external ids) sent by
a plain boto3 loop, nothing else.

moto's costs grow with the table (each transaction copies it), so the two run in alternating
rounds on one table: both see the same sizes. The ratio is ours / floor in purchases per second.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from infra.local import provision
from infra.local.runtime import Config, LocalRuntime
from services.profile.dal.behaviour import DynamoBehaviourStore
from services.profile.logic.behaviour import build_purchase
from services.profile.models.behaviour import PurchaseInput
from services.profile.topology import INTAKE, PROFILES, PURCHASES
from shared.dynamo import DynamoTable
from shared.events import EventPublisher
from shared.ids import new_id
from shared.platform import BUS
from shared.topology import Consumer, Service, System

SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(
        Service(
            name="profile",
            tables=(PROFILES,),
            functions=(INTAKE,),
            routes=(),
            queues=(PURCHASES,),
            consumers=(Consumer(INTAKE, PURCHASES, batch_size=10),),
        ),
    ),
)
CUSTOMERS = 50
TARGET = 0.5
ZONE = "Asia/Seoul"
SEOUL = ZoneInfo(ZONE)
MENU = [("AMERICANO", 4500), ("LATTE", 5000), ("CROISSANT", 3800), ("SANDWICH", 7500), ("CAKE", 6500)]


def _customer(n: int) -> str:
    return f"cus_01JBENCH{n:018d}"[:30]


def _purchase(n: int, tag: str) -> dict[str, Any]:
    """A realistic purchase of two or three menu items, yesterday in Seoul: the n-th 10 s after
    06:00, so that each customer's purchases arrive in order (as they mostly do)."""
    base = datetime.now(SEOUL).replace(hour=6, minute=0, second=0, microsecond=0) - timedelta(days=1)
    picks = [MENU[(n + k) % len(MENU)] for k in range(2 + n % 2)]
    return {
        "external_id": f"bench-{tag}-{n}",
        "customer_id": _customer(n % CUSTOMERS),
        "store_id": f"store-{n % 3}",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": (base + timedelta(seconds=10 * n)).isoformat(),
        "lines": [
            {
                "sku": sku,
                "name": sku.title(),
                "category": "bakery",
                "quantity": 1 + n % 2,
                "unit_price": price,
            }
            for sku, price in picks
        ],
    }


def _seed(runtime: LocalRuntime, table_name: str) -> None:
    """Profiles as the intake reads them (the time zone is all it needs)."""
    dynamodb = runtime.client("dynamodb")
    for n in range(CUSTOMERS):
        customer_id = _customer(n)
        dynamodb.put_item(
            TableName=table_name,
            Item={
                "pk": {"S": f"CUSTOMER#{customer_id}"},
                "sk": {"S": "PROFILE"},
                "type": {"S": "profile"},
                "customer_id": {"S": customer_id},
                "time_zone": {"S": ZONE},
            },
        )


def _ours(runtime: LocalRuntime, queue_url: str, start: int, count: int) -> float:
    """Seconds from the first send until the bus tap has seen ``count`` more PurchaseRecorded."""
    sqs = runtime.client("sqs")
    tap = runtime.tap
    assert tap is not None
    before = tap.count
    started = time.perf_counter()
    for first in range(start, start + count, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps({"kind": "purchase", "data": _purchase(n, "sqs")})}
            for n in range(first, min(start + count, first + 10))
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    while tap.count - before < count:
        time.sleep(0.005)
        if time.perf_counter() - started > 600:
            raise TimeoutError(f"only {tap.count - before} of {count} PurchaseRecorded in 600 s")
    return time.perf_counter() - started


def _floor(runtime: LocalRuntime, store: DynamoBehaviourStore, start: int, count: int) -> float:
    """Seconds for a boto3 loop to send the same transactions (built by the DAL) for ``count``
    other purchases: the first attempt's actions, as ours sends for in-order purchases."""
    client = runtime.client("dynamodb")
    now = datetime.now(UTC)
    prepared = []
    for n in range(start, start + count):
        purchase, fingerprint, event = build_purchase(
            PurchaseInput.model_validate(_purchase(n, "raw")), ZONE, now=now, new_id=new_id
        )
        head, counters, tail = store.purchase_actions(purchase, fingerprint, event, at=now)
        updates = [{"Update": c.update(store.table, read=False, seen=None)} for c in counters]
        prepared.append([*head, *updates, *tail])
    started = time.perf_counter()
    for actions in prepared:
        client.transact_write_items(TransactItems=actions)
    return time.perf_counter() - started


def run(purchases: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        runtime = LocalRuntime(SYSTEM, Config(port=0, state_dir=Path(state), access_log=False))
        runtime.start()
        try:
            assert runtime.messaging is not None
            table_name = provision.table_name(SYSTEM, "local", PROFILES)
            queue_url = runtime.messaging.queue_urls[PURCHASES.id]
            _seed(runtime, table_name)
            publisher = EventPublisher("unused", "bench", runtime.client("events"))  # builds, never publishes
            store = DynamoBehaviourStore(DynamoTable(table_name, runtime.client("dynamodb")), publisher)
            _ours(runtime, queue_url, -1000, 20)  # warm the worker: its cold start is another benchmark's
            per_round = max(10, purchases // rounds)
            ours_s = floor_s = 0.0
            ours_requests = floor_requests = done = 0
            for _ in range(rounds):
                before = runtime.moto.app.requests
                ours_s += _ours(runtime, queue_url, done, per_round)
                middle = runtime.moto.app.requests
                floor_s += _floor(runtime, store, done, per_round)
                ours_requests += middle - before
                floor_requests += runtime.moto.app.requests - middle
                done += per_round
            poller = runtime.pollers[0]
            failures = poller.stats.failed
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
        # every request into moto while a side ran (ours: also the idle polls of the tap and poller)
        "ours_moto_requests_per_purchase": ours_requests / done,
        "floor_moto_requests_per_purchase": floor_requests / done,
        "table_items_at_end": items,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=120, help="purchases on each side (120, <= 3000)")
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
            f"intake: {result['purchases']} purchases in {result['rounds']} rounds; "
            f"SQS -> consumer -> PurchaseRecorded on the bus {result['ours_per_s']:.1f}/s; "
            f"raw transact_write_items loop {result['floor_per_s']:.1f}/s; "
            f"ratio {result['ratio']:.2f} (target >= {TARGET}: {verdict}); "
            f"moto requests per purchase {result['ours_moto_requests_per_purchase']:.1f} vs "
            f"{result['floor_moto_requests_per_purchase']:.1f}; "
            f"consumer failures {result['consumer_failures']}"
        )
    return 1 if args.check and result["ratio"] < TARGET else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
