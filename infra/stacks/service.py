"""One nested stack per service: its tables, its functions (from the one factory) and its part of
the asynchronous backbone, all read from the service's topology. Its functions that serve routes
are handed to the API (``entries``), which lives in the parent stack and depends on them: a
service's stack never refers to the API, so references go one way only."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, NestedStack, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig
from infra.environment import function_environment
from infra.packaging import stage_service_code
from infra.stacks.api import Entry
from infra.stacks.functions import Wiring, live_alias, make_function
from infra.stacks.identity import ID_TAG, tag_id
from infra.stacks.invocations import FunctionDirectory, grant_invocations
from infra.stacks.messaging import (
    MAX_RETENTION,
    Channels,
    add_consumer,
    add_rule,
    add_schedule,
    add_subscription,
    add_timers,
    async_dlq_id,
    has_async_dlq,
)
from infra.stacks.nag import waive_checkov
from infra.stacks.sending import Sending, grant_sending
from shared.topology import AttrType, Function, Service, System, Table

ATTR_TYPES = {
    AttrType.S: dynamodb.AttributeType.STRING,
    AttrType.N: dynamodb.AttributeType.NUMBER,
    AttrType.B: dynamodb.AttributeType.BINARY,
}
STREAMS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "OLD_IMAGE": dynamodb.StreamViewType.OLD_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    "KEYS_ONLY": dynamodb.StreamViewType.KEYS_ONLY,
}
__all__ = ["ID_TAG", "Platform", "ServiceStack"]


@dataclass(frozen=True)
class Platform:
    """What every service's functions are given by the parent stack."""

    bus: events.IEventBus
    layer: lambda_.ILayerVersion
    cursor_secret: secretsmanager.ISecret
    secrets: dict[str, secretsmanager.ISecret]  # the platform's secrets, by topology id
    # Every service's functions, for the direct invocations between them (``invocations.py``).
    functions: FunctionDirectory = field(default_factory=FunctionDirectory)
    # The stage's channels, for the functions that send messages (``sending.py``).
    sending: Sending | None = None


