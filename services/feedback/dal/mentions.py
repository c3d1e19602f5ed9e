"""Mentions in the feedback table and on the mentions topic (``keys``).

- A webhook delivery is claimed by the SHA-256 of its source and body (``REPLAY#``), in the same
  transaction as its mentions: the same signed delivery a second time is a replay, refused. The
  claim is dropped again if the delivery could not be taken, so the source's retry is not refused.
- A mention is stored once per (source, external id), with a ``PENDING`` marker until the topic
  took it (then the marker alone is deleted: its key is known, nothing is read); published with
  the message attributes the subscriptions filter on (``models.mention.attributes``), in the
  envelope the consumers dedupe on (``metadata.event_id`` = ``mention:<key>``). A mention
  left pending (SNS failed) is published again by the poller's sweep.
- A mention linked to a customer is also filed under them (``CUSTOMER#<id> / MENTION#<key>``), so
  their erasure finds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.feedback.dal import keys
from services.feedback.models.intake import Classified
from services.feedback.models.mention import attributes
from shared.dynamo import ConditionFailed, DynamoTable, transact_write
from shared.errors import ServiceUnavailable, Unauthorized
from shared.observability import make_logger

_log = make_logger()
Action = dict[str, Any]
CONDITION_FAILED = "ConditionalCheckFailed"
PER_TRANSACTION = 30  # mentions a transaction: three actions each at most, and the claim


def envelope(classified: Classified) -> str:
    """The topic's message: an envelope like the bus's, keyed by the mention."""
    return json.dumps(
        {
            "metadata": {
                "event_id": f"mention:{classified.key}",
                "schema_version": "1",
                "occurred_at": classified.received_at.isoformat(),
            },
            "data": classified.model_dump(mode="json"),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass
class DynamoMentions:
    table: DynamoTable
    topic_arn: str | None = None
    sns: Callable[[], Any] | None = None

    # -- deliveries and their mentions --------------------------------------------------------

    def keep(self, delivery: str, found: Sequence[Classified], now: datetime) -> list[Classified]:
        """Claim the delivery and keep its mentions not known yet; the ones kept, pending.

        The claim and the mentions go in one transaction (``PER_TRANSACTION`` mentions at a time:
        the claim with the first ones). A replayed delivery is refused (401 ``webhook_replayed``)
        with nothing written; a mention known already is left out and the rest written again. If
        a later part cannot be written, the claim is dropped again, so the source's retry is not
        taken for a replay (what was kept stays, pending: the retry finds it known).
        """
        claim: list[Action] = [
            {
                "Put": self.table.put_op(
                    {**keys.replay_key(delivery), keys.TTL: int(now.timestamp()) + keys.REPLAY_TTL_S},
                    condition="attribute_not_exists(#pk)",
                    names={"#pk": keys.PK},
                )
            }
        ]
        once: dict[str, Classified] = {}
        for classified in found:  # a mention twice in one delivery: kept once
            once.setdefault(classified.key, classified)
        rest, kept = list(once.values()), []
        try:
            while claim or rest:
                part, rest = rest[:PER_TRANSACTION], rest[PER_TRANSACTION:]
                kept += self._keep_part(claim, part)
                claim = []
        except Exception:
            if not claim:  # ours was taken: let the retry in
                self.table.delete(keys.replay_key(delivery))
            raise
        return kept

    def _keep_part(self, claim: list[Action], part: list[Classified]) -> list[Classified]:
        written = [(c, self._mention_actions(c)) for c in part]
        while True:
            try:
                transact_write(self.table.client, [*claim, *(a for _, each in written for a in each)])
            except ConditionFailed as failed:
                reasons = list(failed.reasons)
                if claim and reasons[:1] == [CONDITION_FAILED]:
                    raise Unauthorized("This delivery was taken already.", code="webhook_replayed") from None
                known, at = set(), len(claim)
                for classified, actions in written:  # a mention's first action is its conditional put
                    if reasons[at : at + 1] == [CONDITION_FAILED]:
                        known.add(classified.key)
                    at += len(actions)
                if not known:
                    raise
                written = [(c, a) for c, a in written if c.key not in known]
                continue
            return [c for c, _ in written]

    def _mention_actions(self, classified: Classified) -> list[Action]:
        """The mention (only if new), its pending marker and its customer's link."""
        expires = int((classified.received_at + timedelta(days=keys.MENTION_TTL_DAYS)).timestamp())
        item = {
            **keys.mention_key(classified.key),
            "classified": classified.model_dump_json(),  # text: the score is a float
            keys.TTL: expires,
        }
        marker = {**self._marker(classified), "mention": classified.key, keys.TTL: expires}
        actions: list[Action] = [
            {"Put": self.table.put_op(item, condition="attribute_not_exists(#pk)", names={"#pk": keys.PK})},
            {"Put": self.table.put_op(marker)},
        ]
        if classified.customer_id:
            link = {**keys.customer_mention_key(classified.customer_id, classified.key), keys.TTL: expires}
            actions.append({"Put": self.table.put_op(link)})
        return actions

    @staticmethod
    def _marker(classified: Classified) -> dict[str, str]:
        return keys.pending_key(classified.key, classified.received_at)

    def publish(self, classified: Classified) -> None:
        """On the topic with its attributes, then no longer pending. A failure leaves it pending."""
        if self.sns is None or not self.topic_arn:
            raise ServiceUnavailable("The mentions topic is not configured.", code="topic_unavailable")
        try:
            self.sns().publish(
                TopicArn=self.topic_arn,
                Message=envelope(classified),
                MessageAttributes=attributes(classified.mention, classified.found),
            )
        except Exception as exc:  # botocore's errors: the sweep publishes it later
            _log.warning(
                "mention left pending",
                extra={"source": classified.mention.source, "error": type(exc).__name__},
            )
            return
        self.table.delete(self._marker(classified))

    def pending(self, older_than: datetime, *, limit: int = 100) -> list[Classified]:
        """Mentions the topic has not taken since before ``older_than``, oldest first."""
        page = self.table.query(
            "#pk = :pk AND #sk < :t",
            names={"#pk": keys.PK, "#sk": keys.SK},
            values={":pk": "PENDING", ":t": older_than.isoformat()},
            limit=limit,
        )
        found = [self.get(str(item["mention"])) for item in page.items]
        return [c for c in found if c is not None]

    def get(self, key: str) -> Classified | None:
        item = self.table.get(keys.mention_key(key))
        return Classified.model_validate_json(item["classified"]) if item and "classified" in item else None
