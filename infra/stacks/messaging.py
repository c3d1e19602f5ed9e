"""The asynchronous backbone, all from the topology: queues with their dead-letter queues,
topics, consumers (SQS event source mappings), subscriptions, the bus's rules and schedules.

- Every queue is SQS-encrypted, refuses plain HTTP and has a DLQ; so has every rule, every
  schedule and every function invoked asynchronously. A message in any DLQ raises an alarm.
- Each resource policy lets in exactly one sender: a subscribed queue only its topic, a rule's
  queue or DLQ only that rule; a schedule's role may only reach its target and its DLQ.
- The same DLQs, maxReceiveCounts, visibility timeouts, retention, filter policies, patterns,
  targets and retries as the local runtime (``infra/local/provision.py``): both read them from
  the same topology objects. Queues, topics and rules carry their topology id in the
  ``dangol:id`` tag (their physical names are CloudFormation's); schedules, which take no
  tags, are named ``<stage id>-<schedule id>``.
- The DLQs of asynchronously invoked functions and of schedules exist only here: locally the
  bus tap and the scheduler retry in process (``deployed_only_queue_ids``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import CfnResource, CfnTag, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig
from infra.environment import timers_environment
from infra.stacks.identity import ID_TAG, tag_id
from infra.stacks.nag import acknowledge, waive_checkov
from shared.topology import Consumer, Function, Queue, Rule, Schedule, Service, Subscription, System, Timers

MAX_RETENTION = Duration.days(14)  # the longest SQS keeps a message: dead letters wait for a person
# What a consumer's role may do on its queue (Lambda's poller needs no more).
CONSUME_ACTIONS = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
)
SCHEDULE_NAME_MAX = 64
SSE_SQS = (
    "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled: true); this check recognises a"
    " KMS key only (KmsMasterKeyId), so the finding is false."
)
# What a publisher needs on the key of an encrypted topic (SNS encrypts with a data key).
TOPIC_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


def async_dlq_id(function: Function) -> str:
    """The DLQ of a function's asynchronous invocations (it is a rule's or a schedule's target)."""
    return f"{function.id}-async-dlq"


def schedule_dlq_id(schedule: Schedule) -> str:
    """The DLQ of what a schedule could not deliver to its target."""
    return f"{schedule.id}-schedule-dlq"


def invoked_asynchronously(system: System, function: Function) -> bool:
    """Whether EventBridge or the Scheduler invokes it (asynchronous invocations, Lambda's retries)."""
    return any(r.target == function for r in system.rules) or any(
        s.target == function for s in system.schedules
    )


def has_async_dlq(system: System, function: Function) -> bool:
    """Whether the function gets a DLQ for its asynchronous invocations: it is a rule's or a
    schedule's target, or the topology names no synchronous caller (a route, a queue, the user
    pool, which invokes its triggers synchronously and waits, or a function that invokes it
    directly) for it."""
    synchronous = (
        any(r.function == function for r in system.routes)
        or any(c.function == function for c in system.consumers)
        or any(t.function == function for t in system.triggers)
        or bool(function.invoked_by or system.callers_of(function))  # direct, RequestResponse
    )
    return invoked_asynchronously(system, function) or not synchronous


def visibility_timeout_s(system: System, queue: Queue) -> int | None:
    """What its consumer needs, else what the queue declares (None: SQS's default)."""
    consumer = system.consumer_of(queue)
    return consumer.visibility_timeout_s if consumer else queue.visibility_timeout_s


ALARM_MAIL_DLQ = "alarm-mail-dlq"  # the platform's: alarm e-mails SNS could not deliver


def deployed_only_queue_ids(system: System) -> set[str]:
    """DLQs the deployed stack has beyond the topology's queues and their DLQs: those of the
    functions that are invoked asynchronously, those of the schedules, and the alarm mail's."""
    return (
        {async_dlq_id(f) for f in system.functions if has_async_dlq(system, f)}
        | {schedule_dlq_id(s) for s in system.schedules}
        | {t.dlq_id for t in system.timers}
        | {ALARM_MAIL_DLQ}
    )


def _check_names(system: System) -> None:
    declared = (
        {q.id for q in system.queues} | {q.dlq_id for q in system.queues} | {r.dlq_id for r in system.rules}
    )
    if clash := declared & (deployed_only_queue_ids(system) - {t.dlq_id for t in system.timers}):
        raise ValueError(f"queue ids {sorted(clash)} are taken by a function's or a schedule's DLQ")


