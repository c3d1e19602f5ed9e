"""What the template-property tests look at: a synthesized deployment and its topology.

A ``Deployment`` is one synthesized stack together with the topology and stage it was
built from, so a test states a property once ("every function of the topology has …")
and it holds for every function, table and route that exists now or is added later.

Three deployments are checked:

- ``dev`` and ``prod``: the real app (``infra.topology.SYSTEM``) from the session's
  one synthesis (``synthesized`` in ``conftest.py``).
- ``probe``: the same stack code fed a richer topology (``PROBE``) that declares what
  the real one does not use yet: a read-only access, index queries, a second table,
  a function that publishes events, sends to a queue and notifies a topic, a queue
  consumer, a schedule, extra environment, routes open to
  machine clients, and direct invocations: a function invoked by one of its own service
  (``invokes``) and by one of another service's stack (``invoked_by``). Without it the
  rules for those cases could never fail today; with it, the factory's handling of them is
  pinned before a service needs it. It is synthesized once per process (prod's config, cdk-nag on, as the
  real app), at the first test that asks for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from infra.config import STAGES, StageConfig
from infra.topology import SYSTEM
from services.campaigns import topology as campaigns
from services.profile import topology as profile
from shared.auth import Role
from shared.topology import (
    Access,
    Attr,
    AttrType,
    Consumer,
    Function,
    Index,
    Queue,
    Route,
    Schedule,
    System,
    Table,
    TableAccess,
    Topic,
)
from tests.infra.conftest import Synthesized, synthesize

ID_TAG = "dangol:id"  # the tag the stacks put on what they build from the topology: its topology id
REAL = tuple(s.name for s in STAGES)
PROBE_LABEL = "probe"
EVERY = (*REAL, PROBE_LABEL)

Json = dict[str, Any]


# --- the probe topology --------------------------------------------------------------------------

LEDGER = Table(
    id="probe-ledger",
    partition_key=Attr("pk"),
    sort_key=Attr("at", AttrType.N),
    indexes=(
        Index("by-store", Attr("store_id")),
        Index("by-day", Attr("day"), Attr("at", AttrType.N), projection="KEYS_ONLY"),
    ),
    stream="NEW_AND_OLD_IMAGES",
)
READER = Function(
    id="probe-reader",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Probe: reads two tables, queries one index.",
    memory_mb=256,
    timeout_s=3,
    tables=(
        TableAccess(LEDGER, Access.READ, indexes=("by-store",)),
        TableAccess(profile.PROFILES, Access.READ),
    ),
    environment=(("PROBE_FLAG", "on"),),
)
JOBS = Queue("probe-jobs")
NEWS = Topic("probe-news")
WRITER = Function(
    id="probe-writer",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Probe: writes the ledger and publishes events.",
    memory_mb=1024,
    timeout_s=30,
    tables=(TableAccess(LEDGER, indexes=("by-day",)),),
    publishes_to=SYSTEM.bus,
    sends_to=(JOBS,),
    notifies=(NEWS,),
)
CALLEE = Function(
    id="probe-callee",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Probe: invoked directly, by a function of its service and one of another.",
    tables=(TableAccess(LEDGER, Access.READ),),
    invoked_by=("probe-caller",),
)
WORKER = Function(
    id="probe-worker",
    service=profile.SERVICE.name,
    handler=profile.API.handler,
    description="Probe: consumes the jobs queue.",
    timeout_s=20,
    tables=(TableAccess(LEDGER, Access.READ),),
    invokes=(CALLEE,),
)
CALLER = Function(
    id="probe-caller",
    service=campaigns.SERVICE.name,
    handler=campaigns.API.handler,
    description="Probe: invokes a function of another service's stack.",
    timeout_s=20,
)
PROBE = System(
    name=SYSTEM.name,
    bus=SYSTEM.bus,
    services=(
        # The service keeps its real name so its code asset is the real one.
        replace(
            profile.SERVICE,
            tables=(*profile.SERVICE.tables, LEDGER),
            functions=(*profile.SERVICE.functions, READER, WRITER, WORKER, CALLEE),
            queues=(*profile.SERVICE.queues, JOBS),
            topics=(*profile.SERVICE.topics, NEWS),
            consumers=(*profile.SERVICE.consumers, Consumer(WORKER, JOBS)),
            schedules=(*profile.SERVICE.schedules, Schedule("probe-tick", "rate(1 hour)", READER)),
            routes=(
                *profile.SERVICE.routes,
                Route("GET", "/stores/{store_id}/ledger", READER, frozenset({Role.MACHINE}), "Read"),
                Route("POST", "/stores/{store_id}/ledger", WRITER, frozenset({Role.MACHINE}), "Write"),
            ),
        ),
        # Only the caller: its stack refers to the callee's across the nested stacks.
        replace(
            campaigns.SERVICE,
            tables=(),
            functions=(CALLER,),
            routes=(),
            queues=(),
            consumers=(),
            topics=(),
            subscriptions=(),
            rules=(),
            schedules=(),
        ),
    ),
)
PROBE_STAGE = next(s for s in STAGES if s.prod)


def invoked_asynchronously(system: System, fn: Function) -> bool:
    """EventBridge (a rule) or the Scheduler invokes it: asynchronous invocations, Lambda's retries."""
    return any(r.target == fn for r in system.rules) or any(s.target == fn for s in system.schedules)


