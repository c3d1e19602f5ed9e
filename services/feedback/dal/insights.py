"""Insights in the feedback table (``keys``): a mention counted into its week once (its
``INSIGHT#`` claim in the same transaction as the counters), the digests, their subscribers, and
the customers' value segments the counters are joined with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.feedback.dal import keys
from services.feedback.models.insights import Digest, DigestSummary, Subscription
from shared.dynamo import ConditionFailed, DynamoTable, transact_write

DIGEST_TTL_DAYS = 800
CLAIM_TTL_DAYS = 30


@dataclass
class DynamoInsights:
    table: DynamoTable

    def count(
        self, mention: str, week: str, counters: Mapping[str, int], *, request: bool, now: datetime
    ) -> bool:
        """Add the mention to its week's counters; False if it was counted already."""
        names = {f"#c{i}": name for i, name in enumerate(sorted(counters))}
        values: dict[str, Any] = {f":c{i}": counters[name] for i, name in enumerate(sorted(counters))}
        expression = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(names)))
        if request:
            names["#samples"] = "request_samples"
            values[":sample"] = {mention}
            expression += ", #samples :sample"
        claim = {**keys.insight_key(mention), keys.TTL: int(now.timestamp()) + CLAIM_TTL_DAYS * 86400}
        try:
            transact_write(
                self.table.client,
                [
                    {
                        "Put": self.table.put_op(
                            claim, condition="attribute_not_exists(#pk)", names={"#pk": keys.PK}
                        )
                    },
                    {
                        "Update": self.table.update_op(
                            keys.week_key(week), expression, names=names, values=values
                        )
                    },
                ],
            )
        except ConditionFailed:
            return False
        return True

    def week(self, week: str) -> tuple[dict[str, int], list[str]]:
        item = self.table.get(keys.week_key(week)) or {}
        counts = {k: int(v) for k, v in item.items() if k not in (keys.PK, keys.SK, "request_samples")}
        return counts, sorted(item.get("request_samples") or [])

    def segment_of(self, customer_id: str) -> str | None:
        item = self.table.get(keys.value_key(customer_id), consistent=False)
        return str(item["segment"]) if item else None

    # -- digests ----------------------------------------------------------------------------------

    def keep(self, digest: Digest) -> None:
        self.table.put(
            {
                **keys.digest_key(digest.week),
                "digest": digest.model_dump_json(),  # text: its percentages are floats
                "mentions": digest.mentions,
                "complaints": digest.complaints,
                "generated_at": digest.generated_at.isoformat(),
                keys.TTL: int(digest.generated_at.timestamp()) + DIGEST_TTL_DAYS * 86400,
            }
        )

    def digest(self, week: str) -> Digest | None:
        item = self.table.get(keys.digest_key(week))
        return Digest.model_validate_json(item["digest"]) if item else None

    def digests(self, limit: int = 60) -> list[DigestSummary]:
        page = self.table.query(
            "#pk = :pk", names={"#pk": keys.PK}, values={":pk": "DIGEST"}, forward=False, limit=limit
        )
        return [
            DigestSummary(
                week=str(i["sk"]),
                mentions=int(i["mentions"]),
                complaints=int(i["complaints"]),
                generated_at=i["generated_at"],
            )
            for i in page.items
        ]

    # -- subscribers ------------------------------------------------------------------------------

    def subscribe(self, sub: str, email: str, now: datetime) -> Subscription:
        self.table.put({**keys.subscriber_key(sub), "email": email, "since": now.isoformat()})
        return Subscription(email=email, since=now)

    def unsubscribe(self, sub: str) -> None:
        self.table.delete(keys.subscriber_key(sub))

    def subscribers(self) -> list[str]:
        items = self.table.query_all("#pk = :pk", names={"#pk": keys.PK}, values={":pk": "SUBSCRIBER"})
        return [str(i["email"]) for i in items]
