"""moto in-process, with every table created from the topology."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

import infra.local.moto_transactions  # noqa: F401  moto's transactions at AWS's cost
from infra.environment import function_environment, messaging_environment, timers_environment
from infra.local import provision
from infra.local.pollers import sqs_record
from infra.topology import SYSTEM
from services.profile.topology import API as PROFILE_API
from shared import aws, secrets
from shared.clock import CLOCK_FILE_ENV, ClockState
from shared.dynamo import DynamoTable
from shared.topology import Function, Queue, Table
from tests.integration.apigw import ACCOUNT, POOL, REGION, Invoker, LambdaContext

STAGE = "test"
CURSOR_KEY = "k" * 40


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_model_loader() -> Iterator[None]:
    """Parse botocore's service models once per test run, not once per fresh session.

    Every test starts from fresh botocore sessions (``aws.reset_clients``), and
    each would parse the DynamoDB and endpoint models again (about 0.2 s a test).
    The loader only reads botocore's bundled JSON, so sharing it changes nothing
    but the time.
    """
    loaders: dict[str | None, Any] = {}

    def shared_loader(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared_loader)
        yield


@pytest.fixture
def moto() -> Iterator[None]:
    """moto, with the stage's cursor-signing key in Secrets Manager (what functions read)."""
    with mock_aws():
        aws.reset_clients()
        secrets.CACHE.forget()
        provision.create_cursor_key_secret(boto3.client("secretsmanager"), SYSTEM, STAGE, CURSOR_KEY)
        provision.create_platform_secrets(boto3.client("secretsmanager"), SYSTEM, STAGE)
        yield
    POOL.issuer = None
    aws.reset_clients()
    secrets.CACHE.forget()


@pytest.fixture
def user_pool(moto: None) -> str:
    """The stage's user pool on moto, the issuer of every token the test's events carry (as on AWS,
    where customers and staff sign in to one pool): what erasure reaches. Only tests that reach a
    login ask for it (moto loads an RSA key per pool)."""
    pool = boto3.client("cognito-idp").create_user_pool(PoolName=f"{SYSTEM.name}-{STAGE}")["UserPool"]
    POOL.issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
    return str(pool["Id"])


@pytest.fixture
def tables(moto: None) -> dict[str, str]:
    """Every declared table, created as the local runtime creates them: logical id -> name."""
    return provision.create_tables(boto3.client("dynamodb"), SYSTEM, STAGE)


@pytest.fixture
def bus(moto: None) -> str:
    return provision.create_bus(boto3.client("events"), SYSTEM, STAGE)


def cursor_key_secret() -> str:
    """The id functions read the cursor key by (its name: Secrets Manager takes a name or an ARN)."""
    return f"{SYSTEM.name}-{STAGE}-cursor-key"


def table(declared: Table) -> DynamoTable:
    return DynamoTable(provision.table_name(SYSTEM, STAGE, declared))


def queue_url(queue: Queue) -> str:
    """moto's address of the queue that ``provision.create_messaging`` makes."""
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{provision.queue_name(SYSTEM, STAGE, queue.id)}"


EMAIL_SENDER = "hello@dangol.test"
PUBLIC_API_URL = "https://api.dangol.test"


def environment_of(function: Function) -> dict[str, str]:
    env = function_environment(
        SYSTEM,
        function,
        stage=STAGE,
        table_name=lambda t: provision.table_name(SYSTEM, STAGE, t),
        bus_name=lambda b: provision.bus_name(SYSTEM, STAGE, b),
        # moto's address of the queue that provision.create_messaging makes
        queue_url=lambda q: (
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{provision.queue_name(SYSTEM, STAGE, q.id)}"
        ),
        cursor_key_secret=cursor_key_secret(),
        secret_arn=lambda x: f"{SYSTEM.name}-{STAGE}-{x.id}",  # Secrets Manager takes a name too
        function_name=lambda f: f"{SYSTEM.name}-{STAGE}-{f.id}",  # the functions it may invoke
        # the channels: a test that sends verifies this identity in moto SES first
        messaging=messaging_environment(sender=EMAIL_SENDER, configuration_set=None, push_applications={}),
        public_api_url=PUBLIC_API_URL,  # what opt-out links point to
        # moto's addresses of what provision.create_messaging and create_timers make
        topic_arn=lambda t: f"arn:aws:sns:{REGION}:{ACCOUNT}:{provision.topic_name(SYSTEM, STAGE, t)}",
        timers=lambda t: timers_environment(
            t,
            group=provision.timers_group_name(SYSTEM, STAGE, t),
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/{provision.timers_group_name(SYSTEM, STAGE, t)}",
            target_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{provision.queue_name(SYSTEM, STAGE, t.target.id)}",
            target_url=queue_url(t.target),
            dlq_arn=None,
        ),
    )
    return env


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


# --- functions under test -------------------------------------------------------------------------


def scan_all(declared: Table) -> list[dict[str, Any]]:
    """Every item of a declared table (a full, consistent scan)."""
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "TableName": provision.table_name(SYSTEM, STAGE, declared),
        "ConsistentRead": True,
    }
    while True:
        out = client.scan(**params)
        items += out["Items"]
        if "LastEvaluatedKey" not in out:
            return items
        params["ExclusiveStartKey"] = out["LastEvaluatedKey"]


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Function], None]:
    """Give the process the environment a declared function runs with (undone after the test)."""

    def apply(function: Function) -> None:
        for name, value in environment_of(function).items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.fixture
