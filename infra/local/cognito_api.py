"""Cognito's own API at ``{url}/cognito``, with the user pool's triggers, which moto never runs.

Apps and scripts point boto3, the AWS CLI or Amplify at it (``endpoint_url=f"{url}/cognito"``):
every request of Cognito's JSON protocol (``POST`` with ``X-Amz-Target:
AWSCognitoIdentityProviderService.<Operation>``) is forwarded to moto unchanged, and its answer
returned unchanged. Two moments of a login's life run the topology's trigger as Cognito does:

- ``ConfirmSignUp`` (a user confirmed the code of their sign-up) and ``AdminConfirmSignUp``: once
  moto has confirmed the user (and, for ``ConfirmSignUp``, verified the e-mail the code went to,
  as Cognito does), the ``PostConfirmation`` trigger's function runs synchronously, through the
  runtime's function pools, with the event Cognito sends; the request is answered only then.
  A function that fails fails the request with Cognito's ``UserLambdaValidationException``
  (400; the user stays confirmed, as on Cognito), one that times out is invoked again, three
  attempts in all, then ``UnexpectedLambdaException``, and one that does not answer with the
  event ``InvalidLambdaResponseException``.
- Confirming a user who is already confirmed is refused as Cognito refuses it
  (``NotAuthorizedException``), so the trigger runs once per sign-up.

moto accepts any confirmation code (it sends no e-mail, so none can be known); Cognito checks it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.cognito import Pool
from infra.local.lambdas import FunctionPool, InvocationError

COGNITO_PATH = "/cognito"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
CONTENT_TYPE = "application/x-amz-json-1.1"
CONFIRMATIONS = frozenset({"ConfirmSignUp", "AdminConfirmSignUp"})
TRIGGER_ATTEMPTS = 3  # Cognito invokes a trigger that timed out again, three attempts in all
FORWARDED = (
    "content-type",
    "x-amz-target",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "user-agent",
)

Answer = tuple[int, list[tuple[str, str]], bytes]


class CognitoError(Exception):
    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status

    def answer(self) -> Answer:
        headers = [("Content-Type", CONTENT_TYPE), ("x-amzn-ErrorType", self.kind)]
        return self.status, headers, json.dumps({"__type": self.kind, "message": self.message}).encode()


@dataclass
class CognitoEndpoint:
    moto_url: str
    idp: Any  # a cognito-idp client on moto
    pool: Pool
    triggers: Mapping[str, FunctionPool] = field(default_factory=dict)  # "PostConfirmation" -> its pool

    def handle(self, method: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        target = _header(headers, "x-amz-target") or ""
        try:
            if method != "POST" or not target.startswith(TARGET_PREFIX):
                raise CognitoError("UnknownOperationException", "POST Cognito's JSON protocol here.")
            operation = target.removeprefix(TARGET_PREFIX)
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise CognitoError("SerializationException", "The body is not JSON.") from None
            if not isinstance(params, dict):
                raise CognitoError("SerializationException", "The body is not a JSON object.")
            confirming = operation in CONFIRMATIONS and self._is_ours(params)
            if confirming:
                self._refuse_if_confirmed(params)
            status, answer_headers, answer = self._forward(headers, body)
            if confirming and status == 200:
                self._confirmed(operation, params)
        except CognitoError as exc:
            return exc.answer()
        return status, answer_headers, answer

    def _is_ours(self, params: dict[str, Any]) -> bool:
        return params.get("UserPoolId") == self.pool.pool_id or params.get("ClientId") in self.pool.client_ids

    def _refuse_if_confirmed(self, params: dict[str, Any]) -> None:
        try:
            user = self.idp.admin_get_user(UserPoolId=self.pool.pool_id, Username=str(params.get("Username")))
        except self.idp.exceptions.UserNotFoundException:
            return  # moto answers that itself
        if user.get("UserStatus") == "CONFIRMED":
            raise CognitoError(
                "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"
            )

    def _forward(self, headers: list[tuple[str, str]], body: bytes) -> Answer:
        forwarded = {k: v for k, v in headers if k.lower() in FORWARDED}
        request = urllib.request.Request(f"{self.moto_url}/", data=body, method="POST", headers=forwarded)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own moto
                return response.status, _kept(response.headers.items()), response.read()
        except urllib.error.HTTPError as err:
            return err.code, _kept(err.headers.items()), err.read()

    def _confirmed(self, operation: str, params: dict[str, Any]) -> None:
        username = str(params["Username"])
        user = self.idp.admin_get_user(UserPoolId=self.pool.pool_id, Username=username)
        attributes = {a["Name"]: a.get("Value") for a in user.get("UserAttributes", [])}
        if (
            operation == "ConfirmSignUp"
            and attributes.get("email")
            and attributes.get("email_verified") != "true"
        ):
            # the code went to the e-mail address: Cognito marks it verified
            self.idp.admin_update_user_attributes(
                UserPoolId=self.pool.pool_id,
                Username=username,
                UserAttributes=[{"Name": "email_verified", "Value": "true"}],
            )
            user = self.idp.admin_get_user(UserPoolId=self.pool.pool_id, Username=username)
        trigger = self.triggers.get("PostConfirmation")
        if trigger is None:
            return
        event = post_confirmation_event(
            self.pool,
            user,
            client_id=str(params.get("ClientId") or "CLIENT_ID_NOT_APPLICABLE"),
            client_metadata=params.get("ClientMetadata"),
        )
        invoke_trigger(trigger, "PostConfirmation", event)


def post_confirmation_event(
    pool: Pool, user: Mapping[str, Any], *, client_id: str, client_metadata: Any = None
) -> dict[str, Any]:
    """The event Cognito sends a ``PostConfirmation`` trigger after a sign-up was confirmed."""
    attributes = {a["Name"]: a.get("Value", "") for a in user.get("UserAttributes", [])}
    attributes["cognito:user_status"] = str(user.get("UserStatus", "CONFIRMED"))
    request: dict[str, Any] = {"userAttributes": attributes}
    if client_metadata:
        request["clientMetadata"] = dict(client_metadata)
    return {
        "version": "1",
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "region": pool.region,
        "userPoolId": pool.pool_id,
        "userName": str(user["Username"]),
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": request,
        "response": {},
    }


def invoke_trigger(pool: FunctionPool, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke a trigger as Cognito does: synchronously, again after a timeout (three attempts),
    failing the user's request when the function fails or answers with something else than the
    event."""
    for attempt in range(TRIGGER_ATTEMPTS):
        try:
            result = pool.invoke(event).result
        except InvocationError as exc:
            if exc.kind == "timeout" and attempt + 1 < TRIGGER_ATTEMPTS:
                continue
            if exc.kind == "timeout":
                raise CognitoError(
                    "UnexpectedLambdaException", f"{name} invocation failed due to error Timeout."
                ) from None
            raise CognitoError(
                "UserLambdaValidationException", f"{name} failed with error {exc.message}."
            ) from None
        if not isinstance(result, dict):
            raise CognitoError("InvalidLambdaResponseException", "Unrecognizable lambda output")
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _kept(headers: Any) -> list[tuple[str, str]]:
    return [
        (k, v) for k, v in headers if k.lower() in {"content-type", "x-amzn-requestid", "x-amzn-errortype"}
    ]


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)
