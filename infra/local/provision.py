"""Create on moto (or any DynamoDB/EventBridge endpoint) what the topology declares.

Nothing here names a table, key or index: it all comes from ``SYSTEM``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.topology import EventBus, System, Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient


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
