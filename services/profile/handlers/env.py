"""The profile API function's settings, read from the environment the topology gives it."""

from __future__ import annotations

from pydantic import Field

from services.profile.topology import PROFILES
from shared.events import EventPublisher
from shared.platform import BUS
from shared.settings import Settings


class ProfileSettings(Settings):
    """The profile functions' settings: their table and the bus they publish to."""

    profiles_table: str = Field(alias=PROFILES.env_var, min_length=3)
    event_bus: str = Field(alias=BUS.env_var, min_length=1)


def publisher(settings: ProfileSettings) -> EventPublisher:
    """The profile functions' publisher: source ``dangol.profile`` on the system's bus. Its EventBridge
    client is made at its first publish: a request that publishes nothing (a read) makes none."""
    return EventPublisher(settings.event_bus, f"dangol.{settings.service}")
