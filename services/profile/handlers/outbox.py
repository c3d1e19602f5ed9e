"""The ``profile-outbox`` function: the platform's outbox sweep over the profiles table."""

from __future__ import annotations

from services.profile.handlers.env import ProfileSettings
from services.profile.topology import OUTBOX_SWEEPER, PROFILES
from shared.sweeper import OutboxSweeper

lambda_handler = OutboxSweeper(PROFILES, OUTBOX_SWEEPER, ProfileSettings)
dependencies = lambda_handler.dependencies
