"""The rewards functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.rewards.topology import REWARDS
from shared.events import EventPublisher
from shared.platform import BUS
from shared.settings import Settings


class RewardsSettings(Settings):
    """The rewards functions' settings: their table and the bus they publish to."""

    rewards_table: str = Field(alias=REWARDS.env_var, min_length=3)
    event_bus: str = Field(alias=BUS.env_var, min_length=1)


def publisher(settings: RewardsSettings) -> EventPublisher:
    """The rewards functions' publisher: source ``dangol.rewards`` on the system's bus. Its EventBridge
    client is made at its first publish: a request that publishes nothing (a read) makes none."""
    return EventPublisher(settings.event_bus, f"dangol.{settings.service}")
