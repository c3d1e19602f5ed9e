"""``python -m bench``: every benchmark (``python -m bench <name> --help`` for one).

cold-start      each handler's cold start against the boto3 floor
backbone        events through the bus and an SQS consumer against a raw SQS loop
anniversaries   the anniversary finder's reads per customer found, at 10k and 100k customers
intake          purchases through the intake queue against raw DynamoDB writes
bulk-import     a 10k-row CSV import against raw DynamoDB writes
earn            points earned through the rewards consumer against raw DynamoDB writes
hot-account     100 concurrent earns on one account against 100 sequential ones
segments        B6: segment evaluation over the customer views against a raw paged read
fanout          B4: a campaign run's audience into sender batches against a raw query + SendMessageBatch
feedback        B8: a mention from the webhook through SNS and SQS to an open case against raw publish/receive
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "cold-start": "bench.cold_start",
    "backbone": "bench.backbone",
    "anniversaries": "bench.anniversaries",
    "intake": "bench.intake",
    "bulk-import": "bench.bulk_import",
    "earn": "bench.earn",
    "hot-account": "bench.hot_account",
    "segments": "bench.segments",
    "fanout": "bench.fanout",
    "feedback": "bench.feedback",
}


def run(name: str, argv: list[str]) -> int:
    module = importlib.import_module(BENCHMARKS[name])
    code: int = module.main(argv)
    return code


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return run(argv[0], argv[1:])
    if argv and not argv[0].startswith("-"):
        print(f"unknown benchmark {argv[0]!r}: one of {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    # No name: every benchmark with its defaults (options, if any, go to cold-start).
    codes = [run("cold-start", argv)] + [run(name, []) for name in BENCHMARKS if name != "cold-start"]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
