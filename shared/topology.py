"""The vocabulary of the one topology: plain, frozen data with no CDK or boto3 import.

Each service declares what it owns (tables, functions, routes) in its own
``services/<svc>/topology.py`` with these types; ``infra/topology.py`` assembles
them with the platform's resources into the one ``System`` that the CDK stacks
(``infra/``) and the local runtime (``infra/local/``) are both built from.
Code refers to these objects (a table's key names, a route's path) instead of
writing the strings again, so a name or key schema is written exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

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
class EventBus:
    id: str

    @property
    def env_var(self) -> str:
        return "EVENT_BUS_NAME"


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
    environment: tuple[tuple[str, str], ...] = ()
    reserved_concurrency: int | None = None

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def entry(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Route:
    """An API route, who may call it, and the function that serves it.

    ``path`` uses API Gateway's template syntax (``/customers/{customer_id}``).
    ``allow`` lists the roles that may call it; the function enforces it (the
    authorizer only proves who the caller is).
    """

    method: str
    path: str
    function: Function
    allow: frozenset[Role]
    summary: str
    max_body_bytes: int = 16 * 1024
    idempotent: bool = field(default=False)  # honours Idempotency-Key (mutating routes)

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
class Service:
    name: str
    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    routes: tuple[Route, ...]

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
            if not route.allow:
                problems.append(f"route {route.key} allows nobody")
        for table in svc.tables:
            if not _ID.match(table.id):
                problems.append(f"table id {table.id!r} must match {_ID.pattern}")
    if problems:
        raise TopologyError("; ".join(problems))
