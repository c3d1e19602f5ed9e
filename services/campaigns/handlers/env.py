"""The campaigns functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.campaigns.dal.campaigns import QueuedWork
from services.campaigns.dal.cards import PROFILE_CONTACTS_ENV
from services.campaigns.topology import CAMPAIGNS, PLAN_QUEUE, SEGMENT_JOBS, SEND_QUEUE
from shared import aws
from shared.queues import SqsSender
from shared.settings import MessagingSettings, ServiceSettings, Settings


class CampaignsTableSettings(Settings):
    """What every campaigns function reads: the campaigns table. A function the topology gives no
    bus (the planner, the releaser, the nightly refresh) has no bus to read."""

    campaigns_table: str = Field(alias=CAMPAIGNS.env_var, min_length=3)

    @property
    def table(self) -> str:
        return self.campaigns_table


class CampaignsSettings(CampaignsTableSettings, ServiceSettings):
    """For the functions that publish on the bus (``ServiceSettings``) too."""


class SegmentJobsSettings(CampaignsTableSettings):
    """For the functions that start a segment's evaluation steps (the segment jobs queue)."""

    segment_jobs_queue_url: str = Field(alias=SEGMENT_JOBS.env_var, min_length=1)


class PlanQueueSettings(CampaignsTableSettings):
    """For the functions that start a campaign's runs (its planner steps)."""

    plan_queue_url: str = Field(alias=PLAN_QUEUE.env_var, min_length=1)

    def starter(self) -> QueuedWork:
        return QueuedWork(
            SqsSender(lambda: aws.client("sqs"), self.plan_queue_url, failure_code="campaign_not_queued")
        )


class CampaignQueuesSettings(PlanQueueSettings):
    """For the functions that queue a campaign run's work: planner steps and sender batches."""

    send_queue_url: str = Field(alias=SEND_QUEUE.env_var, min_length=1)
    # Seconds a batch waits per priority step below the top (logic.sending.priority_delay_s).
    priority_step_s: int = Field(default=2, alias="PRIORITY_STEP_S", ge=0, le=90)

    def work(self) -> QueuedWork:
        return QueuedWork(
            SqsSender(lambda: aws.client("sqs"), self.plan_queue_url, failure_code="campaign_not_queued"),
            SqsSender(lambda: aws.client("sqs"), self.send_queue_url, failure_code="campaign_not_queued"),
        )


class CapSettings(Settings):
    """The frequency caps: marketing messages per customer per local day and per ISO week, across
    all campaigns. Read by the sender, which takes them, and by the API, whose dry run looks."""

    daily_cap: int = Field(default=1, alias="DAILY_CAP", ge=1, le=100)
    weekly_cap: int = Field(default=3, alias="WEEKLY_CAP", ge=1, le=500)


class SenderSettings(CampaignsSettings, MessagingSettings, CapSettings):
    """The sender: the channels, the profile service's contact cards, and the frequency caps."""

    contacts_function: str = Field(alias=PROFILE_CONTACTS_ENV, min_length=1)
    # Sends a second per sender (times its concurrency: the campaign's rate, under SES's quota).
    send_rate_per_s: float = Field(default=3.0, alias="SEND_RATE_PER_S", gt=0, le=1000)


class ReleaseSettings(CampaignQueuesSettings, ServiceSettings):
    """The releaser: runs and deferred recipients to the queues, draws due to the bus."""


class CampaignsApiSettings(PlanQueueSettings, ServiceSettings, CapSettings):
    """The campaigns API: launches start runs (the planner's queue); draw schedules go on the bus;
    a dry run reads a sample's contact cards (the profile service's function) and the caps."""

    contacts_function: str | None = Field(default=None, alias=PROFILE_CONTACTS_ENV, min_length=1)


class TriggerSettings(CampaignsTableSettings):
    """The events consumer: a triggered entry without a delay goes straight to the sender's queue."""

    send_queue_url: str = Field(alias=SEND_QUEUE.env_var, min_length=1)

    def work(self) -> QueuedWork:
        sender = SqsSender(lambda: aws.client("sqs"), self.send_queue_url, failure_code="campaign_not_queued")
        return QueuedWork(sender, sender)
