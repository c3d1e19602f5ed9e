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


class GoodwillSettings(RewardsSettings):
    """For the functions that grant goodwill (the staff route, a case's grant from the bus): one
    agent's points per UTC day, both together (``topology.GOODWILL_DAILY_LIMIT``)."""

    goodwill_daily_limit: int = Field(alias="GOODWILL_DAILY_LIMIT", ge=1)
