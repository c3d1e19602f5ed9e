"""The logins of the user pool (Cognito): the only place the profile service touches them.

The pool is the one that issued the caller's token or sent the trigger event (its id is the last
part of the token's issuer, and the event names it), so no function needs the pool's id in its
environment, and the stacks need no reference from a service back to the pool.
"""

from __future__ import annotations

from typing import Any

from shared import aws
from shared.errors import ServiceUnavailable

CUSTOMER_GROUP = "customer"


def pool_of(issuer: str) -> str:
    """The user pool id of a token's issuer (``https://cognito-idp.<region>.amazonaws.com/<pool>``)."""
    pool = issuer.rstrip("/").rsplit("/", 1)[-1]
    if "_" not in pool:
        raise ValueError(f"not a Cognito user pool issuer: {issuer!r}")
    return pool


class CognitoLogins:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("cognito-idp")
        return self._client

    def make_customer(self, pool_id: str, username: str) -> None:
        """Put a self-signed-up login in the ``customer`` group (and no other)."""
        self._call("admin_add_user_to_group", UserPoolId=pool_id, Username=username, GroupName=CUSTOMER_GROUP)

    def email_of(self, pool_id: str, username: str) -> str | None:
        """The login's e-mail (None: no such login, or it has none)."""
        try:
            user = self._call("admin_get_user", UserPoolId=pool_id, Username=username)
        except LookupError:
            return None
        attributes = {a["Name"]: a.get("Value") for a in user.get("UserAttributes", [])}
        return attributes.get("email") or None

    def delete(self, pool_id: str, username: str) -> bool:
        """Delete the login (erasure): its e-mail and every attribute go with it. False if gone."""
        try:
            self._call("admin_delete_user", UserPoolId=pool_id, Username=username)
        except LookupError:
            return False
        return True

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - at first use

        try:
            return dict(getattr(self.client, operation)(**params))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "UserNotFoundException":
                raise LookupError(params.get("Username")) from None
            raise ServiceUnavailable(code="dependency_unavailable") from None
        except BotoCoreError:
            raise ServiceUnavailable(code="dependency_unavailable") from None
