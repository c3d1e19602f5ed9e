"""What became of campaign e-mails, on moto: SES's Delivery, Bounce and Complaint records (shapes
from "Examples of event data that Amazon SES publishes to Amazon SNS", in ``ses_events/``) go
through the campaigns' topic to its queue, raw, as SES's configuration set publishes them on AWS
(moto publishes no SES events: the test publishes them), and the feedback consumer counts each once
and announces the undeliverable ones once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.campaigns.dal.campaigns import DynamoCampaigns
from services.campaigns.topology import CAMPAIGNS, EMAIL_EVENTS, FEEDBACK, FEEDBACK_QUEUE
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import Invoker
from tests.integration.conftest import STAGE, BusWatch, QueueDrain, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
EVENTS = Path(__file__).parent / "ses_events"


def ses_event(name: str, campaign_id: str, customer_id: str, **mail: Any) -> dict[str, Any]:
    """A fixture record about the e-mail of that campaign to that customer."""
    text = (EVENTS / f"{name}.json").read_text()
    record: dict[str, Any] = json.loads(
        text.replace("{campaign_id}", campaign_id).replace("{customer_id}", customer_id)
    )
    record["mail"].update(mail)
    return record


class Feedback:
    def __init__(self, drain: QueueDrain, topic_arn: str, bus: str) -> None:
        self.drain = drain
        self.topic_arn = topic_arn
        self.sns = boto3.client("sns")
        self.watch = BusWatch(bus, ["EmailUndeliverable"])

    def publish(self, *records: dict[str, Any]) -> None:
        """As SES publishes to the topic: the record as the message."""
        for record in records:
            self.sns.publish(TopicArn=self.topic_arn, Message=json.dumps(record, ensure_ascii=False))
        self.drain()

    def counts(self, campaign_id: str) -> dict[str, int]:
        return DynamoCampaigns(table(CAMPAIGNS)).counts(campaign_id)


@pytest.fixture
def feedback(moto: None, bus: str, lambda_function: Callable[[Function], Invoker]) -> Feedback:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    messaging = provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)  # type: ignore[arg-type]
    drain = QueueDrain(lambda_function(FEEDBACK), messaging, FEEDBACK_QUEUE)
    return Feedback(drain, messaging.topic_arns[EMAIL_EVENTS.id], bus)


def test_a_delivery_is_counted_once_however_often_it_arrives(feedback: Feedback) -> None:
    # Given a campaign e-mail that SES delivered
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    delivered = ses_event("delivery", campaign_id, customer_id)
    # When SES's record arrives, SQS brings the same message again, and SES publishes it twice
    feedback.publish(delivered)
    assert feedback.drain.deliver(feedback.drain.delivered) == []
    feedback.publish(delivered)
    # Then the campaign's delivered counter went up by one, and nothing was announced
    assert feedback.counts(campaign_id) == {"delivered": 1}
    assert feedback.watch.all() == []


def test_a_permanent_bounce_is_counted_and_announced_once(feedback: Feedback) -> None:
    # Given a campaign e-mail that bounced permanently
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    bounced = ses_event("bounce_permanent", campaign_id, customer_id)
    # When the record arrives twice (SQS redelivers, SES publishes again)
    feedback.publish(bounced)
    assert feedback.drain.deliver(feedback.drain.delivered) == []
    feedback.publish(bounced)
    # Then it is counted once, and EmailUndeliverable went out once, with ids only
    assert feedback.counts(campaign_id) == {"bounced": 1}
    assert feedback.watch.data("EmailUndeliverable") == [
        {"customer_id": customer_id, "reason": "bounce", "at": "2025-06-02T03:00:04.669000Z"}
    ]


def test_a_complaint_is_counted_and_announced(feedback: Feedback) -> None:
    # Given a campaign e-mail the recipient reported as spam
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    # When SES's complaint record arrives
    feedback.publish(ses_event("complaint", campaign_id, customer_id))
    # Then it is counted, and the profile service hears of it
    assert feedback.counts(campaign_id) == {"complained": 1}
    (announced,) = feedback.watch.all()
    assert (announced["source"], announced["detail-type"]) == ("dangol.campaigns", "EmailUndeliverable")
    assert announced["detail"]["data"]["reason"] == "complaint"
    assert announced["detail"]["data"]["customer_id"] == customer_id


def test_the_reference_header_stands_in_for_missing_tags(feedback: Feedback) -> None:
    # Given a delivery record whose e-mail carried no tags (its header still names the campaign)
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    record = ses_event("delivery", campaign_id, customer_id, tags={"ses:configuration-set": ["dangol-dev"]})
    # When it arrives
    feedback.publish(record)
    # Then it counts for the campaign the header names
    assert feedback.counts(campaign_id) == {"delivered": 1}


def test_a_transient_bounce_and_mail_of_no_campaign_change_nothing(feedback: Feedback) -> None:
    # Given a transient bounce of a campaign e-mail (SES keeps trying) and a delivery of a mail
    # that is no campaign's (the user pool's sign-up code goes through the same configuration set)
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    transient = ses_event("bounce_permanent", campaign_id, customer_id)
    transient["bounce"]["bounceType"] = "Transient"
    signup_code = ses_event("delivery", campaign_id, customer_id, tags={}, headers=[], messageId="other-1")
    # When both arrive
    feedback.publish(transient, signup_code)
    # Then neither fails, nothing is counted and nothing announced
    assert feedback.counts(campaign_id) == {}
    assert feedback.watch.all() == []


def test_a_record_that_is_no_ses_event_fails_alone(feedback: Feedback) -> None:
    # Given something on the queue that is no SES record, beside a real delivery
    campaign_id, customer_id = new_id("cmp"), new_id("cus")
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=feedback.drain.url, MessageBody=json.dumps({"hello": "world"}))
    sqs.send_message(
        QueueUrl=feedback.drain.url, MessageBody=json.dumps(ses_event("delivery", campaign_id, customer_id))
    )
    # When the consumer takes them
    feedback.drain(expect_failures=1)
    # Then the delivery still counted
    assert feedback.counts(campaign_id) == {"delivered": 1}
