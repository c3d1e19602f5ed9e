"""The synthesized templates and the local runtime are the same system: the same tables
with the same keys, indexes and TTL; the same routes to the same functions, all behind
Cognito; the same queues (DLQ, maxReceiveCount, visibility, retention), consumers,
subscriptions, rules and schedules. Both are built from the topology, and a change to it
changes both."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from infra.config import STAGES
from infra.stacks.messaging import deployed_only_queue_ids
from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.auth import Role
from shared.topology import Attr, AttrType, Function, Index, Route, Rule, Schedule, System, TableAccess
from tests.infra import backbone_topology as bb
from tests.infra.agreement import (
    Backbone,
    local_backbone,
    local_routes,
    local_tables,
    template_backbone,
    template_routes,
    template_tables,
)
from tests.infra.backbone_topology import BACKBONE
from tests.infra.conftest import Synthesized, synthesize


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_tables_agree_with_the_local_runtime(synthesized: Synthesized, stage: str) -> None:
    # Given the stage's template and the tables `dangol-local up` creates on moto
    deployed = template_tables(synthesized.template(stage))
    local = local_tables(SYSTEM)
    # Then they are the same tables with the same keys, indexes, TTL and stream, and all declared ones
    assert deployed == local
    assert set(deployed) == {t.id for t in SYSTEM.tables}


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_routes_agree_with_the_local_gateway(synthesized: Synthesized, stage: str) -> None:
    # Given the stage's API methods and the local gateway's routing
    deployed = template_routes(synthesized.template(stage))
    local = local_routes(SYSTEM)
    # Then the same method and path reach the same function, behind the Cognito authorizer but for
    # exactly the one-click opt-out (a link in a message: no login), the draws anyone may check and
    # the social sources' webhooks (signed by the source)
    assert deployed == local
    public = {(method, path) for method, path, _, authorized in deployed if not authorized}
    assert public == {
        ("GET", "/unsubscribe/{token}"),
        ("POST", "/unsubscribe/{token}"),
        ("GET", "/draws/{gift_id}/{draw}"),
        ("GET", "/draws/{gift_id}/{draw}/verification"),
        ("GET", "/webhooks/{source}"),
        ("POST", "/webhooks/{source}"),
    }


def _changed(system: System) -> System:
    """The topology with a new index, another TTL attribute, a numeric sort key and one more route."""
    service = system.service("profile")
    table = replace(
        profile.PROFILES,
        sort_key=Attr("sk", AttrType.N),
        indexes=((*profile.PROFILES.indexes, Index("by-locale", Attr("locale"), Attr("pk"), "KEYS_ONLY"))),
        ttl_attribute="purge_at",
    )
    api = replace(profile.API, tables=(TableAccess(table, indexes=("by-locale",)),))
    # Every other function of the service keeps its access, to the changed table.
    functions = {
        fn.id: api
        if fn == profile.API
        else replace(
            fn, tables=tuple(replace(a, table=table) if a.table == profile.PROFILES else a for a in fn.tables)
        )
        for fn in service.functions
    }
    routes = tuple(replace(r, function=functions[r.function.id]) for r in service.routes)
    routes += (Route("DELETE", "/me/history", api, frozenset({Role.CUSTOMER}), "Forget my history"),)
    service = replace(
        service,
        tables=(table,),
        functions=tuple(functions.values()),
        routes=routes,
        consumers=tuple(replace(c, function=functions[c.function.id]) for c in service.consumers),
        rules=tuple(_retarget(r, functions) for r in service.rules),
        schedules=tuple(_retarget(s, functions) for s in service.schedules),
    )
    return replace(system, services=tuple(service if s.name == "profile" else s for s in system.services))


T = TypeVar("T", Rule, Schedule)


def _retarget(item: T, functions: dict[str, Function]) -> T:
    return replace(item, target=functions[item.target.id]) if isinstance(item.target, Function) else item


def _changed_backbone(system: System) -> System:
    """The backbone with another batch and window (so another visibility timeout), filter
    policy, rule pattern, schedule expression and time zone."""
    svc = system.service("profile")
    svc = replace(
        svc,
        consumers=tuple(replace(c, batch_size=50, window_s=20) for c in svc.consumers),
        subscriptions=tuple(
            replace(x, filter_policy=json.dumps({"event": ["ProfileErased"]})) for x in svc.subscriptions
        ),
        rules=tuple(replace(r, pattern=json.dumps({"source": ["dangol.elsewhere"]})) for r in svc.rules),
        schedules=tuple(
            replace(x, expression="cron(30 7 ? * MON-FRI *)", timezone="Europe/Paris") for x in svc.schedules
        ),
    )
    return replace(system, services=tuple(svc if s.name == "profile" else s for s in system.services))


def test_a_topology_change_changes_both_backends_alike(
    synthesized: Synthesized, backbone: Synthesized, tmp_path: Path
) -> None:
    # Given a topology whose key schema, indexes, TTL, routes and backbone settings changed
    changed = _changed_backbone(_changed(BACKBONE))
    # When it is synthesized and run locally
    deployed = synthesize(tmp_path, stages=(STAGES[0],), system=changed).template("dev")
    # Then both backends changed from what the current topology gives ...
    assert template_tables(deployed) != template_tables(synthesized.template("dev"))
    assert local_tables(changed) != local_tables(SYSTEM)
    assert template_routes(deployed) != template_routes(synthesized.template("dev"))
    before, after = (
        template_backbone(backbone.template("dev"), STAGES[0]),
        template_backbone(deployed, STAGES[0]),
    )
    assert set(after.queues) == set(before.queues)
    assert after.queues[bb.JOBS.id]["visibility_s"] != before.queues[bb.JOBS.id]["visibility_s"]
    assert after.consumers[bb.JOBS.id]["batch_size"] != before.consumers[bb.JOBS.id]["batch_size"]
    assert len(after.subscriptions) == len(before.subscriptions)
    assert after.subscriptions != before.subscriptions
    assert set(after.rules) == set(before.rules)
    assert all(after.rules[r]["pattern"] != before.rules[r]["pattern"] for r in after.rules)
    assert set(after.schedules) == set(before.schedules)
    assert all(after.schedules[x]["timezone"] == "Europe/Paris" for x in after.schedules)
    # ... and still agree with each other
    assert template_tables(deployed) == local_tables(changed)
    assert template_routes(deployed) == local_routes(changed)
    assert ("DELETE", "/me/history", profile.API.id, True) in local_routes(changed)
    _assert_agree(after, local_backbone(changed), changed)


# --- the asynchronous backbone ------------------------------------------------------------------


def _assert_agree(deployed: Backbone, local: Backbone, system: System) -> None:
    # The deployed stack has, beyond the local queues, the DLQs of the functions invoked
    # asynchronously and of the schedules (locally, the tap and the scheduler retry in process).
    extra = deployed_only_queue_ids(system)
    assert set(deployed.queues) - set(local.queues) == extra
    assert {k: v for k, v in deployed.queues.items() if k not in extra} == local.queues
    assert deployed.consumers == local.consumers
    assert deployed.subscriptions == local.subscriptions
    assert deployed.rules == local.rules
    assert deployed.schedules == local.schedules


@pytest.fixture(scope="module")
def both(backbone: Synthesized) -> tuple[Backbone, Backbone]:
    """The backbone test topology as deployed (its template) and as created locally (moto)."""
    return template_backbone(backbone.template(STAGES[0].name), STAGES[0]), local_backbone(BACKBONE)


def test_queues_agree_with_the_local_runtime(both: tuple[Backbone, Backbone]) -> None:
    deployed, local = both
    # Given every queue the local runtime creates
    declared = {q.id for q in BACKBONE.queues} | {q.dlq_id for q in BACKBONE.queues}
    assert set(local.queues) == declared | {r.dlq_id for r in BACKBONE.rules}
    # Then the deployed queue of the same id has the same DLQ, maxReceiveCount, visibility, retention
    for queue_id, shape in local.queues.items():
        assert deployed.queues[queue_id] == shape, queue_id
    # And the deployed stack has only the DLQs the local runtime does without, besides
    assert set(deployed.queues) - set(local.queues) == deployed_only_queue_ids(BACKBONE)
    assert deployed.queues[bb.JOBS.id]["visibility_s"] == bb.CONSUMER.visibility_timeout_s


def test_consumers_agree_with_the_local_pollers(both: tuple[Backbone, Backbone]) -> None:
    deployed, local = both
    # The pollers read batch size, window and concurrency from the Consumer, as the mapping is built from it
    assert deployed.consumers == local.consumers
    assert deployed.consumers[bb.JOBS.id] == {
        "function": bb.WORKER.id,
        "batch_size": 25,
        "window_s": 5,
        "max_concurrency": 4,
    }


def test_subscriptions_agree_with_the_local_topics(both: tuple[Backbone, Backbone]) -> None:
    deployed, local = both
    assert deployed.subscriptions == local.subscriptions
    assert {(topic, queue, raw) for topic, queue, _, _, raw in local.subscriptions} == {
        (bb.CHANGES.id, bb.WELCOMES.id, True),
        (bb.CHANGES.id, bb.AUDIT.id, False),
    }


def test_rules_agree_with_the_local_bus(both: tuple[Backbone, Backbone]) -> None:
    deployed, local = both
    assert deployed.rules == local.rules
    assert deployed.rules[bb.TO_QUEUE.id]["target"] == bb.JOBS.id
    assert deployed.rules[bb.TO_FUNCTION.id]["target"] == bb.DIGEST.id


def test_schedules_agree_with_the_local_scheduler(both: tuple[Backbone, Backbone]) -> None:
    deployed, local = both
    assert deployed.schedules == local.schedules
    morning = deployed.schedules[bb.MORNING.id]
    assert (morning["expression"], morning["timezone"], morning["target"], morning["input"]) == (
        "cron(0 9 * * ? *)",
        "Asia/Seoul",
        bb.DIGEST.id,
        {"kind": "morning"},
    )


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_the_real_backbone_agrees_with_the_local_runtime(synthesized: Synthesized, stage: str) -> None:
    # Given the real topology's backbone (whatever it declares today), deployed and local
    config = next(s for s in STAGES if s.name == stage)
    deployed = template_backbone(synthesized.template(stage), config)
    # Then they agree as the test topology's do
    _assert_agree(deployed, local_backbone(SYSTEM), SYSTEM)
