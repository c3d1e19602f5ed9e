"""The segments API on moto: marketing's versioned value model and lifestyle groups, staff's
read of a customer's value. Bad input is a 4xx with a code and writes nothing; customers and
machines are refused; a stale If-Match is 412; the group list pages with signed cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from services.profile.dal.segments import DynamoSegmentStore
from services.profile.logic.value import definitions, refresh
from services.profile.models.segments import MAX_GROUPS
from services.profile.topology import (
    CUSTOMER_VALUE,
    GROUP_CREATE,
    GROUP_DELETE,
    GROUP_GET,
    GROUP_UPDATE,
    GROUPS_LIST,
    PROFILES,
    SEGMENTS_API,
    VALUE_MODEL_GET,
    VALUE_MODEL_PUT,
)
from shared.events import EventPublisher
from shared.topology import Function, Route
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import FROZEN_AT, scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
UNKNOWN = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
PARENTS: dict[str, Any] = {
    "id": "parents",
    "name": "Parents",
    "description": "Customers with a child's birthday on file",
    "rules": [{"field": "anniversary", "op": "has", "value": "child_birthday"}],
}


@pytest.fixture
def api(lambda_function: Callable[[Function], Invoker]) -> Invoker:
    return lambda_function(SEGMENTS_API)


def call(
    api: Invoker,
    route: Route,
    *,
    params: dict[str, str] | None = None,
    body: Any = UNSET,
    groups: str = "[marketing]",
    headers: dict[str, str | None] | None = None,
    query: Any = UNSET,
) -> ApiResponse:
    path = route.path
    for name, value in (params or {}).items():
        path = path.replace(f"{{{name}}}", value)
    return api(
        api_event(
            "profile_get_customer",
            method=route.method,
            resource=route.path,
            path=path,
            path_parameters=params or None,
            body=body if body is not UNSET else None,
            groups=groups,
            headers=headers,
            query=query,
        )
    )


def config_items() -> list[dict[str, Any]]:
    """What the segments keep outside customers' partitions (models, groups, the catalog)."""
    return [i for i in scan_all(PROFILES) if i["pk"]["S"] == "CONFIG" or i["pk"]["S"].startswith("GROUP#")]


# --- the value model -----------------------------------------------------------------------------


def test_the_value_model_starts_as_the_documented_defaults_at_version_0(api: Invoker) -> None:
    # Given nothing stored
    # When marketing reads the model
    response = call(api, VALUE_MODEL_GET)
    # Then it is the defaults, version 0, with that as its ETag
    assert response.status == 200
    assert response.header("ETag") == '"0"'
    body = response.json()
    assert (body["version"], body["updated_at"], body["home_currency"]) == (0, None, "KRW")
    assert body["weights"] == {"recency": 35, "frequency": 30, "monetary": 35}
    assert body["segments"] == {"top": 80, "loyal": 60, "regular": 40, "occasional": 20}


def test_a_model_change_is_versioned_and_a_stale_if_match_is_412(api: Invoker) -> None:
    # Given marketing changes the defaults, naming version 0
    change = {"home_currency": "KRW", "monetary": [10_000, 100_000, 1_000_000, 10_000_000]}
    first = call(api, VALUE_MODEL_PUT, body=change, headers={"If-Match": '"0"'})
    # Then it is stored as version 1
    assert (first.status, first.header("ETag"), first.json()["version"]) == (200, '"1"', 1)
    assert call(api, VALUE_MODEL_GET).json()["monetary"] == change["monetary"]
    # When another marketer sends a change based on version 0
    stale = call(api, VALUE_MODEL_PUT, body={"premium_points": 9}, headers={"If-Match": '"0"'})
    # Then it is refused and the model stays at version 1
    assert (stale.status, stale.error["code"]) == (412, "precondition_failed")
    current = call(api, VALUE_MODEL_GET).json()
    assert (current["version"], current["premium_points"]) == (1, 5)
    # And without If-Match the change is applied on top
    blind = call(api, VALUE_MODEL_PUT, body={"premium_points": 9}, headers={"If-Match": None})
    assert (blind.status, blind.json()["version"], blind.json()["premium_points"]) == (200, 2, 9)


