"""Create on moto (or any DynamoDB/EventBridge endpoint) what the topology declares.

Nothing here names a table, key or index: it all comes from ``SYSTEM``.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.environment import timers_environment
from shared.topology import EventBus, Queue, Rule, System, Table, Timers, Topic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


def table_name(system: System, stage: str, table: Table) -> str:
    return f"{system.name}-{stage}-{table.id}"


def bus_name(system: System, stage: str, bus: EventBus) -> str:
    return f"{system.name}-{stage}-{bus.id}"


def table_definition(table: Table, name: str) -> dict[str, Any]:
    """CreateTable parameters for a declared table (on-demand, as deployed)."""
    attrs = {table.partition_key.name: table.partition_key.type.value}
    key_schema = [{"AttributeName": table.partition_key.name, "KeyType": "HASH"}]
    if table.sort_key:
        attrs[table.sort_key.name] = table.sort_key.type.value
        key_schema.append({"AttributeName": table.sort_key.name, "KeyType": "RANGE"})
    definition: dict[str, Any] = {
        "TableName": name,
        "KeySchema": key_schema,
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = []
    for idx in table.indexes:
        attrs[idx.partition_key.name] = idx.partition_key.type.value
        schema = [{"AttributeName": idx.partition_key.name, "KeyType": "HASH"}]
        if idx.sort_key:
            attrs[idx.sort_key.name] = idx.sort_key.type.value
            schema.append({"AttributeName": idx.sort_key.name, "KeyType": "RANGE"})
        indexes.append(
            {"IndexName": idx.name, "KeySchema": schema, "Projection": {"ProjectionType": idx.projection}}
        )
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    if table.stream:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    definition["AttributeDefinitions"] = [{"AttributeName": k, "AttributeType": v} for k, v in attrs.items()]
    return definition


def create_tables(client: DynamoDBClient, system: System, stage: str) -> dict[str, str]:
    """Create every table; returns logical id -> physical name."""
    names = {}
    for table in system.tables:
        name = table_name(system, stage, table)
        client.create_table(**table_definition(table, name))
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        names[table.id] = name
    return names


def create_bus(client: EventBridgeClient, system: System, stage: str) -> str:
    name = bus_name(system, stage, system.bus)
    client.create_event_bus(Name=name)
    return name


# --- messaging ---------------------------------------------------------------------------------


def create_cursor_key_secret(client: Any, system: System, stage: str, value: str) -> str:
    """The stage's cursor-signing key, as the stack's generated secret: its ARN goes to the
    functions that serve routes, which read the value at run time (``shared.secrets``)."""
    name = f"{system.name}-{stage}-cursor-key"
    try:
        return str(client.create_secret(Name=name, SecretString=value)["ARN"])
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
        return str(client.describe_secret(SecretId=name)["ARN"])


def create_platform_secrets(client: Any, system: System, stage: str) -> dict[str, str]:
    """The stage's platform secrets (each generated, as the stack generates them): id -> ARN."""
    arns = {}
    for secret in system.secrets:
        name = f"{system.name}-{stage}-{secret.id}"
        try:
            arns[secret.id] = str(
                client.create_secret(Name=name, SecretString=secrets.token_urlsafe(36))["ARN"]
            )
        except client.exceptions.ResourceExistsException:
            arns[secret.id] = str(client.describe_secret(SecretId=name)["ARN"])
    return arns


def timers_group_name(system: System, stage: str, timers: Timers) -> str:
    """The schedule group of a service's timers, as the deployed stack names it."""
    return f"{system.name}-{stage}-{timers.id}"


def create_timers(scheduler: Any, system: System, stage: str, messaging: Messaging) -> dict[str, str]:
    """Each group of timers' schedule group in moto, and its configuration by id (the JSON the
    functions that set them get). No DLQ: the runtime's scheduler retries in process, and a role
    ARN moto never checks."""
    configs: dict[str, str] = {}
    for timers in system.timers:
        group = timers_group_name(system, stage, timers)
        with contextlib.suppress(scheduler.exceptions.ConflictException):
            scheduler.create_schedule_group(Name=group)
        account = messaging.queue_arns[timers.target.id].split(":")[4]
        configs[timers.id] = timers_environment(
            timers,
            group=group,
            role_arn=f"arn:aws:iam::{account}:role/{group}",
            target_arn=messaging.queue_arns[timers.target.id],
            target_url=messaging.queue_urls[timers.target.id],
            dlq_arn=None,
        )
    return configs


def queue_name(system: System, stage: str, queue_id: str) -> str:
    return f"{system.name}-{stage}-{queue_id}"


def topic_name(system: System, stage: str, topic: Topic) -> str:
    return f"{system.name}-{stage}-{topic.id}"


def rule_name(system: System, stage: str, rule: Rule) -> str:
    return f"{system.name}-{stage}-{rule.id}"


@dataclass(frozen=True)
class Messaging:
    """Physical names and addresses of what was created, by logical id."""

    queue_urls: dict[str, str]
    queue_arns: dict[str, str]
    topic_arns: dict[str, str]
    rule_names: dict[str, str]


def queue_attributes(system: System, queue: Queue, dlq_arn: str) -> dict[str, str]:
    consumer = system.consumer_of(queue)
    visibility = consumer.visibility_timeout_s if consumer else (queue.visibility_timeout_s or 30)
    return {
        "VisibilityTimeout": str(visibility),
        "MessageRetentionPeriod": str(queue.retention_days * 86400),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
        ),
        "SqsManagedSseEnabled": "true",
    }


def create_messaging(
    clients: tuple[SQSClient, SNSClient, EventBridgeClient], system: System, *, stage: str, bus: str
) -> Messaging:
    """Queues with their DLQs, topics with their subscriptions, and the bus's rules with SQS targets."""
    sqs, sns, events = clients
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}

    def make(queue_id: str, attributes: dict[str, str]) -> None:
        name = queue_name(system, stage, queue_id)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        urls[queue_id] = url
        arns[queue_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    for queue in system.queues:
        make(queue.dlq_id, {"MessageRetentionPeriod": str(queue.dlq_retention_days * 86400)})
        make(queue.id, queue_attributes(system, queue, arns[queue.dlq_id]))
    for rule in system.rules:
        make(rule.dlq_id, {"MessageRetentionPeriod": str(14 * 86400)})
    topics = {t.id: sns.create_topic(Name=topic_name(system, stage, t))["TopicArn"] for t in system.topics}
    for sub in system.subscriptions:
        attributes = {"RawMessageDelivery": "true" if sub.raw else "false"}
        if sub.filter_policy:
            attributes |= {"FilterPolicy": sub.filter_policy, "FilterPolicyScope": sub.filter_on}
        sns.subscribe(
            TopicArn=topics[sub.topic.id],
            Protocol="sqs",
            Endpoint=arns[sub.queue.id],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )
    rules: dict[str, str] = {}
    for rule in system.rules:
        name = rule_name(system, stage, rule)
        events.put_rule(Name=name, EventBusName=bus, EventPattern=rule.pattern, State="ENABLED")
        if isinstance(rule.target, Queue):
            events.put_targets(
                Rule=name,
                EventBusName=bus,
                Targets=[
                    {
                        "Id": rule.target.id,
                        "Arn": arns[rule.target.id],
                        "DeadLetterConfig": {"Arn": arns[rule.dlq_id]},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": rule.retry_attempts,
                            "MaximumEventAgeInSeconds": rule.max_event_age_s,
                        },
                    }
                ],
            )
        rules[rule.id] = name
    return Messaging(urls, arns, topics, rules)
