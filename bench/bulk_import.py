"""A CSV import of N customers end to end (upload -> job completed) in rows per second, against
a raw boto3 loop doing the same DynamoDB writes on the same moto server, in one run.

    .venv/bin/python -m bench bulk-import [--rows 10000] [--json]

Ours: the local runtime with the profile service's CRM API and importer (their real code,
in Lambda-like worker processes) and the imports queue with its poller. The clock starts
before ``POST /imports`` (a real Cognito token, the CSV as ``text/csv``) and stops when
``GET /imports/{job_id}`` first says ``completed``: the upload's validation of every row and
its SQS sends, then per chunk of 250 rows the poller's receive/delete, the importer's claim
per row, its batch writes of profiles, anniversary items and outbox items, PutEvents of one
``CustomerImported`` per row (10 per call), the outbox deletes and the job's counters.
Floor: a boto3 loop over the same rows on the same moto server, into an empty table of the
same definition: the claim of each row (a conditional PutItem) and BatchWriteItem (25 per
call) of the same profile and anniversary items. No HTTP, no queue, no events, no counters.
One warm-up import of 20 rows runs first, so that the workers' cold starts are not counted.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from console.client import Client
from infra.local import cognito, provision
from infra.local.runtime import Config, LocalRuntime
from services.profile.dal.profiles import anniversary_items, profile_item
from services.profile.logic.imports import parse_csv
from services.profile.models.profile import Profile
from services.profile.topology import (
    CRM_API,
    IMPORT_GET,
    IMPORT_START,
    IMPORTER,
    IMPORTS_QUEUE,
    PROFILES,
)
from shared.clock import utc_now
from shared.dynamo import serialize
from shared.ids import new_id
from shared.platform import BUS
from shared.topology import Consumer, Service, System

SERVICE = Service(
    name="profile",
    tables=(PROFILES,),
    functions=(CRM_API, IMPORTER),
    routes=(IMPORT_START, IMPORT_GET),
    queues=(IMPORTS_QUEUE,),
    consumers=(Consumer(IMPORTER, IMPORTS_QUEUE, batch_size=1),),
)
SYSTEM = System(name="dangolbench", bus=BUS, services=(SERVICE,))
HEADER = [
    "external_ref",
    "display_name",
    "email",
    "phone",
    "birthday",
    "locale",
    "time_zone",
    "wedding_anniversary",
]
TIMEOUT_S = 3600


def rows_csv(count: int, prefix: str) -> str:
    """``count`` valid customers; half with a birthday, a fifth with a wedding anniversary."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(count):
        writer.writerow(
            [
                f"{prefix}-{i:07d}",
                f"고객 {i}",
                f"customer{i}@example.com",
                f"+8210{i:08d}",
                f"19{60 + i % 40}-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 2 else "",
                "ko-KR",
                "Asia/Seoul",
                f"20{10 + i % 14}-05-20" if i % 5 == 0 else "",
            ]
        )
    return out.getvalue()


def _request(url: str, token: str, *, data: bytes | None = None, content_type: str | None = None) -> Any:
    """Through the project's one client (``console.client``): a POST when there is a body."""
    client = Client(url, token=lambda: token, timeout_s=120, user_agent="dangol-bench")
    method = "POST" if data else "GET"
    return client.request(method, "", raw=data, content_type=content_type or "application/json").json()


def _ours(runtime: LocalRuntime, token: str, text: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    job = _request(f"{runtime.url}/imports", token, data=text.encode(), content_type="text/csv")
    while job["status"] not in {"completed", "failed"}:
        if time.perf_counter() - started > TIMEOUT_S:
            raise TimeoutError(f"the import did not complete in {TIMEOUT_S} s: {job}")
        time.sleep(0.5)
        job = _request(f"{runtime.url}/imports/{job['job_id']}", token)
    return time.perf_counter() - started, job


def _floor(runtime: LocalRuntime, text: str) -> float:
    """The same claims, profiles and anniversary items, written with a plain boto3 loop."""
    client = runtime.client("dynamodb")
    name = provision.table_name(SYSTEM, "floor", PROFILES)
    client.create_table(**provision.table_definition(PROFILES, name))
    claims, items = [], []
    now = utc_now()
    for row in parse_csv(text).rows:  # building the items is not timed: only the writes are
        profile = Profile(
            customer_id=new_id("cus"),
            version=1,
            created_at=now,
            updated_at=now,
            **row.profile.model_dump(),
        )
        claims.append(
            {"pk": f"IMPORTREF#{row.external_ref}", "sk": "IMPORTREF", "customer_id": profile.customer_id}
        )
        items += [*anniversary_items(profile), {**profile_item(profile), "import_ref": row.external_ref}]
    started = time.perf_counter()
    for claim in claims:
        client.put_item(TableName=name, Item=serialize(claim), ConditionExpression="attribute_not_exists(pk)")
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
        pending: dict[str, Any] = {name: batch}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return time.perf_counter() - started


def run(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state:
        runtime = LocalRuntime(SYSTEM, Config(port=0, state_dir=Path(state), access_log=False, seed=False))
        started = runtime.start()
        try:
            marketer = next(u for u in cognito.DEMO_USERS if u.role.value == "marketing")
            login = cognito.login(
                runtime.client("cognito-idp"), started.pool, marketer.username, marketer.password
            )
            token = str(login["IdToken"])
            print("warming up the workers", file=sys.stderr)
            _ours(runtime, token, rows_csv(20, "WARM"))
            print(f"importing {count} rows end to end", file=sys.stderr)
            ours_s, job = _ours(runtime, token, rows_csv(count, "BENCH"))
            if (job["status"], job["imported"]) != ("completed", count):
                raise RuntimeError(f"the import did not import every row: {job}")
            print(f"  {count / ours_s:.1f} rows/s ({ours_s:.1f} s)", file=sys.stderr)
            print(f"writing the same {count} rows with a boto3 loop", file=sys.stderr)
            floor_s = _floor(runtime, rows_csv(count, "FLOOR"))
        finally:
            runtime.stop()
    ours, floor = count / ours_s, count / floor_s
    return {
        "rows": count,
        "chunks": job["chunks"],
        "ours_s": ours_s,
        "floor_s": floor_s,
        "ours_per_s": ours,
        "floor_per_s": floor,
        "ratio": ours / floor,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench bulk-import", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.rows)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"bulk import: {result['rows']} rows in {result['chunks']} chunks; "
            f"upload -> completed {result['ours_per_s']:.0f} rows/s ({result['ours_s']:.1f} s); "
            f"raw claim + batch-write floor {result['floor_per_s']:.0f} rows/s ({result['floor_s']:.1f} s); "
            f"ratio {result['ratio']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
