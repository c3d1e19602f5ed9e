"""The vocabulary of the one topology: plain, frozen data with no CDK or boto3 import.

Each service declares what it owns (tables, functions, routes) in its own
``services/<svc>/topology.py`` with these types; ``infra/topology.py`` assembles
them with the platform's resources into the one ``System`` that the CDK stacks
(``infra/``) and the local runtime (``infra/local/``) are both built from.
Code refers to these objects (a table's key names, a route's path) instead of
writing the strings again, so a name or key schema is written exactly once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.auth import Role

_ID = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
_PATH_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


class AttrType(StrEnum):
    S = "S"
    N = "N"
    B = "B"


@dataclass(frozen=True)
class Attr:
    name: str
    type: AttrType = AttrType.S


@dataclass(frozen=True)
class Index:
    """A global secondary index."""

    name: str
    partition_key: Attr
    sort_key: Attr | None = None
    projection: str = "ALL"  # ALL | KEYS_ONLY


@dataclass(frozen=True)
class Table:
    """A DynamoDB table (on-demand). ``id`` is logical; physical names are per stage."""

    id: str
    partition_key: Attr
    sort_key: Attr | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: str | None = None  # NEW_IMAGE | NEW_AND_OLD_IMAGES | KEYS_ONLY | OLD_IMAGE

    @property
    def env_var(self) -> str:
        """The environment variable a function reads this table's name from."""
        return f"{self.id.upper().replace('-', '_')}_TABLE"

    @property
    def sort_key_name(self) -> str:
        return self.sort_key.name if self.sort_key else "sk"

    @property
    def ttl_name(self) -> str:
        return self.ttl_attribute or "expires_at"

    def index(self, name: str) -> Index:
        for idx in self.indexes:
            if idx.name == name:
                return idx
        raise KeyError(f"table {self.id} has no index {name}")


