"""The ``rewards-outbox`` function: the platform's outbox sweep over the rewards table."""

from __future__ import annotations

from services.rewards.handlers.env import RewardsSettings
from services.rewards.topology import OUTBOX_SWEEPER, REWARDS
from shared.sweeper import OutboxSweeper

lambda_handler = OutboxSweeper(REWARDS, OUTBOX_SWEEPER, RewardsSettings)
dependencies = lambda_handler.dependencies