def test_a_replayed_model_change_is_applied_once(api: Invoker) -> None:
    # Given a change sent twice with the same Idempotency-Key (a client retry)
    key = {"Idempotency-Key": "model-change-1"}
    first = call(api, VALUE_MODEL_PUT, body={"premium_points": 6}, headers=key)
    again = call(api, VALUE_MODEL_PUT, body={"premium_points": 6}, headers=key)
    # Then the second gets the first's answer and the version moved once
    assert (first.status, again.status) == (200, 200)
    assert again.header("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert call(api, VALUE_MODEL_GET).json()["version"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"weights": {"recency": 50, "frequency": 50, "monetary": 50}},
        {"recency_days": [365, 180, 90, 30]},
        {"monetary": [1, 2, 3, "4"]},
        {"segments": {"top": 20, "loyal": 40, "regular": 60, "occasional": 80}},
        {"home_currency": "won"},
        {"lapsed_after_days": 0},
        {"premium_points": "5"},
        {"monetary": [1, 2, 3, 10**30]},
        {"bonus": 1},
    ],
)
def test_a_bad_model_is_422_and_stores_nothing(api: Invoker, body: dict[str, Any]) -> None:
    # Given a model that is not monotone, does not add up, or has an unknown field
    # When marketing sends it
    response = call(api, VALUE_MODEL_PUT, body=body)
    # Then it is refused with the validation code and nothing is stored
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert config_items() == []


@pytest.mark.parametrize("if_match", ['"x"', "1.5", "-1", '"' + "9" * 20 + '"'])
def test_a_malformed_if_match_is_400(api: Invoker, if_match: str) -> None:
    response = call(api, VALUE_MODEL_PUT, body={}, headers={"If-Match": if_match})
    assert (response.status, response.error["code"]) == (400, "invalid_if_match")
    assert config_items() == []


def test_malformed_json_is_400(api: Invoker) -> None:
    response = call(api, GROUP_CREATE, body='{"id": "parents", ')
    assert (response.status, response.error["code"]) == (400, "malformed_json")


# --- who may call ---------------------------------------------------------------------------------

ADMIN_ROUTES = [
    (VALUE_MODEL_GET, None, UNSET),
    (VALUE_MODEL_PUT, None, {}),
    (GROUPS_LIST, None, UNSET),
    (GROUP_CREATE, None, PARENTS),
    (GROUP_GET, {"group_id": "parents"}, UNSET),
    (GROUP_UPDATE, {"group_id": "parents"}, {k: v for k, v in PARENTS.items() if k != "id"}),
    (GROUP_DELETE, {"group_id": "parents"}, UNSET),
]


@pytest.mark.parametrize(("route", "params", "body"), ADMIN_ROUTES, ids=lambda r: getattr(r, "key", ""))
@pytest.mark.parametrize("groups", ["[customer]", "[agent]", "[machine]", "", "[customer,machine]"])
def test_the_admin_routes_refuse_customers_agents_and_machines(
    api: Invoker, route: Route, params: Any, body: Any, groups: str
) -> None:
    # Given a caller who is not in marketing or admin
    # When they call an admin route
    response = call(api, route, params=params, body=body, groups=groups)
    # Then it is 403 and nothing is written
    assert (response.status, response.error["code"]) == (403, "forbidden")
    assert config_items() == []


def test_a_machine_token_is_refused_even_with_its_scope(api: Invoker) -> None:
    event = api_event(
        "profile_get_customer",
        method="GET",
        resource=VALUE_MODEL_GET.path,
        path=VALUE_MODEL_GET.path,
        path_parameters=None,
        claims={"sub": "pos-system", "client_id": "pos", "scope": "dangol/machine", "token_use": "access"},
    )
    response = api(event)
    assert (response.status, response.error["code"]) == (403, "forbidden")


@pytest.mark.parametrize("groups", ["[marketing]", "[admin]"])
def test_marketing_and_admins_may_use_the_admin_routes(api: Invoker, groups: str) -> None:
    assert call(api, VALUE_MODEL_GET, groups=groups).status == 200
    assert call(api, GROUP_CREATE, body=PARENTS, groups=groups).status == 201
    assert call(api, GROUP_DELETE, params={"group_id": "parents"}, groups=groups).status == 204


@pytest.mark.parametrize("groups", ["[customer]", "[machine]", ""])
def test_a_customers_value_is_for_staff_only(api: Invoker, groups: str) -> None:
    response = call(api, CUSTOMER_VALUE, params={"customer_id": UNKNOWN}, groups=groups)
    assert (response.status, response.error["code"]) == (403, "forbidden")


# --- lifestyle groups --------------------------------------------------------------------------------


