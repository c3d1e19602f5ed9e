"""The asynchronous backbone as deployed, read from the template of a test topology that uses
all of it (``backbone_topology.py``): queues and their DLQs, consumers, topics and
subscriptions, rules and schedules; encryption, SSL-only policies, one sender per queue
policy, least privilege, DLQ alarms, zero cdk-nag findings and a clean cfn-lint."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from infra.config import STAGES
from infra.stacks.messaging import (
    ALARM_MAIL_DLQ,
    CONSUME_ACTIONS,
    TOPIC_KEY_ACTIONS,
    async_dlq_id,
    schedule_dlq_id,
)
from infra.stacks.service import ID_TAG
from shared.topology import Function, Queue
from tests.infra import backbone_topology as bb
from tests.infra.conftest import Synthesized
from tests.infra.test_synth import MIN_REASON

Json = dict[str, Any]
STAGE = STAGES[0]
SSL_DENIAL = {"Bool": {"aws:SecureTransport": "false"}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn(logical_id: str) -> Json:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def _logical(value: Json) -> str:
    return str(value["Ref"]) if "Ref" in value else str(value["Fn::GetAtt"][0])


class Template:
    def __init__(self, synthesized: Synthesized) -> None:
        self.template = synthesized.template(STAGE.name)
        self.resources: dict[str, Json] = self.template["Resources"]

    def of(self, kind: str) -> dict[str, Json]:
        return {k: v.get("Properties", {}) for k, v in self.resources.items() if v["Type"] == kind}

    def tagged(self, kind: str) -> dict[str, str]:
        """Topology id (``dangol:id``) -> logical id, for the resources of ``kind``."""
        out: dict[str, str] = {}
        for logical_id, props in self.of(kind).items():
            tags = {t["Key"]: t["Value"] for t in props.get("Tags", [])}
            if ID_TAG in tags:
                assert tags[ID_TAG] not in out, f"two {kind} tagged {tags[ID_TAG]}"
                out[tags[ID_TAG]] = logical_id
        return out

    @cached_property
    def queues(self) -> dict[str, str]:
        return self.tagged("AWS::SQS::Queue")

    @cached_property
    def functions(self) -> dict[str, str]:
        return self.tagged("AWS::Lambda::Function")

    @cached_property
    def topics(self) -> dict[str, str]:
        return self.tagged("AWS::SNS::Topic")

    @cached_property
    def rules(self) -> dict[str, str]:
        return self.tagged("AWS::Events::Rule")

    def props(self, logical_id: str) -> Json:
        return dict(self.resources[logical_id].get("Properties", {}))

    def queue(self, queue_id: str) -> Json:
        return self.props(self.queues[queue_id])

    def queue_policy(self, queue_id: str) -> list[Json]:
        """The statements of the one policy of a queue."""
        (policy,) = [
            p for p in self.of("AWS::SQS::QueuePolicy").values() if _ref(self.queues[queue_id]) in p["Queues"]
        ]
        return _as_list(policy["PolicyDocument"]["Statement"])

    def senders(self, queue_id: str) -> set[tuple[str, str]]:
        """What the queue's policy lets in: (service principal, logical id of the source ARN)."""
        out = set()
        for statement in self.queue_policy(queue_id):
            if statement["Effect"] != "Allow":
                continue
            assert statement["Action"] == "sqs:SendMessage", statement
            assert statement["Resource"] == _arn(self.queues[queue_id]), statement
            (service,) = _as_list(statement["Principal"]["Service"])
            source = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
            assert set(statement["Condition"]) == {"ArnEquals"}, statement
            out.add((service, _logical(source)))
        return out

    def role_statements(self, role: str) -> list[Json]:
        found = [
            s
            for p in self.props(role).get("Policies", [])
            for s in _as_list(p["PolicyDocument"]["Statement"])
        ]
        for policy in self.of("AWS::IAM::Policy").values():
            if _ref(role) in policy.get("Roles", []):
                found += _as_list(policy["PolicyDocument"]["Statement"])
        return found

    def grants(self, role: str, prefix: str) -> dict[str, set[str]]:
        """What a role may do with one service's actions: resource (JSON) -> actions."""
        out: dict[str, set[str]] = {}
        for statement in self.role_statements(role):
            assert statement["Effect"] == "Allow", statement
            actions = {a for a in _as_list(statement["Action"]) if a.startswith(prefix)}
            for resource in _as_list(statement["Resource"]):
                if actions:
                    out.setdefault(json.dumps(resource, sort_keys=True), set()).update(actions)
        return out

    def function_role(self, fn: Function) -> str:
        return _logical(self.props(self.functions[fn.id])["Role"])

    def target_arn(self, target: Queue | Function) -> Json:
        return _arn(self.queues[target.id] if isinstance(target, Queue) else self.functions[target.id])

    def schedules(self) -> dict[str, Json]:
        prefix = f"{STAGE.stage_id}-"
        return {p["Name"].removeprefix(prefix): p for p in self.of("AWS::Scheduler::Schedule").values()}

    @cached_property
    def alarm_topic(self) -> str:
        (topic,) = [
            k for k, v in self.of("AWS::SNS::Topic").items() if v.get("DisplayName") == "dangol alarms"
        ]
        return topic

    @cached_property
    def key(self) -> str:
        (key,) = self.of("AWS::KMS::Key")
        return key


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.fixture(scope="module")
def t(backbone: Synthesized) -> Template:
    return Template(backbone)


