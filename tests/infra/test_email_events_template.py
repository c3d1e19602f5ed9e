"""What SES tells of campaign e-mails, in the templates (``infra/stacks/dangol.py``,
``_publish_email_events``): the stage's configuration set publishes its e-mails' deliveries,
bounces and complaints to the campaigns' topic, which only SES, for this account and this
configuration set, may publish to (and whose key only it may use so); the topic feeds the feedback
queue raw. This link is AWS's alone (moto publishes no SES events), so the templates are where it
is pinned."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.campaigns.topology import EMAIL_EVENTS, FEEDBACK_QUEUE
from tests.infra.deployments import Deployment, as_list, joined, key, ref

pytestmark = pytest.mark.infra
Json = dict[str, Any]
SES = {"Service": "ses.amazonaws.com"}


def _source(stage: Deployment) -> Json:
    """The conditions that name this account and the stage's configuration set."""
    config_set, _ = stage.only("AWS::SES::ConfigurationSet")
    return {"aws:SourceAccount": ref("AWS::AccountId"), "aws:SourceArn": ref(config_set)}


def _arn_parts(value: Any) -> list[str]:
    return ["".join(p if isinstance(p, str) else key(p) for p in joined(value))]


def _same_source(conditions: Json, stage: Deployment) -> None:
    equals = conditions["StringEquals"]
    assert set(conditions) == {"StringEquals"}
    assert equals["aws:SourceAccount"] == ref("AWS::AccountId")
    config_set, _ = stage.only("AWS::SES::ConfigurationSet")
    (source_arn,) = _arn_parts(equals["aws:SourceArn"])
    partition, account = key(ref("AWS::Partition")), key(ref("AWS::AccountId"))
    expected = f"arn:{partition}:ses:{stage.stage.region}:{account}:configuration-set/{key(ref(config_set))}"
    assert source_arn == expected


def test_the_configuration_set_publishes_deliveries_bounces_and_complaints_to_the_campaigns_topic(
    stage: Deployment,
) -> None:
    # Given the stage's configuration set and the campaigns' e-mail events topic
    config_set, _ = stage.only("AWS::SES::ConfigurationSet")
    topic = stage.by_id_tag("AWS::SNS::Topic")[EMAIL_EVENTS.id]
    # When its event destinations are read
    _, destination = stage.only("AWS::SES::ConfigurationSetEventDestination")
    props = destination["Properties"]
    # Then one destination, on that set, sends exactly those three types to that topic
    assert props["ConfigurationSetName"] == ref(config_set)
    event = props["EventDestination"]
    assert event["Enabled"] is True
    assert sorted(event["MatchingEventTypes"]) == ["BOUNCE", "COMPLAINT", "DELIVERY"]
    assert event["SnsDestination"] == {"TopicARN": ref(topic)}


def test_only_ses_for_this_account_and_configuration_set_may_publish_to_the_topic(stage: Deployment) -> None:
    # Given the topic's policy
    topic = stage.by_id_tag("AWS::SNS::Topic")[EMAIL_EVENTS.id]
    (policy,) = [
        p["Properties"]
        for p in stage.resources("AWS::SNS::TopicPolicy").values()
        if ref(topic) in p["Properties"]["Topics"]
    ]
    statements = policy["PolicyDocument"]["Statement"]
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    # Then the one grant is SES's, to publish to this topic, on condition of the account and the set
    (grant,) = allowed
    assert grant["Principal"] == SES
    assert as_list(grant["Action"]) == ["sns:Publish"]
    assert grant["Resource"] == ref(topic)
    _same_source(grant["Condition"], stage)
    # And publishing without TLS is refused to everyone
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_ses_may_use_the_topics_key_only_for_this_account_and_configuration_set(stage: Deployment) -> None:
    # Given the key that encrypts the topics
    topic = stage.by_id_tag("AWS::SNS::Topic")[EMAIL_EVENTS.id]
    key_arn = stage.props(topic)["KmsMasterKeyId"]
    (key_id,) = [k for k in stage.resources("AWS::KMS::Key") if json.dumps(key_arn).count(k)]
    statements = stage.props(key_id)["KeyPolicy"]["Statement"]
    # Then SES's grant on it is the data keys it needs to publish, under the same conditions
    (grant,) = [s for s in statements if s.get("Principal") == SES]
    assert sorted(as_list(grant["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    _same_source(grant["Condition"], stage)


def test_the_topic_feeds_only_the_feedback_queue_raw(stage: Deployment) -> None:
    # Given the subscriptions of the e-mail events topic
    topic = stage.by_id_tag("AWS::SNS::Topic")[EMAIL_EVENTS.id]
    queue = stage.by_id_tag("AWS::SQS::Queue")[FEEDBACK_QUEUE.id]
    subscriptions = [
        s["Properties"]
        for s in stage.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == ref(topic)
    ]
    # Then the feedback queue alone takes its messages, as SES wrote them (no SNS envelope)
    (subscription,) = subscriptions
    assert subscription["Protocol"] == "sqs"
    assert subscription["Endpoint"]["Fn::GetAtt"][0] == queue
    assert subscription["RawMessageDelivery"] is True