@dataclass
class Channels:
    """Every queue (DLQs included) and topic of the system, by topology id: a function may send
    to another service's queue or publish on its topic, and a queue may subscribe to it."""

    key: kms.IKey  # encrypts the topics
    alarms: sns.ITopic  # a message in a DLQ is reported here
    queues: dict[str, sqs.Queue] = field(default_factory=dict)
    topics: dict[str, sns.Topic] = field(default_factory=dict)

    def declare(self, scope: Construct, system: System, service: Service) -> None:
        """The service's queues (each with its DLQ), its rules' DLQs and its topics."""
        _check_names(system)
        if service.queues or service.rules:
            queues = Construct(scope, "Queues")
            for queue in service.queues:
                dlq = self.dead_letter_queue(
                    queues,
                    queue.dlq_id,
                    retention=Duration.days(queue.dlq_retention_days),
                    holds=f"the messages of {queue.id} that failed {queue.max_receive_count} receives",
                )
                self.queues[queue.dlq_id] = dlq
                self.queues[queue.id] = self._queue(queues, system, queue, dlq)
            for rule in service.rules:
                self.queues[rule.dlq_id] = self.dead_letter_queue(
                    queues,
                    rule.dlq_id,
                    retention=MAX_RETENTION,
                    holds=f"the events rule {rule.id} could not deliver",
                    dead_letter_config_of=f"the target of rule {rule.id}",
                )
        if service.topics:
            topics = Construct(scope, "Topics")
            for topic in service.topics:
                resource = sns.Topic(
                    topics, topic.id, master_key=self.key, enforce_ssl=True, display_name=topic.id
                )
                tag_id(resource, topic.id)
                self.topics[topic.id] = resource

    def _queue(self, scope: Construct, system: System, queue: Queue, dlq: sqs.IQueue) -> sqs.Queue:
        visibility = visibility_timeout_s(system, queue)
        resource = sqs.Queue(
            scope,
            queue.id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(queue.retention_days),
            visibility_timeout=Duration.seconds(visibility) if visibility is not None else None,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=queue.max_receive_count),
        )
        tag_id(resource, queue.id)
        waive_checkov(resource, "CKV_AWS_27", SSE_SQS)
        return resource

    def dead_letter_queue(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: Duration,
        holds: str,
        topology_id: str | None = None,
        dead_letter_config_of: str | None = None,
    ) -> sqs.Queue:
        """An encrypted, SSL-only DLQ whose first message raises an alarm. ``dead_letter_config_of``:
        the rule's target or schedule whose DeadLetterConfig names it, a use cdk-nag does not see
        (it knows queues' redrive policies and functions' DLQs only)."""
        dlq = sqs.Queue(
            scope,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=retention,
        )
        tag_id(dlq.node.default_child or dlq, topology_id or construct_id)  # not its alarm
        waive_checkov(dlq, "CKV_AWS_27", SSE_SQS)
        acknowledge(
            dlq,
            "Serverless::Serverless-SQSRedrivePolicy",
            f"A dead-letter queue, of {holds}: they stay here for inspection and redrive, and the"
            " first one raises an alarm; a DLQ of its own would only move them out of sight.",
        )
        if dead_letter_config_of:
            acknowledge(
                dlq,
                "AwsSolutions::AwsSolutions-SQS3",
                f"It is a dead-letter queue: the DeadLetterConfig of {dead_letter_config_of} names it,"
                " a use cdk-nag does not trace (only redrive policies and Lambda DLQs).",
            )
        cloudwatch.Alarm(
            dlq,
            "NotEmpty",
            alarm_description=f"{topology_id or construct_id} holds {holds}",
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ).add_alarm_action(actions.SnsAction(self.alarms))
        return dlq

    def grant_to(self, role: iam.Role, function: Function) -> None:
        """What the function's declared sending needs: SendMessage on its queues, Publish on its
        topics (and the topic key's data keys), on nothing else."""
        if function.sends_to:
            arns = [self.queues[q.id].queue_arn for q in function.sends_to]
            role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=arns))
        if function.notifies:
            arns = [self.topics[t.id].topic_arn for t in function.notifies]
            role.add_to_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=arns))
            role.add_to_policy(
                iam.PolicyStatement(actions=list(TOPIC_KEY_ACTIONS), resources=[self.key.key_arn])
            )


def _allow_sender(queue: sqs.Queue, service: str, source_arn: str) -> CfnResource:
    """Let one AWS service send to the queue on behalf of one resource (its ARN) only."""
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal(service)],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={"ArnEquals": {"aws:SourceArn": source_arn}},
        )
    )
    policy = queue.node.find_child("Policy")  # the queue's one policy (enforce_ssl made it)
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_policy, CfnResource)
    return cfn_policy