def test_a_group_is_defined_read_changed_and_retired(api: Invoker) -> None:
    # Given marketing defines the parents group
    created = call(api, GROUP_CREATE, body=PARENTS)
    assert (created.status, created.header("ETag")) == (201, '"1"')
    body = created.json()
    assert {k: body[k] for k in PARENTS} == PARENTS
    assert body["version"] == 1
    # When they read it, then change it with its version
    read = call(api, GROUP_GET, params={"group_id": "parents"})
    assert read.json() == body
    change = {
        "name": "Young families",
        "rules": [*PARENTS["rules"], {"field": "age", "op": "lte", "value": 44}],
    }
    changed = call(
        api, GROUP_UPDATE, params={"group_id": "parents"}, body=change, headers={"If-Match": '"1"'}
    )
    # Then it is version 2 with the new rules, and the description was replaced by the default
    assert (changed.status, changed.header("ETag")) == (200, '"2"')
    assert (changed.json()["name"], len(changed.json()["rules"]), changed.json()["description"]) == (
        "Young families",
        2,
        "",
    )
    # And a change or retirement based on version 1 is refused
    stale = call(api, GROUP_UPDATE, params={"group_id": "parents"}, body=change, headers={"If-Match": '"1"'})
    assert (stale.status, stale.error["code"]) == (412, "precondition_failed")
    stale_delete = call(api, GROUP_DELETE, params={"group_id": "parents"}, headers={"If-Match": '"1"'})
    assert (stale_delete.status, stale_delete.error["code"]) == (412, "precondition_failed")
    # When it is retired with the current version
    gone = call(api, GROUP_DELETE, params={"group_id": "parents"}, headers={"If-Match": '"2"'})
    # Then it is gone, from the list too, and may be defined again
    assert (gone.status, gone.body) == (204, "")
    missing = call(api, GROUP_GET, params={"group_id": "parents"})
    assert (missing.status, missing.error["code"]) == (404, "group_not_found")
    assert call(api, GROUPS_LIST).json()["items"] == []
    assert call(api, GROUP_CREATE, body=PARENTS).status == 201


def test_a_group_id_is_unique(api: Invoker) -> None:
    assert call(api, GROUP_CREATE, body=PARENTS).status == 201
    before = config_items()
    again = call(api, GROUP_CREATE, body={**PARENTS, "name": "Other"})
    assert (again.status, again.error["code"]) == (409, "group_exists")
    assert config_items() == before


def test_unknown_groups_are_404(api: Invoker) -> None:
    for route, body in (
        (GROUP_GET, UNSET),
        (GROUP_UPDATE, {"name": "x", "rules": PARENTS["rules"]}),
        (GROUP_DELETE, UNSET),
    ):
        response = call(api, route, params={"group_id": "nobody"}, body=body)
        assert (response.status, response.error["code"]) == (404, "group_not_found")
    assert config_items() == []


@pytest.mark.parametrize(
    "rules",
    [
        [{"field": "income", "op": "gte", "value": 1}],
        [{"field": "age", "op": "older_than", "value": 30}],
        [{"field": "age", "op": "between", "value": [50, 40]}],
        [{"field": "anniversary", "op": "has", "value": "graduation"}],
        [{"field": "segment", "op": "in", "value": ["gold"]}],
        [{"field": "locale", "op": "in", "value": ["korean"]}],
        [{"field": "age", "op": "gte"}],
        [],
        [{"field": "age", "op": "gte", "value": 1}] * 11,
        "age > 30",
    ],
)
def test_bad_rules_are_422_and_store_nothing(api: Invoker, rules: Any) -> None:
    # Given a group whose rules name an unknown field or operator, or a value that does not fit
    # When marketing defines it
    response = call(api, GROUP_CREATE, body={**PARENTS, "rules": rules})
    # Then it is refused with the validation code, pointing at the rules, and nothing is stored
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert any("rules" in d["loc"] for d in response.error["details"])
    assert config_items() == []


@pytest.mark.parametrize("group_id", ["Parents", "p", "parents!", "-parents", "a" * 41, "parents%20x"])
def test_bad_group_ids_are_422(api: Invoker, group_id: str) -> None:
    created = call(api, GROUP_CREATE, body={**PARENTS, "id": group_id})
    read = call(api, GROUP_GET, params={"group_id": group_id})
    assert (created.status, created.error["code"]) == (422, "validation_error")
    assert (read.status, read.error["code"]) == (422, "validation_error")
    assert config_items() == []


def test_at_most_50_groups_live_at_once(api: Invoker) -> None:
    # Given 50 groups
    for i in range(MAX_GROUPS):
        assert call(api, GROUP_CREATE, body={**PARENTS, "id": f"group-{i:02d}"}).status == 201
    # When a 51st is defined
    full = call(api, GROUP_CREATE, body={**PARENTS, "id": "one-too-many"})
    # Then it is refused until one is retired
    assert (full.status, full.error["code"]) == (409, "group_limit_reached")
    assert call(api, GROUP_GET, params={"group_id": "one-too-many"}).status == 404
    assert call(api, GROUP_DELETE, params={"group_id": "group-07"}).status == 204
    assert call(api, GROUP_CREATE, body={**PARENTS, "id": "one-too-many"}).status == 201