def needs_async_dlq(system: System, fn: Function) -> bool:
    """Its failed asynchronous invocations need a dead-letter queue: it is invoked asynchronously,
    or the topology names no synchronous caller (a route, a queue it consumes, or the user pool,
    whose triggers are invoked synchronously, or a function that invokes it directly) for it."""
    synchronous = (
        any(r.function == fn for r in system.routes)
        or any(c.function == fn for c in system.consumers)
        or any(t.function == fn for t in system.triggers)
        or bool(fn.invoked_by or system.callers_of(fn))  # invoked directly, RequestResponse
    )
    return invoked_asynchronously(system, fn) or not synchronous


# --- reading a template ---------------------------------------------------------------------------


def ref(logical_id: str) -> Json:
    return {"Ref": logical_id}


def arn(logical_id: str) -> Json:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def key(value: Any) -> str:
    """A hashable, order-stable form of a template value (an intrinsic or a literal)."""
    return json.dumps(value, sort_keys=True)


def tags(resource: Json) -> dict[str, str]:
    found = resource.get("Properties", {}).get("Tags", [])
    if isinstance(found, dict):  # some resource types take a map
        return dict(found)
    return {t["Key"]: t["Value"] for t in found}


def joined(value: Any) -> list[Any]:
    """The parts of an ``Fn::Join`` with an empty separator (a literal is one part)."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        assert separator == "", value
        return list(parts)
    return [value]


def mentions(value: Any, logical_id: str) -> bool:
    """Whether a template value refers to a resource (``Ref`` or ``Fn::GetAtt``), anywhere inside."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and getatt[0] == logical_id:
            return True
        return any(mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, logical_id) for v in value)
    return False


