"""Who is calling: groups in every encoding, claims to a Caller, roles and staff."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth import MACHINE_SCOPE, Caller, Role, parse_groups
from shared.errors import Unauthorized
from tests.unit.fakes import PROPERTIES

ID = {"token_use": "id", "aud": "web-app"}  # what an ID token's claims add to sub and groups
ACCESS = {"token_use": "access"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("admin", ("admin",), id="single name"),
        pytest.param("admin,agent", ("admin", "agent"), id="comma separated (REST APIs)"),
        pytest.param("[admin agent]", ("admin", "agent"), id="bracketed, space separated (HTTP APIs)"),
        pytest.param("[admin]", ("admin",), id="bracketed single"),
        pytest.param('["admin","agent"]', ("admin", "agent"), id="JSON list"),
        pytest.param('[ "admin" , "agent" ]', ("admin", "agent"), id="JSON list with spaces"),
        pytest.param(["admin", "agent"], ("admin", "agent"), id="real list"),
        pytest.param(("admin", "agent"), ("admin", "agent"), id="real tuple"),
        pytest.param(["admin", ""], ("admin",), id="list with a blank"),
        pytest.param("x admin", ("x admin",), id="a space does not separate outside brackets"),
        pytest.param("admin, agent", ("admin", " agent"), id="no trimming: names are exact"),
        pytest.param("", (), id="empty string"),
        pytest.param("[]", (), id="empty brackets"),
        pytest.param([], (), id="empty list"),
        pytest.param(None, (), id="None"),
    ],
)
def test_parse_groups_reads_each_encoding_of_cognito_groups_and_keeps_names_exact(
    raw: Any, expected: tuple[str, ...]
) -> None:
    # Given a cognito:groups value as API Gateway (or a test) may encode it
    # When it is parsed
    groups = parse_groups(raw)

    # Then the group names come back in order, exactly as named
    assert groups == expected


@pytest.mark.parametrize("name", ["true", "null", "1e5"])
def test_a_single_bracketed_group_that_looks_like_a_json_literal_keeps_its_name(name: str) -> None:
    # Given a single group whose (valid Cognito) name is also a JSON literal, in the "[a b]" encoding
    raw = f"[{name}]"

    # When it is parsed
    groups = parse_groups(raw)

    # Then the group name is unchanged
    assert groups == (name,)


_HUMAN_ROLE_NAMES = st.lists(st.sampled_from([r.value for r in Role if r is not Role.MACHINE]), max_size=4)


@PROPERTIES
@given(names=_HUMAN_ROLE_NAMES, encoding=st.sampled_from(["comma", "brackets", "json"]))
def test_any_list_of_role_names_survives_every_encoding(names: list[str], encoding: str) -> None:
    # Given a list of role names encoded as API Gateway may encode it, in an ID token
    encoded = {
        "comma": ",".join(names),
        "brackets": "[" + " ".join(names) + "]",
        "json": json.dumps(names),
    }[encoding]

    # When the caller is built from claims carrying that encoding
    groups = parse_groups(encoded)
    caller = Caller.from_claims({"sub": "user-1", "cognito:groups": encoded, **ID})

    # Then the same groups, and so the same roles, come back
    assert groups == tuple(names)
    assert caller.roles == {Role(n) for n in names}


@pytest.mark.parametrize("claims", [None, {}], ids=["None", "empty"])
def test_no_claims_is_unauthorized(claims: dict[str, Any] | None) -> None:
    # Given no claims (the authorizer passed nothing)
    # When a caller is built
    with pytest.raises(Unauthorized) as raised:
        Caller.from_claims(claims)

    # Then it is a plain 401
    assert raised.value.status == 401
    assert raised.value.code == "unauthorized"


@pytest.mark.parametrize(
    "claims",
    [
        {"cognito:groups": "admin", **ID},
        {"sub": "", **ID},
        {"sub": "   ", **ID},
        {"sub": None, "scope": MACHINE_SCOPE, **ACCESS},
    ],
    ids=["missing", "empty", "blank", "None"],
)
def test_claims_without_a_subject_are_an_invalid_token(claims: dict[str, Any]) -> None:
    # Given claims that carry no usable sub
    # When a caller is built
    with pytest.raises(Unauthorized) as raised:
        Caller.from_claims(claims)

    # Then it is a 401 invalid_token
    assert raised.value.status == 401
    assert raised.value.code == "invalid_token"


def test_unknown_groups_are_ignored() -> None:
    # Given a person in a known group and in groups the system does not know
    claims = {"sub": "user-1", "cognito:groups": "wizards,admin,admins,us-east-1_pool_Google", **ID}

    # When the caller is built
    caller = Caller.from_claims(claims)

    # Then only the known role is granted
    assert caller.roles == {Role.ADMIN}


@pytest.mark.parametrize("groups", ["Admin", "ADMIN", "x admin", "admin ", " admin", "[x admin]x"])
def test_only_the_exact_role_name_grants_the_role(groups: str) -> None:
    # Given a group whose name merely resembles a role's (case, spaces, a prefix)
    # When the caller is built
    caller = Caller.from_claims({"sub": "user-1", "cognito:groups": groups, **ID})

    # Then it grants nothing
    assert caller.roles == frozenset(), groups


def test_a_machine_group_makes_no_machine() -> None:
    # Given a person put in a group named like the machine role (the pool has no such group)
    caller = Caller.from_claims({"sub": "user-1", "cognito:groups": "machine,customer", **ID})

    # Then they are a customer only: machines are client-credentials access tokens
    assert caller.roles == {Role.CUSTOMER}


def test_the_machine_scope_in_an_access_token_gives_the_machine_role() -> None:
    # Given a client-credentials access token: no groups, the machine scope among others
    claims = {"sub": "pos-client", "scope": f"openid {MACHINE_SCOPE}", "client_id": "pos-client", **ACCESS}

    # When the caller is built
    caller = Caller.from_claims(claims)

    # Then it is a machine, identified by its client id
    assert caller.roles == {Role.MACHINE}
    assert caller.client_id == "pos-client"


@pytest.mark.parametrize("scope", ["dangol/machines", "dangol/machine-admin", "other/machine", ""])
def test_a_scope_that_only_resembles_the_machine_scope_grants_nothing(scope: str) -> None:
    # Given an access token whose scope is not exactly the machine scope
    claims = {"sub": "client-1", "scope": scope, **ACCESS}

    # When the caller is built
    caller = Caller.from_claims(claims)

    # Then it has no role
    assert caller.roles == frozenset()


def test_an_access_token_never_makes_a_persons_role_and_an_id_token_never_a_machine() -> None:
    # Given a person's access token (with their groups) and an ID token claiming the machine scope
    access = Caller.from_claims({"sub": "u", "cognito:groups": "admin", "scope": "openid", **ACCESS})
    id_token = Caller.from_claims({"sub": "u", "cognito:groups": "customer", "scope": MACHINE_SCOPE, **ID})

    # Then the access token grants nothing and the ID token only the person's group
    assert access.roles == frozenset()
    assert id_token.roles == {Role.CUSTOMER}


@pytest.mark.parametrize("use", [None, "refresh", "ID", ""])
def test_a_token_that_is_neither_an_id_nor_an_access_token_is_refused(use: str | None) -> None:
    claims = {"sub": "u", "cognito:groups": "admin", "token_use": use}
    with pytest.raises(Unauthorized) as raised:
        Caller.from_claims(claims)
    assert raised.value.code == "invalid_token"


def test_the_client_of_an_id_token_is_its_audience() -> None:
    # Given an ID token: aud but no client_id
    caller = Caller.from_claims({"sub": "user-1", **ID})

    # Then the audience is the client id
    assert caller.client_id == "web-app"


def test_a_persons_login_username_email_and_pool_come_from_their_id_token() -> None:
    # Given an ID token's claims as API Gateway passes them
    issuer = "https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_AbC123"
    claims = {"sub": "u-1", "cognito:username": "u-1", "email": "Ji@Example.com", "iss": issuer, **ID}
    # When the caller is built
    caller = Caller.from_claims(claims)
    # Then erasure and sign-up can reach the login
    assert (caller.username, caller.email, caller.issuer) == ("u-1", "Ji@Example.com", issuer)


def test_a_machine_has_no_login_username_or_email() -> None:
    claims = {
        "sub": "pos",
        "client_id": "pos",
        "scope": MACHINE_SCOPE,
        "username": "pos",
        "email": "x@y",
        **ACCESS,
    }
    caller = Caller.from_claims(claims)
    assert (caller.username, caller.email) == (None, None)


def test_from_event_reads_the_authorizer_claims() -> None:
    # Given an API Gateway REST event with Cognito authorizer claims
    event = {
        "requestContext": {
            "authorizer": {"claims": {"sub": " user-7 ", "cognito:groups": "customer", **ID}},
        }
    }

    # When the caller is built from the event
    caller = Caller.from_event(event)

    # Then the subject (trimmed) and roles come from the claims
    assert caller.subject == "user-7"
    assert caller.roles == {Role.CUSTOMER}


@pytest.mark.parametrize(
    "event",
    [{}, {"requestContext": None}, {"requestContext": {}}, {"requestContext": {"authorizer": {}}}],
    ids=["no context", "null context", "no authorizer", "no claims"],
)
def test_an_event_without_claims_is_unauthorized(event: dict[str, Any]) -> None:
    # Given an event that did not pass through the authorizer
    # When a caller is built from it
    # Then it is a 401
    with pytest.raises(Unauthorized):
        Caller.from_event(event)


@pytest.mark.parametrize(
    ("roles", "staff"),
    [
        ({Role.MARKETING}, True),
        ({Role.AGENT}, True),
        ({Role.ADMIN}, True),
        ({Role.CUSTOMER, Role.AGENT}, True),
        ({Role.CUSTOMER}, False),
        ({Role.MACHINE}, False),
        (set(), False),
    ],
)
def test_only_marketing_agents_and_admins_are_staff(roles: set[Role], staff: bool) -> None:
    # Given a caller with some roles
    caller = Caller(subject="user-1", roles=frozenset(roles))

    # When asked whether it is staff
    answer = caller.is_staff

    # Then only the staff roles count
    assert answer is staff


def test_has_any_needs_at_least_one_shared_role() -> None:
    # Given a customer
    caller = Caller(subject="user-1", roles=frozenset({Role.CUSTOMER}))

    # When checked against routes' allowed roles
    # Then it passes only where customer is allowed
    assert caller.has_any({Role.CUSTOMER, Role.ADMIN})
    assert not caller.has_any({Role.ADMIN})
    assert not caller.has_any(set())
