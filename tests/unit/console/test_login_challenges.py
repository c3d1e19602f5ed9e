"""``dangol login`` against a stage's user pool (moto's, in process): the SRP login, the only flow a
stage's app client allows, then what the pool asks next (a new password at an invited user's first
login, an authenticator's code once MFA is on), each asked of the person once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from console import auth
from console.config import Profile
from console.errors import AUTH, ConsoleError

REGION = "ap-northeast-2"
INVITED = "sooyeon@dangol.dev"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Profile]]:
    """A pool like a stage's: an app client allowing SRP and refresh only, an invited user."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(PoolName="dangol-dev")["UserPool"]["Id"]
        idp.set_user_pool_mfa_config(
            UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
        )
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="App",
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(
            UserPoolId=pool_id, Username=INVITED, TemporaryPassword="Temp-pass-1", MessageAction="SUPPRESS"
        )
        yield idp, Profile("dev", "https://api.dev.example.com", REGION, client_id, user_pool_id=pool_id)


def asker(answers: dict[str, str], asked: list[str]) -> auth.Ask:
    def ask(prompt: str, hidden: bool) -> str:
        asked.append(prompt)
        return next(answer for key, answer in answers.items() if key in prompt)

    return ask


def test_an_invited_user_sets_a_password_then_logs_in_with_it_and_then_with_a_code(
    pool: tuple[Any, Profile],
) -> None:
    idp, profile = pool
    asked: list[str] = []
    ask = asker({"new password": "Chosen-pass-12", "code": "123456"}, asked)
    # When the invited user logs in with the temporary password
    first = auth.authenticate(profile, INVITED, "Temp-pass-1", ask)
    # Then the pool asked for a new password, once, and gave tokens
    assert asked == ["A new password (the pool asks for one)"]
    assert {"id_token", "access_token", "refresh_token"} <= set(first)
    # When they log in again with the password they chose: no question
    asked.clear()
    assert auth.authenticate(profile, INVITED, "Chosen-pass-12", ask)["id_token"]
    assert asked == []
    # When they turn on an authenticator app, the next login asks for its code
    idp.associate_software_token(AccessToken=first["access_token"])
    idp.verify_software_token(AccessToken=first["access_token"], UserCode="123456")
    idp.set_user_mfa_preference(
        AccessToken=first["access_token"], SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    assert auth.authenticate(profile, INVITED, "Chosen-pass-12", ask)["id_token"]
    assert asked == ["The code of your authenticator or SMS"]


def test_a_wrong_password_and_a_profile_without_its_pool_are_exit_5_and_1(pool: tuple[Any, Profile]) -> None:
    _, profile = pool
    never = asker({}, [])
    with pytest.raises(ConsoleError) as wrong:
        auth.authenticate(profile, "nobody@dangol.dev", "Not-the-pass-1", never)
    assert wrong.value.exit_code == AUTH
    assert wrong.value.code in {"UserNotFoundException", "NotAuthorizedException"}  # moto's, a stage's
    without_pool = Profile("dev", profile.api_url, REGION, profile.client_id)
    with pytest.raises(ConsoleError) as unset:
        auth.authenticate(without_pool, INVITED, "Temp-pass-1", never)
    assert unset.value.code == "invalid_config"
