"""Publishes the campaigns events a crashed request left in the outbox (every 5 minutes)."""

from __future__ import annotations

from services.campaigns.handlers.env import CampaignsSettings
from services.campaigns.topology import CAMPAIGNS, OUTBOX_SWEEPER
from shared.sweeper import OutboxSweeper

lambda_handler = OutboxSweeper(CAMPAIGNS, OUTBOX_SWEEPER, CampaignsSettings)
dependencies = lambda_handler.dependencies
