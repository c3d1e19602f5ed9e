"""Events through the local bus and an SQS consumer per second, against a raw boto3
send_message_batch / receive_message + delete loop on the same moto server, in one run.

    .venv/bin/python -m bench backbone [--events 300]

Ours: EventPublisher.publish (PutEvents, 10 per call) -> rule -> queue -> the local poller ->
a Lambda worker running a deduplicating SqsConsumer that writes one item per event (so per
event: the dedupe claim, the write and the completion, plus the poller's receive/delete).
Floor: the same number of messages sent with send_message_batch (10 per call) and drained
with receive_message (10) + delete_message_batch, nothing else, on the same moto.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from infra.local import provision
from infra.local.runtime import Config, LocalRuntime
from shared.events import DomainEvent, EventPublisher
from shared.platform import BUS
from shared.topology import Attr, Consumer, Function, Queue, Rule, Service, System, Table, TableAccess

SINK = Table("sink", Attr("pk"), ttl_attribute="expires_at")
CONSUMER = Function(
    id="bench-sink",
    service="bench",
    handler="bench.backbone_handlers.handler",
    description="benchmark consumer",
    timeout_s=10,
    tables=(TableAccess(SINK),),
)
INBOX = Queue("bench-inbox")
SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(
        Service(
            name="bench",
            tables=(SINK,),
            functions=(CONSUMER,),
            routes=(),
            queues=(INBOX,),
            consumers=(Consumer(CONSUMER, INBOX, batch_size=10, window_s=0),),
            rules=(Rule("bench-purchases", json.dumps({"detail-type": ["BenchPurchase"]}), INBOX),),
        ),
    ),
)


class BenchPurchase(DomainEvent):
    customer_id: str
    amount: int


def _ours(runtime: LocalRuntime, count: int) -> float:
    publisher = EventPublisher(
        provision.bus_name(SYSTEM, "local", SYSTEM.bus), "dangol.bench", runtime.client("events")
    )
    poller = runtime.pollers[0]
    before = poller.stats.succeeded
    started = time.perf_counter()
    publisher.publish([BenchPurchase(customer_id=f"cus_{i}", amount=i) for i in range(count)])
    while poller.stats.succeeded - before < count:
        time.sleep(0.01)
        if time.perf_counter() - started > 300:
            raise TimeoutError("the consumer did not finish in 300 s")
    return count / (time.perf_counter() - started)


def _floor(runtime: LocalRuntime, count: int) -> float:
    sqs = runtime.client("sqs")
    url = sqs.create_queue(QueueName="bench-floor")["QueueUrl"]
    started = time.perf_counter()
    for start in range(0, count, 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(start, min(count, start + 10))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
    drained = 0
    while drained < count:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        drained += len(messages)
    return count / (time.perf_counter() - started)


def run(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as state:
        runtime = LocalRuntime(SYSTEM, Config(port=0, state_dir=Path(state), access_log=False))
        runtime.start()
        try:
            _ours(runtime, 20)  # warm the worker (its cold start is the cold-start benchmark's business)
            ours = _ours(runtime, count)
            floor = _floor(runtime, count)
        finally:
            runtime.stop()
    return {"events": count, "ours_per_s": ours, "floor_per_s": floor, "ratio": ours / floor}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench backbone", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.events)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"backbone: {result['events']} events; bus+rule+SQS+consumer {result['ours_per_s']:.0f}/s; "
            f"raw send_message_batch+receive+delete {result['floor_per_s']:.0f}/s; "
            f"ratio {result['ratio']:.2f}"
        )
    return 0
