"""The ledger verification's report."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AuditReport(BaseModel):
    """A verification run: every account recomputed from its entries and lots. ``drifting`` must be
    0; when it is not, ``drifting_ids`` names the first 100 accounts to look at."""

    model_config = ConfigDict(defer_build=True)

    started_at: AwareDatetime
    finished_at: AwareDatetime
    complete: bool = Field(description="False: the run stopped at its time limit and resumes next night")
    accounts: int
    drifting: int
    drifting_ids: list[str]
    tiers_changed: int
