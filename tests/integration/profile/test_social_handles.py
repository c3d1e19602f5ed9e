"""Social handles on moto: customers link and unlink them through ``PATCH /me`` (staff through
``PATCH /customers/{id}``), one customer's each (a claim item in the profile's transaction); agents
find the customer behind one (``GET /customers/by-handle/{network}/{handle}``); the feedback intake
finds many in one BatchGetItem (``profile-handles``, invoked directly); erasure releases them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.profile.dal.keys import handle_key
from services.profile.topology import HANDLES, PROFILES
from shared import aws
from shared.topology import Function
from tests.integration.apigw import Invoker, LambdaContext, api_event
from tests.integration.conftest import scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
MINJI, JUN = "sub-handles-minji", "sub-handles-jun"
STAFF = "sub-handles-agent"
BY_HANDLE = "/customers/by-handle/{network}/{handle}"


def call(
    api: Invoker, method: str, resource: str, *, groups: str = "customer", sub: str = MINJI, **kw: Any
) -> Any:
    if "path_parameters" not in kw:
        kw.setdefault("path", resource)
    return api(api_event("profile_get_me", method=method, resource=resource, sub=sub, groups=groups, **kw))


def create(api: Invoker, sub: str = MINJI) -> str:
    response = api(api_event("profile_create_me", sub=sub, body={"display_name": "민지"}))
    assert response.status == 201, response.body
    return str(response.json()["customer_id"])


def link(api: Invoker, handles: Any, sub: str = MINJI) -> Any:
    return call(api, "PATCH", "/me", sub=sub, body={"social_handles": handles})


def lookup(api: Invoker, network: str, handle: str, groups: str = "agent") -> Any:
    params = {"network": network, "handle": handle}
    return call(api, "GET", BY_HANDLE, groups=groups, sub=STAFF, path_parameters=params)


def claims() -> dict[str, str]:
    """Every handle claim in the table: its pk -> the customer who holds it."""
    return {
        i["pk"]["S"]: i["customer_id"]["S"] for i in scan_all(PROFILES) if i["pk"]["S"].startswith("HANDLE#")
    }


def everything() -> list[str]:
    """Every item of the profiles table, as a sorted list of their JSON (what "nothing written" means)."""
    return sorted(str(sorted(i.items())) for i in scan_all(PROFILES))


@pytest.fixture
def handles_fn(lambda_function: Callable[[Function], Invoker]) -> Callable[[Any], dict[str, Any]]:
    """``profile-handles``'s real entry point, invoked as Lambda invokes it (the event is the request)."""
    invoker = lambda_function(HANDLES)
    return lambda event: dict(invoker.handler(event, LambdaContext.of(HANDLES)))


@pytest.fixture
def dynamo_calls() -> Iterator[list[str]]:
    """The DynamoDB operations made from now on."""
    made: list[str] = []
    client = aws.client("dynamodb")
    handler = lambda model, **_: made.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.dynamodb", handler)
    yield made
    client.meta.events.unregister("before-call.dynamodb", handler)


# --- linking, changing, unlinking ------------------------------------------------------------------


def test_a_customer_links_changes_and_unlinks_handles_and_the_claims_follow(profile_api: Invoker) -> None:
    # Given a customer
    customer_id = create(profile_api)

    # When they link an X and an Instagram handle, as they type them
    linked = link(profile_api, {"x": "@Minji_Kim", "instagram": "Minji.Kim"})

    # Then the profile holds them bare and lower-case, GET /me shows them, and each is claimed
    assert linked.status == 200, linked.body
    assert linked.json()["social_handles"] == {"x": "minji_kim", "instagram": "minji.kim"}
    assert call(profile_api, "GET", "/me").json()["social_handles"] == {
        "x": "minji_kim",
        "instagram": "minji.kim",
    }
    assert claims() == {"HANDLE#x#minji_kim": customer_id, "HANDLE#instagram#minji.kim": customer_id}
    claim = table(PROFILES).get(handle_key("x", "minji_kim"))
    assert claim is not None
    assert (claim["type"], claim["network"], claim["handle"]) == ("handle", "x", "minji_kim")

    # When they change the X handle only
    changed = link(profile_api, {"x": "new_minji"})

    # Then the old X claim is gone, the new one is theirs, and Instagram is untouched
    assert changed.json()["social_handles"] == {"x": "new_minji", "instagram": "minji.kim"}
    assert claims() == {"HANDLE#x#new_minji": customer_id, "HANDLE#instagram#minji.kim": customer_id}

    # When they unlink Instagram, then every network
    unlinked = link(profile_api, {"instagram": None})
    cleared = link(profile_api, None)

    # Then each unlinking released its claims, and the profile holds none
    assert unlinked.json()["social_handles"] == {"x": "new_minji"}
    assert cleared.json()["social_handles"] == {}
    assert call(profile_api, "GET", "/me").json()["social_handles"] == {}
    assert claims() == {}
    assert "social_handles" not in (
        table(PROFILES).get({"pk": f"CUSTOMER#{customer_id}", "sk": "PROFILE"}) or {}
    )


