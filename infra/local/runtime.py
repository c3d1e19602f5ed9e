"""The whole system on one laptop: moto, the topology's resources, Cognito with
demo users and the tills' machine client, function pools, the gateway and demo data; stopped
cleanly together.

Each run has a secret of its own (``local_secret``): ``/_local/*`` takes it in the
``X-Dangol-Local-Secret`` header; it is in ``<state>/local.json`` (mode 0600) for
``dangol-local`` and the tests, with the app clients, the demo users and the URLs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import boto3

from infra import openapi as infra_openapi
from infra.environment import function_environment
from infra.local import cognito, provision
from infra.local.auth import TokenVerifier
from infra.local.bus import TAP_PATTERN, BusTap
from infra.local.clock import SimulatedClock
from infra.local.cognito_api import COGNITO_PATH, CognitoEndpoint
from infra.local.gateway import LOCAL_SECRET_HEADER, Gateway, GatewayServer
from infra.local.invoke_api import InvokeEndpoint, InvokeServer, access_key_of
from infra.local.lambdas import FunctionPool
from infra.local.moto_server import MotoServer
from infra.local.oauth import TOKEN_PATH, TokenEndpoint
from infra.local.outbox import Outbox, OutboxWatcher, campaign_log, create_channels
from infra.local.pollers import QueuePoller
from infra.local.schedules import ScheduleEntry, Scheduler
from infra.local.timekeeper import Timekeeper
from services.campaigns.topology import CAMPAIGNS
from shared.clock import CLOCK_FILE_ENV
from shared.topology import Rule, System

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    moto_port: int = 0
    stage: str = "local"
    region: str = "ap-northeast-2"
    state_dir: Path = Path(".dangol")
    seed: bool = True
    access_log: bool = True
    max_workers: int = 4
    retry_after_s: int | None = None  # local only: how soon a failed SQS message comes back (None: as AWS)
    long_poll_s: int = 20  # SQS long polling of the queue pollers and the bus tap, as Lambda's pollers


@dataclass
class Started:
    url: str
    moto_url: str
    pool: cognito.Pool
    users: dict[str, cognito.DemoUser]
    subjects: dict[str, str] = field(default_factory=dict)
    local_secret: str = ""

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def cognito_url(self) -> str:
        return self.url + COGNITO_PATH


class LocalRuntime:
    def __init__(self, system: System, config: Config = Config()) -> None:
        self.system = system
        self.config = config
        self.state_dir = config.state_dir.resolve()  # workers run in their code asset's folder
        self.pools: dict[str, FunctionPool] = {}
        self._verifier: TokenVerifier | None = None
        self._spec: dict[str, Any] = {}
        self._spec_lock = threading.Lock()
        self.local_secret = secrets.token_urlsafe(32)  # a new one each run: /_local/* takes it
        self._oauth: TokenEndpoint | None = None
        self._cognito: CognitoEndpoint | None = None
        gateway = Gateway(
            system.routes,
            self.pools,
            self.verifier,
            stage=config.stage,
            spec=self.spec,
            access_log=config.access_log,
            admin=self.admin,
            local_secret=self.local_secret,
            endpoints={TOKEN_PATH: self._token_endpoint, COGNITO_PATH: self._cognito_endpoint},
        )
        # Bind first: if the port is taken we fail before starting anything else.
        self.server = GatewayServer(gateway, host=config.host, port=config.port)
        self.moto = MotoServer(config.host, config.moto_port)
        # Lambda's Invoke API for direct invocations: each function signs with its own key.
        self.function_secrets = {f.id: secrets.token_urlsafe(32) for f in system.functions}
        self.invoke_server = InvokeServer(
            InvokeEndpoint(system, self.pools, self.function_secrets, region=config.region), host=config.host
        )
        self._invoking = False
        self.started: Started | None = None
        self.messaging: provision.Messaging | None = None
        self.pollers: list[QueuePoller] = []
        self.tap: BusTap | None = None
        self.clock = SimulatedClock(self.state_dir / "clock.json")
        self.timekeeper: Timekeeper | None = None
        self.channels: dict[str, str] = {}  # the sending functions' variables (outbox.create_channels)
        self.outbox: Outbox | None = None
        self.outbox_watcher: OutboxWatcher | None = None
        self._serving = False
        self._scheduler_client: Any = None
        self._schedule_cache: dict[tuple[str, str, str], ScheduleEntry] = {}

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def local_headers(self) -> dict[str, str]:
        """What a request to ``/_local/*`` of this run carries."""
        return {LOCAL_SECRET_HEADER: self.local_secret}

    def _token_endpoint(
        self, method: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self._oauth is None:
            return 503, [("Content-Type", "application/json")], b'{"error": "temporarily_unavailable"}'
        return self._oauth.handle(method, headers, body)

    def _cognito_endpoint(
        self, method: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self._cognito is None:
            return 503, [("Content-Type", "application/json")], b'{"__type": "InternalErrorException"}'
        return self._cognito.handle(method, headers, body)

    def admin(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        """``/_local/...``: what a developer or a test may ask the running system."""
        if method == "GET" and path == "events" and self.tap is not None:
            first = {k: v[0] for k, v in query.items() if v}
            return 200, {"events": self.tap.events(first.get("detail_type"), first.get("source"))}
        if path == "clock":
            return self._clock_endpoint(method, body)
        if method == "GET" and path == "schedules" and self.timekeeper is not None:
            first = {k: v[0] for k, v in query.items() if v}
            return 200, {
                "now": self.clock.now().isoformat(),
                "schedules": [
                    {
                        "name": e.name,
                        "group": e.group,
                        "expression": e.expression,
                        "timezone": e.timezone,
                        "next_utc": status.next_utc.isoformat() if status.next_utc else None,
                        "fired": status.fired,
                    }
                    for e in self.timekeeper.scheduler.entries()
                    for status in [self.timekeeper.scheduler.status(e.name, e.group)]
                ],
                "fired": self.timekeeper.history(first.get("name")),
                "warnings": list(self.timekeeper.warnings),
            }
        if method == "GET" and path == "messages" and self.outbox is not None:
            return self._messages_endpoint(query)
        if method == "GET" and path == "queues" and self.messaging is not None:
            return 200, {
                "queues": self.queue_depths(),
                "pollers": {p.consumer.queue.id: vars(p.stats) for p in self.pollers},
            }
        return 404, {
            "error": {"code": "route_not_found", "message": "No such local endpoint.", "details": []}
        }

    def _messages_endpoint(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """What the channels sent (moto's SES and SNS), oldest first: ``customer_id`` one
        customer's, ``limit`` the newest that many."""
        assert self.outbox is not None
        first = {k: v[0] for k, v in query.items() if v}
        limit = first.get("limit", "")
        if limit and not (limit.isdigit() and int(limit) > 0):
            return 400, {
                "error": {"code": "invalid_limit", "message": "limit: a positive number", "details": []}
            }
        items = self.outbox.messages(first.get("customer_id"), int(limit) if limit else None)
        return 200, {"items": items}

    def _clock_endpoint(self, method: str, body: bytes) -> tuple[int, Any]:
        """GET: the simulated time. POST {"set": "2026-12-24T09:00", "tz": "Asia/Seoul"},
        {"advance": "1d"}, {"freeze": true}, {"freeze": false} or {"reset": true}."""
        if method == "POST":
            try:
                order = json.loads(body or b"{}")
                if "set" in order and self.timekeeper is not None:
                    self.timekeeper.jump(str(order["set"]), str(order.get("tz", "UTC")))
                elif "set" in order:
                    self.clock.set(str(order["set"]), str(order.get("tz", "UTC")))
                if "advance" in order:
                    self.clock.advance(str(order["advance"]))
                if order.get("freeze") is True:
                    self.clock.freeze()
                if order.get("freeze") is False:
                    self.clock.unfreeze()
                if order.get("reset") and self.timekeeper is not None:
                    self.timekeeper.back_to_real_time()
                elif order.get("reset"):
                    self.clock.reset()
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, {"error": {"code": "invalid_clock", "message": str(exc), "details": []}}
            if self.timekeeper is not None:
                self.timekeeper.tick()  # fire what is now due before answering
        state = self.clock.state()
        frozen_at = state.frozen_at.isoformat() if state.frozen_at else None
        return 200, {"now": self.clock.now().isoformat(), "offset_s": state.offset_s, "frozen_at": frozen_at}

    def queue_depths(self) -> dict[str, int]:
        assert self.messaging is not None
        sqs = self.client("sqs")
        depths = {}
        for queue_id, url in self.messaging.queue_urls.items():
            attrs = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            depths[queue_id] = int(attrs.get("ApproximateNumberOfMessages", 0)) + int(
                attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
            )
        return depths

    def verifier(self) -> TokenVerifier:
        assert self._verifier is not None, "the runtime is not started"
        return self._verifier

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.moto.url,
            region_name=self.config.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def start(self) -> Started:
        cfg = self.config
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.clock.reset()  # every run starts at real time; `dangol-local clock` moves it
        moto_url = self.moto.start()
        self.invoke_server.serve_in_thread()
        self._invoking = True
        provision.create_tables(self.client("dynamodb"), self.system, cfg.stage)
        bus = provision.create_bus(self.client("events"), self.system, cfg.stage)
        clients = (self.client("sqs"), self.client("sns"), self.client("events"))
        self.messaging = provision.create_messaging(clients, self.system, stage=cfg.stage, bus=bus)
        self._start_channels()
        idp = self.client("cognito-idp")
        pool = cognito.create_pool(
            idp, name=f"{self.system.name}-{cfg.stage}", endpoint=moto_url, region=cfg.region
        )
        users = {u.username: u for u in (*cognito.DEMO_USERS, *cognito.DEMO_CUSTOMERS)}
        subjects = {u.username: cognito.add_user(idp, pool, u) for u in users.values()}
        self._verifier = TokenVerifier(pool.jwks(), issuer=pool.issuer, client_ids=pool.client_ids)
        self._oauth = TokenEndpoint(self.client("cognito-idp"), pool.pool_id, pool.issuer)
        self._start_functions(moto_url)
        self._cognito = CognitoEndpoint(
            moto_url,
            self.client("cognito-idp"),
            pool,
            {t.event: self.pools[t.function.id] for t in self.system.triggers},
        )
        self._start_backbone(bus)
        self.server.serve_in_thread()
        self._serving = True
        self.started = Started(self.url, moto_url, pool, users, subjects, self.local_secret)
        self._write_state(self.started)
        return self.started

    def _start_functions(self, moto_url: str) -> None:
        cfg = self.config
        assert self.messaging is not None
        messaging = self.messaging
        common = {
            **LOCAL_CREDENTIALS,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ENDPOINT_URL_LAMBDA": self.invoke_server.url,  # botocore prefers it for Lambda
            "AWS_REGION": cfg.region,
            "AWS_DEFAULT_REGION": cfg.region,
            CLOCK_FILE_ENV: str(self.state_dir / "clock.json"),  # the functions see the simulated clock too
        }
        # A new key each run: cursors of a past run are refused.
        platform_secrets = provision.create_platform_secrets(
            self.client("secretsmanager"), self.system, cfg.stage
        )
        cursor_secret = provision.create_cursor_key_secret(
            self.client("secretsmanager"), self.system, cfg.stage, secrets.token_urlsafe(32)
        )
        timers = provision.create_timers(self.client("scheduler"), self.system, cfg.stage, messaging)
        for fn in self.system.functions:
            env = function_environment(
                self.system,
                fn,
                stage=cfg.stage,
                table_name=lambda t: provision.table_name(self.system, cfg.stage, t),
                bus_name=lambda b: provision.bus_name(self.system, cfg.stage, b),
                queue_url=lambda q: messaging.queue_urls[q.id],
                topic_arn=lambda t: messaging.topic_arns[t.id],
                cursor_key_secret=cursor_secret,
                secret_arn=lambda x: platform_secrets[x.id],
                function_name=lambda f: f.id,  # a local function's name is its id
                messaging=self.channels,
                public_api_url=self.url,  # links in messages point to this gateway
                timers=lambda t: timers[t.id],
            )
            own = {  # who is calling, for the Invoke endpoint; any key is moto's default account
                "AWS_ACCESS_KEY_ID": access_key_of(fn.id),
                "AWS_SECRET_ACCESS_KEY": self.function_secrets[fn.id],
            }
            self.pools[fn.id] = FunctionPool(
                fn,
                {**common, **own, **env},
                self.state_dir / "logs",
                max_workers=cfg.max_workers,
                code_dir=self.state_dir / "code",
            )
        # A user-pool trigger's pool starts full, every worker warm (Cognito waits 5 s for a trigger,
        # init included): sign-ups side by side would otherwise each start a worker cold at once,
        # and on two busy cores those inits ran past the 5 s (AWS starts them on separate hosts).
        # An API function starts cold at its first request, as on Lambda: the OpenAPI document is
        # asked of them when it is first read (``spec``), not at every start.
        triggers = sorted({t.function.id for t in self.system.triggers})
        with ThreadPoolExecutor(max_workers=4) as executor:
            warming = [executor.submit(self.pools[f].warm) for f in triggers for _ in range(cfg.max_workers)]
            for warmed in warming:
                warmed.result()

    def spec(self) -> dict[str, Any]:
        """The API's OpenAPI document, each API function asked for its part at the first read (the
        first ``/openapi.json`` or ``/docs`` pays their cold starts), then kept."""
        with self._spec_lock:
            if not self._spec:
                api_functions = sorted({r.function.id for r in self.system.routes})
                with ThreadPoolExecutor(max_workers=4) as executor:
                    parts = list(executor.map(lambda fid: self.pools[fid].openapi(), api_functions))
                self._spec = infra_openapi.merge(self.system, parts, server_url=self.url, version=_version())
            return self._spec

    def _start_channels(self) -> None:
        """SES's identity and configuration set and SNS's platform applications on moto, and the
        outbox that reads what was sent through them (``infra.local.outbox``)."""
        cfg = self.config
        prefix = f"{self.system.name}-{cfg.stage}"
        self.channels = create_channels(self.client("sesv2"), self.client("sns"), prefix=prefix)
        table = next((t for t in self.system.tables if t.id == CAMPAIGNS.id), None)
        dynamodb = self.client("dynamodb")
        self.outbox = Outbox(
            region=cfg.region,
            lock=lambda: self.moto.app.lock,
            log=None
            if table is None
            else lambda: campaign_log(dynamodb, provision.table_name(self.system, cfg.stage, table)),
        )
        if cfg.access_log:  # --quiet: no access log, no outbox lines either
            self.outbox_watcher = OutboxWatcher(self.outbox, _to_stderr)
            self.outbox_watcher.start()

    def _start_backbone(self, bus: str) -> None:
        """The bus tap (archive + function targets) and one poller per queue consumer."""
        cfg = self.config
        assert self.messaging is not None
        sqs = self.client("sqs")
        events = self.client("events")
        tap_name = provision.queue_name(self.system, cfg.stage, "local-bus-tap")
        tap_url = sqs.create_queue(QueueName=tap_name)["QueueUrl"]
        tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name=tap_name, EventBusName=bus, EventPattern=TAP_PATTERN, State="ENABLED")
        events.put_targets(Rule=tap_name, EventBusName=bus, Targets=[{"Id": "tap", "Arn": tap_arn}])
        messaging = self.messaging

        def dead_letter(rule: Rule, event: dict[str, Any], error: str) -> None:
            sqs.send_message(
                QueueUrl=messaging.queue_urls[rule.dlq_id],
                MessageBody=json.dumps(event),
                MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": error or "error"}},
            )

        self.tap = BusTap(
            sqs,
            tap_url=tap_url,
            archive=self.state_dir / "events.jsonl",
            rules=self.system.rules,
            pools=self.pools,
            dead_letter=dead_letter,
            long_poll_s=cfg.long_poll_s,
        )
        self.tap.start()
        scheduler = Scheduler.from_topology(self.system.schedules, now=self.clock.now())

        def send(queue: str, body: str) -> None:
            url = messaging.queue_urls.get(queue) or next(
                (messaging.queue_urls[q] for q, arn in messaging.queue_arns.items() if arn == queue), None
            )
            if url is not None:
                sqs.send_message(QueueUrl=url, MessageBody=body)

        self.timekeeper = Timekeeper(  # a tick a second: schedules are by the minute; idle costs little
            scheduler,
            self.clock,
            pools=self.pools,
            send=send,
            api_schedules=self._api_schedules,
            delete_api_schedule=self._delete_api_schedule,
            tick_s=TICK_S,
        )
        self.timekeeper.start()
        for consumer in self.system.consumers:
            poller = QueuePoller(
                consumer,
                self.pools[consumer.function.id],
                self.client("sqs"),
                queue_url=messaging.queue_urls[consumer.queue.id],
                queue_arn=messaging.queue_arns[consumer.queue.id],
                region=cfg.region,
                retry_after_s=cfg.retry_after_s,
                long_poll_s=cfg.long_poll_s,
            )
            poller.start()
            self.pollers.append(poller)

    def _api_schedules(self) -> list[ScheduleEntry]:
        """The schedules services created through the EventBridge Scheduler API (on moto): every
        page of the list, and each schedule read again only when it changed (a service may hold
        thousands of timers; reading each every 2 s would cost the idle CPU)."""
        if self._scheduler_client is None:  # one client: making one every 2 s cost the idle CPU
            self._scheduler_client = self.client("scheduler")
        client = self._scheduler_client
        entries, seen = [], set()
        for page in client.get_paginator("list_schedules").paginate():
            for summary in page.get("Schedules", []):
                group = summary.get("GroupName", "default")
                key = (group, summary["Name"], str(summary.get("LastModificationDate")))
                seen.add(key)
                if key not in self._schedule_cache:
                    found = client.get_schedule(Name=summary["Name"], GroupName=group)
                    target = found["Target"]
                    self._schedule_cache[key] = ScheduleEntry(
                        name=found["Name"],
                        group=found.get("GroupName", "default"),
                        expression=found["ScheduleExpression"],
                        timezone=found.get("ScheduleExpressionTimezone") or "UTC",
                        target=target["Arn"],
                        input=target.get("Input") or "{}",
                        state=found.get("State", "ENABLED"),
                        action_after_completion=found.get("ActionAfterCompletion") or "NONE",
                        start_date=found.get("StartDate"),
                        end_date=found.get("EndDate"),
                        retry_attempts=(target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185),
                    )
                entries.append(self._schedule_cache[key])
        for gone in set(self._schedule_cache) - seen:
            del self._schedule_cache[gone]
        return entries

    def _delete_api_schedule(self, group: str, name: str) -> None:
        """What EventBridge Scheduler does once a one-time schedule with DELETE has fired."""
        client = self._scheduler_client or self.client("scheduler")
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_schedule(Name=name, GroupName=group)

    def _write_state(self, started: Started) -> None:
        state = {
            "url": started.url,
            "moto_url": started.moto_url,
            "token_url": started.token_url,
            "cognito_url": started.cognito_url,
            "region": self.config.region,
            "pool_id": started.pool.pool_id,
            "client_id": started.pool.client_id,
            "machine_client_id": started.pool.machine_client_id,
            "machine_client_secret": started.pool.machine_client_secret,
            "local_secret": started.local_secret,
            "users": {
                u.username: {
                    "password": u.password,
                    "role": u.role.value,
                    "sub": started.subjects[u.username],
                }
                for u in started.users.values()
            },
        }
        write_private(self.state_dir / STATE_FILE, json.dumps(state, indent=2))

    def stop(self) -> None:
        """Stop what was started, in reverse; safe after a start that was interrupted."""
        if self._serving:
            self.server.shutdown()
            self._serving = False
        self.server.server_close()
        if self.timekeeper is not None:
            self.timekeeper.stop()
        if self.outbox_watcher is not None:
            self.outbox_watcher.stop()
        for poller in self.pollers:  # all at once: the wait is the longest batch, not their sum
            poller.signal_stop()
        for poller in self.pollers:
            poller.stop(wait_s=STOP_WAIT_S)
        if self.tap is not None:
            self.tap.stop()
        for pool in self.pools.values():  # every worker told at once, then each waited for
            pool.begin_close()
        for pool in self.pools.values():
            pool.close()
        if self._invoking:
            self.invoke_server.shutdown()
            self._invoking = False
        self.invoke_server.server_close()
        self.moto.stop()
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)


def _to_stderr(line: str) -> None:
    """Where ``make run`` shows what the gateway served, and what the channels sent."""
    sys.stderr.write(line + "\n")


TICK_S = 1.0
STOP_WAIT_S = 10  # Ctrl-C lets a batch in flight finish this long; its worker is then stopped


def _version() -> str:
    try:
        return version("dangol")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        return "0.0.0"


STATE_FILE = "local.json"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, from its first byte (created 0600, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is the local system running (make run)?")
    return dict(json.loads(path.read_text()))