def lambda_function(
    tables: dict[str, str], bus: str, function_env: Callable[[Function], None]
) -> Iterator[Callable[[Function], Invoker]]:
    """Cold-start a declared function on moto and return its real entry point.

    The handler module is (re)imported after its environment is set, as Lambda
    does: module-level objects (the Powertools metrics namespace, the resolver)
    are built once per cold start, and so is the ``dependencies()`` cache.
    """
    started: list[ModuleType] = []

    def start(function: Function) -> Invoker:
        function_env(function)
        module = importlib.reload(importlib.import_module(function.module))
        if hasattr(module, "dependencies"):
            module.dependencies.cache_clear()
        started.append(module)
        return Invoker(function, getattr(module, function.entry))

    yield start
    for module in started:
        if hasattr(module, "dependencies"):
            module.dependencies.cache_clear()


def _own_current_event(app: APIGatewayRestResolver) -> None:
    """Powertools keeps the event being resolved on its ``BaseRouter`` class (one request at a
    time per Lambda process). Threads standing for separate execution environments would read one
    another's event, body included: each resolver keeps its own on the instance instead."""
    resolve = app.resolve

    def own(event: dict[str, Any], context: Any) -> dict[str, Any]:
        app.__dict__["current_event"] = app._to_proxy_event(event)
        app.__dict__["lambda_context"] = context
        return dict(resolve(event, context))

    app.resolve = own  # type: ignore[method-assign]


@pytest.fixture
def execution_environments(
    tables: dict[str, str], bus: str, function_env: Callable[[Function], None]
) -> Iterator[Callable[[Function], Invoker]]:
    """Each call: a new, separate execution environment of a function (its own module instance).

    Lambda runs one request at a time per execution environment; concurrent
    requests land in different environments, which share nothing but AWS. The
    resolver keeps the current event on itself, so threads must not share one.
    """
    loaded: list[str] = []

    def start(function: Function) -> Invoker:
        function_env(function)
        spec = importlib.util.find_spec(function.module)
        assert spec is not None
        assert spec.origin is not None
        name = f"{function.module}__env_{uuid.uuid4().hex[:8]}"
        copy = importlib.util.spec_from_file_location(name, spec.origin)
        assert copy is not None
        assert copy.loader is not None
        module = importlib.util.module_from_spec(copy)
        sys.modules[name] = module
        loaded.append(name)
        copy.loader.exec_module(module)
        if isinstance(app := getattr(module, "app", None), APIGatewayRestResolver):
            _own_current_event(app)
        return Invoker(function, getattr(module, function.entry))

    yield start
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture
def profile_api(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    """The profile API function, cold-started on moto with its declared environment."""
    return lambda_function(PROFILE_API)


class BusWatch:
    """What reached the bus, as a queue subscribed to the given detail-types sees it."""

    def __init__(self, bus: str, detail_types: list[str]) -> None:
        self.sqs, events = boto3.client("sqs"), boto3.client("events")
        self.url = self.sqs.create_queue(QueueName="watched")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
        pattern = json.dumps({"detail-type": detail_types})
        events.put_rule(Name="watched", EventBusName=bus, EventPattern=pattern)
        target = {"Id": "q", "Arn": attributes["Attributes"]["QueueArn"]}
        events.put_targets(Rule="watched", EventBusName=bus, Targets=[target])  # type: ignore[list-item]
        self.arrived: list[dict[str, Any]] = []

    def _receive(self) -> None:
        while batch := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            self.arrived += [json.loads(m["Body"]) for m in batch]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)  # type: ignore[arg-type]

    def all(self) -> list[dict[str, Any]]:
        """Every event not yet returned, oldest first."""
        self._receive()
        found, self.arrived = self.arrived, []
        return found

    def data(self, detail_type: str) -> list[dict[str, Any]]:
        """The data of the events of that type not yet returned."""
        self._receive()
        found = [e["detail"]["data"] for e in self.arrived if e["detail-type"] == detail_type]
        self.arrived = [e for e in self.arrived if e["detail-type"] != detail_type]
        return found


class QueueDrain:
    """Lambda's SQS event source, by hand: receive up to 10, invoke, delete them, count failures."""

    def __init__(self, invoker: Invoker, messaging: provision.Messaging, queue: Queue) -> None:
        self.invoker = invoker
        self.sqs = boto3.client("sqs")
        self.url = messaging.queue_urls[queue.id]
        self.arn = messaging.queue_arns[queue.id]
        self.delivered: list[dict[str, Any]] = []  # every message so far, to replay

    def deliver(self, messages: list[dict[str, Any]]) -> list[str]:
        records = [sqs_record(m, queue_arn=self.arn, region=REGION) for m in messages]
        out = self.invoker.handler({"Records": records}, LambdaContext.of(self.invoker.function))
        return [f["itemIdentifier"] for f in out["batchItemFailures"]]

    def __call__(self, *, expect_failures: int = 0) -> int:
        """Process everything queued; returns how many messages were delivered."""
        count = failed = 0
        while batch := self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", []):
            failures = set(self.deliver(batch))
            for m in batch:
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
            self.delivered += batch
            failed += len(failures)
            count += len(batch)
        assert failed == expect_failures, f"{failed} message(s) failed"
        return count


# --- the functions' clock -------------------------------------------------------------------------

FROZEN_AT = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)  # 12:00 in Seoul: hours from the day's turn (15:00 UTC)


@pytest.fixture
def frozen_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """The functions' clock standing still at ``FROZEN_AT`` (``utc_now`` follows the clock file
    named in ``DANGOL_CLOCK_FILE``); call it with another instant to move it there. A test stamps
    its data from the same instant, never from the real clock."""
    path = tmp_path / "frozen-clock.json"
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))

    def at(moment: datetime) -> None:
        path.write_text(ClockState(frozen_at=moment).to_json(), encoding="utf-8")

    at(FROZEN_AT)
    return at
