"""The handle-lookup contract, in the unit tier: what the feedback intake asks the profile service
(``profile-handles``, invoked directly) and what it reads back agree.

The feedback service builds the request and reads the answer itself (``services.feedback.dal
.handles``); the profile service has the models (``services.profile.models.handles``). Tests sit
outside the boundary, so both meet here: every request the intake can make for the handles of the
mentions it takes is one the callee's model accepts, in batches it takes, and every match the
callee's model emits is read back with its customer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

from hypothesis import assume, given
from hypothesis import strategies as st

from services.feedback.dal import handles as asker
from services.feedback.logic.intake import HANDLE_NETWORKS
from services.feedback.models.mention import HANDLE
from services.profile.models import handles as answerer
from tests.unit.contracts.strategies import examples
from tests.unit.fakes import PROPERTIES

NETWORKS = sorted(set(HANDLE_NETWORKS.values()))
CUSTOMER = "cus_01JF0000000000000000000009"


def callee(answer: Callable[[answerer.HandleLookup], dict[str, Any]], asked: list[Any]) -> Any:
    """``shared.invoke.invoke`` as the profile function answers: its model validates the request."""

    def invoke(function_name: str, request: dict[str, Any]) -> dict[str, Any]:
        lookup = answerer.HandleLookup.model_validate(request)  # raises if the callee would refuse it
        asked.append(lookup)
        return answer(lookup)

    return mock.patch.object(asker, "invoke", invoke)


def test_both_sides_agree_on_the_batch_size_and_the_networks() -> None:
    # Then the intake never asks for more than the callee takes, nor of a network it does not know
    assert asker.MAX_HANDLES == answerer.MAX_HANDLES
    assert set(NETWORKS) <= set(answerer.NETWORKS)


@PROPERTIES
@given(
    handles=st.lists(
        st.tuples(st.sampled_from(NETWORKS), st.from_regex(HANDLE, fullmatch=True).map(str.lower)),
        min_size=1,
        max_size=2 * answerer.MAX_HANDLES + 5,
        unique=True,
    )
)
def test_every_request_the_intake_makes_is_one_the_callee_takes(handles: list[tuple[str, str]]) -> None:
    # Given the handles of a delivery's mentions, as the intake asks for them (``logic.intake``)
    asked: list[answerer.HandleLookup] = []

    def everyone_linked(lookup: answerer.HandleLookup) -> dict[str, Any]:
        matches = [
            answerer.HandleMatch(network=a.network, handle=a.handle.lower(), customer_id=CUSTOMER)
            for a in lookup.handles
        ]
        return answerer.HandleMatches(matches=matches).model_dump(mode="json")

    # When the intake looks them up
    with callee(everyone_linked, asked):
        found = asker.InvokedHandles("profile-handles").customers(handles)
    # Then every request was one the callee's model takes, in batches it takes, each handle asked once
    assert all(len(lookup.handles) <= answerer.MAX_HANDLES for lookup in asked)
    assert [(a.network, a.handle) for lookup in asked for a in lookup.handles] == handles
    # And every match came back to the mention's handle
    assert found == dict.fromkeys(handles, CUSTOMER)


@PROPERTIES
@given(
    examples(
        answerer.HandleMatches,
        {
            "HandleMatch.handle": st.from_regex(r"^[a-z0-9._]{1,30}$", fullmatch=True),  # as stored
            "HandleMatch.customer_id": st.from_regex(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$", fullmatch=True),
        },
    )
)
def test_the_intake_reads_every_match_the_callee_emits(answer: answerer.HandleMatches) -> None:
    # Given an answer as the profile service's model emits it: each handle once, stored lower-case
    keys = [(m.network, m.handle) for m in answer.matches]
    assume(len(set(keys)) == len(keys))
    wire = answer.model_dump(mode="json")
    # When the intake reads it
    with callee(lambda _: wire, []):
        found = asker.InvokedHandles("profile-handles").customers([("x", "minji_kim")])
    # Then every match arrives with its customer
    assert found == {(m.network, m.handle): m.customer_id for m in answer.matches}