DECLARED = (bb.JOBS, bb.WELCOMES, bb.AUDIT)
DLQS = {
    *(q.dlq_id for q in DECLARED),
    bb.TO_QUEUE.dlq_id,
    bb.TO_FUNCTION.dlq_id,
    async_dlq_id(bb.DIGEST),
    schedule_dlq_id(bb.MORNING),
    schedule_dlq_id(bb.SWEEP),
}


# --- queues --------------------------------------------------------------------------------------


def test_every_declared_queue_and_dlq_exists_and_nothing_else(t: Template) -> None:
    # Then the queues are the declared ones, their DLQs, the rules', schedules' and the digest's DLQs
    profile = bb.profile.SERVICE
    expected = {q.id for q in DECLARED} | DLQS | {q.id for q in profile.queues}
    expected |= {q.dlq_id for q in profile.queues} | {r.dlq_id for r in profile.rules}
    expected |= {schedule_dlq_id(s) for s in profile.schedules}  # the real service's own schedules
    expected |= {async_dlq_id(s.target) for s in profile.schedules if isinstance(s.target, Function)}
    expected.add(ALARM_MAIL_DLQ)  # the platform's: alarm e-mails SNS could not deliver
    assert set(t.queues) == expected
    assert len(t.of("AWS::SQS::Queue")) == len(expected)  # and every queue is tagged


def test_every_queue_is_encrypted_and_refuses_plain_http(t: Template) -> None:
    for queue_id, logical_id in t.queues.items():
        props = t.props(logical_id)
        # Then SQS encrypts it (its own key or KMS)
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, queue_id
        # And its policy denies every request that is not over TLS, to everyone
        denials = [s for s in t.queue_policy(queue_id) if s["Effect"] == "Deny"]
        assert any(
            s["Condition"] == SSL_DENIAL and s["Principal"] == {"AWS": "*"} and s["Action"] == "sqs:*"
            for s in denials
        ), queue_id


def test_each_queue_has_its_dlq_max_receive_count_retention_and_visibility(t: Template) -> None:
    for queue in DECLARED:
        # Given the queue as declared and as deployed
        props = t.queue(queue.id)
        # Then it dead-letters to its own DLQ after maxReceiveCount receives
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": _arn(t.queues[queue.dlq_id]),
            "maxReceiveCount": queue.max_receive_count,
        }, queue.id
        # And keeps messages (and its DLQ keeps dead letters) as long as declared
        assert props["MessageRetentionPeriod"] == queue.retention_days * 86400, queue.id
        assert t.queue(queue.dlq_id)["MessageRetentionPeriod"] == queue.dlq_retention_days * 86400
    # And the visibility timeout is the consumer's (6 x timeout + window), else the declared one
    assert t.queue(bb.JOBS.id)["VisibilityTimeout"] == bb.CONSUMER.visibility_timeout_s == 6 * 20 + 5
    assert t.queue(bb.WELCOMES.id)["VisibilityTimeout"] == 90
    assert "VisibilityTimeout" not in t.queue(bb.AUDIT.id)  # SQS's default


