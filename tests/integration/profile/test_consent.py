"""Consent per channel and purpose: an append-only log, the state derived from it (no consent
recorded means no consent), and a ConsentChanged event carrying the whole state."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from services.profile.topology import PROFILES
from tests.integration.apigw import Invoker, api_event
from tests.integration.conftest import scan_all

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SUB = "sub-consent"


def me(
    api: Invoker, method: str, body: Any = None, sub: str = SUB, groups: str = "customer", **kw: Any
) -> Any:
    return api(
        api_event(
            "profile_get_me",
            method=method,
            resource="/me/consents",
            path="/me/consents",
            body=body,
            sub=sub,
            groups=groups,
            **kw,
        )
    )


def staff_view(api: Invoker, customer_id: str, groups: str = "agent") -> Any:
    return api(
        api_event(
            "profile_get_customer",
            resource="/customers/{customer_id}/consents",
            path_parameters={"customer_id": customer_id},
            groups=groups,
        )
    )


@pytest.fixture
def customer(profile_api: Invoker) -> str:
    created = profile_api(api_event("profile_create_me", sub=SUB, body={"display_name": "동의"}))
    return str(created.json()["customer_id"])


@pytest.fixture
def consent_events(bus: str) -> Any:
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="consents")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="consents", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["ConsentChanged"]})
    )
    events.put_targets(Rule="consents", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return lambda: [
        json.loads(m["Body"])["detail"]["data"]
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_no_consent_recorded_means_no_consent(profile_api: Invoker, customer: str) -> None:
    # Given a new customer who gave no consent
    # When they read their consents
    state = me(profile_api, "GET")
    # Then every channel and purpose is false
    assert state.status == 200
    assert set(state.json()["consents"].values()) == {False}
    assert sorted(state.json()["consents"]) == [
        "email.marketing",
        "email.service",
        "push.marketing",
        "push.night",
        "push.service",
        "sms.marketing",
        "sms.night",
        "sms.service",
    ]


def test_a_consent_change_is_logged_derived_and_published_with_the_whole_state(
    profile_api: Invoker, customer: str, consent_events: Any
) -> None:
    # Given a customer who allows SMS marketing but never e-mail marketing
    given = me(
        profile_api, "POST", {"channel": "sms", "purpose": "marketing", "granted": True, "source": "store"}
    )
    # Then the state shows it, and the event's projection has no e-mail consent
    assert given.status == 201
    assert given.json()["consents"]["sms.marketing"] is True
    (event,) = consent_events()
    assert event["customer_id"] == customer
    assert (event["channel"], event["purpose"], event["granted"]) == ("sms", "marketing", True)
    assert event["consents"]["email.marketing"] is False
    assert event["consents"]["sms.marketing"] is True
    # When they withdraw it
    me(profile_api, "POST", {"channel": "sms", "purpose": "marketing", "granted": False})
    # Then staff see the current state and both log entries, newest first, with who and how
    view = staff_view(profile_api, customer).json()
    assert view["consents"]["sms.marketing"] is False
    assert [(h["granted"], h["source"], h["actor"]) for h in view["history"]] == [
        (False, "app", "customer"),
        (True, "store", "customer"),
    ]
    log = [i for i in scan_all(PROFILES) if i["sk"]["S"].startswith("CONSENT#")]
    assert len(log) == 2  # append-only: nothing overwritten


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "purpose": "marketing", "granted": True},
        {"channel": "email", "purpose": "spam", "granted": True},
        {"channel": "email", "purpose": "marketing", "granted": "yes"},
        {"channel": "email", "purpose": "marketing", "granted": 1},
        {"channel": "email", "purpose": "marketing"},
        {"channel": "email", "purpose": "marketing", "granted": True, "actor": "staff"},
        {"channel": "email", "purpose": "night", "granted": True},  # e-mail needs no night consent
    ],
)
def test_bad_consent_changes_are_422_and_log_nothing(profile_api: Invoker, customer: str, body: Any) -> None:
    # Given a malformed change
    # When it is sent
    response = me(profile_api, "POST", body)
    # Then it is refused and nothing was logged
    assert (response.status, response.error["code"]) == (422, "validation_error")
    assert [i for i in scan_all(PROFILES) if i["sk"]["S"].startswith("CONSENT")] == []


def test_consents_need_a_profile_and_staff_view_refuses_customers(
    profile_api: Invoker, customer: str
) -> None:
    # Given a caller without a profile, and a customer asking for the staff view
    stranger = me(
        profile_api, "POST", {"channel": "email", "purpose": "service", "granted": True}, sub="nobody"
    )
    as_customer = staff_view(profile_api, customer, groups="customer")
    # Then the first is a 404 and the second a 403
    assert (stranger.status, stranger.error["code"]) == (404, "profile_not_found")
    assert (as_customer.status, as_customer.error["code"]) == (403, "forbidden")


def test_night_time_consent_is_its_own_purpose_for_sms_and_push(profile_api: Invoker, customer: str) -> None:
    # Given a customer who allows marketing SMS
    me(profile_api, "POST", {"channel": "sms", "purpose": "marketing", "granted": True})
    # When they also allow them at night
    changed = me(profile_api, "POST", {"channel": "sms", "purpose": "night", "granted": True})
    # Then night-time SMS is granted on its own, and push at night is not
    assert changed.status == 201, changed.body
    consents = me(profile_api, "GET").json()["consents"]
    assert (consents["sms.marketing"], consents["sms.night"], consents["push.night"]) == (True, True, False)
