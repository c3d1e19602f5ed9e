"""The anniversary finder's cost grows with the customers it finds, not with the customers
there are: items read per customer found, at two population sizes with the same matches.

    .venv/bin/python -m bench anniversaries [--small 10000] [--large 100000] [--matches 50]

Each run starts an empty in-process moto, writes the month-day index of ``N`` customers (a
birthday and a wedding each, spread over every day of the year but the target day) plus
``--matches`` customers whose wedding falls on the target day (Asia/Seoul), then invokes the
real finder handler once at 09:00 Seoul the day before (lead time 1) and reads the number of
index items it read from its result. The figure is the ratio of the two runs' reads per
customer found (target: within 1.1), and both runs must announce exactly the matches.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.dal.profiles import anniversary_items
from services.profile.models.profile import Anniversary, AnniversaryKind, Profile
from services.profile.topology import ANNIVERSARY_FINDER, PROFILES
from shared import aws
from shared.clock import CLOCK_FILE_ENV, ClockState
from tests.integration.apigw import LambdaContext
from tests.integration.conftest import STAGE, environment_of, table

TARGET = date(2026, 5, 20)  # the wedding day looked for; the finder runs on 19 May, 09:00 KST
RUN_AT = datetime(2026, 5, 19, 0, 0, 30, tzinfo=UTC)  # 09:00:30 in Seoul


def _populate(customers: int, matches: int) -> None:

    store = table(PROFILES)
    items: list[dict[str, Any]] = []
    created = datetime(2020, 1, 1, tzinfo=UTC)
    other_days = [date(2001, 1, 1) + timedelta(days=d) for d in range(365)]
    other_days = [d for d in other_days if (d.month, d.day) != (TARGET.month, TARGET.day)]
    for n in range(customers + matches):
        wedding = (
            TARGET.replace(year=2010 + n % 10) if n >= customers else other_days[(n * 7) % len(other_days)]
        )
        profile = Profile(
            customer_id=f"cus_{n:026d}",
            display_name="x",
            locale="ko-KR",
            time_zone="Asia/Seoul",
            birthday=other_days[(n * 13 + 5) % len(other_days)].replace(year=1980 + n % 20),
            anniversaries=[Anniversary(kind=AnniversaryKind.WEDDING, date=wedding)],
            version=1,
            created_at=created,
            updated_at=created,
        )
        items += anniversary_items(profile)
        if len(items) >= 5000:
            store.batch_write(items)
            items = []
    store.batch_write(items)


def _run_once(customers: int, matches: int) -> dict[str, Any]:
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        aws.reset_clients()
        provision.create_tables(boto3.client("dynamodb"), SYSTEM, STAGE)
        provision.create_bus(boto3.client("events"), SYSTEM, STAGE)
        started = time.perf_counter()
        _populate(customers, matches)
        populated_s = time.perf_counter() - started
        clock = Path(tmp) / "clock.json"
        clock.write_text(ClockState(frozen_at=RUN_AT).to_json())
        os.environ.update({**environment_of(ANNIVERSARY_FINDER), CLOCK_FILE_ENV: str(clock)})
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the benchmark's output, not the function's
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        sys.modules.pop(ANNIVERSARY_FINDER.module, None)
        handler = getattr(importlib.import_module(ANNIVERSARY_FINDER.module), ANNIVERSARY_FINDER.entry)
        started = time.perf_counter()
        result = handler({}, LambdaContext.of(ANNIVERSARY_FINDER))
        found_s = time.perf_counter() - started
        os.environ.pop(CLOCK_FILE_ENV, None)
    aws.reset_clients()
    return {
        "customers": customers,
        "matches": matches,
        "read": result["read"],
        "announced": result["announced"],
        "reads_per_found": result["read"] / max(result["announced"], 1),
        "populate_s": round(populated_s, 1),
        "finder_s": round(found_s, 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench anniversaries", description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--matches", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "bench")
    runs = [_run_once(n, args.matches) for n in (args.small, args.large)]
    ratio = runs[1]["reads_per_found"] / runs[0]["reads_per_found"]
    if args.json:
        print(json.dumps({"runs": runs, "ratio": ratio}, indent=2))
    else:
        print("anniversary finder: index items read per customer found (lead 1 day, 09:00 Seoul)")
        for r in runs:
            print(
                f"  {r['customers']:>7} customers, {r['matches']} due: read {r['read']:>5}, "
                f"announced {r['announced']:>3}, {r['reads_per_found']:.2f} reads/found, "
                f"finder {r['finder_s']:.2f} s (populating took {r['populate_s']} s)"
            )
        print(f"  ratio large/small: {ratio:.3f} (target <= 1.1)")
    exact = all(r["announced"] == args.matches for r in runs)
    return 0 if exact and ratio <= 1.1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
