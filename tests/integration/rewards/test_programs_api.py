"""Marketing's earn rules and tier program on moto: versioned (every version kept and readable),
ETag / If-Match (a stale one is 412), bad bodies 422 with nothing written, marketing and admins
only, and concurrent changes that serialize on the version condition."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.models.programs import EarnRulesSpec
from services.rewards.topology import (
    EARN_RULES_GET,
    EARN_RULES_PUT,
    EARN_RULES_VERSION,
    PROGRAMS_API,
    REWARDS,
    TIERS_GET,
    TIERS_PUT,
)
from shared.dynamo import Backoff, DynamoTable, Item, Key
from shared.errors import Conflict, PreconditionFailed
from shared.topology import Function, Route
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
NO_WAIT = Backoff(attempts=3, sleep=lambda _: None)
RULES_V1: dict[str, Any] = {
    "base_rates": {"KRW": {"points": 2, "per": 100}},
    "category_multipliers": {"beans": 200},
    "windows": [{"name": "Spring", "starts_on": "2025-03-01", "ends_on": "2025-03-31", "pct": 150}],
    "bonuses": [{"min_total": 50_000, "currency": "KRW", "points": 500}],
}
TIERS_V1: dict[str, Any] = {
    "basis": "points",
    "grace_days": 30,
    "tiers": [
        {"id": "member", "name": "Member", "threshold": 0},
        {
            "id": "star",
            "name": "Star",
            "threshold": 5_000,
            "earn_multiplier_pct": 120,
            "perks": ["Free drink"],
        },
    ],
}


@pytest.fixture
def api(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    return lambda_function(PROGRAMS_API)


def request(
    route: Route,
    *,
    params: dict[str, str] | None = None,
    body: Any = UNSET,
    groups: str = "[marketing]",
    headers: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    return api_event(
        "profile_get_customer",
        method=route.method,
        resource=route.path,
        path_parameters=params,
        path=route.path if not params else None,
        body=body if body is not UNSET else None,
        groups=groups,
        headers=headers,
        query=None,
    )


def call(api: Invoker, route: Route, **kwargs: Any) -> ApiResponse:
    return api(request(route, **kwargs))


def config_items() -> dict[str, dict[str, Any]]:
    """The programs' items (``CONFIG`` partition) by sort key."""
    return {i["sk"]["S"]: i for i in scan_all(REWARDS) if i["pk"]["S"] == "CONFIG"}


# --- the earn rules ------------------------------------------------------------------------------


def test_the_earn_rules_start_as_the_defaults_at_version_0(api: Invoker) -> None:
    # Given nothing stored
    # When marketing reads the rules, and version 0
    current = call(api, EARN_RULES_GET)
    zero = call(api, EARN_RULES_VERSION, params={"version": "0"})
    # Then both are the defaults, version 0, with that as the ETag
    assert (current.status, current.header("ETag")) == (200, '"0"')
    body = current.json()
    assert (body["version"], body["updated_at"], body["signup_points"]) == (0, None, 1000)
    assert body["base_rates"]["KRW"] == {"points": 1, "per": 100}
    assert zero.json() == body
    assert config_items() == {}


def test_a_change_is_a_new_version_and_every_version_stays_readable(api: Invoker) -> None:
    # Given marketing changes the defaults, naming version 0
    first = call(api, EARN_RULES_PUT, body=RULES_V1, headers={"If-Match": '"0"'})
    # Then it is version 1, in force
    assert (first.status, first.header("ETag"), first.json()["version"]) == (200, '"1"', 1)
    assert first.json()["category_multipliers"] == {"beans": 200}
    assert call(api, EARN_RULES_GET).json() == first.json()
    # When another change follows (weak ETag form) with a new sign-up gift
    second = call(api, EARN_RULES_PUT, body={"signup_points": 2000}, headers={"If-Match": 'W/"1"'})
    assert (second.status, second.json()["version"], second.json()["signup_points"]) == (200, 2, 2000)
    # Then version 1 is still readable as it was, and version 2 is what is in force
    assert call(api, EARN_RULES_VERSION, params={"version": "1"}).json() == first.json()
    assert call(api, EARN_RULES_VERSION, params={"version": "2"}).json() == second.json()
    assert call(api, EARN_RULES_GET).json()["category_multipliers"] == {}
    assert set(config_items()) == {"EARN_RULES", "EARN_RULES#00000001", "EARN_RULES#00000002"}


def test_a_stale_if_match_is_412_and_changes_nothing(api: Invoker) -> None:
    # Given the rules at version 1
    assert call(api, EARN_RULES_PUT, body=RULES_V1).status == 200
    before = config_items()
    # When another marketer sends a change based on version 0
    stale = call(api, EARN_RULES_PUT, body={"signup_points": 5}, headers={"If-Match": '"0"'})
    # Then it is refused and nothing moved
    assert (stale.status, stale.error["code"]) == (412, "version_mismatch")
    assert config_items() == before
    # And without If-Match the change applies on top of version 1
    blind = call(api, EARN_RULES_PUT, body={"signup_points": 5})
    assert (blind.status, blind.json()["version"]) == (200, 2)