class ServiceStack(NestedStack):
    """Built in two steps so that services may use each other's queues and topics: the
    constructor declares the service's tables, queues and topics (in ``channels``, shared by
    every service); ``add_functions`` then adds its functions, consumers, subscriptions, rules
    and schedules, and returns how the API reaches the functions that serve its routes."""

    def __init__(
        self,
        scope: Construct,
        system: System,
        service: Service,
        *,
        stage: StageConfig,
        channels: Channels,
    ) -> None:
        super().__init__(scope, service.name, description=f"dangol {service.name} service ({stage.name})")
        self.system = system
        self.service = service
        self.stage = stage
        self.channels = channels
        self.tables = {t.id: self._table(t, stage) for t in service.tables}
        channels.declare(self, system, service)
        self.functions: dict[str, lambda_.Function] = {}

    def add_functions(self, platform: Platform) -> dict[str, Entry]:
        """The service's functions and their wiring; returns, for each function that serves
        routes, what API Gateway invokes (its live alias with SnapStart, else the function)."""
        system, service, stage, channels = self.system, self.service, self.stage, self.channels
        code = lambda_.Code.from_asset(str(stage_service_code(service.name)))
        entries: dict[str, Entry] = {}
        timers = {}
        if service.timers:
            scope = Construct(self, "Timers")
            timers = {t.id: add_timers(scope, t, stage=stage, channels=channels) for t in service.timers}
        for fn in service.functions:
            serves = bool(service.routes_of(fn))
            environment = function_environment(
                system,
                fn,
                stage=stage.name,
                table_name=lambda t: self.tables[t.id].table_name,
                bus_name=lambda _: platform.bus.event_bus_name,
                queue_url=lambda q: channels.queues[q.id].queue_url,
                topic_arn=lambda t: channels.topics[t.id].topic_arn,
                cursor_key_secret=platform.cursor_secret.secret_arn,
                secret_arn=lambda x: platform.secrets[x.id].secret_arn,
                cors_origin=stage.cors_origin,
                function_name=platform.functions.name_of,
                messaging=platform.sending.environment if platform.sending else None,
                public_api_url=stage.api_url,
                timers=lambda t: timers[t.id].config,
            )
            readable = ([platform.cursor_secret] if serves else []) + [
                platform.secrets[x.id] for x in fn.secrets
            ]
            wiring = Wiring(
                self.tables, platform.bus, platform.layer, code, environment, channels, tuple(readable)
            )
            snap_start = serves and stage.snap_start
            function = make_function(
                self, fn, wiring, stage, dead_letter=self._dead_letter(fn), snap_start=snap_start
            )
            tag_id(function, fn.id)
            platform.functions.add(fn, function)
            grant_invocations(system, fn, function, platform.functions)
            for group in fn.timers:
                timers[group.id].grant_to(function, fn)
            if fn.mails and platform.sending is not None:
                grant_sending(function, fn, platform.sending)
            if serves:
                entries[fn.id] = Entry(fn, live_alias(self, fn, function) if snap_start else function)
            cloudwatch.Alarm(
                self,
                f"{fn.id}-errors",
                alarm_description=f"{fn.id} raised errors",
                metric=function.metric_errors(period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ).add_alarm_action(actions.SnsAction(channels.alarms))
            self.functions[fn.id] = function
        for consumer in service.consumers:
            add_consumer(consumer, self.functions[consumer.function.id], channels)
        if service.subscriptions:
            subscriptions = Construct(self, "Subscriptions")
            for subscription in service.subscriptions:
                add_subscription(subscriptions, subscription, channels)
        if service.rules:
            rules = Construct(self, "Rules")
            for rule in service.rules:
                add_rule(rules, rule, bus=platform.bus, functions=self.functions, channels=channels)
        if service.schedules:
            schedules = Construct(self, "Schedules")
            for schedule in service.schedules:
                add_schedule(schedules, schedule, stage=stage, functions=self.functions, channels=channels)
        return entries

    def _dead_letter(self, fn: Function) -> sqs.IQueue | str:
        """The DLQ of the function's asynchronous invocations, or why it needs none."""
        if has_async_dlq(self.system, fn):
            return self.channels.dead_letter_queue(
                self,
                async_dlq_id(fn),
                retention=MAX_RETENTION,
                holds=f"the asynchronous invocations of {fn.id} that failed Lambda's retries",
            )
        consumed = [c.queue.id for c in self.service.consumers if c.function == fn]
        callers = sorted(set(fn.invoked_by) | {c.id for c in self.system.callers_of(fn)})
        if callers and not consumed and not self.service.routes_of(fn):
            return (
                f"Only the functions the topology names ({', '.join(callers)}) invoke it, directly and"
                " synchronously (RequestResponse); a dead-letter target serves async invocations."
            )
        if not consumed:
            return (
                "Only API Gateway invokes it, synchronously; a dead-letter target serves async invocations."
            )
        callers = (
            ["API Gateway", "its SQS event source"]
            if self.service.routes_of(fn)
            else ["its SQS event source"]
        )
        verb = "invoke" if len(callers) > 1 else "invokes"
        return (
            f"Only {' and '.join(callers)} {verb} it, synchronously; a message it fails goes back to"
            f" its queue ({', '.join(consumed)}), then to that queue's DLQ."
        )

    def _table(self, table: Table, stage: StageConfig) -> dynamodb.Table:
        sort_key = table.sort_key
        resource = dynamodb.Table(
            self,
            table.id,
            partition_key=dynamodb.Attribute(
                name=table.partition_key.name, type=ATTR_TYPES[table.partition_key.type]
            ),
            sort_key=dynamodb.Attribute(name=sort_key.name, type=ATTR_TYPES[sort_key.type])
            if sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=stage.prod,
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
            time_to_live_attribute=table.ttl_attribute,
            stream=STREAMS[table.stream] if table.stream else None,
        )
        for index in table.indexes:
            resource.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(
                    name=index.partition_key.name, type=ATTR_TYPES[index.partition_key.type]
                ),
                sort_key=dynamodb.Attribute(name=index.sort_key.name, type=ATTR_TYPES[index.sort_key.type])
                if index.sort_key
                else None,
                projection_type=dynamodb.ProjectionType(index.projection),
            )
        tag_id(resource, table.id)
        waive_checkov(
            resource,
            "CKV_AWS_119",
            "Encrypted at rest with DynamoDB's AWS managed KMS key; each function may touch only its"
            " tables and indexes (IAM). A customer managed key adds per-request KMS cost and a key"
            " policy to keep in step, for a revocation control nothing here uses yet.",
        )
        return resource
