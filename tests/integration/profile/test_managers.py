"""Dedicated managers: staff assign a manager to a customer (PUT), remove them (DELETE), and a
manager lists their own customers through the by-manager index, page by page. Assigning a
manager is CRM bookkeeping: it does not move the customer's profile version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from infra.local import provision
from infra.topology import SYSTEM
from services.profile.dal.profiles import profile_item, profile_key
from services.profile.models.profile import Profile
from services.profile.topology import CRM_API, PROFILES
from shared.clock import utc_now
from shared.ids import new_id
from shared.topology import Function
from tests.integration.apigw import UNSET, ApiResponse, Invoker, api_event
from tests.integration.conftest import STAGE, scan_all, table

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
LEAD = "11111111-2222-4333-8444-555555555555"  # the staff member who assigns
MANAGER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
OTHER_MANAGER = "99999999-8888-4777-8666-555555555555"
UNKNOWN = "cus_01JK2M3N4P5Q6R7S8T9V0W1X2Y"
MACHINE = {"sub": "pos-gangnam", "scope": "dangol/machine", "client_id": "pos-gangnam", "token_use": "access"}


@pytest.fixture
def crm(moto: None, bus: str, lambda_function: Callable[[Function], Invoker]) -> Invoker:
    clients = (boto3.client("sqs"), boto3.client("sns"), boto3.client("events"))
    provision.create_messaging(clients, SYSTEM, stage=STAGE, bus=bus)
    return lambda_function(CRM_API)


def new_customer(name: str, email: str | None = None) -> str:
    now = utc_now()
    profile = Profile(
        customer_id=new_id("cus"),
        display_name=name,
        email=email,
        locale="ko-KR",
        time_zone="Asia/Seoul",
        version=3,
        created_at=now,
        updated_at=now,
    )
    table(PROFILES).put(profile_item(profile))
    return profile.customer_id


def stored(customer_id: str) -> dict[str, Any]:
    item = table(PROFILES).get(profile_key(customer_id))
    assert item is not None
    return item


def assign(
    api: Invoker, customer_id: str, body: Any, *, sub: str = LEAD, groups: str = "agent", claims: Any = UNSET
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            method="PUT",
            resource="/customers/{customer_id}/manager",
            path_parameters={"customer_id": customer_id},
            headers={"Content-Type": "application/json"},
            body=body,
            sub=sub if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def unassign(api: Invoker, customer_id: str, *, groups: str = "agent", claims: Any = UNSET) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            method="DELETE",
            resource="/customers/{customer_id}/manager",
            path_parameters={"customer_id": customer_id},
            sub=LEAD if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def mine(
    api: Invoker,
    query: dict[str, str] | None = None,
    *,
    sub: str = MANAGER,
    groups: str = "agent",
    claims: Any = UNSET,
) -> ApiResponse:
    return api(
        api_event(
            "profile_get_customer",
            resource="/staff/me/customers",
            path="/staff/me/customers",
            path_parameters=None,
            query=query,
            sub=sub if claims is UNSET else None,
            groups=groups if claims is UNSET else None,
            claims=claims,
        )
    )


def test_assigning_a_manager_puts_the_customer_in_their_list_without_a_new_profile_version(
    crm: Invoker,
) -> None:
    # Given a customer at profile version 3
    customer = new_customer("김민지", "minji@example.com")
    # When a staff member makes MANAGER their dedicated manager
    response = assign(crm, customer, {"manager_id": MANAGER})
    # Then the assignment says who, by whom and when
    assert response.status == 200, response.body
    assignment = response.json()
    assert (assignment["customer_id"], assignment["manager_id"], assignment["assigned_by"]) == (
        customer,
        MANAGER,
        LEAD,
    )
    # And the profile carries it, at the same version
    item = stored(customer)
    assert (item["manager_id"], item["version"]) == (MANAGER, 3)
    # And the manager sees the customer in their own list, with contact points to reach them
    (listed,) = mine(crm).json()["items"]
    assert listed == {
        "customer_id": customer,
        "display_name": "김민지",
        "email": "minji@example.com",
        "phone": None,
        "locale": "ko-KR",
        "time_zone": "Asia/Seoul",
        "manager_assigned_at": assignment["assigned_at"],
    }


def test_assigning_the_same_manager_again_changes_nothing_and_another_takes_over(crm: Invoker) -> None:
    # Given a customer with a manager
    customer = new_customer("김민지")
    first = assign(crm, customer, {"manager_id": MANAGER}).json()
    # When the same manager is assigned again, by someone else
    again = assign(crm, customer, {"manager_id": MANAGER}, sub=OTHER_MANAGER)
    # Then the first assignment stands
    assert (again.status, again.json()) == (200, first)
    # When another manager is assigned
    moved = assign(crm, customer, {"manager_id": OTHER_MANAGER}).json()
    # Then the customer moves from the first manager's list to the other's
    assert moved["manager_id"] == OTHER_MANAGER
    assert mine(crm).json()["items"] == []
    assert [c["customer_id"] for c in mine(crm, sub=OTHER_MANAGER).json()["items"]] == [customer]


def test_removing_the_manager_takes_the_customer_off_the_list_and_is_idempotent(crm: Invoker) -> None:
    # Given a customer with a manager
    customer = new_customer("김민지")
    assign(crm, customer, {"manager_id": MANAGER})
    # When the manager is removed, twice
    first, second = unassign(crm, customer), unassign(crm, customer)
    # Then both are 204, the profile has no manager (same version), and the list is empty
    assert (first.status, second.status) == (204, 204)
    item = stored(customer)
    assert "manager_id" not in item
    assert "manager_assigned_at" not in item
    assert item["version"] == 3
    assert mine(crm).json() == {"items": [], "next_cursor": None}


def test_a_manager_lists_only_their_own_customers_page_by_page(crm: Invoker) -> None:
    # Given 5 customers of MANAGER, 2 of another manager and one without a manager
    customers = sorted(new_customer(f"고객{i}") for i in range(5))
    for customer in customers:
        assign(crm, customer, {"manager_id": MANAGER})
    for i in range(2):
        assign(crm, new_customer(f"다른{i}"), {"manager_id": OTHER_MANAGER})
    new_customer("혼자")
    # When MANAGER reads their list 2 at a time
    seen: list[str] = []
    cursors: list[str] = []
    cursor = None
    while True:
        page = mine(crm, {"limit": "2", **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["customer_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        cursors.append(cursor)
    # Then they get their 5 customers once each, in customer id order, and nobody else's
    assert seen == customers
    # And a tampered cursor, another manager's cursor and limits out of range are 400s
    refusals = [
        mine(crm, {"cursor": cursors[0][:-2]}),
        mine(crm, {"cursor": cursors[0]}, sub=OTHER_MANAGER),
        mine(crm, {"limit": "0"}),
        mine(crm, {"limit": "101"}),
    ]
    assert [(r.status, r.error["code"]) for r in refusals] == [(400, "invalid_cursor")] * 2 + [
        (400, "invalid_limit")
    ] * 2


def test_an_erased_customer_drops_off_the_list_even_while_the_index_lags(crm: Invoker) -> None:
    # Given two customers of MANAGER, one of whom is then erased (the profile item deleted)
    kept, erased = new_customer("남는"), new_customer("지운")
    for customer in (kept, erased):
        assign(crm, customer, {"manager_id": MANAGER})
    table(PROFILES).delete(profile_key(erased))
    # When the manager reads their list
    listed = mine(crm).json()["items"]
    # Then only the customer who still exists is in it
    assert [c["customer_id"] for c in listed] == [kept]


@pytest.mark.parametrize(
    "body",
    [
        {"manager_id": ""},
        {"manager_id": "x" * 129},
        {"manager_id": "ME NOW"},
        {"manager_id": "../admin"},
        {"manager_id": 42},
        {"manager_id": MANAGER, "assigned_by": "someone"},
        {},
        [MANAGER],
    ],
    ids=["empty", "too-long", "space", "path", "number", "extra-field", "no-manager", "not-an-object"],
)
def test_a_bad_manager_is_a_422_and_changes_nothing(crm: Invoker, body: Any) -> None:
    # Given a customer without a manager
    customer = new_customer("김민지")
    # When a malformed assignment is sent
    response = assign(crm, customer, body)
    # Then it is refused and the profile is unchanged
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert "manager_id" not in stored(customer)


def test_an_unknown_customer_cannot_get_a_manager(crm: Invoker) -> None:
    # Given a customer id that does not exist
    # When staff assign or remove its manager
    responses = [assign(crm, UNKNOWN, {"manager_id": MANAGER}), unassign(crm, UNKNOWN)]
    # Then both are 404 and no profile item was created by the attempt
    assert [(r.status, r.error["code"]) for r in responses] == [(404, "profile_not_found")] * 2
    assert scan_all(PROFILES) == []


@pytest.mark.parametrize(
    ("groups", "claims"), [("customer", UNSET), ("", MACHINE)], ids=["customer", "machine"]
)
def test_customers_and_machines_cannot_manage_managers_or_list_managed_customers(
    crm: Invoker, groups: str, claims: Any
) -> None:
    # Given a customer with a manager
    customer = new_customer("김민지")
    assign(crm, customer, {"manager_id": MANAGER})
    # When a customer or a store system tries to assign, remove or list
    attempts = [
        assign(crm, customer, {"manager_id": OTHER_MANAGER}, groups=groups, claims=claims),
        unassign(crm, customer, groups=groups, claims=claims),
        mine(crm, groups=groups, claims=claims),
    ]
    # Then each is a 403 and the manager is unchanged
    assert [(r.status, r.error["code"]) for r in attempts] == [(403, "forbidden")] * 3
    assert stored(customer)["manager_id"] == MANAGER