def test_an_unknown_version_is_404(api: Invoker) -> None:
    call(api, EARN_RULES_PUT, body=RULES_V1)
    missing = call(api, EARN_RULES_VERSION, params={"version": "2"})
    assert (missing.status, missing.error["code"]) == (404, "version_not_found")


@pytest.mark.parametrize("version", ["abc", "-1", "1.5", "+1", "01", " 1", "1_0", "123456789"])
def test_a_malformed_version_is_422(api: Invoker, version: str) -> None:
    response = call(api, EARN_RULES_VERSION, params={"version": version})
    assert (response.status, response.error["code"]) == (422, "validation_error")


def test_a_replayed_change_is_applied_once(api: Invoker) -> None:
    # Given a change sent twice with the same Idempotency-Key (a client retry)
    key = {"Idempotency-Key": "earn-rules-change-1"}
    first = call(api, EARN_RULES_PUT, body=RULES_V1, headers=key)
    again = call(api, EARN_RULES_PUT, body=RULES_V1, headers=key)
    # Then the second gets the first's answer and the version moved once
    assert (first.status, again.status, again.header("Idempotent-Replayed")) == (200, 200, "true")
    assert again.json() == first.json()
    assert call(api, EARN_RULES_GET).json()["version"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"bonus": 1},
        {"base_rates": {"won": {"points": 1, "per": 100}}},
        {"category_multipliers": {"beans": 1001}},
        {"category_multipliers": {f"c{i}": 100 for i in range(201)}},
        {"windows": [{**RULES_V1["windows"][0], "ends_on": "2025-02-01"}]},
        {"windows": [{**RULES_V1["windows"][0], "starts_on": 1740787200}]},
        {"bonuses": [{"min_total": 1.5, "currency": "KRW", "points": 10}]},
        {"max_points_per_purchase": -1},
        [],
    ],
)
def test_a_bad_earn_rules_body_is_422_and_stores_nothing(api: Invoker, body: Any) -> None:
    response = call(api, EARN_RULES_PUT, body=body)
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert config_items() == {}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ('{"signup_points": ', {}, 400, "malformed_json"),
        ({}, {"If-Match": '"x"'}, 400, "invalid_if_match"),
        ({}, {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (
            {"windows": [RULES_V1["windows"][0]] * 50, "pad": "x" * EARN_RULES_PUT.max_body_bytes},
            {},
            413,
            "payload_too_large",
        ),
    ],
)
def test_a_malformed_request_is_a_4xx_and_stores_nothing(
    api: Invoker, body: Any, headers: dict[str, str | None], status: int, code: str
) -> None:
    response = call(api, EARN_RULES_PUT, body=body, headers=headers)
    assert (response.status, response.error["code"]) == (status, code)
    assert config_items() == {}


# --- the tier program ----------------------------------------------------------------------------


def test_the_tier_program_is_versioned_like_the_rules(api: Invoker) -> None:
    # Given the default program at version 0
    default = call(api, TIERS_GET)
    assert (default.status, default.header("ETag")) == (200, '"0"')
    assert [t["id"] for t in default.json()["tiers"]] == ["basic", "silver", "gold", "vip"]
    # When marketing replaces it with a points-based two-tier program, naming version 0
    changed = call(api, TIERS_PUT, body=TIERS_V1, headers={"If-Match": '"0"'})
    # Then it is version 1, in force, with the defaults for what was left out
    assert (changed.status, changed.header("ETag")) == (200, '"1"')
    body = changed.json()
    assert (body["basis"], body["grace_days"], body["window_months"], body["version"]) == (
        "points",
        30,
        12,
        1,
    )
    assert body["tiers"][1] == {
        "id": "star",
        "name": "Star",
        "threshold": 5_000,
        "earn_multiplier_pct": 120,
        "perks": ["Free drink"],
    }
    assert call(api, TIERS_GET).json() == body
    # And a change based on version 0 is refused
    stale = call(api, TIERS_PUT, body={}, headers={"If-Match": '"0"'})
    assert (stale.status, stale.error["code"]) == (412, "version_mismatch")
    assert set(config_items()) == {"TIERS", "TIERS#00000001"}


@pytest.mark.parametrize(
    "body",
    [
        {"basis": "balance"},
        {"tiers": [{"id": "member", "name": "Member", "threshold": 10}]},
        {"tiers": [TIERS_V1["tiers"][1], TIERS_V1["tiers"][0]]},
        {"tiers": [{**TIERS_V1["tiers"][0], "earn_multiplier_pct": 50}]},
        {"grace_days": -1},
        {"tiers": [{**TIERS_V1["tiers"][0], "id": "Member!"}]},
    ],
)
def test_a_bad_tier_program_is_422_and_stores_nothing(api: Invoker, body: dict[str, Any]) -> None:
    response = call(api, TIERS_PUT, body=body)
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert config_items() == {}


