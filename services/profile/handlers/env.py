"""The profile API function's settings, read from the environment the topology gives it."""

from __future__ import annotations

from pydantic import Field

from services.profile.topology import PROFILES
from shared.settings import Settings


class ProfileApiSettings(Settings):
    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)