def test_a_handle_another_customer_linked_is_409_handle_taken_and_nothing_is_written(
    profile_api: Invoker,
) -> None:
    # Given Minji linked an X handle first
    minji = create(profile_api)
    assert link(profile_api, {"x": "minji_kim"}).status == 200
    create(profile_api, JUN)
    before = everything()

    # When Jun links the same handle, spelt another way, with a name and an Instagram handle
    body = {"display_name": "준", "social_handles": {"x": "@MINJI_KIM", "instagram": "jun.park"}}
    response = call(profile_api, "PATCH", "/me", sub=JUN, body=body)

    # Then it is a 409 handle_taken naming the network, and no item of the table changed
    assert (response.status, response.error["code"]) == (409, "handle_taken"), response.body
    assert response.error["details"] == [{"loc": ["body", "social_handles", "x"], "type": "handle_taken"}]
    assert everything() == before
    jun = call(profile_api, "GET", "/me", sub=JUN).json()
    assert (jun["display_name"], jun["social_handles"], jun["version"]) == ("민지", {}, 1)
    assert claims() == {"HANDLE#x#minji_kim": minji}


@pytest.mark.parametrize(
    ("handles", "where", "kind"),
    [
        ({"x": "minji.kim"}, "x", "string_pattern_mismatch"),
        ({"x": "m" * 16}, "x", "string_pattern_mismatch"),
        ({"instagram": "minji-kim"}, "instagram", "string_pattern_mismatch"),
        ({"facebook": "minji"}, "facebook", "extra_forbidden"),
    ],
    ids=["a dot on X", "16 on X", "a hyphen on Instagram", "an unknown network"],
)
def test_a_bad_handle_is_a_422_naming_it_and_nothing_is_written(
    profile_api: Invoker, handles: dict[str, str], where: str, kind: str
) -> None:
    # Given a customer
    create(profile_api)
    before = everything()

    # When they link a handle their network does not allow
    response = link(profile_api, handles)

    # Then it is a 422 naming the network's handle and the kind of problem, and nothing is written
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert [(d["loc"], d["type"]) for d in response.error["details"]] == [
        (["body", "social_handles", where], kind)
    ]
    assert everything() == before


def test_an_agent_links_a_handle_for_a_customer_and_sees_it(profile_api: Invoker) -> None:
    # Given a customer, and another who linked an Instagram handle
    customer_id = create(profile_api)
    create(profile_api, JUN)
    assert link(profile_api, {"instagram": "jun.park"}, sub=JUN).status == 200
    path = {"customer_id": customer_id}

    # When an agent links an X handle for the customer, then Jun's Instagram handle
    linked = call(
        profile_api,
        "PATCH",
        "/customers/{customer_id}",
        groups="agent",
        sub=STAFF,
        path_parameters=path,
        body={"social_handles": {"x": "@Minji_Kim"}},
    )
    taken = call(
        profile_api,
        "PATCH",
        "/customers/{customer_id}",
        groups="agent",
        sub=STAFF,
        path_parameters=path,
        body={"social_handles": {"instagram": "jun.park"}},
    )

    # Then the first is linked and shows in the staff view; the second is 409 handle_taken
    assert linked.status == 200, linked.body
    seen = call(
        profile_api, "GET", "/customers/{customer_id}", groups="agent", sub=STAFF, path_parameters=path
    )
    assert seen.json()["social_handles"] == {"x": "minji_kim"}
    assert (taken.status, taken.error["code"]) == (409, "handle_taken")


def test_the_export_holds_the_linked_handles(profile_api: Invoker) -> None:
    # Given a customer who linked a handle
    create(profile_api)
    link(profile_api, {"instagram": "minji.kim"})

    # When they export their data
    export = call(profile_api, "GET", "/me/export").json()

    # Then their profile record holds it
    assert export["profile"]["social_handles"] == {"instagram": "minji.kim"}


# --- the lookup route ---------------------------------------------------------------------------------


def test_agents_and_admins_find_the_customer_behind_a_handle_spelt_any_way(profile_api: Invoker) -> None:
    # Given a customer who linked an X handle
    customer_id = create(profile_api)
    link(profile_api, {"x": "minji_kim"})

    # When an agent and an admin look it up, with an "@" and capitals
    agent = lookup(profile_api, "x", "@Minji_Kim")
    admin = lookup(profile_api, "x", "MINJI_KIM", groups="admin")

    # Then both get the customer's id, and nothing else
    assert (agent.status, agent.json()) == (200, {"customer_id": customer_id})
    assert (admin.status, admin.json()) == (200, {"customer_id": customer_id})


