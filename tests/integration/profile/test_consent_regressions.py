"""Consent regressions: a withdrawal is answered, stored and published as withdrawn.

A bug planted in the consent logic (the resulting state kept a consent "still given" after its
withdrawal) passed every test: the only withdrawal test read the staff view, which the store
derives on its own, and never the answer or the event that campaigns will act on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import BusWatch

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SUB = "sub-consent-withdrawal"
Consents = Callable[[], list[dict[str, Any]]]


def change(api: Invoker, channel: str, purpose: str, *, granted: bool) -> Any:
    body = {"channel": channel, "purpose": purpose, "granted": granted}
    event = api_event(
        "profile_get_me", method="POST", resource="/me/consents", path="/me/consents", body=body, sub=SUB
    )
    return api(event)


def my_consents(api: Invoker) -> dict[str, bool]:
    answer = api(api_event("profile_get_me", resource="/me/consents", path="/me/consents", sub=SUB))
    assert answer.status == 200
    return dict(answer.json()["consents"])


@pytest.fixture
def customer(profile_api: Invoker) -> str:
    created = profile_api(api_event("profile_create_me", sub=SUB, body={"display_name": "철회"}))
    assert created.status == 201
    return str(created.json()["customer_id"])


@pytest.fixture
def published(bus: str) -> Consents:
    """The ConsentChanged events published since the last look."""
    watch = BusWatch(bus, ["ConsentChanged"])
    return lambda: watch.data("ConsentChanged")


@pytest.mark.parametrize(("channel", "purpose"), [("email", "marketing"), ("push", "service")])
def test_a_withdrawal_is_answered_stored_and_published_as_withdrawn(
    profile_api: Invoker, customer: str, published: Consents, channel: str, purpose: str
) -> None:
    # Given a customer who gave this consent and SMS marketing
    key = f"{channel}.{purpose}"
    assert change(profile_api, channel, purpose, granted=True).status == 201
    assert change(profile_api, "sms", "marketing", granted=True).status == 201
    given = published()
    assert sorted((e["channel"], e["purpose"], e["granted"]) for e in given) == sorted(
        [(channel, purpose, True), ("sms", "marketing", True)]
    )
    # When they withdraw it
    withdrawn = change(profile_api, channel, purpose, granted=False)
    # Then the answer says it is withdrawn, and the other consent still given
    assert withdrawn.status == 201
    answered = withdrawn.json()["consents"]
    assert answered[key] is False
    assert answered["sms.marketing"] is True
    # And the one ConsentChanged published says so, in its change and in the whole state
    (event,) = published()
    assert event["customer_id"] == customer
    assert (event["channel"], event["purpose"], event["granted"]) == (channel, purpose, False)
    assert event["consents"][key] is False
    assert event["consents"]["sms.marketing"] is True
    assert event["consents"] == answered
    # And the stored state reads the same
    assert my_consents(profile_api) == answered


def test_a_withdrawal_of_a_consent_never_given_is_recorded_as_not_given(
    profile_api: Invoker, customer: str, published: Consents
) -> None:
    # Given a customer who never gave e-mail marketing consent
    # When they withdraw it anyway
    withdrawn = change(profile_api, "email", "marketing", granted=False)
    # Then every answer, the event and the state say not given
    assert withdrawn.status == 201
    assert set(withdrawn.json()["consents"].values()) == {False}
    (event,) = published()
    assert event["granted"] is False
    assert set(event["consents"].values()) == {False}
    assert set(my_consents(profile_api).values()) == {False}
