"""Lazily built, cached AWS clients.

Clients are made on first use, never at import: tests (moto) and the local
runtime set the environment first, and a function pays only for the clients
it needs. ``botocore`` is used directly: importing ``boto3`` also imports
``s3transfer`` and the resource layer, a fifth of a second of cold start that
no function here uses. ``AWS_ENDPOINT_URL`` (set by the local runtime) is
honoured by botocore itself.

The first client is made by a function's first request, after its init: that is when
``_init_done`` tells the garbage collector that what init made will live as long as the process.
"""

from __future__ import annotations

import functools
import gc
import os
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient


@functools.cache
def _session() -> Any:
    import botocore.session  # noqa: PLC0415 - deferred for cold start

    return botocore.session.get_session()


@overload
def client(service: Literal["dynamodb"]) -> DynamoDBClient: ...
@overload
def client(service: Literal["events"]) -> EventBridgeClient: ...
@overload
def client(service: Literal["sqs"]) -> SQSClient: ...
@overload
def client(service: Literal["secretsmanager"]) -> Any: ...
@overload
def client(service: Literal["cognito-idp"]) -> Any: ...
@overload
def client(service: Literal["lambda"]) -> Any: ...
@overload
def client(service: Literal["sns", "sesv2", "scheduler"]) -> Any: ...
def client(service: str) -> Any:
    return _client(service, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


@functools.cache
def _client(service: str, region: str | None) -> Any:
    _init_done()
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5, tcp_keepalive=True
    )
    return _session().create_client(service, region_name=region, config=config)


@functools.cache
def _init_done() -> None:
    """Once per Lambda execution environment, before botocore loads its service models: move what
    init made (every module, model and route) into the collector's permanent generation.

    It all lives as long as the process, yet botocore's allocations would set off a full
    collection that walks all of it again: about a tenth of a cold start, and more on every
    later full collection (bench/README.md). Only where ``AWS_LAMBDA_FUNCTION_NAME`` says this is
    a function's own process (Lambda, the local runtime's workers): elsewhere (tests) frozen
    objects would never be collected.
    """
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        gc.freeze()


def prime(*services: str) -> None:
    """Make these clients during init, in a function's own process only (Lambda, the local
    runtime's workers): for a function whose caller waits on a short clock (a user-pool trigger:
    Cognito gives it 5 s, cold start included), so that its first invocation does not load
    botocore's service models too. Elsewhere (tests) nothing happens."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for service in services:
            client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or credentials)."""
    _client.cache_clear()
    _session.cache_clear()
