"""The synthesized templates and the local runtime are the same system: the same tables
with the same keys, indexes and TTL; the same routes to the same functions, all behind
Cognito. Both are built from the topology, and a change to it changes both."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from infra.config import STAGES
from infra.topology import SYSTEM
from services.profile import topology as profile
from shared.auth import Role
from shared.topology import Attr, AttrType, Index, Route, System, TableAccess
from tests.infra.agreement import local_routes, local_tables, template_routes, template_tables
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
    # Then the same method and path reach the same function, behind the Cognito authorizer
    assert deployed == local
    assert all(authorized for *_, authorized in deployed)


def _changed(system: System) -> System:
    """The topology with a new index, another TTL attribute, a numeric sort key and one more route."""
    table = replace(
        profile.PROFILES,
        sort_key=Attr("sk", AttrType.N),
        indexes=((*profile.PROFILES.indexes, Index("by-email", Attr("email"), Attr("pk"), "KEYS_ONLY"))),
        ttl_attribute="purge_at",
    )
    api = replace(profile.API, tables=(TableAccess(table, indexes=("by-email",)),))
    routes = tuple(replace(r, function=api) for r in profile.SERVICE.routes)
    routes += (Route("DELETE", "/me", api, frozenset({Role.CUSTOMER}), "Erase me"),)
    service = replace(profile.SERVICE, tables=(table,), functions=(api,), routes=routes)
    return replace(system, services=tuple(service if s.name == "profile" else s for s in system.services))


def test_a_topology_change_changes_both_backends_alike(synthesized: Synthesized, tmp_path: Path) -> None:
    # Given a topology whose key schema, indexes, TTL and routes changed
    changed = _changed(SYSTEM)
    # When it is synthesized and run locally
    deployed = synthesize(tmp_path, stages=(STAGES[0],), system=changed).template("dev")
    # Then both backends changed from what the current topology gives ...
    assert template_tables(deployed) != template_tables(synthesized.template("dev"))
    assert local_tables(changed) != local_tables(SYSTEM)
    assert template_routes(deployed) != template_routes(synthesized.template("dev"))
    # ... and still agree with each other
    assert template_tables(deployed) == local_tables(changed)
    assert template_routes(deployed) == local_routes(changed)
    assert ("DELETE", "/me", profile.API.id, True) in local_routes(changed)
