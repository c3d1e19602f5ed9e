"""The feedback functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.feedback.topology import FEEDBACK, MENTIONS, ON_DUTY, SLA_TIMERS
from shared import aws
from shared.queues import SqsSender
from shared.settings import ServiceSettings, Settings
from shared.timers import Timers, TimersConfig


class FeedbackTableSettings(Settings):
    """What every feedback function reads: the feedback table."""

    feedback_table: str = Field(alias=FEEDBACK.env_var, min_length=3)

    @property
    def table(self) -> str:
        return self.feedback_table


class FeedbackSettings(FeedbackTableSettings, ServiceSettings):
    """For the functions that publish on the bus (``ServiceSettings``) too."""


class MentionsSettings(FeedbackTableSettings):
    """For the functions that publish mentions on the mentions topic."""

    mentions_topic_arn: str = Field(alias=MENTIONS.env_var, min_length=1)


class OnDutySettings(FeedbackTableSettings):
    """For the functions that tell the person on duty (the on-duty topic)."""

    on_duty_topic_arn: str = Field(alias=ON_DUTY.env_var, min_length=1)


class TimerSettings(FeedbackTableSettings):
    """For the functions that set and cancel the cases' SLA timers."""

    sla_timers: str = Field(alias=SLA_TIMERS.env_var, min_length=2)

    def timers(self) -> Timers:
        config = TimersConfig.parse(self.sla_timers)
        sender = SqsSender(lambda: aws.client("sqs"), config.target_url, failure_code="timer_not_set")
        return Timers(config, lambda: aws.client("scheduler"), sender)
