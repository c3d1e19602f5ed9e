"""moto in-process, with every table created from the topology."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from infra.environment import function_environment
from infra.local import provision
from infra.topology import SYSTEM
from shared import aws
from shared.dynamo import DynamoTable
from shared.topology import Function, Table

STAGE = "test"
CURSOR_KEY = "k" * 40


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws():
        aws.reset_clients()
        yield
    aws.reset_clients()


@pytest.fixture
def tables(moto: None) -> dict[str, str]:
    """Every declared table, created as the local runtime creates them: logical id -> name."""
    return provision.create_tables(boto3.client("dynamodb"), SYSTEM, STAGE)


@pytest.fixture
def bus(moto: None) -> str:
    return provision.create_bus(boto3.client("events"), SYSTEM, STAGE)


def table(declared: Table) -> DynamoTable:
    return DynamoTable(provision.table_name(SYSTEM, STAGE, declared))


def environment_of(function: Function) -> dict[str, str]:
    env = function_environment(
        SYSTEM,
        function,
        stage=STAGE,
        table_name=lambda t: provision.table_name(SYSTEM, STAGE, t),
        bus_name=lambda b: provision.bus_name(SYSTEM, STAGE, b),
    )
    return {**env, "CURSOR_SIGNING_KEY": CURSOR_KEY}


@pytest.fixture
def serialized_moto() -> Iterator[None]:
    """moto is not thread-safe: one request at a time, so races test our code, not moto's."""
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def locked(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = locked  # type: ignore[method-assign]
    yield
    BotocoreStubber.__call__ = original  # type: ignore[method-assign]