def test_the_group_list_pages_with_signed_cursors(api: Invoker) -> None:
    # Given five groups
    names = ["echo", "alpha", "delta", "bravo", "charlie"]
    for name in names:
        assert call(api, GROUP_CREATE, body={**PARENTS, "id": name}).status == 201
    # When marketing lists them two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = call(api, GROUPS_LIST, query=query)
        assert page.status == 200
        seen += [g["id"] for g in page.json()["items"]]
        cursor = page.json().get("next_cursor")
        pages += 1
        if not cursor:
            break
    # Then every group came once, in id order, in three pages
    assert (seen, pages) == (sorted(names), 3)
    # And the default page holds them all
    assert [g["id"] for g in call(api, GROUPS_LIST).json()["items"]] == sorted(names)


def test_a_tampered_or_foreign_cursor_is_400(api: Invoker) -> None:
    for name in ("alpha", "bravo", "charlie"):
        call(api, GROUP_CREATE, body={**PARENTS, "id": name})
    cursor = call(api, GROUPS_LIST, query={"limit": "1"}).json()["next_cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    for bad in (tampered, "not-a-cursor", cursor[:-2], "A" * 3000):
        response = call(api, GROUPS_LIST, query={"cursor": bad})
        assert response.status in {400, 422}
        assert response.error["code"] in {"invalid_cursor", "validation_error"}
    response = call(api, GROUPS_LIST, query={"cursor": tampered})
    assert (response.status, response.error["code"]) == (400, "invalid_cursor")


@pytest.mark.parametrize(("limit", "expected"), [("0", 400), ("101", 400), ("-1", 400), ("ten", 422)])
def test_page_sizes_outside_1_to_100_are_refused(api: Invoker, limit: str, expected: int) -> None:
    response = call(api, GROUPS_LIST, query={"limit": limit})
    assert response.status == expected
    assert response.error["code"] == ("invalid_limit" if expected == 400 else "validation_error")


# --- a customer's value ------------------------------------------------------------------------------


def test_a_customers_value_404s_tell_unknown_from_not_yet_assessed(
    api: Invoker, profile_api: Invoker
) -> None:
    # Given an unknown id and a customer who has not bought anything
    created = profile_api(api_event("profile_create_me", sub="sub-value", body={"display_name": "가치"}))
    customer_id = created.json()["customer_id"]
    # When staff read their value
    unknown = call(api, CUSTOMER_VALUE, params={"customer_id": UNKNOWN}, groups="[agent]")
    not_yet = call(api, CUSTOMER_VALUE, params={"customer_id": customer_id}, groups="[agent]")
    bad_id = call(api, CUSTOMER_VALUE, params={"customer_id": "42"}, groups="[agent]")
    # Then each 4xx says why
    assert (unknown.status, unknown.error["code"]) == (404, "profile_not_found")
    assert (not_yet.status, not_yet.error["code"]) == (404, "value_not_assessed")
    assert (bad_id.status, bad_id.error["code"]) == (422, "validation_error")


@pytest.mark.usefixtures("frozen_clock")
def test_agents_read_a_customers_score_segment_and_components(
    api: Invoker, profile_api: Invoker, bus: str
) -> None:
    # Given a customer with a purchase history since 2024, assessed by the segmenter's logic at
    # FROZEN_AT, where the functions' clock stands (against the real clock the segment would drift)
    created = profile_api(api_event("profile_create_me", sub="sub-value", body={"display_name": "가치"}))
    customer_id = created.json()["customer_id"]
    profiles = table(PROFILES)
    now = FROZEN_AT
    profiles.put(
        {
            "pk": f"CUSTOMER#{customer_id}",
            "sk": "STATS",
            "type": "stats",
            "spend_KRW": 800_000,
            "purchase_count": 30,
            "first_purchase_at": "2024-01-01T00:00:00Z",
            "last_purchase_at": now.isoformat(),
        }
    )
    store = DynamoSegmentStore(profiles, EventPublisher(bus, "dangol.profile"))
    refresh(store, customer_id, definitions(store), now=now)
    # Then marketing, who work with segments and counts, may not read one customer's value
    refused = call(api, CUSTOMER_VALUE, params={"customer_id": customer_id}, groups="[marketing]")
    assert (refused.status, refused.error["code"]) == (403, "forbidden")
    # When an agent or an admin reads it
    for groups in ("[agent]", "[admin]"):
        response = call(api, CUSTOMER_VALUE, params={"customer_id": customer_id}, groups=groups)
        # Then they see the score, segment, components and the model version
        assert response.status == 200, response.body
        body = response.json()
        assert set(body) == {"customer_id", "score", "segment", "components", "model_version", "assessed_at"}
        assert body["customer_id"] == customer_id
        assert body["segment"] in {"top", "loyal"}
        assert 0 <= body["score"] <= 100
        assert body["components"]["spend"] == 800_000
        assert body["model_version"] == 0
    # And the body is plain JSON numbers, never stringified decimals
    assert isinstance(json.loads(response.body)["components"]["recency"], int)
