"""An independent fuzzer over the running API: schemathesis generates valid and invalid
requests from /openapi.json and checks every response (no 5xx, documented status codes and
schemas, 405 for undeclared methods, auth enforced, bad input rejected)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.topology import SYSTEM
from services.campaigns.topology import SEGMENT_PREVIEW_START
from services.profile.topology import CUSTOMER_ERASE, MY_ERASE
from shared.api import operation_id
from shared.auth import Role
from shared.topology import Route
from tests.e2e.conftest import LocalSystem, start_system, stop_system

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Erasure would remove the demo customer whose token a later role's run still uses; it has its own tests.
# And a preview of a segment rule: schemathesis's stateful phase (where per-operation settings do
# not reach) mutates one branch of the rule's overlapping unions into a value another branch takes
# and calls the valid body it made invalid (it found one: the model accepts it). Its refusals are
# fuzzed route by route in tests/integration/platform/test_fuzz_routes.py.
DESTRUCTIVE = {CUSTOMER_ERASE, MY_ERASE, SEGMENT_PREVIEW_START}
ROLES = [("customer", "junho"), ("machine", None), ("agent", None), ("marketing", None)]
# CI runs the examples, fuzzing and stateful phases. The coverage phase (boundary values of every
# schema) costs ~4 minutes of CPU for the rewards' rich bodies; the integration fuzz
# (tests/integration/platform/test_fuzz_routes.py) covers the same refusals route by route. For the whole
# run: DANGOL_FUZZ_PHASES=examples,coverage,fuzzing,stateful make test
PHASES = os.environ.get("DANGOL_FUZZ_PHASES", "examples,fuzzing,stateful")
pytestmark = pytest.mark.xdist_group("schemathesis")  # one worker, one system for the four runs


def operations_of(role: str) -> str:
    """A regex of the operation ids the role fuzzes: each route once, by the first of ``ROLES``
    that may call it (the others' 403s are checked route by route in test_gateway_auth and the
    integration fuzz)."""
    order = [Role(r) for r, _ in ROLES]

    def fuzzer(route: Route) -> Role:  # admin-only routes: the last role, to fuzz their refusal
        return next((x for x in order if x in route.allow), order[-1])

    ids = sorted(operation_id(r) for r in SYSTEM.routes if r not in DESTRUCTIVE and fuzzer(r) is Role(role))
    return "^(" + "|".join(ids) + ")$"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    """A system of its own: the fuzzer changes rules, tiers and demo profiles that the story tests
    read, so it never shares one with them."""
    tmp = tmp_path_factory.mktemp("fuzzed")
    system = start_system(tmp)
    # The document is put together from every API function's own part on first read (each worker's
    # cold start): read it once here, with time to spare, so that schemathesis's 10 s read of the
    # schema measures the API, not the first cold start of a dozen functions on a busy machine.
    assert system.request("GET", "/openapi.json").status == 200
    yield system
    stop_system(system)
    shutil.rmtree(tmp, ignore_errors=True)


def test_every_route_is_fuzzed_by_one_role() -> None:
    fuzzed_ids = {i for role, _ in ROLES for i in operations_of(role).strip("^()$").split("|")}
    assert fuzzed_ids == {operation_id(r) for r in SYSTEM.routes if r not in DESTRUCTIVE}


@pytest.mark.parametrize(("role", "user"), ROLES)
def test_the_api_survives_schemathesis(
    fuzzed: LocalSystem, tmp_path: Path, role: str, user: str | None
) -> None:
    # Given a running system of its own and a token of the role
    local = fuzzed
    token = local.token(role, user=user)
    executable = str(SCHEMATHESIS) if SCHEMATHESIS.exists() else shutil.which("schemathesis")
    assert executable, "schemathesis is a dev dependency"
    # When schemathesis runs every check against every operation (a fixed seed keeps CI reproducible;
    # positive_data_acceptance is off: a valid body for POST /me is still a 409 once the profile exists)
    result = subprocess.run(
        [
            executable,
            "--config-file",
            str(CONFIG),
            "run",
            f"{local.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--include-operation-id-regex",
            operations_of(role),
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--phases",
            PHASES,
            "--max-examples",
            "6",
            "--seed",
            "20261122",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    # Then it finds nothing
    assert result.returncode == 0, result.stdout[-6000:]
