"""Social handles on a profile: what a handle may be, how it is stored, how a change is merged into
the handles linked, and how the customer behind a handle is found (in memory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from services.profile.logic import handles, profiles
from services.profile.models.handles import (
    HANDLE_PATTERNS,
    NETWORKS,
    HandleLookup,
    Network,
    SocialHandlesChange,
    merged,
    normalised,
)
from services.profile.models.profile import HandleTaken, Profile, ProfileCreate, ProfileUpdate
from shared.errors import Conflict, NotFound
from tests.unit.fakes import FakeClock, FakeProfileStore

SUBJECT, OTHER_SUBJECT = "sub-handles", "sub-handles-other"
CUSTOMER_ID = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W2Y"
OTHER_ID = "cus_01JD5Z8Q6M3X7N2P4R9T0V1W3Z"


def _problems(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as raised:
        ProfileUpdate.model_validate({"social_handles": data})
    return [(tuple(e["loc"]), e["type"]) for e in raised.value.errors()]


# --- what a handle may be ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "given", "stored"),
    [
        ("x", "Minji_Kim", "minji_kim"),
        ("x", "@Minji_Kim", "minji_kim"),
        ("x", "a", "a"),
        ("x", "A" * 15, "a" * 15),
        ("x", "@" + "9" * 15, "9" * 15),
        ("instagram", "minji.kim", "minji.kim"),
        ("instagram", "@Minji.Kim_92", "minji.kim_92"),
        ("instagram", "." * 30, "." * 30),
        ("instagram", "@" + "Z" * 30, "z" * 30),
    ],
)
def test_a_valid_handle_is_accepted_and_stored_bare_and_lower_case(
    network: Network, given: str, stored: str
) -> None:
    # Given a handle the network allows, with or without its "@", in any case
    # When a profile update links it
    update = ProfileUpdate.model_validate({"social_handles": {network: given}})

    # Then it is kept without the "@", lower-cased (both networks ignore case)
    assert update.changes() == {"social_handles": {network: stored}}
    # And the lookup normalises it the same way
    assert normalised(network, given) == stored


@pytest.mark.parametrize(
    ("network", "given", "broken"),
    [
        ("x", "", "empty"),
        ("x", "@", "only the @"),
        ("x", "A" * 16, "one character over X's 15"),
        ("x", "@" + "A" * 16, "one over, with its @"),
        ("x", "minji.kim", "a dot (Instagram's, not X's)"),
        ("x", "@@minji", "two @"),
        ("x", "minji@", "an @ not in front"),
        ("x", "minji-kim", "a hyphen"),
        ("x", "minji kim", "a space"),
        ("x", " minji", "a leading space"),
        ("x", "minji\n", "a trailing line break"),
        ("x", "민지", "letters outside ASCII"),
        ("instagram", "m" * 31, "one character over Instagram's 30"),
        ("instagram", "minji-kim", "a hyphen"),
        ("instagram", "minji/kim", "a slash"),
    ],
)
def test_a_handle_with_one_thing_wrong_is_refused_by_name(network: Network, given: str, broken: str) -> None:
    # Given a handle with one thing wrong (``broken``)
    # When a profile update links it
    problems = _problems({network: given})

    # Then that network's handle is refused for its pattern, nothing else
    assert problems == [(("social_handles", network), "string_pattern_mismatch")], broken
    # And the lookup finds it no handle of the network
    assert normalised(network, given) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"facebook": "minji"}, [(("social_handles", "facebook"), "extra_forbidden")]),
        ({"x": 12345}, [(("social_handles", "x"), "string_type")]),
        (["x", "minji"], [(("social_handles",), "model_type")]),
        ("minji", [(("social_handles",), "model_type")]),
    ],
    ids=["unknown network", "a number", "a list", "a string"],
)
def test_an_unknown_network_or_a_handle_that_is_no_string_is_refused(
    data: Any, expected: list[tuple[tuple[str, ...], str]]
) -> None:
    # Given social handles with one thing of the wrong kind
    # When a profile update sends them
    # Then the one problem is named
    assert _problems(data) == expected


def test_each_network_has_a_pattern_and_a_field_and_nothing_else_does() -> None:
    # Given the networks a handle may be of
    # Then each has its pattern and a field in a change, and no other network has either
    assert set(NETWORKS) == set(get_args(Network)) == set(HANDLE_PATTERNS)
    assert set(SocialHandlesChange.model_fields) == set(NETWORKS)


# --- how a change is merged into the handles linked ------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "after"),
    [
        ({"instagram": "Minji.Kim"}, {"x": "minji_kim", "instagram": "minji.kim"}),
        ({"x": "@new_minji"}, {"x": "new_minji"}),
        ({"x": None}, {}),
        ({"instagram": None}, {"x": "minji_kim"}),
        ({}, {"x": "minji_kim"}),
        (None, {}),
    ],
    ids=["link another", "replace", "unlink", "unlink one not linked", "send nothing", "unlink all"],
)
def test_a_change_touches_only_the_networks_it_sends(sent: Any, after: dict[str, str]) -> None:
    # Given a customer who linked an X handle
    linked: dict[Network, str] = {"x": "minji_kim"}
    # When an update sends some networks (null: unlink; the whole field null: unlink every one)
    change = ProfileUpdate.model_validate({"social_handles": sent}).changes()["social_handles"]

    # Then the networks sent change and the others stay
    assert merged(linked, change) == after


# --- updates through the logic, over a store that claims handles like the real one ---------------


class ClaimingStore(FakeProfileStore):
    """``FakeProfileStore`` that takes ``social_handles`` and claims them, one customer's each."""

    FIELDS = FakeProfileStore.FIELDS | {"social_handles"}

    def __init__(self) -> None:
        super().__init__()
        self.claims: dict[tuple[str, str], str] = {}

    def update(self, profile: Profile, changes: dict[str, Any], events: Any = (), *, at: datetime) -> Profile:
        if "social_handles" in changes:
            mine = profile.customer_id
            for network, handle in changes["social_handles"].items():
                if self.claims.get((network, handle), mine) != mine:
                    raise HandleTaken(network)
        updated = super().update(profile, changes, events, at=at)
        if "social_handles" in changes:
            self.claims = {k: v for k, v in self.claims.items() if v != profile.customer_id}
            self.claims |= dict.fromkeys(updated.social_handles.items(), profile.customer_id)
        return updated


