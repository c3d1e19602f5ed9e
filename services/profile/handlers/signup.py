"""The ``profile-signup`` function: the user pool's post-confirmation trigger.

A person who signed up in the app and confirmed their e-mail is a customer: this puts their login
in the ``customer`` group, the only group a login can get by itself (staff groups are given by an
administrator). Cognito waits for the answer (the event, unchanged); the local runtime invokes
this at the same moment (``dangol-local signup``), since moto runs no triggers.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from services.profile.dal.logins import CognitoLogins
from shared import aws
from shared.observability import make_logger

logger = make_logger()
SELF_SIGN_UP = "PostConfirmation_ConfirmSignUp"  # not ConfirmForgotPassword: a reset makes no customer
aws.prime("cognito-idp")  # Cognito waits 5 s for the answer: the client is made at init, not then


@functools.cache
def dependencies() -> CognitoLogins:
    return CognitoLogins()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("triggerSource") == SELF_SIGN_UP:
        dependencies().make_customer(str(event["userPoolId"]), str(event["userName"]))
        logger.info("a self-signed-up login became a customer")
    return event