class Access(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


@dataclass(frozen=True)
class TableAccess:
    """A function's use of a table: read or read-write, and which indexes it queries."""

    table: Table
    access: Access = Access.READ_WRITE
    indexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlatformSecret:
    """A secret of the stage's (generated once, never in a template or an environment); the
    functions that declare it get its ARN in ``<ID>_SECRET_ARN`` and read it at run time."""

    id: str
    description: str

    @property
    def env_var(self) -> str:
        return f"{self.id.upper().replace('-', '_')}_SECRET_ARN"


@dataclass(frozen=True)
class EventBus:
    id: str

    @property
    def env_var(self) -> str:
        return "EVENT_BUS_NAME"


@dataclass(frozen=True)
class Queue:
    """An SQS queue; every queue has a dead-letter queue (``<id>-dlq``).

    ``visibility_timeout_s`` defaults to what its consumer needs: six times the
    function's timeout plus the batching window (AWS's guidance), so a message is
    never redelivered while a batch that holds it may still be running.
    """

    id: str
    max_receive_count: int = 5
    visibility_timeout_s: int | None = None
    retention_days: int = 4
    dlq_retention_days: int = 14

    @property
    def env_var(self) -> str:
        return f"{self.id.upper().replace('-', '_')}_QUEUE_URL"

    @property
    def dlq_id(self) -> str:
        return f"{self.id}-dlq"


@dataclass(frozen=True)
class Topic:
    """An SNS topic (encrypted, SSL-only) that fans out to queues."""

    id: str
    # SES event types (``DELIVERY``, ``BOUNCE``, ``COMPLAINT``, ...) the stage's configuration set
    # publishes to it: an event destination, and a topic policy letting SES (from this account and
    # that configuration set only) publish. AWS only: moto publishes no SES events.
    email_events: tuple[str, ...] = ()

    @property
    def env_var(self) -> str:
        return f"{self.id.upper().replace('-', '_')}_TOPIC_ARN"


@dataclass(frozen=True)
class Timers:
    """One-time timers a service sets at run time: EventBridge Scheduler schedules (``at(...)``,
    deleted once they fire) in a schedule group of the stage's own, each sending its input to
    ``target`` (a queue of the service). The Scheduler sends with a role that may reach the target
    and the group's DLQ only; the functions that declare them (``Function.timers``) may create,
    read, update and delete schedules in that group, and pass that role, nothing more. They get
    the group, the role, the target and the DLQ in ``<ID>_TIMERS`` (JSON: ``shared.timers``).
    Locally the runtime's scheduler fires them on the simulated clock."""

    id: str
    target: Queue
    retry_attempts: int = 3
    max_event_age_s: int = 3600

    @property
    def env_var(self) -> str:
        return f"{self.id.upper().replace('-', '_')}_TIMERS"

    @property
    def dlq_id(self) -> str:
        return f"{self.id}-timers-dlq"


@dataclass(frozen=True)
class Function:
    """A Lambda function. ``handler`` is the dotted path of its entry point."""

    id: str
    service: str
    handler: str
    description: str
    memory_mb: int = 512
    timeout_s: int = 10
    tables: tuple[TableAccess, ...] = ()
    publishes_to: EventBus | None = None
    sends_to: tuple[Queue, ...] = ()  # queues it sends messages to
    notifies: tuple[Topic, ...] = ()  # topics it publishes to
    timers: tuple[Timers, ...] = ()  # one-time timers it sets and cancels at run time
    environment: tuple[tuple[str, str], ...] = ()
    # What it may do to the logins of the stage's user pool (Cognito actions, e.g. AdminDeleteUser);
    # the pool is the one that issued the token or event it handles.
    logins: tuple[str, ...] = ()
    # The platform's secrets it reads at run time (their ARNs in <ID>_SECRET_ARN, shared/secrets.py).
    secrets: tuple[PlatformSecret, ...] = ()
    # Functions of its own service it may invoke directly (lambda:InvokeFunction, synchronously);
    # each callee's name is in the callee's ``env_var``. Across services the callee names its
    # callers instead (``invoked_by``): a service never imports another to name its function.
    invokes: tuple[Function, ...] = ()
    # The ids of the functions (of any service) that may invoke it directly: the owner of what it
    # answers decides who may ask. A function invoked directly serves no route.
    invoked_by: tuple[str, ...] = ()
    # It sends messages to customers: e-mail through SES v2 (the platform's identity and
    # configuration set), SMS and mobile push through SNS (phone numbers, platform endpoints).
    sends_messages: bool = False
    # It mails staff (a digest to those who subscribed): e-mail through SES v2, as the stage's sender
    # and in its configuration set, and nothing else of the channels (no SMS, no push).
    mails_staff: bool = False

    @property
    def mails(self) -> bool:
        """It sends e-mail through the stage's identity (customers' messages or staff mail)."""
        return self.sends_messages or self.mails_staff

    # It writes links to the API that customers follow from outside (opt-out links in messages):
    # it gets the API's public base URL (the stage's, or the local runtime's) in PUBLIC_API_URL.
    links_to_api: bool = False

    @property
    def env_var(self) -> str:
        """The environment variable a caller reads this function's name from."""
        return f"{self.id.upper().replace('-', '_')}_FUNCTION"

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def entry(self) -> str:
        return self.handler.rsplit(".", 1)[1]


SMALL_BODY_BYTES = 8 * 1024  # most JSON bodies; AWS's core WAF rule set blocks larger ones
CONFIG_BODY_BYTES = 16 * 1024  # a staff-written configuration or note (16 KB: what WAF inspects)


@dataclass(frozen=True)
class Route:
    """An API route, who may call it, and the function that serves it.

    ``path`` uses API Gateway's template syntax (``/customers/{customer_id}``).
    ``allow`` lists the roles that may call it; the function enforces it (the
    authorizer only proves who the caller is).

    ``public``: anyone may call it, without a token (``allow`` is then empty): no authorizer on
    AWS, no token check locally, no caller in the function; the WAF limits it per client IP. Only
    for what must work from outside any login (a one-click opt-out link in an e-mail): the route's
    own input (a signed token) must carry everything it needs and be checked by the function.
    """

    method: str
    path: str
    function: Function
    allow: frozenset[Role]
    summary: str
    # What the body may be at most: the function answers 413 above it, and the WAF follows it
    # (AWS's core rule set blocks bodies over 8 KB; a route that declares more is let through it).
    max_body_bytes: int = SMALL_BODY_BYTES
    idempotent: bool = field(default=False)  # honours Idempotency-Key (mutating routes)
    # A retry without the key would repeat the effect (a second goodwill credit, a second import):
    # the key is required (428 without it). Routes idempotent by their own ids need none.
    key_required: bool = False
    # The resource has a version: the route answers its ETag and, if it writes, reads If-Match.
    versioned: bool = False
    media_types: tuple[str, ...] = ("application/json",)  # what the body may be (JSON is parsed first)
    public: bool = False  # no token, no caller: see above
    # A public route takes the WAF's tighter per-IP rate for public routes, unless its callers are a
    # few machines that sign what they send (a social source's webhook: X's and Meta's servers
    # deliver every mention from a handful of IPs); the API's per-IP rate still applies to it.
    public_rate_limited: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def powertools_path(self) -> str:
        """The same path in Powertools' ``<param>`` syntax."""
        return _PATH_PARAM.sub(r"<\1>", self.path)

    @property
    def has_body(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Consumer:
    """A function fed by a queue: a Lambda event source mapping that reports
    partial batch failures (only failed records are retried)."""

    function: Function
    queue: Queue
    batch_size: int = 10
    window_s: int = 0
    # How many functions Lambda's poller may run at once for this queue (2..1000): every queue has
    # a cap, so a backlog can never take the concurrency the API needs.
    max_concurrency: int = 5

    @property
    def visibility_timeout_s(self) -> int:
        return self.queue.visibility_timeout_s or 6 * self.function.timeout_s + self.window_s


@dataclass(frozen=True)
class Subscription:
    """An SQS subscription of a topic; ``filter_policy`` is the SNS filter policy as JSON."""

    topic: Topic
    queue: Queue
    filter_policy: str | None = None
    filter_on: str = "MessageAttributes"  # or MessageBody
    raw: bool = True  # raw message delivery: the queue gets the message, not the SNS envelope

    @property
    def policy(self) -> dict[str, object] | None:
        return dict(json.loads(self.filter_policy)) if self.filter_policy else None


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule on the system's bus. The target is a queue (the usual way:
    batching, partial failures) or a function; failed deliveries go to ``<id>-dlq``."""

    id: str
    pattern: str  # the event pattern as JSON
    target: Queue | Function
    retry_attempts: int = 185
    max_event_age_s: int = 86400

    @property
    def dlq_id(self) -> str:
        return f"{self.id}-dlq"


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule: ``cron(m h dom mon dow y)``, ``rate(n unit)`` or
    ``at(yyyy-mm-ddThh:mm:ss)``, evaluated in ``timezone`` (IANA)."""

    id: str
    expression: str
    target: Queue | Function
    timezone: str = "UTC"
    input: str = "{}"  # JSON given to the target
    flexible_window_min: int | None = None
    retry_attempts: int = 3
    max_event_age_s: int = 3600


TRIGGER_EVENTS = ("PostConfirmation",)
TRIGGER_TIMEOUT_S = 5  # Cognito waits 5 seconds for a trigger, then fails the user's request


@dataclass(frozen=True)
class UserPoolTrigger:
    """A function the user pool invokes at a moment of a login's life (``PostConfirmation``: a
    self-signed-up user confirmed their e-mail). Locally, the runtime invokes it at that moment."""

    event: str
    function: Function


@dataclass(frozen=True)
class Service:
    name: str
    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    routes: tuple[Route, ...]
    queues: tuple[Queue, ...] = ()
    consumers: tuple[Consumer, ...] = ()
    topics: tuple[Topic, ...] = ()
    subscriptions: tuple[Subscription, ...] = ()
    rules: tuple[Rule, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    triggers: tuple[UserPoolTrigger, ...] = ()
    timers: tuple[Timers, ...] = ()

    def routes_of(self, function: Function) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.function == function)


class TopologyError(ValueError):
    pass


@dataclass(frozen=True)
class System:
    """The whole system: what exists and how it is wired, for every backend."""

    name: str
    bus: EventBus
    services: tuple[Service, ...]

    def __post_init__(self) -> None:
        _check(self)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for s in self.services for t in s.tables)

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(f for s in self.services for f in s.functions)

    @property
    def routes(self) -> tuple[Route, ...]:
        return tuple(r for s in self.services for r in s.routes)

    @property
    def queues(self) -> tuple[Queue, ...]:
        return tuple(q for s in self.services for q in s.queues)

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        return tuple(c for s in self.services for c in s.consumers)

    @property
    def topics(self) -> tuple[Topic, ...]:
        return tuple(t for s in self.services for t in s.topics)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return tuple(x for s in self.services for x in s.subscriptions)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r for s in self.services for r in s.rules)

    @property
    def schedules(self) -> tuple[Schedule, ...]:
        return tuple(x for s in self.services for x in s.schedules)

    @property
    def triggers(self) -> tuple[UserPoolTrigger, ...]:
        return tuple(x for s in self.services for x in s.triggers)

    @property
    def timers(self) -> tuple[Timers, ...]:
        return tuple(x for s in self.services for x in s.timers)

    @property
    def secrets(self) -> tuple[PlatformSecret, ...]:
        """Every platform secret some function reads, once each, in a stable order."""
        return tuple(sorted({x for f in self.functions for x in f.secrets}, key=lambda x: x.id))

    def routes_of(self, function: Function) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.function == function)

    def consumer_of(self, queue: Queue) -> Consumer | None:
        return next((c for c in self.consumers if c.queue == queue), None)

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise KeyError(name)

    def function(self, function_id: str) -> Function:
        for fn in self.functions:
            if fn.id == function_id:
                return fn
        raise KeyError(function_id)

    @property
    def invocations(self) -> tuple[tuple[Function, Function], ...]:
        """Every direct invocation the topology allows, as (caller, callee): a caller's ``invokes``
        and a callee's ``invoked_by`` that names a declared function (``unknown_invokers``: the rest)."""
        by_id = {f.id: f for f in self.functions}
        pairs = [(caller, callee) for caller in self.functions for callee in caller.invokes]
        pairs += [(by_id[i], callee) for callee in self.functions for i in callee.invoked_by if i in by_id]
        return tuple(dict.fromkeys(pairs))

    @property
    def unknown_invokers(self) -> tuple[tuple[str, str], ...]:
        """(callee id, caller id) for each ``invoked_by`` id that names no declared function."""
        known = {f.id for f in self.functions}
        return tuple((f.id, i) for f in self.functions for i in f.invoked_by if i not in known)

    def callers_of(self, callee: Function) -> tuple[Function, ...]:
        """The functions that may invoke ``callee`` directly."""
        return tuple(caller for caller, c in self.invocations if c == callee)

    def callees_of(self, caller: Function) -> tuple[Function, ...]:
        """The functions ``caller`` may invoke directly."""
        return tuple(callee for c, callee in self.invocations if c == caller)


