"""The system with the two services still to come, sized from their issues, for the limit tests.

Campaigns (issue 14/15: audiences, templates, sending, journeys, offers, draws, reports) and
feedback (issue 16: mention intake, SNS fan-out to queues, cases with SLA timers, insights) are
declared here with at least the tables, functions, routes, queues, topics, subscriptions, rules
and schedules their issues describe, and more (the review estimated about 6 functions and 25
routes for campaigns). Their functions run the profile service's code: what is measured is the
stacks' shape, not the code.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from infra import packaging
from infra.app import summary
from infra.config import STAGES
from infra.stacks import service as service_stack
from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.auth import Role
from shared.platform import BUS
from shared.topology import (
    Attr,
    Consumer,
    Function,
    Index,
    Queue,
    Route,
    Rule,
    Schedule,
    Service,
    Subscription,
    System,
    Table,
    TableAccess,
    Topic,
)
from tests.infra.conftest import Synthesized, synthesize

HANDLER = profile.API.handler  # any real module: the code is not what is measured
STAFF = frozenset({Role.MARKETING, Role.ADMIN})
CUSTOMER = frozenset({Role.CUSTOMER})


def _table(service: str) -> Table:
    return Table(
        id=f"{service}",
        partition_key=Attr("pk"),
        sort_key=Attr("sk"),
        indexes=(Index("by-status", Attr("status"), Attr("sk")), Index("by-due", Attr("due"), Attr("sk"))),
        ttl_attribute="expires_at",
    )


def _function(service: str, name: str, table: Table, **kw: object) -> Function:
    return Function(
        id=f"{service}-{name}",
        service=service,
        handler=HANDLER,
        description=f"{service}: {name} (projected)",
        tables=(TableAccess(table, indexes=("by-status", "by-due")),),
        publishes_to=BUS,
        **kw,  # type: ignore[arg-type]
    )


def _routes(api: Function, resources: list[str], roles: frozenset[Role]) -> tuple[Route, ...]:
    """Per resource: list, create, read, update, delete (and an action)."""
    routes: list[Route] = []
    for resource in resources:
        item = f"/{resource}/{{{resource.replace('-', '_')}_id}}"
        routes += [
            Route("GET", f"/{resource}", api, roles, f"List {resource}"),
            Route("POST", f"/{resource}", api, roles, f"Create {resource}", idempotent=True),
            Route("GET", item, api, roles, f"Read {resource}"),
            Route("PUT", item, api, roles, f"Change {resource}", idempotent=True),
            Route("DELETE", item, api, roles, f"Delete {resource}"),
            Route("POST", f"{item}/actions", api, roles, f"Act on {resource}", idempotent=True),
        ]
    return tuple(routes)


def campaigns() -> Service:
    name = "campaigns"
    table = _table(name)
    queues = {q: Queue(f"{name}-{q}") for q in ("view", "recipients", "sends", "journeys", "offers")}
    api = _function(name, "api", table)
    reports_api = _function(name, "reports-api", table)
    workers = {q: _function(name, f"{q}-worker", table, timeout_s=60) for q in queues}
    launcher = _function(name, "launcher", table, sends_to=(queues["recipients"],))
    jobs = [_function(name, job, table, timeout_s=300) for job in ("scheduler", "outbox", "nightly")]
    routes = _routes(api, ["segments", "templates", "campaigns", "journeys", "offers"], STAFF)
    routes += _routes(reports_api, ["reports"], STAFF)
    routes += (Route("GET", "/me/offers", reports_api, CUSTOMER, "My offers"),)
    return Service(
        name=name,
        tables=(table,),
        functions=(api, reports_api, launcher, *workers.values(), *jobs),
        routes=routes,
        queues=tuple(queues.values()),
        consumers=tuple(
            Consumer(workers[q], queue, batch_size=10, max_concurrency=5) for q, queue in queues.items()
        ),
        rules=tuple(
            Rule(f"{name}-{q}-events", json.dumps({"source": [f"dangol.{q}"]}), queues["view"])
            for q in ("profile", "rewards")
        ),
        schedules=tuple(Schedule(f"{name}-{fn.id}", "rate(5 minutes)", fn) for fn in jobs),
    )


def feedback() -> Service:
    name = "feedback"
    table = _table(name)
    mentions = Topic(f"{name}-mentions")
    queues = {q: Queue(f"{name}-{q}") for q in ("cases", "alerts", "insights", "polls")}
    webhooks = _function(name, "webhooks-api", table, notifies=(mentions,))
    cases_api = _function(name, "cases-api", table)
    workers = {q: _function(name, f"{q}-worker", table, timeout_s=60) for q in queues}
    jobs = [_function(name, job, table, timeout_s=300) for job in ("sla", "pollers", "outbox", "digest")]
    routes = _routes(cases_api, ["cases", "teams", "insights"], frozenset({Role.AGENT, Role.ADMIN}))
    routes += tuple(
        Route("POST", f"/webhooks/{source}", webhooks, frozenset({Role.MACHINE}), f"Mentions from {source}")
        for source in ("x", "instagram", "facebook", "app-store")
    )
    routes += (
        Route("GET", "/me/cases", cases_api, CUSTOMER, "My cases"),
        Route("POST", "/me/cases", cases_api, CUSTOMER, "Raise a case", idempotent=True),
        Route("POST", "/me/cases/{case_id}/confirmation", cases_api, CUSTOMER, "Confirm", idempotent=True),
    )
    filters = {"cases": {"complaint": ["true"]}, "alerts": {"reach": [{"numeric": [">=", 10000]}]}}
    return Service(
        name=name,
        tables=(table,),
        functions=(webhooks, cases_api, *workers.values(), *jobs),
        routes=routes,
        queues=tuple(queues.values()),
        consumers=tuple(
            Consumer(workers[q], queue, batch_size=10, max_concurrency=5) for q, queue in queues.items()
        ),
        topics=(mentions,),
        subscriptions=tuple(
            Subscription(mentions, queues[q], json.dumps(filters[q]) if q in filters else None)
            for q in ("cases", "alerts", "insights")
        ),
        rules=(
            Rule(f"{name}-profile-events", json.dumps({"source": ["dangol.profile"]}), queues["insights"]),
        ),
        schedules=tuple(Schedule(f"{name}-{fn.id}", "rate(15 minutes)", fn) for fn in jobs),
    )


# The services built so far, but campaigns and feedback at the full size their issues describe.
BUILT = tuple(s for s in SYSTEM.services if s.name not in {"campaigns", "feedback"})
PROJECTED = System(name=SYSTEM.name, bus=SYSTEM.bus, services=(*BUILT, campaigns(), feedback()))


def synthesize_projected(outdir: Path) -> Synthesized:
    """Prod with campaigns and feedback (their code is the profile service's: not measured)."""
    known = {s.name for s in BUILT}

    def staged(name: str) -> Path:
        return packaging.stage_service_code(name if name in known else "profile")

    original = service_stack.stage_service_code
    service_stack.stage_service_code = staged
    try:
        return synthesize(outdir, (STAGES[-1],), PROJECTED)
    finally:
        service_stack.stage_service_code = original


if __name__ == "__main__":  # python -m tests.infra.projection: the projected templates' sizes
    with tempfile.TemporaryDirectory() as scratch:
        synthesize_projected(Path(scratch))
        print("\n".join(summary(Path(scratch))))  # noqa: T201