def add_consumer(
    consumer: Consumer, function: lambda_.Function, channels: Channels
) -> lambda_.EventSourceMapping:
    """The event source mapping; the function's role may consume its queue and no other."""
    queue = channels.queues[consumer.queue.id]
    function.add_to_role_policy(
        iam.PolicyStatement(actions=list(CONSUME_ACTIONS), resources=[queue.queue_arn])
    )
    mapping = function.add_event_source_mapping(
        f"consumes-{consumer.queue.id}",
        event_source_arn=queue.queue_arn,
        batch_size=consumer.batch_size,
        max_batching_window=Duration.seconds(consumer.window_s),
        max_concurrency=consumer.max_concurrency,
        report_batch_item_failures=True,
    )
    # Lambda checks the role when the mapping is created: the policy must exist first.
    if function.role is not None and (policy := function.role.node.try_find_child("DefaultPolicy")):
        mapping.node.add_dependency(policy)
    acknowledge(
        mapping,
        "Serverless::Serverless-LambdaEventSourceMappingDestination",
        f"SQS event sources take no on-failure destination: the redrive policy of {consumer.queue.id}"
        f" moves a message that failed {consumer.queue.max_receive_count} receives"
        f" to {consumer.queue.dlq_id}.",
    )
    return mapping


def add_subscription(scope: Construct, subscription: Subscription, channels: Channels) -> sns.CfnSubscription:
    """An SQS subscription; the queue (and its DLQ, where SNS redrives) accepts only that topic."""
    topic = channels.topics[subscription.topic.id]
    queue = channels.queues[subscription.queue.id]
    dlq = channels.queues[subscription.queue.dlq_id]
    policy = _allow_sender(queue, "sns.amazonaws.com", topic.topic_arn)
    _allow_sender(dlq, "sns.amazonaws.com", topic.topic_arn)
    found = scope.node.try_find_child(subscription.topic.id)
    by_topic = found if isinstance(found, Construct) else Construct(scope, subscription.topic.id)
    resource = sns.CfnSubscription(
        by_topic,
        subscription.queue.id,
        topic_arn=topic.topic_arn,
        protocol="sqs",
        endpoint=queue.queue_arn,
        raw_message_delivery=subscription.raw,
        filter_policy=subscription.policy,
        filter_policy_scope=subscription.filter_on if subscription.filter_policy else None,
        redrive_policy={"deadLetterTargetArn": dlq.queue_arn},
    )
    resource.node.add_dependency(policy)
    return resource


def add_rule(
    scope: Construct,
    rule: Rule,
    *,
    bus: events.IEventBus,
    functions: dict[str, lambda_.Function],
    channels: Channels,
) -> events.CfnRule:
    """A rule on the system's bus with one target (a queue or a function), its DLQ and retries."""
    dlq = channels.queues[rule.dlq_id]
    target_arn = (
        channels.queues[rule.target.id].queue_arn
        if isinstance(rule.target, Queue)
        else functions[rule.target.id].function_arn
    )
    resource = events.CfnRule(
        scope,
        rule.id,
        description=f"{rule.id}: to {rule.target.id}",
        event_bus_name=bus.event_bus_name,
        event_pattern=json.loads(rule.pattern),
        state="ENABLED",
        targets=[
            events.CfnRule.TargetProperty(
                id=rule.target.id,
                arn=target_arn,
                dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=dlq.queue_arn),
                retry_policy=events.CfnRule.RetryPolicyProperty(
                    maximum_retry_attempts=rule.retry_attempts,
                    maximum_event_age_in_seconds=rule.max_event_age_s,
                ),
            )
        ],
        tags=[CfnTag(key=ID_TAG, value=rule.id)],
    )
    _allow_sender(dlq, "events.amazonaws.com", resource.attr_arn)
    if isinstance(rule.target, Queue):
        _allow_sender(channels.queues[rule.target.id], "events.amazonaws.com", resource.attr_arn)
    else:
        functions[rule.target.id].add_permission(
            f"invoked-by-{rule.id}",
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=resource.attr_arn,
        )
    return resource


