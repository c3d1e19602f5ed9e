"""Typed settings from the environment, validated once per cold start.

A function declares a ``Settings`` subclass whose fields alias the environment
variables the topology gives it (``Field(alias=TABLE.env_var)``). ``load``
reads ``os.environ`` and fails with a message naming every missing or invalid
variable, instead of a ``KeyError`` deep inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

from shared import secrets
from shared.events import EventPublisher
from shared.platform import BUS


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid (an operator error)."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field(alias="STAGE", min_length=1, max_length=32)
    region: str = Field(alias="AWS_REGION", min_length=1)
    service: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1)


class ServiceSettings(Settings):
    """What every function of a service reads: the system's bus, which it publishes to as
    ``dangol.<service>``, and its service's own table (a subclass aliases the table's variable and
    returns it from ``table``)."""

    event_bus: str = Field(alias=BUS.env_var, min_length=1)

    @property
    def table(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} names its service's table")

    def publisher(self) -> EventPublisher:
        """The service's publisher. Its EventBridge client is made at its first publish: a request
        that publishes nothing (a read) makes none."""
        return EventPublisher(self.event_bus, f"dangol.{self.service}")


CURSOR_KEY_SECRET_ENV = "CURSOR_KEY_SECRET_ARN"  # noqa: S105 - the name of a variable holding an ARN
CURSOR_KEY_MIN_CHARS = 32


class ListSettings(Settings):
    """For functions that serve paginated lists: the key that signs their cursors, read from
    Secrets Manager at its first use (``shared.secrets``); the environment names the secret."""

    cursor_key_secret: str = Field(alias=CURSOR_KEY_SECRET_ENV, min_length=1)

    @property
    def cursor_key(self) -> str:
        key = secrets.secret_string(self.cursor_key_secret)
        if len(key) < CURSOR_KEY_MIN_CHARS:
            raise ConfigurationError(
                f"the cursor key in {CURSOR_KEY_SECRET_ENV} has fewer than {CURSOR_KEY_MIN_CHARS} characters"
            )
        return key


# The API's public base URL (https://..., no trailing slash), for a function that writes links to it
# (``Function.links_to_api``): the stage's configured URL on AWS, the runtime's own locally.
PUBLIC_API_URL_ENV = "PUBLIC_API_URL"

# What a function that sends messages (``Function.sends_messages``) is told of the channels.
EMAIL_SENDER_ENV = "EMAIL_SENDER"
EMAIL_CONFIGURATION_SET_ENV = "EMAIL_CONFIGURATION_SET"
PUSH_APPLICATIONS_ENV = "PUSH_APPLICATIONS"


class MessagingSettings(Settings):
    """The stage's channels: the e-mail sender address (an SES identity), its configuration set
    (suppression of bounces and complaints, event publishing), and the SNS platform
    applications for push, as JSON ``{"ios": arn, "android": arn, "web": arn}`` (a platform with
    none is not reachable by push)."""

    email_sender: str = Field(alias=EMAIL_SENDER_ENV, min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    email_configuration_set: str | None = Field(default=None, alias=EMAIL_CONFIGURATION_SET_ENV)
    push_applications: Json[dict[str, str]] = Field(default_factory=dict, alias=PUSH_APPLICATIONS_ENV)


S = TypeVar("S", bound=Settings)


def load(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    env = dict(os.environ if environ is None else environ)
    try:
        return cls.model_validate(env)
    except ValidationError as exc:
        names = []
        for err in exc.errors():
            var = ".".join(str(p) for p in err["loc"])
            what = "is missing" if err["type"] == "missing" else f"is invalid ({err['msg']})"
            names.append(f"{var} {what}")
        raise ConfigurationError(f"{cls.__name__}: environment variable " + "; ".join(names)) from None