@pytest.mark.parametrize("groups", ["marketing", "customer"])
def test_marketing_and_customers_may_not_look_a_handle_up(profile_api: Invoker, groups: str) -> None:
    # Given a customer who linked an X handle
    create(profile_api)
    link(profile_api, {"x": "minji_kim"})

    # When marketing or a customer looks it up
    response = lookup(profile_api, "x", "minji_kim", groups=groups)

    # Then it is 403: marketing never sees a person
    assert (response.status, response.error["code"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("network", "handle"),
    [("x", "nobody"), ("instagram", "minji_kim"), ("x", "minji.kim")],
    ids=["no one linked it", "linked on another network", "no X handle"],
)
def test_a_handle_no_one_linked_is_404_handle_not_linked(
    profile_api: Invoker, network: str, handle: str
) -> None:
    # Given a customer who linked an X handle
    create(profile_api)
    link(profile_api, {"x": "minji_kim"})

    # When an agent looks up another
    response = lookup(profile_api, network, handle)

    # Then it is 404 handle_not_linked
    assert (response.status, response.error["code"]) == (404, "handle_not_linked")


@pytest.mark.parametrize(
    ("network", "handle"), [("facebook", "minji"), ("x", "minji-kim"), ("x", "m" * 31)], ids=str
)
def test_a_lookup_of_no_network_or_no_handle_is_a_422(
    profile_api: Invoker, network: str, handle: str
) -> None:
    # When an agent looks up a network that is not one, or a handle no network allows
    response = lookup(profile_api, network, handle)

    # Then it is a 422 naming the path parameter
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert {d["loc"][0] for d in response.error["details"]} == {"path"}


# --- the direct lookup (profile-handles) --------------------------------------------------------------


def test_the_feedback_intake_finds_the_linked_handles_in_one_batch_and_no_others(
    profile_api: Invoker, handles_fn: Callable[[Any], dict[str, Any]], dynamo_calls: list[str]
) -> None:
    # Given two customers who linked handles
    minji = create(profile_api)
    link(profile_api, {"x": "minji_kim", "instagram": "minji.kim"})
    jun = create(profile_api, JUN)
    link(profile_api, {"instagram": "jun.park"}, sub=JUN)
    dynamo_calls.clear()

    # When the feedback intake asks for five handles: three linked, one no one linked, one no handle
    answer = handles_fn(
        {
            "handles": [
                {"network": "instagram", "handle": "Jun.Park"},
                {"network": "x", "handle": "nobody_here"},
                {"network": "x", "handle": "@Minji_Kim"},
                {"network": "instagram", "handle": "minji.kim"},
                {"network": "x", "handle": "jun-park"},
            ]
        }
    )

    # Then it gets the linked ones, as stored, in the asked order, and nothing of the unknown ones
    assert answer == {
        "matches": [
            {"network": "instagram", "handle": "jun.park", "customer_id": jun},
            {"network": "x", "handle": "minji_kim", "customer_id": minji},
            {"network": "instagram", "handle": "minji.kim", "customer_id": minji},
        ]
    }
    # And it read them in one BatchGetItem
    assert dynamo_calls == ["BatchGetItem"]


def test_a_bad_lookup_is_an_error_answer_naming_the_fields_not_their_values(
    handles_fn: Callable[[Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # When the function is asked for a network it does not know and a handle with no name
    answer = handles_fn({"handles": [{"network": "myspace", "handle": "secret.person"}, {"network": "x"}]})

    # Then it answers invalid_request naming the fields, and neither answer nor log holds the value
    assert answer["error"]["code"] == "invalid_request"
    assert {tuple(d["loc"]) for d in answer["error"]["details"]} == {
        ("handles", "0", "network"),
        ("handles", "1", "handle"),
    }
    assert "secret.person" not in str(answer)
    assert "secret.person" not in capsys.readouterr().out


# --- erasure -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("user_pool")  # erasure reaches the login
def test_erasure_releases_the_handles_and_they_are_found_no_more(
    profile_api: Invoker, handles_fn: Callable[[Any], dict[str, Any]]
) -> None:
    # Given a customer who linked two handles
    create(profile_api)
    link(profile_api, {"x": "minji_kim", "instagram": "minji.kim"})

    # When they erase themselves
    assert call(profile_api, "DELETE", "/me").status == 204

    # Then no claim is left, and neither the route nor the direct lookup finds the handles
    assert claims() == {}
    assert lookup(profile_api, "x", "minji_kim").error["code"] == "handle_not_linked"
    asked = {
        "handles": [{"network": "x", "handle": "minji_kim"}, {"network": "instagram", "handle": "minji.kim"}]
    }
    assert handles_fn(asked) == {"matches": []}
    # And another customer may link them now
    jun = create(profile_api, JUN)
    assert link(profile_api, {"x": "minji_kim"}, sub=JUN).status == 200
    assert lookup(profile_api, "x", "minji_kim").json() == {"customer_id": jun}