def test_dead_letter_queues_keep_messages_as_long_as_sqs_can_and_redrive_nowhere(t: Template) -> None:
    for dlq_id in DLQS - {bb.JOBS.dlq_id}:  # profile-jobs declares a shorter DLQ retention
        assert t.queue(dlq_id)["MessageRetentionPeriod"] == 14 * 86400, dlq_id
    for dlq_id in DLQS:
        assert "RedrivePolicy" not in t.queue(dlq_id), dlq_id


def test_a_message_in_any_dlq_raises_an_alarm_on_the_alarm_topic(t: Template) -> None:
    alarms = list(t.of("AWS::CloudWatch::Alarm").values())
    for dlq_id in DLQS:
        # Given the alarms on the DLQ's visible messages
        on_dlq = [
            a
            for a in alarms
            if (a.get("Namespace"), a.get("MetricName")) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
            and a.get("Dimensions")
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [t.queues[dlq_id], "QueueName"]}}]
        ]
        # Then there is one, raised by the first message, sent to the alarm topic
        assert len(on_dlq) == 1, dlq_id
        (alarm,) = on_dlq
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold", dlq_id
        assert alarm["Threshold"] == 0, dlq_id
        assert alarm["AlarmActions"] == [_ref(t.alarm_topic)], dlq_id
        assert alarm["TreatMissingData"] == "notBreaching", dlq_id


def test_each_queue_policy_lets_in_exactly_its_one_sender(t: Template) -> None:
    topic = ("sns.amazonaws.com", t.topics[bb.CHANGES.id])
    to_queue = ("events.amazonaws.com", t.rules[bb.TO_QUEUE.id])
    to_function = ("events.amazonaws.com", t.rules[bb.TO_FUNCTION.id])
    expected = {
        # the rule's target queue: only that rule; the subscribed queues (and their DLQs,
        # where SNS redrives): only the topic; a rule's DLQ: only that rule
        bb.JOBS.id: {to_queue},
        bb.WELCOMES.id: {topic},
        bb.AUDIT.id: {topic},
        bb.WELCOMES.dlq_id: {topic},
        bb.AUDIT.dlq_id: {topic},
        bb.TO_QUEUE.dlq_id: {to_queue},
        bb.TO_FUNCTION.dlq_id: {to_function},
    }
    for rule in bb.profile.SERVICE.rules:  # the real service's rules into its queues
        sender = ("events.amazonaws.com", t.rules[rule.id])
        expected |= {rule.target.id: {sender}, rule.dlq_id: {sender}}
    (alarms,) = (k for k, v in t.of("AWS::SNS::Topic").items() if v.get("DisplayName") == "dangol alarms")
    expected[ALARM_MAIL_DLQ] = {("sns.amazonaws.com", alarms)}  # where the alarm e-mails redrive
    for queue_id in t.queues:
        # Then nothing else may send to any queue through its resource policy
        assert t.senders(queue_id) == expected.get(queue_id, set()), queue_id


# --- consumers -----------------------------------------------------------------------------------


