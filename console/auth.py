"""Logging in with the stage's Cognito user pool, and keeping the tokens fresh.

``dangol login`` runs the pool's SRP login (``USER_SRP_AUTH``, then the ``PASSWORD_VERIFIER``
challenge: the password never leaves the machine, and it is the one flow a stage's app client
allows) and answers what the pool asks next: a new password (``NEW_PASSWORD_REQUIRED``, the first
login of an invited user), an MFA code (``SOFTWARE_TOKEN_MFA``, ``SMS_MFA``). The tokens are kept
per profile in a file only the user can read (``<config dir>/tokens/<profile>.json``, 0600); the ID
token (what the API's authorizer takes) is refreshed with the refresh token a minute before it
expires, by itself. A refresh the pool refuses (the refresh token expired or was revoked) is exit 5:
log in again.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.config import Profile, config_dir
from console.errors import AUTH, ConsoleError

REFRESH_MARGIN_S = 60
Ask = Callable[[str, bool], str]  # (prompt, hidden) -> the answer


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified: for showing who is logged in (the API verifies them)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        raise ConsoleError("the stored login is not a token: log in again", exit_code=AUTH) from None


@dataclass
class TokenStore:
    """One profile's tokens in a 0600 file."""

    profile: str
    root: Path | None = None

    @property
    def path(self) -> Path:
        return (self.root or config_dir() / "tokens") / f"{self.profile}.json"

    def read(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except ValueError:
            return None

    def write(self, tokens: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(tokens, file)
        os.replace(temporary, self.path)

    def forget(self) -> bool:
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True


def identity_provider(profile: Profile) -> Any:
    """A Cognito client for the profile's pool (thread-safe to call; make one, use it in many)."""
    return _idp(profile)


def _idp(profile: Profile) -> Any:
    import boto3  # noqa: PLC0415 - only a login needs it
    from botocore.config import Config  # noqa: PLC0415

    retries = Config(retries={"max_attempts": 3, "mode": "standard"})
    if profile.is_local:  # the local runtime's Cognito takes any credentials
        return boto3.client(
            "cognito-idp",
            region_name=profile.region,
            endpoint_url=profile.cognito_url,
            config=retries,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - not a secret: the local runtime's
        )
    return boto3.client(
        "cognito-idp", region_name=profile.region, endpoint_url=profile.cognito_url, config=retries
    )


def _refused(exc: Exception) -> ConsoleError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", str(exc))
    return ConsoleError(f"the user pool refused: {message}", exit_code=AUTH, code=str(code))


def _kept(result: dict[str, Any], refresh_token: str | None = None) -> dict[str, Any]:
    return {
        "id_token": result["IdToken"],
        "access_token": result["AccessToken"],
        "refresh_token": result.get("RefreshToken") or refresh_token,
        "expires_at": int(time.time()) + int(result.get("ExpiresIn", 3600)),
    }


def login(profile: Profile, username: str, password: str, ask: Ask) -> dict[str, Any]:
    """The pool's password login, with whatever challenge it sets; returns the tokens kept."""
    tokens = {**authenticate(profile, username, password, ask), "username": username}
    TokenStore(profile.name).write(tokens)
    return tokens


def authenticate(
    profile: Profile, username: str, password: str, ask: Ask, *, idp: Any = None
) -> dict[str, Any]:
    """The pool's password login, with whatever challenge it sets: the tokens, not kept."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    idp = idp or _idp(profile)
    try:
        answer = _srp(idp, profile, username, password)
        for _ in range(3):  # a new password, then an MFA code, at most
            if "AuthenticationResult" in answer:
                break
            challenge = answer.get("ChallengeName", "")
            responses = {"USERNAME": answer.get("ChallengeParameters", {}).get("USER_ID_FOR_SRP", username)}
            if challenge == "NEW_PASSWORD_REQUIRED":
                responses["NEW_PASSWORD"] = ask("A new password (the pool asks for one)", True)
            elif challenge in {"SOFTWARE_TOKEN_MFA", "SMS_MFA"}:
                responses[f"{challenge}_CODE"] = ask("The code of your authenticator or SMS", False)
            else:
                raise ConsoleError(
                    f"the pool asks for {challenge}, which the console cannot answer", exit_code=AUTH
                )
            answer = idp.respond_to_auth_challenge(
                ClientId=profile.client_id,
                ChallengeName=challenge,
                Session=answer["Session"],
                ChallengeResponses=responses,
            )
    except ClientError as exc:
        raise _refused(exc) from None
    except BotoCoreError as exc:
        raise ConsoleError(f"the user pool could not be reached: {exc}", code="unreachable") from None
    if "AuthenticationResult" not in answer:
        raise ConsoleError("the login did not finish", exit_code=AUTH)
    return _kept(answer["AuthenticationResult"])


def _srp(idp: Any, profile: Profile, username: str, password: str) -> dict[str, Any]:
    """``USER_SRP_AUTH`` and its ``PASSWORD_VERIFIER`` answer (pycognito's SRP-6a, as Amplify's):
    the pool's next challenge, or its tokens."""
    from pycognito.aws_srp import AWSSRP  # noqa: PLC0415 - only a login needs it

    if not profile.user_pool_id:
        raise ConsoleError(
            f"profile {profile.name!r} lacks user_pool_id (SRP needs it)", code="invalid_config"
        )
    srp = AWSSRP(username, password, profile.user_pool_id, profile.client_id, client=idp)
    params = srp.get_auth_params()
    answer: dict[str, Any] = idp.initiate_auth(
        ClientId=profile.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params
    )
    if answer.get("ChallengeName") != "PASSWORD_VERIFIER":
        return answer
    session = {"Session": answer["Session"]} if answer.get("Session") else {}
    verified: dict[str, Any] = idp.respond_to_auth_challenge(
        ClientId=profile.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=srp.process_challenge(answer["ChallengeParameters"], params),
        **session,
    )
    return verified


def sign_up(profile: Profile, email: str, password: str, *, idp: Any = None) -> None:
    """A customer's sign-up as the app makes it, on the local runtime (whose pool takes any
    confirmation code): what ``dangol demo`` plays for the customers of its stories."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    if not profile.is_local:
        raise ConsoleError("signing customers up is for the local runtime only", exit_code=AUTH)
    idp = idp or _idp(profile)
    try:
        attributes = [{"Name": "email", "Value": email}]
        idp.sign_up(ClientId=profile.client_id, Username=email, Password=password, UserAttributes=attributes)
        idp.confirm_sign_up(ClientId=profile.client_id, Username=email, ConfirmationCode="000000")
    except ClientError as exc:
        raise _refused(exc) from None
    except BotoCoreError as exc:
        raise ConsoleError(f"the user pool could not be reached: {exc}", code="unreachable") from None


def id_token(profile: Profile, *, now: float | None = None) -> str:
    """The profile's ID token, refreshed first if it expires within a minute."""
    store = TokenStore(profile.name)
    tokens = store.read()
    if not tokens:
        raise ConsoleError(
            f"not logged in to {profile.name}: dangol login", exit_code=AUTH, code="not_logged_in"
        )
    if int(tokens.get("expires_at", 0)) - REFRESH_MARGIN_S > (now if now is not None else time.time()):
        return str(tokens["id_token"])
    if not tokens.get("refresh_token"):
        raise ConsoleError(
            f"the login to {profile.name} expired: dangol login", exit_code=AUTH, code="login_expired"
        )
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        answer = _idp(profile).initiate_auth(
            ClientId=profile.client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["refresh_token"]},
        )
    except ClientError:
        raise ConsoleError(
            f"the login to {profile.name} expired: dangol login", exit_code=AUTH, code="login_expired"
        ) from None
    except BotoCoreError as exc:
        raise ConsoleError(f"the user pool could not be reached: {exc}", code="unreachable") from None
    fresh = {**tokens, **_kept(answer["AuthenticationResult"], tokens["refresh_token"])}
    store.write(fresh)
    return str(fresh["id_token"])