# --- who may call --------------------------------------------------------------------------------

ROUTES = [
    (EARN_RULES_GET, None, UNSET),
    (EARN_RULES_PUT, None, {}),
    (EARN_RULES_VERSION, {"version": "0"}, UNSET),
    (TIERS_GET, None, UNSET),
    (TIERS_PUT, None, {}),
]


@pytest.mark.parametrize(("route", "params", "body"), ROUTES, ids=lambda r: getattr(r, "key", ""))
@pytest.mark.parametrize("groups", ["[customer]", "[agent]", "[machine]", ""])
def test_only_marketing_and_admins_may_call(
    api: Invoker, route: Route, params: Any, body: Any, groups: str
) -> None:
    refused = call(api, route, params=params, body=body, groups=groups)
    assert (refused.status, refused.error["code"]) == (403, "forbidden")
    assert config_items() == {}
    for allowed in ("[marketing]", "[admin]"):
        assert call(api, route, params=params, body=body, groups=allowed).status == 200


# --- concurrent changes ---------------------------------------------------------------------------


class RacingTable(DynamoTable):
    """A table on which, right after each read of the rules in force, a rival changes them."""

    def __init__(self, name: str, rival: DynamoProgramStore) -> None:
        super().__init__(name)
        self.rival = rival

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        found = super().get(key, consistent=consistent)
        if key["sk"] == "EARN_RULES":
            self.rival.change_earn_rules(EarnRulesSpec(signup_points=7), expected_version=None, at=NOW)
        return found


def test_a_change_that_keeps_losing_the_race_is_409_and_a_stale_one_412(tables: dict[str, str]) -> None:
    # Given a rival that changes the rules between every read and write of ours
    rival = DynamoProgramStore(table(REWARDS))
    racing = DynamoProgramStore(RacingTable(table(REWARDS).name, rival), backoff=NO_WAIT)
    # When we change them without If-Match
    with pytest.raises(Conflict) as lost:
        racing.change_earn_rules(EarnRulesSpec(signup_points=1), expected_version=None, at=NOW)
    # Then after the bounded retries it is a 409, and only the rival's versions were written
    assert (lost.value.status, lost.value.code) == (409, "concurrent_update")
    assert rival.earn_rules().version == NO_WAIT.attempts
    assert rival.earn_rules().signup_points == 7
    # And naming the version just read, losing once is a 412
    with pytest.raises(PreconditionFailed) as stale:
        racing.change_earn_rules(EarnRulesSpec(), expected_version=NO_WAIT.attempts, at=NOW)
    assert stale.value.code == "version_mismatch"
    assert len([sk for sk in config_items() if sk.startswith("EARN_RULES#")]) == NO_WAIT.attempts + 2


@pytest.mark.usefixtures("serialized_moto")
def test_concurrent_changes_each_get_their_own_version(
    execution_environments: Callable[[Function], Invoker], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 4 execution environments sending different changes at once, without If-Match
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    environments = [execution_environments(PROGRAMS_API) for _ in range(4)]
    events = [request(EARN_RULES_PUT, body={"signup_points": 100 + i}) for i in range(4)]
    barrier = threading.Barrier(len(events))

    def send(invoke: Invoker, event: dict[str, Any]) -> ApiResponse:
        barrier.wait(timeout=10)
        return invoke(event)

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        responses = list(pool.map(send, environments, events))
    # Then each applied change has a version of its own, kept with exactly what it sent
    applied = [r.json() for r in responses if r.status == 200]
    assert {r.status for r in responses} <= {200, 409}
    assert sorted(a["version"] for a in applied) == list(range(1, len(applied) + 1))
    items = config_items()
    for change in applied:
        kept = items[f"EARN_RULES#{change['version']:08d}"]
        assert int(kept["signup_points"]["N"]) == change["signup_points"]
    assert int(items["EARN_RULES"]["version"]["N"]) == len(applied)


def test_a_caching_store_rereads_after_its_max_age_and_sees_its_own_writes_at_once(
    tables: dict[str, str],
) -> None:
    # Given a store that caches for 60 s (the event consumer's) and another that changes the rules
    seconds = [0.0]
    cached = DynamoProgramStore(table(REWARDS), cache_s=60, monotonic=lambda: seconds[0])
    marketing = DynamoProgramStore(table(REWARDS))
    assert cached.earn_rules().version == 0
    marketing.change_earn_rules(EarnRulesSpec(signup_points=5), expected_version=0, at=NOW)
    # When the cache is 59 s old, then 60 s
    seconds[0] = 59.0
    assert cached.earn_rules().version == 0
    seconds[0] = 60.0
    # Then it reads the change
    assert cached.earn_rules().version == 1
    # And a change it makes itself is what it reads next
    cached.change_earn_rules(EarnRulesSpec(signup_points=6), expected_version=1, at=NOW)
    assert (cached.earn_rules().version, cached.earn_rules().signup_points) == (2, 6)