@dataclass(frozen=True)
class Deployment:
    label: str
    stage: StageConfig
    system: System
    template: Json
    assembly: Path  # the nested cloud assembly of the stage (manifest, assets, template)

    # --- resources

    def resources(self, kind: str) -> dict[str, Json]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}

    def props(self, logical_id: str) -> Json:
        return dict(self.template["Resources"][logical_id].get("Properties", {}))

    def only(self, kind: str) -> tuple[str, Json]:
        found = self.resources(kind)
        assert len(found) == 1, f"{self.label}: expected one {kind}, found {sorted(found)}"
        ((logical_id, resource),) = found.items()
        return logical_id, resource

    def by_id_tag(self, kind: str) -> dict[str, str]:
        """``dangol:id`` tag value -> logical id, for every resource of ``kind`` that has the tag."""
        out: dict[str, str] = {}
        for logical_id, resource in self.resources(kind).items():
            if (value := tags(resource).get(ID_TAG)) is not None:
                assert value not in out, f"{self.label}: two {kind} tagged {ID_TAG}={value}"
                out[value] = logical_id
        return out

    @cached_property
    def tables(self) -> dict[str, str]:
        """Topology table id -> logical id of its ``AWS::DynamoDB::Table``."""
        return self.by_id_tag("AWS::DynamoDB::Table")

    @cached_property
    def functions(self) -> dict[str, str]:
        """Topology function id -> logical id of its ``AWS::Lambda::Function``."""
        return self.by_id_tag("AWS::Lambda::Function")

    def function(self, fn: Function) -> tuple[str, Json]:
        assert fn.id in self.functions, f"{self.label}: no Lambda function tagged {ID_TAG}={fn.id}"
        logical_id = self.functions[fn.id]
        return logical_id, self.props(logical_id)

    def role_of(self, fn: Function) -> str:
        _, props = self.function(fn)
        getatt = props["Role"]["Fn::GetAtt"]
        assert getatt[1] == "Arn", props["Role"]
        return str(getatt[0])

    def log_group_of(self, fn: Function) -> str:
        _, props = self.function(fn)
        return str(props["LoggingConfig"]["LogGroup"]["Ref"])

    @cached_property
    def bus(self) -> str:
        logical_id, _ = self.only("AWS::Events::EventBus")
        return logical_id

    @cached_property
    def rest_api(self) -> str:
        logical_id, _ = self.only("AWS::ApiGateway::RestApi")
        return logical_id

    @cached_property
    def api_stage(self) -> tuple[str, Json]:
        logical_id, resource = self.only("AWS::ApiGateway::Stage")
        return logical_id, resource["Properties"]

    @cached_property
    def user_pool(self) -> str:
        logical_id, _ = self.only("AWS::Cognito::UserPool")
        return logical_id

    # --- IAM

    def policy_documents(self) -> Iterator[tuple[str, Json]]:
        """Every identity-based policy document: ``AWS::IAM::Policy`` and roles' inline policies."""
        for logical_id, resource in self.resources("AWS::IAM::Policy").items():
            yield logical_id, resource["Properties"]["PolicyDocument"]
        for logical_id, resource in self.resources("AWS::IAM::Role").items():
            for inline in resource["Properties"].get("Policies", []):
                yield f"{logical_id}/{inline['PolicyName']}", inline["PolicyDocument"]

    def statements_of_role(self, role: str) -> list[Json]:
        """Every statement that applies to ``role``: its inline policies and the policies attached to it."""
        found: list[Json] = []
        for inline in self.props(role).get("Policies", []):
            found += as_list(inline["PolicyDocument"]["Statement"])
        for resource in self.resources("AWS::IAM::Policy").values():
            if ref(role) in resource["Properties"].get("Roles", []):
                found += as_list(resource["Properties"]["PolicyDocument"]["Statement"])
        return found

    # --- API Gateway: the REST API's OpenAPI body

    @cached_property
    def api_body(self) -> tuple[Json, Json]:
        """The API's OpenAPI document (parsed) and the ``Fn::Sub`` variables its ``${...}`` name."""
        _, resource = self.only("AWS::ApiGateway::RestApi")
        text, variables = resource["Properties"]["Body"]["Fn::Sub"]
        return json.loads(text), variables

    @cached_property
    def operations(self) -> dict[tuple[str, str], Json]:
        """(path, HTTP method) -> its operation in the API's body (preflights as ``OPTIONS``)."""
        document, _ = self.api_body
        return {
            (path, method.upper()): operation
            for path, operations in document["paths"].items()
            for method, operation in operations.items()
        }

    def variable(self, text: str) -> Any:
        """What the one ``${Name}`` in ``text`` stands for (a template value)."""
        (name,) = re.findall(r"\$\{([A-Za-z0-9]+)\}", text)
        _, variables = self.api_body
        return variables[name]

    def function_of_target(self, target: Any) -> str:
        """The topology function id an invocation target is: a function's ARN or an alias of it."""
        logical_id = target["Ref"] if "Ref" in target else target["Fn::GetAtt"][0]
        resource = self.template["Resources"][logical_id]
        if resource["Type"] == "AWS::Lambda::Alias":
            logical_id = resource["Properties"]["FunctionName"]["Ref"]
        (function_id,) = (f for f, lid in self.functions.items() if lid == logical_id)
        return function_id

    def invoked_by(self, operation: Json) -> str:
        """The topology function id an operation's integration invokes."""
        return self.function_of_target(self.variable(operation["x-amazon-apigateway-integration"]["uri"]))

    # --- assets

    @cached_property
    def asset_paths(self) -> dict[str, Path]:
        """S3 object key of each file asset -> the staged directory it is zipped from."""
        (manifest,) = self.assembly.glob("*.assets.json")
        out: dict[str, Path] = {}
        for asset in json.loads(manifest.read_text())["files"].values():
            for destination in asset["destinations"].values():
                out[destination["objectKey"]] = (self.assembly / asset["source"]["path"]).resolve()
        return out

    def asset_of(self, code: Json) -> Path:
        object_key = code.get("S3Key")
        assert isinstance(object_key, str), f"code is not an S3 asset: {code}"
        return self.asset_paths[object_key]


# --- getting the deployments ---------------------------------------------------------------------

_PROBE: dict[str, Deployment] = {}


def _synthesize_probe(outdir: Path) -> Deployment:
    probe = synthesize(outdir, (PROBE_STAGE,), PROBE)
    return Deployment(
        PROBE_LABEL,
        PROBE_STAGE,
        PROBE,
        probe.template(PROBE_STAGE.name),
        outdir / f"assembly-{PROBE_STAGE.stage_id}",
    )


def load(label: str, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The deployment called ``label``: a real stage's, or the probe's (synthesized at first use)."""
    if label == PROBE_LABEL:
        if PROBE_LABEL not in _PROBE:
            _PROBE[PROBE_LABEL] = _synthesize_probe(tmp_path_factory.mktemp("cdk.out.probe"))
        return _PROBE[PROBE_LABEL]
    stage = next(s for s in STAGES if s.name == label)
    return Deployment(
        label,
        stage,
        SYSTEM,
        synthesized.template(label),
        synthesized.outdir / f"assembly-{stage.stage_id}",
    )