def add_schedule(
    scope: Construct,
    schedule: Schedule,
    *,
    stage: StageConfig,
    functions: dict[str, lambda_.Function],
    channels: Channels,
) -> scheduler.CfnSchedule:
    """A schedule with its own DLQ and its own role, which may reach its target and DLQ only."""
    group = Construct(scope, schedule.id)
    dlq = channels.dead_letter_queue(
        group,
        "Dlq",
        retention=MAX_RETENTION,
        holds=f"what schedule {schedule.id} could not deliver to {schedule.target.id}",
        topology_id=schedule_dlq_id(schedule),
        dead_letter_config_of=f"the target of schedule {schedule.id}",
    )
    if isinstance(schedule.target, Queue):
        target_arn, action = channels.queues[schedule.target.id].queue_arn, "sqs:SendMessage"
    else:
        target_arn, action = functions[schedule.target.id].function_arn, "lambda:InvokeFunction"
    account = Stack.of(scope).account
    role = iam.Role(
        group,
        "Role",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
        ),
        description=f"schedule {schedule.id}: only {schedule.target.id} and its DLQ",
        inline_policies={
            "target": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(actions=[action], resources=[target_arn]),
                    iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
                ]
            )
        },
    )
    window = (
        scheduler.CfnSchedule.FlexibleTimeWindowProperty(
            mode="FLEXIBLE", maximum_window_in_minutes=schedule.flexible_window_min
        )
        if schedule.flexible_window_min
        else scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF")
    )
    name = f"{stage.stage_id}-{schedule.id}"  # like the bus: dangol-<stage>-<id>
    if len(name) > SCHEDULE_NAME_MAX:
        raise ValueError(f"schedule name {name!r} is longer than the Scheduler's {SCHEDULE_NAME_MAX}")
    return scheduler.CfnSchedule(
        group,
        "Schedule",
        name=name,
        description=f"{schedule.id}: {schedule.expression} ({schedule.timezone}) to {schedule.target.id}",
        schedule_expression=schedule.expression,
        schedule_expression_timezone=schedule.timezone,
        flexible_time_window=window,
        state="ENABLED",
        target=scheduler.CfnSchedule.TargetProperty(
            arn=target_arn,
            role_arn=role.role_arn,
            input=schedule.input,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_retry_attempts=schedule.retry_attempts,
                maximum_event_age_in_seconds=schedule.max_event_age_s,
            ),
            dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn),
        ),
    )


# What a function that sets timers may do in its group: nothing else, on no other group.
TIMER_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


@dataclass(frozen=True)
class TimerGroup:
    """A service's timers as deployed: its schedule group, the role the Scheduler sends with, and
    the configuration the functions that set them get (``shared.timers.TimersConfig``)."""

    timers: Timers
    name: str
    role: iam.Role
    target: sqs.IQueue
    config: str

    def grant_to(self, function: lambda_.Function, fn: Function) -> None:
        """Create, move, read and delete schedules in this group only, pass its role to the
        Scheduler only, and send an input already due to the target queue."""
        stack = Stack.of(function)
        schedules = f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule/{self.name}/*"
        function.add_to_role_policy(iam.PolicyStatement(actions=list(TIMER_ACTIONS), resources=[schedules]))
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.target.queue_arn])
        )
        region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
        if function.role is not None:
            acknowledge(
                function.role,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:{region}"
                f":<AWS::AccountId>:schedule/{self.name}/*]",
                f"{fn.id} sets one-time timers (a schedule each, named at run time) in the schedule group"
                f" {self.name}, and only there.",
            )


def add_timers(scope: Construct, timers: Timers, *, stage: StageConfig, channels: Channels) -> TimerGroup:
    """A schedule group for a service's one-time timers, their DLQ, and the role the Scheduler
    assumes for them (from this account and this group only), which may reach the target and the
    DLQ only."""
    construct = Construct(scope, timers.id)
    dlq = channels.dead_letter_queue(
        construct,
        "Dlq",
        retention=MAX_RETENTION,
        holds=f"what the timers of {timers.id} could not deliver to {timers.target.id}",
        topology_id=timers.dlq_id,
        dead_letter_config_of=f"the timers of {timers.id} (set at run time)",
    )
    name = f"{stage.stage_id}-{timers.id}"
    if len(name) > SCHEDULE_NAME_MAX:
        raise ValueError(f"schedule group {name!r} is longer than the Scheduler's {SCHEDULE_NAME_MAX}")
    group = scheduler.CfnScheduleGroup(construct, "Group", name=name)
    stack = Stack.of(scope)
    target = channels.queues[timers.target.id]
    role = iam.Role(
        construct,
        "Role",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnEquals": {"aws:SourceArn": group.attr_arn},
            },
        ),
        description=f"timers {timers.id}: only {timers.target.id} and its DLQ",
        inline_policies={
            "target": iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[target.queue_arn]),
                    iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
                ]
            )
        },
    )
    config = timers_environment(
        timers,
        group=name,
        role_arn=role.role_arn,
        target_arn=target.queue_arn,
        target_url=target.queue_url,
        dlq_arn=dlq.queue_arn,
    )
    return TimerGroup(timers, name, role, target, config)