def _duplicates(values: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dup: set[str] = set()
    for v in values:
        (dup if v in seen else seen).add(v)
    return dup


def _check(system: System) -> None:
    """Rules that make a topology deployable; checked when the System is built."""
    problems: list[str] = []
    for kind, ids in (
        ("table", [t.id for t in system.tables]),
        ("function", [f.id for f in system.functions]),
        ("route", [r.key for r in system.routes]),
    ):
        if dup := _duplicates(ids):
            problems.append(f"duplicate {kind}: {sorted(dup)}")
    for svc in system.services:
        owned = set(svc.tables)
        for fn in svc.functions:
            if not _ID.match(fn.id):
                problems.append(f"function id {fn.id!r} must match {_ID.pattern}")
            if fn.service != svc.name:
                problems.append(f"function {fn.id} says service {fn.service}, declared in {svc.name}")
            if not 128 <= fn.memory_mb <= 10240 or not 1 <= fn.timeout_s <= 900:
                problems.append(f"function {fn.id}: memory or timeout out of Lambda's range")
            for access in fn.tables:
                if access.table not in owned:
                    problems.append(f"function {fn.id} touches table {access.table.id} it does not own")
                known = {i.name for i in access.table.indexes}
                if unknown := set(access.indexes) - known:
                    problems.append(f"function {fn.id} queries indexes {sorted(unknown)} its table lacks")
        for route in svc.routes:
            if route.function not in svc.functions:
                problems.append(f"route {route.key} targets a function outside {svc.name}")
            if route.method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                problems.append(f"route {route.key}: unsupported method")
            if route.public:
                if route.allow:
                    problems.append(f"route {route.key} is public: it names no roles")
                if route.idempotent or route.key_required:
                    problems.append(
                        f"route {route.key} is public: no caller owns an Idempotency-Key (make its effect"
                        " idempotent by itself)"
                    )
            elif not route.allow:
                problems.append(f"route {route.key} allows nobody")
            if route.key_required and not route.idempotent:
                problems.append(f"route {route.key} requires an Idempotency-Key it does not honour")
            if Role.MACHINE in route.allow and route.allow != {Role.MACHINE}:
                problems.append(
                    f"route {route.key}: machines call with access tokens, people with ID tokens;"
                    " a route is for one or the other"
                )
        for table in svc.tables:
            if not _ID.match(table.id):
                problems.append(f"table id {table.id!r} must match {_ID.pattern}")
    for event in TRIGGER_EVENTS:
        if len([t for t in system.triggers if t.event == event]) > 1:
            problems.append(f"more than one {event} trigger")
    for svc in system.services:
        for trigger in svc.triggers:
            if trigger.event not in TRIGGER_EVENTS:
                problems.append(f"trigger {trigger.event}: one of {TRIGGER_EVENTS}")
            if trigger.function not in svc.functions:
                problems.append(f"trigger {trigger.event}: its function must belong to {svc.name}")
            if trigger.function.timeout_s > TRIGGER_TIMEOUT_S:
                problems.append(f"trigger {trigger.event}: Cognito waits {TRIGGER_TIMEOUT_S} s at most")
    problems += _check_messaging(system)
    problems += _check_invocations(system)
    if problems:
        raise TopologyError("; ".join(problems))


def _check_invocations(system: System) -> list[str]:
    """Direct invocations: a caller names a callee of its own service (``invokes``), a callee its
    callers by id (``invoked_by``; an id no function has yet is not an error here, see
    ``System.unknown_invokers``); a function invoked directly serves no route."""
    problems: list[str] = []
    for svc in system.services:
        for fn in svc.functions:
            for callee in fn.invokes:
                if callee not in svc.functions:
                    problems.append(
                        f"function {fn.id} invokes {callee.id} outside {svc.name}: the callee names its"
                        " callers across services (invoked_by)"
                    )
            for caller_id in fn.invoked_by:
                if not _ID.match(caller_id) or caller_id == fn.id:
                    problems.append(f"function {fn.id}: invoked_by {caller_id!r} is not another function id")
            if dup := _duplicates(fn.invoked_by):
                problems.append(f"function {fn.id}: invoked_by names {sorted(dup)} twice")
    for caller, callee in system.invocations:
        if caller == callee:
            problems.append(f"function {caller.id} invokes itself")
        if system.routes_of(callee):
            problems.append(f"function {callee.id} is invoked directly and serves routes: one or the other")
    return problems


_EXPRESSION = re.compile(
    r"^(cron\((\S+ ){5}\S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)"
    r"|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$"
)


def _check_timers(svc: Service) -> list[str]:
    problems: list[str] = []
    for timers in svc.timers:
        if not _ID.match(timers.id):
            problems.append(f"timers id {timers.id!r} must match {_ID.pattern}")
        if timers.target not in svc.queues:
            problems.append(f"timers {timers.id}: its target must be a queue of {svc.name}")
    for fn in svc.functions:
        for timers in fn.timers:
            if timers not in svc.timers:
                problems.append(f"function {fn.id} sets timers {timers.id} {svc.name} does not declare")
    return problems


def _check_messaging(system: System) -> list[str]:
    problems: list[str] = []
    ids = (
        [q.id for q in system.queues]
        + [q.dlq_id for q in system.queues]
        + [r.dlq_id for r in system.rules]
        + [t.dlq_id for t in system.timers]
    )
    for kind, values in (
        ("queue", ids),
        ("topic", [t.id for t in system.topics]),
        ("rule", [r.id for r in system.rules]),
        ("schedule", [s.id for s in system.schedules]),
        ("timers", [t.id for t in system.timers]),
    ):
        if dup := _duplicates(values):
            problems.append(f"duplicate {kind}: {sorted(dup)}")
    consumed = [c.queue.id for c in system.consumers]
    if dup := _duplicates(consumed):
        problems.append(f"queues with more than one consumer: {sorted(dup)}")
    for svc in system.services:
        queues, functions = set(svc.queues), set(svc.functions)
        for c in svc.consumers:
            where = f"consumer of {c.queue.id}"
            if c.queue not in queues or c.function not in functions:
                problems.append(f"{where}: queue and function must belong to {svc.name}")
            if not 1 <= c.batch_size <= 10000 or not 0 <= c.window_s <= 300:
                problems.append(f"{where}: batch size 1..10000 and window 0..300 s")
            if c.batch_size > 10 and c.window_s < 1:
                problems.append(f"{where}: a batch over 10 needs a batching window of at least 1 s")
            if not 2 <= c.max_concurrency <= 1000:
                problems.append(f"{where}: maximum concurrency is 2..1000")
            needed = 6 * c.function.timeout_s + c.window_s
            if c.visibility_timeout_s < needed:
                problems.append(
                    f"{where}: visibility {c.visibility_timeout_s}s < 6 x timeout + window ({needed}s)"
                )
        for q in svc.queues:
            if not 1 <= q.max_receive_count <= 1000:
                problems.append(f"queue {q.id}: maxReceiveCount 1..1000")
        for sub in svc.subscriptions:
            if sub.queue not in queues:
                problems.append(f"subscription of {sub.queue.id}: the queue must belong to {svc.name}")
            if sub.topic not in set(system.topics):
                problems.append(f"subscription of {sub.queue.id}: topic {sub.topic.id} is not declared")
            if sub.filter_policy is not None and not isinstance(json.loads(sub.filter_policy), dict):
                problems.append(f"subscription of {sub.queue.id}: the filter policy must be a JSON object")
        for rule in svc.rules:
            if not isinstance(json.loads(rule.pattern), dict):
                problems.append(f"rule {rule.id}: the event pattern must be a JSON object")
            if rule.target not in queues | functions:
                problems.append(f"rule {rule.id}: its target must belong to {svc.name}")
        for sched in svc.schedules:
            if not _EXPRESSION.match(sched.expression):
                problems.append(
                    f"schedule {sched.id}: {sched.expression!r} is not cron(...), rate(...) or at(...)"
                )
            try:
                ZoneInfo(sched.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"schedule {sched.id}: unknown time zone {sched.timezone!r}")
            if sched.target not in queues | functions:
                problems.append(f"schedule {sched.id}: its target must belong to {svc.name}")
            if not isinstance(json.loads(sched.input), dict):
                problems.append(f"schedule {sched.id}: the input must be a JSON object")
        problems += _check_timers(svc)
        for fn in svc.functions:
            for q in fn.sends_to:
                if q not in set(system.queues):
                    problems.append(f"function {fn.id} sends to undeclared queue {q.id}")
            for t in fn.notifies:
                if t not in set(system.topics):
                    problems.append(f"function {fn.id} publishes to undeclared topic {t.id}")
    return problems