def test_each_consumer_is_an_event_source_mapping_with_its_batching_and_partial_failures(t: Template) -> None:
    mappings = list(t.of("AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == len(bb.SERVICE.consumers)  # one per consumer, the real ones too
    (mapping,) = [m for m in mappings if m["EventSourceArn"] == _arn(t.queues[bb.JOBS.id])]
    # Then the worker reads profile-jobs in batches of 25 within 5 s, at most 4 at once,
    # and reports the failed records only
    assert mapping["EventSourceArn"] == _arn(t.queues[bb.JOBS.id])
    assert mapping["FunctionName"] == _ref(t.functions[bb.WORKER.id])
    assert mapping["BatchSize"] == bb.CONSUMER.batch_size == 25
    assert mapping["MaximumBatchingWindowInSeconds"] == bb.CONSUMER.window_s == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 4}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping.get("Enabled", True) is True


def test_the_mapping_is_created_after_the_role_may_read_the_queue(t: Template) -> None:
    (logical_id,) = [
        k
        for k, m in t.of("AWS::Lambda::EventSourceMapping").items()
        if m["FunctionName"] == _ref(t.functions[bb.WORKER.id])
    ]
    role = t.function_role(bb.WORKER)
    policy = next(k for k, p in t.of("AWS::IAM::Policy").items() if _ref(role) in p["Roles"])
    assert policy in t.resources[logical_id].get("DependsOn", [])


def test_a_consumer_may_receive_delete_and_change_visibility_on_its_queue_only(t: Template) -> None:
    # Given the worker's SQS grants
    grants = t.grants(t.function_role(bb.WORKER), "sqs:")
    # Then they are exactly the poller's actions, on its own queue, and nothing else
    assert grants == {_key(_arn(t.queues[bb.JOBS.id])): set(CONSUME_ACTIONS)}
    assert set(CONSUME_ACTIONS) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }


def test_a_consumer_has_no_dlq_of_its_own_and_says_why(t: Template, backbone: Synthesized) -> None:
    # Given the worker (only its event source mapping invokes it)
    assert "DeadLetterConfig" not in t.props(t.functions[bb.WORKER.id])
    # Then the nag finding is acknowledged on it, with the queue's DLQ as the reason
    acknowledged = [
        s
        for p in backbone.report["pluginReports"]
        for s in p.get("suppressedViolations", [])
        if s["ruleName"] == "Serverless-LambdaDLQ" and s["acknowledgedAt"].endswith(f"/{bb.WORKER.id}")
    ]
    assert acknowledged
    assert all(bb.JOBS.id in a["reason"] for a in acknowledged)


# --- functions that send and publish ----------------------------------------------------------------


def test_a_sender_may_send_to_its_queues_and_publish_on_its_topics_only(t: Template) -> None:
    role = t.function_role(bb.DIGEST)
    # Then SendMessage on profile-jobs (and on its own async DLQ: Lambda's dead letters)
    assert t.grants(role, "sqs:") == {
        _key(_arn(t.queues[bb.JOBS.id])): {"sqs:SendMessage"},
        _key(_arn(t.queues[async_dlq_id(bb.DIGEST)])): {"sqs:SendMessage"},
    }
    # And Publish on profile-changes only, and data keys of the topic's key only
    assert t.grants(role, "sns:") == {_key(_ref(t.topics[bb.CHANGES.id])): {"sns:Publish"}}
    assert t.grants(role, "kms:") == {_key(_arn(t.key)): set(TOPIC_KEY_ACTIONS)}
    # And a function that declares neither gets none of it
    for other in (bb.WORKER, bb.profile.API):
        assert not t.grants(t.function_role(other), "sns:"), other.id
        assert not t.grants(t.function_role(other), "kms:"), other.id


def test_a_sender_finds_its_queue_url_and_topic_arn_in_its_environment(t: Template) -> None:
    variables = t.props(t.functions[bb.DIGEST.id])["Environment"]["Variables"]
    assert variables[bb.JOBS.env_var] == _ref(t.queues[bb.JOBS.id])  # a queue's Ref is its URL
    assert variables[bb.CHANGES.env_var] == _ref(t.topics[bb.CHANGES.id])  # a topic's Ref is its ARN
    worker = t.props(t.functions[bb.WORKER.id])["Environment"]["Variables"]
    assert bb.JOBS.env_var not in worker
    assert bb.CHANGES.env_var not in worker


def test_a_function_invoked_asynchronously_dead_letters_to_its_own_dlq(t: Template) -> None:
    props = t.props(t.functions[bb.DIGEST.id])
    assert props["DeadLetterConfig"] == {"TargetArn": _arn(t.queues[async_dlq_id(bb.DIGEST)])}


# --- topics and subscriptions -------------------------------------------------------------------


