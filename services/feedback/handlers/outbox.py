"""The ``feedback-outbox`` function: the platform's outbox sweep over the feedback table."""

from __future__ import annotations

from services.feedback.handlers.env import FeedbackSettings
from services.feedback.topology import FEEDBACK, OUTBOX_SWEEPER
from shared.sweeper import OutboxSweeper

lambda_handler = OutboxSweeper(FEEDBACK, OUTBOX_SWEEPER, FeedbackSettings)
dependencies = lambda_handler.dependencies
