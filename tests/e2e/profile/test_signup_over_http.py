"""A new customer signs up locally as in the app, through Cognito's own API (the runtime's
``/cognito`` endpoint): the user pool's post-confirmation trigger makes the login a customer at
the moment of confirmation, as on AWS, and the customer reaches ``/me``."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.e2e import tokens
from tests.e2e.conftest import ROOT, LocalSystem


def test_a_new_customer_signs_up_confirms_logs_in_and_uses_me(local: LocalSystem) -> None:
    # Given a person who signs up in the app with their e-mail
    email = f"signup-{uuid.uuid4().hex[:10]}@e2e.dangol.dev"
    idp, client_id = local.idp(through_gateway=True), local.state["client_id"]
    signed_up = idp.sign_up(
        ClientId=client_id,
        Username=email,
        Password="Sign-up-pass-1",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": "새 손님"}],
    )
    assert signed_up["UserConfirmed"] is False
    # When they confirm the code from their e-mail and log in
    idp.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode="123456")
    login = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Sign-up-pass-1"},
    )["AuthenticationResult"]
    # Then their ID token says customer (the trigger ran before the confirmation was answered)
    token = login["IdToken"]
    assert tokens.claims_of(token)["cognito:groups"] == ["customer"]
    # And they create their profile and read it
    created = local.request(
        "POST",
        "/me",
        token=token,
        body={"display_name": "새 손님"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert created.status == 201, created.body
    read = local.request("GET", "/me", token=token)
    assert read.status == 200, read.body
    assert read.json()["customer_id"] == created.json()["customer_id"]
    # And the pool marked the e-mail the code went to as verified, as Cognito does
    user = local.idp().admin_get_user(UserPoolId=local.state["pool_id"], Username=email)
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert (user["UserStatus"], attributes["email_verified"]) == ("CONFIRMED", "true")


def test_a_confirmed_sign_up_cannot_be_confirmed_again(local: LocalSystem) -> None:
    # Given a customer who signed up and confirmed
    email = local.sign_up()["username"]
    # When the confirmation is sent again
    with pytest.raises(ClientError) as refused:
        local.idp(through_gateway=True).confirm_sign_up(
            ClientId=local.state["client_id"], Username=email, ConfirmationCode="123456"
        )
    # Then Cognito's refusal comes back (and the trigger does not run twice)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_a_login_that_is_not_confirmed_is_no_customer(local: LocalSystem) -> None:
    # Given a sign-up that was never confirmed
    email = f"unconfirmed-{uuid.uuid4().hex[:10]}@e2e.dangol.dev"
    idp = local.idp(through_gateway=True)
    idp.sign_up(
        ClientId=local.state["client_id"],
        Username=email,
        Password="Sign-up-pass-1",
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    # Then the login is in no group: nothing made it a customer
    groups = local.idp().admin_list_groups_for_user(UserPoolId=local.state["pool_id"], Username=email)
    assert groups["Groups"] == []


def test_dangol_local_signup_prints_a_customers_id_token(local: LocalSystem) -> None:
    # Given the running system
    email = f"cli-{uuid.uuid4().hex[:10]}@e2e.dangol.dev"
    # When a developer signs up a customer with the CLI
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.local",
            "signup",
            email,
            "--name",
            "CLI 손님",
            "--state-dir",
            str(local.state_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = result.stdout.strip()
    # Then it printed their ID token (and the generated password on stderr), and /me takes it
    assert tokens.claims_of(token)["cognito:groups"] == ["customer"]
    assert "password:" in result.stderr
    created = local.request("POST", "/me", token=token, body={"display_name": "CLI 손님"})
    assert created.status == 201, created.body
