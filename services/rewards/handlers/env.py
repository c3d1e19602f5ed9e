"""The rewards functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.rewards.topology import REWARDS
from shared.settings import ServiceSettings


class RewardsSettings(ServiceSettings):
    """The rewards functions' settings: the bus (``ServiceSettings``) and the rewards table."""

    rewards_table: str = Field(alias=REWARDS.env_var, min_length=3)

    @property
    def table(self) -> str:
        return self.rewards_table
