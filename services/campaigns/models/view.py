"""The campaigns service's own view of a customer, fed only by events on the bus.

It holds what targeting and sending decisions need and nothing that names or reaches the person:
no name, e-mail, phone or push token (the sender asks the profile service for a contact card at
send time). Purchases are kept as one bucket per local day (count and spend per currency) for
the last ``KEPT_DAYS`` days, so rolling windows (30, 90, 365 days) are computed when a rule is
evaluated and stay right as time passes without an event.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

KEPT_DAYS = 400  # purchase buckets older than this fall off (the longest window is 365 days)
WINDOWS = (7, 30, 90, 365)  # rolling windows a segment rule may name, in days


class DayBucket(BaseModel):
    """One local day's purchases: how many, and the net spend per currency (minor units)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    count: int = 0
    spend: dict[str, int] = Field(default_factory=dict)


class CustomerView(BaseModel):
    """A customer as the campaigns service knows them (ids, settings and behaviour only)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    customer_id: str
    locale: str = "ko-KR"
    time_zone: str = "Asia/Seoul"
    registered_at: AwareDatetime | None = None
    consents: dict[str, bool] = Field(default_factory=dict)  # "email.marketing" -> granted
    value_segment: str | None = None
    groups: list[str] = Field(default_factory=list)
    tier: str | None = None
    points_balance: int = 0  # the points the customer holds (what a message may say)
    points_version: int = 0  # the rewards account's version that set it: an older one never wins
    points_expiring: int = 0
    points_expire_on: dt.date | None = None
    last_purchase_at: AwareDatetime | None = None
    purchases: dict[str, DayBucket] = Field(default_factory=dict)  # "yyyy-mm-dd" (local) -> bucket
    first_purchase_id: str | None = None  # the purchase that made them a customer (a trigger)
    # Lifetime counts (a winback tells the customer who only ever buys on offers: a lapsed
    # customer's purchases are older than any window)
    purchases_ever: int = 0  # purchases made, less those refunded
    coupons_ever: int = 0  # coupons redeemed
    last_visit_at: AwareDatetime | None = None
    browsing_s: int = 0  # time spent on visits since the last purchase
    # When each aspect was last set (an event's instant): an older event never overwrites a newer
    # one (SQS keeps no order). Keys: "profile", "consents", "value_segment", "groups", "tier",
    # "points_expiring".
    stamps: dict[str, AwareDatetime] = Field(default_factory=dict)
    version: int = 0

    def purchase_count(self, days: int, today: dt.date) -> int:
        since = (today - dt.timedelta(days=days - 1)).isoformat()
        return sum(b.count for day, b in self.purchases.items() if day >= since)

    def spend(self, days: int, currency: str, today: dt.date) -> int:
        since = (today - dt.timedelta(days=days - 1)).isoformat()
        return sum(b.spend.get(currency, 0) for day, b in self.purchases.items() if day >= since)