def test_a_topic_is_encrypted_with_the_stack_key_and_refuses_plain_http(t: Template) -> None:
    topic = t.topics[bb.CHANGES.id]
    assert t.props(topic)["KmsMasterKeyId"] == _arn(t.key)
    assert t.props(t.key)["EnableKeyRotation"] is True
    (policy,) = [p for p in t.of("AWS::SNS::TopicPolicy").values() if _ref(topic) in p["Topics"]]
    statements = _as_list(policy["PolicyDocument"]["Statement"])
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == SSL_DENIAL and "sns:Publish" in _as_list(s["Action"])
        for s in statements
    )
    assert not [s for s in statements if s["Effect"] == "Allow"]


def test_each_subscription_delivers_raw_or_enveloped_with_its_filter_and_redrives_to_the_queue_dlq(
    t: Template,
) -> None:
    subscriptions = [s for s in t.of("AWS::SNS::Subscription").values() if s["Protocol"] == "sqs"]
    assert len(subscriptions) == 2
    for declared in (bb.RAW, bb.ENVELOPED):
        # Given the subscription of the declared queue
        (sub,) = [s for s in subscriptions if s["Endpoint"] == _arn(t.queues[declared.queue.id])]
        # Then it is an SQS subscription of the topic with the declared filter, scope and delivery
        assert sub["Protocol"] == "sqs"
        assert sub["TopicArn"] == _ref(t.topics[declared.topic.id])
        assert sub["FilterPolicy"] == declared.policy
        assert sub["FilterPolicyScope"] == declared.filter_on
        assert sub["RawMessageDelivery"] is declared.raw
        # And what SNS cannot deliver goes to the queue's DLQ
        assert sub["RedrivePolicy"] == {"deadLetterTargetArn": _arn(t.queues[declared.queue.dlq_id])}
    raw = next(s for s in subscriptions if s["RawMessageDelivery"])
    assert raw["FilterPolicyScope"] == "MessageAttributes"
    assert raw["FilterPolicy"] == {"event": ["ProfileCreated"]}
    enveloped = next(s for s in subscriptions if not s["RawMessageDelivery"])
    assert enveloped["FilterPolicyScope"] == "MessageBody"


# --- rules -----------------------------------------------------------------------------------------


def test_each_rule_matches_its_pattern_on_the_system_bus(t: Template) -> None:
    (bus,) = t.of("AWS::Events::EventBus")
    assert set(t.rules) == {r.id for r in bb.SERVICE.rules}
    for rule in bb.SERVICE.rules:
        props = t.props(t.rules[rule.id])
        assert props["EventBusName"] == _ref(bus), rule.id
        assert props["EventPattern"] == json.loads(rule.pattern), rule.id
        assert props["State"] == "ENABLED", rule.id