@pytest.fixture
def store() -> ClaimingStore:
    store = ClaimingStore()
    for subject, customer_id in ((SUBJECT, CUSTOMER_ID), (OTHER_SUBJECT, OTHER_ID)):
        profiles.register(
            store,
            subject,
            ProfileCreate(display_name="민지"),
            clock=FakeClock(),
            new_id=lambda c=customer_id: c,
        )
    return store


def _link(store: ClaimingStore, subject: str, sent: Any) -> Profile:
    update = ProfileUpdate.model_validate({"social_handles": sent})
    return profiles.update_mine(store, subject, update, expected_version=None, clock=FakeClock())


def test_a_customer_links_a_handle_and_it_is_theirs(store: ClaimingStore) -> None:
    # When a customer links their X handle, with its "@" and capitals
    profile = _link(store, SUBJECT, {"x": "@Minji_Kim"})

    # Then their profile holds it as stored, and the store was given the whole mapping
    assert profile.social_handles == {"x": "minji_kim"}
    assert store.updates[-1].changes == {"social_handles": {"x": "minji_kim"}}
    assert store.claims == {("x", "minji_kim"): CUSTOMER_ID}


def test_a_handle_another_customer_linked_first_is_a_409_handle_taken(store: ClaimingStore) -> None:
    # Given another customer linked the handle first
    _link(store, OTHER_SUBJECT, {"x": "minji_kim"})
    before = store.get(CUSTOMER_ID)

    # When the customer links it too, in another case, with an Instagram handle
    with pytest.raises(Conflict) as raised:
        _link(store, SUBJECT, {"x": "@MINJI_KIM", "instagram": "minji.kim"})

    # Then it is a 409 handle_taken naming the network, and nothing of theirs changed
    assert (raised.value.status, raised.value.code) == (409, "handle_taken")
    assert raised.value.details == [{"loc": ["body", "social_handles", "x"], "type": "handle_taken"}]
    assert store.get(CUSTOMER_ID) == before
    assert store.claims == {("x", "minji_kim"): OTHER_ID}


def test_linking_what_is_already_linked_writes_nothing(store: ClaimingStore) -> None:
    # Given a customer who linked a handle
    linked = _link(store, SUBJECT, {"x": "minji_kim"})
    writes = len(store.updates)

    # When they link it again, spelt another way
    again = _link(store, SUBJECT, {"x": "@Minji_Kim"})

    # Then nothing is written: the profile stays at its version
    assert again == linked
    assert len(store.updates) == writes


