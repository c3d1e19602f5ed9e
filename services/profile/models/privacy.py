"""What a customer's data export looks like, and what erasure's store tells the logic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CustomerExport(BaseModel):
    """Everything the profile service holds about one customer, as stored, grouped by kind."""

    model_config = ConfigDict(defer_build=True, frozen=True)

    customer_id: str
    exported_at: datetime
    profile: dict[str, Any] = Field(description="The profile record")
    records: dict[str, list[dict[str, Any]]] = Field(
        description="Every other record, by kind: consent, purchase, visit, usual, stats, value, contact…"
    )


# -- what the store tells the logic (``logic.privacy.PrivacyStore``) ------------------------------

ForgetLogin = Callable[[str, str | None], None]  # (subject, username) -> the login is gone


class AlreadyErased(Exception):
    """The customer was erased (the tombstone exists) and nothing is left to do."""


class ProfileChanged(Exception):
    """The profile changed while it was being erased (retry)."""
