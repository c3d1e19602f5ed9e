"""What the synthesized template and the local runtime each say exists, in one comparable shape."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws

from infra.local import provision
from infra.local.gateway import Router
from infra.stacks.service import ID_TAG
from shared.topology import System

TableShape = dict[str, Any]
RouteShape = tuple[str, str, str, bool]  # method, path, function id, needs a Cognito token


def _tag(resource: dict[str, Any]) -> str | None:
    tags = resource.get("Properties", {}).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == ID_TAG), None)


def _keys(schema: list[dict[str, str]], types: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in schema)


def _shape(description: dict[str, Any], ttl: str | None) -> TableShape:
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    return {
        "keys": _keys(description["KeySchema"], types),
        "indexes": sorted(
            (g["IndexName"], _keys(g["KeySchema"], types), g["Projection"]["ProjectionType"])
            for g in description.get("GlobalSecondaryIndexes", [])
        ),
        "ttl": ttl,
        "stream": (description.get("StreamSpecification") or {}).get("StreamViewType"),
    }


def template_tables(template: dict[str, Any]) -> dict[str, TableShape]:
    tables = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        ttl = props.get("TimeToLiveSpecification", {})
        tables[str(_tag(resource))] = _shape(props, ttl.get("AttributeName") if ttl.get("Enabled") else None)
    return tables


def local_tables(system: System, stage: str = "local") -> dict[str, TableShape]:
    """Create the tables as `dangol-local up` does (on moto) and describe what exists."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-2")
        names = provision.create_tables(client, system, stage)
        tables = {}
        for table_id, name in names.items():
            description = client.describe_table(TableName=name)["Table"]
            ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            enabled = ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}
            tables[table_id] = _shape(description, ttl.get("AttributeName") if enabled else None)
        return tables


def _resource_paths(resources: dict[str, dict[str, Any]]) -> dict[str, str]:
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::ApiGateway::Resource":
            path_of(logical_id)
    return paths


def _integration_function(method: dict[str, Any], functions: dict[str, str]) -> str:
    uri = method["Properties"]["Integration"]["Uri"]
    parts = uri["Fn::Join"][1]
    for part in parts:
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return functions[part["Fn::GetAtt"][0]]
    raise AssertionError(f"no function in integration {uri}")


def template_routes(template: dict[str, Any]) -> set[RouteShape]:
    resources = template["Resources"]
    paths = _resource_paths(resources)
    functions = {k: str(_tag(v)) for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    routes = set()
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::ApiGateway::Method" or props["HttpMethod"] == "OPTIONS":
            continue
        resource_id = props["ResourceId"]
        path = paths[resource_id["Ref"]] if "Ref" in resource_id else "/"
        authorized = props.get("AuthorizationType") == "COGNITO_USER_POOLS" and "AuthorizerId" in props
        routes.add((props["HttpMethod"], path, _integration_function(resource, functions), authorized))
    return routes


def local_routes(system: System) -> set[RouteShape]:
    """What the local gateway serves: its router resolves each path to a function, and the gateway
    checks a Cognito token before any function runs (on every route: there are no public ones)."""
    router = Router(system.routes)
    served = set()
    for route in system.routes:
        matched, _ = router.match(route.method, route.path)  # a template path matches itself
        served.add((matched.method, matched.path, matched.function.id, True))
    return served