def test_staff_link_a_handle_under_the_same_rules(store: ClaimingStore) -> None:
    # Given another customer linked an Instagram handle
    _link(store, OTHER_SUBJECT, {"instagram": "minji.kim"})

    # When an agent links an X handle and then the taken Instagram one for the customer
    update = ProfileUpdate.model_validate({"social_handles": {"x": "minji_kim"}})
    profile = profiles.update_customer(store, CUSTOMER_ID, update, expected_version=None, clock=FakeClock())
    taken = ProfileUpdate.model_validate({"social_handles": {"instagram": "Minji.Kim"}})
    with pytest.raises(Conflict) as raised:
        profiles.update_customer(store, CUSTOMER_ID, taken, expected_version=None, clock=FakeClock())

    # Then the first is linked and the second is a 409 handle_taken
    assert profile.social_handles == {"x": "minji_kim"}
    assert raised.value.code == "handle_taken"


# --- finding the customer behind a handle -------------------------------------------------------


class Directory:
    """``HandleDirectory`` over a dict, each call recorded."""

    def __init__(self, claims: dict[tuple[str, str], str]) -> None:
        self.claims = claims
        self.calls: list[list[tuple[str, str]]] = []

    def owner(self, network: str, handle: str) -> str | None:
        self.calls.append([(network, handle)])
        return self.claims.get((network, handle))

    def owners(self, asked: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        self.calls.append(list(asked))
        return {k: self.claims[k] for k in asked if k in self.claims}


def test_the_linked_handles_among_those_asked_are_found_in_one_read_each_once() -> None:
    # Given two linked handles
    directory = Directory({("x", "minji_kim"): CUSTOMER_ID, ("instagram", "jun.park"): OTHER_ID})
    asked = [
        {"network": "instagram", "handle": "@Jun.Park"},
        {"network": "x", "handle": "nobody_here"},
        {"network": "x", "handle": "Minji_Kim"},
        {"network": "x", "handle": "@minji_kim"},  # the same handle, spelt another way
        {"network": "x", "handle": "jun.park"},  # no X handle: looked up no further
    ]

    # When the feedback intake asks for them
    answer = handles.linked(directory, HandleLookup.model_validate({"handles": asked}))

    # Then it gets the linked ones, as stored, each once, in the asked order
    assert [m.model_dump() for m in answer.matches] == [
        {"network": "instagram", "handle": "jun.park", "customer_id": OTHER_ID},
        {"network": "x", "handle": "minji_kim", "customer_id": CUSTOMER_ID},
    ]
    # And the directory was read once, for each well-formed handle once
    assert directory.calls == [[("instagram", "jun.park"), ("x", "nobody_here"), ("x", "minji_kim")]]


@pytest.mark.parametrize(
    "request_",
    [
        {"handles": []},
        {"handles": [{"network": "x", "handle": "a"}] * 101},
        {"handles": [{"network": "facebook", "handle": "minji"}]},
        {"handles": [{"network": "x", "handle": ""}]},
        {"handles": [{"network": "x", "handle": "m" * 65}]},
        {"handles": [{"network": "x"}]},
        {"handles": [{"network": "x", "handle": "minji", "customer_id": "cus_x"}]},
        {"handle": "minji"},
    ],
    ids=["none", "101", "unknown network", "empty handle", "65 characters", "no handle", "extra", "no list"],
)
def test_a_lookup_request_out_of_shape_is_refused(request_: Any) -> None:
    # Given a request that is not 1..100 handles of known networks
    # When it is read
    # Then it is refused
    with pytest.raises(ValidationError):
        HandleLookup.model_validate(request_)


def test_an_agent_finds_the_customer_behind_a_handle_spelt_any_way() -> None:
    # Given a linked X handle
    directory = Directory({("x", "minji_kim"): CUSTOMER_ID})

    # When an agent looks it up with its "@" and capitals
    found = handles.customer_by_handle(directory, "x", "@Minji_KIM")

    # Then it is the customer's id
    assert found.customer_id == CUSTOMER_ID


@pytest.mark.parametrize(("network", "handle"), [("x", "nobody"), ("instagram", "minji_kim"), ("x", "a.b")])
def test_a_handle_no_one_linked_is_a_404_handle_not_linked(network: Network, handle: str) -> None:
    # Given an X handle linked, and a handle no one linked (or none the network allows)
    directory = Directory({("x", "minji_kim"): CUSTOMER_ID})

    # When an agent looks it up
    with pytest.raises(NotFound) as raised:
        handles.customer_by_handle(directory, network, handle)

    # Then it is a 404 handle_not_linked
    assert raised.value.code == "handle_not_linked"
