"""B6: segment evaluation over the campaigns' customer views, against a raw paginated read of the
same items with a trivial predicate, on the same moto with the same number of views.

    .venv/bin/python -m bench segments [--views 10000] [--json] [--check]

The evaluated side is what ``campaigns-segmenter`` does per step: the ``view-list`` index a page
of 200 at a time, one BatchGetItem per page, each view parsed into its model and the segment's
compiled rule applied. The floor sends the same calls through a bare boto3 client and keeps
every item (``"view" in item``). Reported: views per second each way and their ratio (target at
least 0.8) for the story rule and for a rule over rolling purchase windows.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from infra.local import provision
from infra.local.moto_server import MotoServer
from infra.local.runtime import LOCAL_CREDENTIALS
from services.campaigns.dal import keys
from services.campaigns.dal.views import DynamoViews
from services.campaigns.logic.segments import compile_rule
from services.campaigns.models.segments import STORY_RULE, SegmentRule
from services.campaigns.models.view import CustomerView, DayBucket
from services.campaigns.topology import CAMPAIGNS, VIEW_LIST
from shared.dynamo import DynamoTable
from shared.platform import BUS
from shared.topology import Service, System

SYSTEM = System(
    name="dangolbench",
    bus=BUS,
    services=(Service(name="campaigns", tables=(CAMPAIGNS,), functions=(), routes=()),),
)
REGION = "ap-northeast-2"
PAGE = 200
TARGET = 0.8
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
WINDOWED = {
    "all": [
        {"field": "purchase_count", "window_days": 90, "op": "gte", "value": 3},
        {"field": "spend", "window_days": 365, "currency": "KRW", "op": "gte", "value": 100_000},
    ]
}


def _client(url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def _view(n: int, rng: random.Random) -> CustomerView:
    """A customer with up to 30 purchase days in the last year, consents, groups and a tier."""
    days = {
        (date(2026, 12, 2) - timedelta(days=rng.randrange(365))).isoformat(): DayBucket(
            count=1, spend={"KRW": rng.randrange(5_000, 80_000)}
        )
        for _ in range(rng.randrange(31))
    }
    last = max(days) if days else None
    return CustomerView(
        customer_id=f"cus_01JBENCH{n:018d}",
        consents={"email.marketing": rng.random() < 0.6, "sms.marketing": rng.random() < 0.3},
        value_segment=rng.choice(["top", "loyal", "regular", "occasional", "lapsed"]),
        groups=rng.sample(["young", "business", "family", "leisure"], rng.randrange(3)),
        tier=rng.choice(["basic", "silver", "gold"]),
        last_purchase_at=None if last is None else datetime.fromisoformat(last).replace(tzinfo=UTC),
        purchases=days,
    )


def _fill(table: DynamoTable, views: int) -> None:
    rng = random.Random(6)  # noqa: S311 - reproducible synthetic data, not a secret
    items = []
    for n in range(views):
        view = _view(n, rng)
        item = {**keys.view_key(view.customer_id), "listed": "VIEW", "customer_id": view.customer_id}
        items.append({**item, "version": 1, "view": view.model_dump_json()})
    table.batch_write(puts=items)


def _raw(client: Any, table_name: str) -> int:
    """The floor: the same query and batch reads, every item kept by a trivial predicate."""
    kept, start = 0, None
    while True:
        params: dict[str, Any] = {
            "TableName": table_name,
            "IndexName": VIEW_LIST.name,
            "KeyConditionExpression": "listed = :l",
            "ExpressionAttributeValues": {":l": {"S": "VIEW"}},
            "Limit": PAGE,
        }
        if start:
            params["ExclusiveStartKey"] = start
        page = client.query(**params)
        wanted = [{"pk": i["pk"], "sk": i["sk"]} for i in page["Items"]]
        for first in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            got = client.batch_get_item(RequestItems={table_name: {"Keys": wanted[first : first + 100]}})
            kept += sum(1 for item in got["Responses"][table_name] if "view" in item)
        start = page.get("LastEvaluatedKey")
        if not start:
            return kept


def _evaluated(views: DynamoViews, rule: dict[str, Any]) -> tuple[int, int]:
    """What a segment's evaluation does: page, parse, apply the compiled rule."""
    matches = compile_rule(SegmentRule.model_validate(rule))
    seen = members = 0
    after: str | None = None
    while True:
        page, after = views.page(after=after, limit=PAGE)
        seen += len(page)
        members += sum(1 for view in page if matches(view, NOW))
        if after is None:
            return seen, members


def run(views: int) -> dict[str, Any]:
    moto = MotoServer()
    url = moto.start()
    try:
        provision.create_tables(_client(url, "dynamodb"), SYSTEM, "local")
        table_name = provision.table_name(SYSTEM, "local", CAMPAIGNS)
        dynamo = _client(url, "dynamodb")
        _fill(DynamoTable(table_name, dynamo), views)
        store = DynamoViews(DynamoTable(table_name, dynamo))
        _raw(dynamo, table_name)  # warm both paths once (moto's indexes, the clients)
        _evaluated(store, STORY_RULE)
        results: dict[str, Any] = {"views": views}
        for name, rule in (("story", STORY_RULE), ("windows", WINDOWED)):
            started = time.perf_counter()
            kept = _raw(dynamo, table_name)
            raw_s = time.perf_counter() - started
            started = time.perf_counter()
            seen, members = _evaluated(store, rule)
            eval_s = time.perf_counter() - started
            results[name] = {
                "raw_views_per_s": kept / raw_s,
                "evaluated_views_per_s": seen / eval_s,
                "ratio": (seen / eval_s) / (kept / raw_s),
                "members": members,
                "seen": seen,
            }
    finally:
        moto.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench segments", description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=10_000, help="customer views (10,000)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless each ratio is at least {TARGET}")
    args = parser.parse_args(argv)
    result = run(args.views)
    rules = [result["story"], result["windows"]]
    ok = all(r["seen"] == args.views and r["ratio"] >= TARGET for r in rules)
    if args.json:
        print(json.dumps(result))
    else:
        for name in ("story", "windows"):
            r = result[name]
            print(
                f"segments ({name} rule): {r['seen']} views evaluated at {r['evaluated_views_per_s']:,.0f}/s "
                f"against a raw paged read at {r['raw_views_per_s']:,.0f}/s: x{r['ratio']:.2f} "
                f"(target {TARGET}); {r['members']} members"
            )
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
