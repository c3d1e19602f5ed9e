"""The contact-card contract, in the unit tier: what the campaigns service asks the profile service
(``profile-contacts``, invoked directly) and what it reads back agree, field by field.

The campaigns service keeps its own copy of the shapes (``services.campaigns.models.cards``); the
profile service has its own (``services.profile.models.cards``). Tests sit outside the boundary, so
both meet here: every request the caller's model can make is one the callee's model takes, and every
card the callee's model emits is read by the caller's model with every field and value, no field of
either side left without its counterpart.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.campaigns.models import cards as asked
from services.profile.models import cards as answered
from tests.unit.contracts.strategies import examples
from tests.unit.fakes import PROPERTIES


def _fields(model: type[Any]) -> dict[str, Any]:
    return {name: info.annotation for name, info in model.model_fields.items()}


def test_both_sides_agree_on_the_batch_size_and_the_purposes() -> None:
    # Then the caller never asks for more than the callee takes, nor for another purpose
    assert asked.MAX_CARDS == answered.MAX_CARDS
    assert asked.CardPurpose == answered.CardPurpose
    assert set(_fields(asked.CardRequest)) == set(_fields(answered.CardRequest))


@PROPERTIES
@given(
    ids=st.lists(st.from_regex(r"^cus_[0-9A-HJKMNP-TV-Z]{26}$", fullmatch=True), min_size=1, max_size=100),
    purpose=st.sampled_from(["send", "preview"]),
)
def test_every_request_the_caller_makes_is_one_the_callee_takes(ids: list[str], purpose: str) -> None:
    # Given a request as the campaigns service's model makes it, on the wire
    request = asked.CardRequest.model_validate({"customer_ids": ids, "purpose": purpose})
    wire = request.model_dump(mode="json")

    # Then the profile service's own model takes it, unchanged
    assert answered.CardRequest.model_validate(wire).model_dump(mode="json") == wire


def test_every_field_of_a_card_has_its_counterpart_with_the_same_type() -> None:
    # Then no field of the card (or of a device) is emitted unread or read but never emitted
    for mine, theirs in (
        (answered.ContactCard, asked.ContactCard),
        (answered.CardDevice, asked.CardDevice),
        (answered.CardResponse, asked.CardResponse),
    ):
        assert set(_fields(mine)) == set(_fields(theirs)), mine.__name__
    for name, annotation in _fields(answered.ContactCard).items():
        theirs = str(_fields(asked.ContactCard)[name]).replace("campaigns", "profile")
        assert str(annotation) == theirs, name


@PROPERTIES
@given(examples(answered.CardResponse))
def test_the_caller_reads_every_card_the_callee_emits_with_every_value(
    response: answered.CardResponse,
) -> None:
    # Given an answer as the profile service's model emits it, on the wire
    wire = response.model_dump(mode="json")

    # When the campaigns service's model reads it
    read = asked.CardResponse.model_validate(wire)

    # Then every card, field and value arrives
    assert read.model_dump(mode="json") == wire