def test_each_rule_has_one_target_with_its_dlq_and_retry_policy(t: Template) -> None:
    for rule in (bb.TO_QUEUE, bb.TO_FUNCTION):
        (target,) = t.props(t.rules[rule.id])["Targets"]
        assert target["Arn"] == t.target_arn(rule.target), rule.id
        assert target["DeadLetterConfig"] == {"Arn": _arn(t.queues[rule.dlq_id])}, rule.id
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": rule.retry_attempts,
            "MaximumEventAgeInSeconds": rule.max_event_age_s,
        }, rule.id
    assert t.props(t.rules[bb.TO_QUEUE.id])["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_only_its_rule_may_invoke_a_rule_target_function(t: Template) -> None:
    # Given the resource-based permissions to EventBridge
    permissions = [
        p for p in t.of("AWS::Lambda::Permission").values() if p["Principal"] == "events.amazonaws.com"
    ]
    # Then there is one, for the digest, from that one rule
    (permission,) = permissions
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["FunctionName"] == _arn(t.functions[bb.DIGEST.id])
    assert permission["SourceArn"] == _arn(t.rules[bb.TO_FUNCTION.id])


# --- schedules -------------------------------------------------------------------------------------


def test_the_morning_schedule_fires_at_nine_in_seoul_within_its_window_to_the_digest(t: Template) -> None:
    schedule = t.schedules()[bb.MORNING.id]
    assert schedule["Name"] == f"{STAGE.stage_id}-{bb.MORNING.id}"
    assert schedule["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Seoul"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert schedule["State"] == "ENABLED"
    target = schedule["Target"]
    assert target["Arn"] == _arn(t.functions[bb.DIGEST.id])
    assert json.loads(target["Input"]) == {"kind": "morning"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600}
    assert target["DeadLetterConfig"] == {"Arn": _arn(t.queues[schedule_dlq_id(bb.MORNING)])}


def test_every_schedule_is_as_declared(t: Template) -> None:
    schedules = t.schedules()
    assert set(schedules) == {s.id for s in (*bb.profile.SERVICE.schedules, bb.MORNING, bb.SWEEP)}
    for declared in (bb.MORNING, bb.SWEEP):
        props = schedules[declared.id]
        window = {"Mode": "OFF"}
        if declared.flexible_window_min:
            window = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": declared.flexible_window_min}
        assert props["ScheduleExpression"] == declared.expression
        assert props["ScheduleExpressionTimezone"] == declared.timezone
        assert props["FlexibleTimeWindow"] == window
        assert props["Target"]["Arn"] == t.target_arn(declared.target)
        assert props["Target"]["Input"] == declared.input
        assert props["Target"]["DeadLetterConfig"] == {"Arn": _arn(t.queues[schedule_dlq_id(declared)])}


def test_each_schedule_has_its_own_role_that_may_reach_only_its_target_and_dlq(t: Template) -> None:
    roles = set()
    for declared, action in ((bb.MORNING, "lambda:InvokeFunction"), (bb.SWEEP, "sqs:SendMessage")):
        props = t.schedules()[declared.id]
        role = _logical(props["Target"]["RoleArn"])
        roles.add(role)
        # Then only the Scheduler of this account may assume it
        (trust,) = t.props(role)["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        assert not t.props(role).get("ManagedPolicyArns")
        # And it may do one thing to its target and send to its DLQ, nothing else
        granted = {}
        for statement in t.role_statements(role):
            assert statement["Effect"] == "Allow"
            for resource in _as_list(statement["Resource"]):
                granted.setdefault(_key(resource), set()).update(_as_list(statement["Action"]))
        assert granted == {
            _key(t.target_arn(declared.target)): {action},
            _key(_arn(t.queues[schedule_dlq_id(declared)])): {"sqs:SendMessage"},
        }, declared.id
    assert len(roles) == 2


# --- checks ----------------------------------------------------------------------------------------


def test_the_backbone_has_zero_unacknowledged_nag_findings(backbone: Synthesized) -> None:
    plugins = {p["pluginName"]: p for p in backbone.report["pluginReports"]}
    assert set(plugins) == {"AwsSolutions", "Serverless"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success", plugin["violations"]
        assert plugin["violations"] == []


def test_each_backbone_acknowledgment_is_on_one_construct_with_a_specific_reason(
    backbone: Synthesized,
) -> None:
    acknowledged = [s for p in backbone.report["pluginReports"] for s in p.get("suppressedViolations", [])]
    rules = {a["ruleName"] for a in acknowledged}
    # Then the backbone's acknowledgments are the expected ones, and each is narrow and explained
    assert {
        "Serverless-SQSRedrivePolicy",
        "AwsSolutions-SQS3",
        "Serverless-LambdaEventSourceMappingDestination",
    } <= rules
    for finding in acknowledged:
        assert len(finding["reason"]) >= MIN_REASON, finding
        assert finding["acknowledgedAt"].count("/") >= 2, finding["acknowledgedAt"]
    # And only DLQs skip a redrive policy, and only queues named by a DeadLetterConfig skip SQS3
    for finding in acknowledged:
        if finding["ruleName"] in {"Serverless-SQSRedrivePolicy", "AwsSolutions-SQS3"}:
            assert "dead-letter queue" in finding["reason"], finding


def test_cfn_lint_finds_nothing_in_the_backbone_template(backbone: Synthesized) -> None:
    (files,) = backbone.files.values()
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), *map(str, files.all)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
