"""Mentions kept on moto (``dal.mentions``): a delivery is claimed in the same transaction as the
mentions it brings, a replay writes nothing, a mention known already is left out, and one the topic
did not take stays pending until the poller's sweep publishes it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from services.feedback.dal.mentions import PER_TRANSACTION, DynamoMentions
from services.feedback.models.intake import Classified
from services.feedback.models.mention import Classification, Mention
from services.feedback.topology import FEEDBACK, INSIGHTS_QUEUE, MENTIONS
from shared.errors import Unauthorized
from tests.integration.conftest import FROZEN_AT, scan_all, table
from tests.integration.feedback.conftest import Feedback


def found(n: int, *, customer: str | None = None) -> Classified:
    return Classified(
        mention=Mention(
            source="x",
            external_id=f"19000{n}",
            author_handle="minji_kim",
            text="라떼가 식었어요",
            posted_at=FROZEN_AT,
        ),
        found=Classification(language="ko", sentiment="negative", complaint=True, score=-0.6),
        customer_id=customer,
        received_at=FROZEN_AT,
    )


def kinds(items: list[dict[str, Any]]) -> list[str]:
    """Each item's kind (its key's first part); a pending marker with its sort key."""
    keys = [(i["pk"]["S"], i["sk"]["S"]) for i in items]
    return sorted(pk.split("#")[0] + (f"/{sk}" if pk == "PENDING" else "") for pk, sk in keys)


def pending(store: DynamoMentions) -> list[str]:
    return [c.key for c in store.pending(FROZEN_AT.replace(year=FROZEN_AT.year + 1))]


@pytest.mark.usefixtures("tables")
def test_a_delivery_is_claimed_with_its_new_mentions_and_a_known_one_is_left_out() -> None:
    store = DynamoMentions(table(FEEDBACK))
    # Given a first delivery of one mention, linked to a customer
    first = store.keep("d1", [found(1, customer="cus_01JF0000000000000000000009")], FROZEN_AT)
    assert [c.key for c in first] == ["x#190001"]
    # When a second delivery brings it again, with a new one, and the new one twice
    kept = store.keep("d2", [found(1), found(2), found(2)], FROZEN_AT)
    # Then only the new one is kept, once; both deliveries are claimed; each kept mention is pending
    assert [c.key for c in kept] == ["x#190002"]
    assert kinds(scan_all(FEEDBACK)) == [
        "CUSTOMER",
        "MENTION",
        "MENTION",
        f"PENDING/{FROZEN_AT.isoformat()}#x#190001",
        f"PENDING/{FROZEN_AT.isoformat()}#x#190002",
        "REPLAY",
        "REPLAY",
    ]
    assert pending(store) == ["x#190001", "x#190002"]


@pytest.mark.usefixtures("tables")
def test_a_replayed_delivery_is_refused_and_writes_nothing() -> None:
    store = DynamoMentions(table(FEEDBACK))
    store.keep("d1", [found(1)], FROZEN_AT)
    before = scan_all(FEEDBACK)
    # When the same delivery comes again, with a mention not seen yet
    with pytest.raises(Unauthorized) as refused:
        store.keep("d1", [found(3)], FROZEN_AT)
    # Then it is refused as a replay and nothing was written
    assert refused.value.code == "webhook_replayed"
    assert scan_all(FEEDBACK) == before


@pytest.mark.usefixtures("tables")
def test_a_delivery_larger_than_a_transaction_is_kept_in_parts_under_one_claim() -> None:
    store = DynamoMentions(table(FEEDBACK))
    many = [found(n) for n in range(2 * PER_TRANSACTION + 5)]
    assert len(store.keep("d1", many, FROZEN_AT)) == len(many)
    assert kinds(scan_all(FEEDBACK)).count("REPLAY") == 1
    assert kinds(scan_all(FEEDBACK)).count("MENTION") == len(many)


class FailingSecondWrite:
    """DynamoDB whose second transaction fails (a fault between the parts of a large delivery)."""

    def __init__(self, client: Any) -> None:
        self.client, self.transactions = client, 0

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        if self.transactions == 2:
            raise ConnectionError("dynamodb went away")
        return self.client.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.mark.usefixtures("tables")
def test_a_delivery_that_could_not_be_kept_releases_its_claim_so_the_retry_is_not_a_replay() -> None:
    real = table(FEEDBACK)
    faulty = DynamoMentions(type(real)(real.name, FailingSecondWrite(real.client)))  # type: ignore[arg-type]
    many = [found(n) for n in range(PER_TRANSACTION + 1)]
    # When the second part of a delivery cannot be written
    with pytest.raises(ConnectionError):
        faulty.keep("d1", many, FROZEN_AT)
    # Then its claim is gone (the first part stays, pending) and the source's retry keeps the rest
    assert "REPLAY" not in kinds(scan_all(FEEDBACK))
    retried = DynamoMentions(real).keep("d1", many, FROZEN_AT)
    assert [c.key for c in retried] == [many[-1].key]


def test_a_mention_the_topic_did_not_take_stays_pending_until_the_sweep_publishes_it(
    feedback: Feedback,
) -> None:
    def sns_down() -> Any:
        raise ConnectionError("sns went away")

    topic = feedback.messaging.topic_arns[MENTIONS.id]
    # Given a mention kept while SNS was down
    down = DynamoMentions(table(FEEDBACK), topic, sns_down)
    [kept] = down.keep("d1", [found(1)], FROZEN_AT)
    down.publish(kept)
    assert pending(down) == ["x#190001"]
    # When the poller's sweep publishes what stayed pending
    store = DynamoMentions(table(FEEDBACK), topic, lambda: boto3.client("sns"))
    for stale in store.pending(FROZEN_AT.replace(year=FROZEN_AT.year + 1)):
        store.publish(stale)
    # Then the topic has it and it is no longer pending
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=feedback.messaging.queue_urls[INSIGHTS_QUEUE.id],
        AttributeNames=["ApproximateNumberOfMessages"],
    )
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"
    assert pending(store) == []
