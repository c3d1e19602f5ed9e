"""Cognito's API on the local runtime runs the user pool's post-confirmation trigger as Cognito
does: after the confirmation, synchronously, with Cognito's event, once per sign-up, and fails
the request with Cognito's errors when the function fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.cognito import Pool
from infra.local.cognito_api import CognitoEndpoint, invoke_trigger, post_confirmation_event
from infra.local.lambdas import Invocation, InvocationError

POOL = Pool("ap-northeast-2_local", "app-client", "ap-northeast-2", "http://moto", "machine", "secret")
TARGET = "AWSCognitoIdentityProviderService."


class FakePool:
    """A function pool whose invocations answer (or fail) from a script."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, InvocationError):
            raise outcome
        return Invocation(event if outcome == "echo" else outcome, cold=False, duration_ms=1)


class FakeIdp:
    class exceptions:  # noqa: N801 - boto3's shape
        class UserNotFoundException(Exception):
            pass

    def __init__(self, status: str = "UNCONFIRMED") -> None:
        self.status = status
        self.updates: list[Any] = []

    def admin_get_user(self, *, UserPoolId: str, Username: str) -> dict[str, Any]:  # noqa: N803
        return {
            "Username": Username,
            "UserStatus": self.status,
            "UserAttributes": [
                {"Name": "sub", "Value": "2f9c-sub"},
                {"Name": "email", "Value": Username},
                {"Name": "email_verified", "Value": "true" if self.updates else "false"},
            ],
        }

    def admin_update_user_attributes(self, **params: Any) -> None:
        self.updates.append(params)


class Endpoint(CognitoEndpoint):
    """The endpoint with moto's answer scripted (no socket)."""

    forwarded: list[bytes]

    def _forward(
        self, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        self.forwarded.append(body)
        self.idp.status = "CONFIRMED"
        return 200, [("Content-Type", "application/x-amz-json-1.1")], b"{}"


def endpoint(idp: FakeIdp, trigger: FakePool) -> Endpoint:
    made = Endpoint("http://moto", idp, POOL, {"PostConfirmation": trigger})  # type: ignore[dict-item]
    made.forwarded = []
    return made


def confirm(made: Endpoint, operation: str = "ConfirmSignUp", **params: Any) -> tuple[int, dict[str, Any]]:
    body = {"ClientId": POOL.client_id, "Username": "new@example.com", "ConfirmationCode": "1", **params}
    status, _, answer = made.handle("POST", [("X-Amz-Target", TARGET + operation)], json.dumps(body).encode())
    return status, json.loads(answer)


def test_a_confirmation_runs_the_trigger_with_cognitos_event_before_answering() -> None:
    # Given a user who signed up and a post-confirmation trigger
    idp, trigger = FakeIdp(), FakePool("echo")
    made = endpoint(idp, trigger)
    # When they confirm their sign-up
    status, answer = confirm(made, ClientMetadata={"campaign": "spring"})
    # Then moto confirmed them, the e-mail is verified, and the trigger ran once with Cognito's event
    assert (status, answer, len(made.forwarded)) == (200, {}, 1)
    assert idp.updates[0]["UserAttributes"] == [{"Name": "email_verified", "Value": "true"}]
    (event,) = trigger.events
    assert event == {
        "version": "1",
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": "ap-northeast-2",
        "userPoolId": POOL.pool_id,
        "userName": "new@example.com",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": POOL.client_id},
        "request": {
            "userAttributes": {
                "sub": "2f9c-sub",
                "email": "new@example.com",
                "email_verified": "true",
                "cognito:user_status": "CONFIRMED",
            },
            "clientMetadata": {"campaign": "spring"},
        },
        "response": {},
    }


def test_an_administrators_confirmation_runs_it_too_without_a_client() -> None:
    # Given an unconfirmed user
    trigger = FakePool("echo")
    made = endpoint(FakeIdp(), trigger)
    # When an administrator confirms them
    status, _ = confirm(made, "AdminConfirmSignUp", UserPoolId=POOL.pool_id, ClientId=None)
    # Then the trigger ran, with no client in its context
    assert status == 200
    assert trigger.events[0]["callerContext"]["clientId"] == "CLIENT_ID_NOT_APPLICABLE"


def test_a_confirmed_user_cannot_be_confirmed_again() -> None:
    # Given a user already confirmed
    trigger = FakePool()
    made = endpoint(FakeIdp(status="CONFIRMED"), trigger)
    # When the confirmation comes again
    status, answer = confirm(made)
    # Then Cognito's refusal comes back, nothing reached moto and the trigger did not run
    assert (status, answer["__type"]) == (400, "NotAuthorizedException")
    assert (made.forwarded, trigger.events) == ([], [])


def test_other_operations_pass_through_untouched() -> None:
    # Given the endpoint
    trigger = FakePool()
    made = endpoint(FakeIdp(), trigger)
    # When the app signs up (or signs in)
    status, _, _ = made.handle("POST", [("X-Amz-Target", TARGET + "SignUp")], b'{"ClientId": "app-client"}')
    # Then moto answers it and no trigger runs
    assert (status, made.forwarded, trigger.events) == (200, [b'{"ClientId": "app-client"}'], [])


@pytest.mark.parametrize(
    ("outcomes", "error", "attempts"),
    [
        pytest.param(
            [InvocationError("ValueError", "no such group")], "UserLambdaValidationException", 1, id="fails"
        ),
        pytest.param(
            [InvocationError("timeout", "x")] * 3, "UnexpectedLambdaException", 3, id="times out thrice"
        ),
        pytest.param(["not the event"], "InvalidLambdaResponseException", 1, id="answers something else"),
    ],
)
def test_a_trigger_that_fails_fails_the_request_as_cognito_does(
    outcomes: list[Any], error: str, attempts: int
) -> None:
    # Given a trigger that fails, times out on every attempt, or answers no event
    trigger = FakePool(*outcomes)
    made = endpoint(FakeIdp(), trigger)
    # When a sign-up is confirmed
    status, answer = confirm(made)
    # Then the request fails with Cognito's error, after Cognito's attempts
    assert (status, answer["__type"]) == (400, error)
    assert len(trigger.events) == attempts


def test_a_trigger_that_times_out_once_is_invoked_again() -> None:
    # Given a trigger that times out once, then answers
    trigger = FakePool(InvocationError("timeout", "x"), "echo")
    event = post_confirmation_event(
        POOL, FakeIdp().admin_get_user(UserPoolId="p", Username="u"), client_id="c"
    )
    # When Cognito invokes it
    answer = invoke_trigger(trigger, "PostConfirmation", event)  # type: ignore[arg-type]
    # Then the second attempt's answer stands
    assert answer == event
    assert len(trigger.events) == 2


def test_not_cognitos_protocol_is_refused() -> None:
    # Given a request without Cognito's target header
    made = endpoint(FakeIdp(), FakePool())
    # When it is sent
    status, _, answer = made.handle("POST", [], b"{}")
    # Then it is refused as Cognito refuses an unknown operation, and moto never sees it
    assert (status, json.loads(answer)["__type"]) == (400, "UnknownOperationException")
    assert made.forwarded == []
