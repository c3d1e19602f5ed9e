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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared import secrets


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid (an operator error)."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    stage: str = Field(alias="STAGE", min_length=1, max_length=32)
    region: str = Field(alias="AWS_REGION", min_length=1)
    service: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1)


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
