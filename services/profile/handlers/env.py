"""The profile functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.profile.topology import PROFILES
from shared.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    """The profile functions' settings: the bus (``ServiceSettings``) and the profiles table."""

    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)

    @property
    def table(self) -> str:
        return self.profiles_table
