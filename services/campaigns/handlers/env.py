"""The campaigns functions' settings, read from the environment the topology gives them."""

from __future__ import annotations

from pydantic import Field

from services.campaigns.topology import CAMPAIGNS, SEGMENT_JOBS
from shared.settings import ServiceSettings


class CampaignsSettings(ServiceSettings):
    """The campaigns functions' settings: the bus (``ServiceSettings``) and the campaigns table."""

    campaigns_table: str = Field(alias=CAMPAIGNS.env_var, min_length=3)

    @property
    def table(self) -> str:
        return self.campaigns_table


class SegmentJobsSettings(CampaignsSettings):
    """For the functions that start a segment's evaluation steps (the segment jobs queue)."""

    segment_jobs_queue_url: str = Field(alias=SEGMENT_JOBS.env_var, min_length=1)
