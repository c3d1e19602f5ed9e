"""The customer's rights over their data: a complete export, and erasure everywhere.

Erasure deletes the profile and everything in the customer's partition and publishes
``CustomerErased`` so the other services do the same for their own records (see
``services.profile.dal.privacy``). It is idempotent: erasing again finishes an
interrupted erasure and is 404 once nothing is left.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

from services.profile.dal.privacy import (
    AlreadyErased,
    DynamoPrivacyStore,
    ProfileChanged,
    export_record,
)
from services.profile.models.privacy import CustomerExport
from shared.clock import Clock
from shared.errors import Conflict, NotFound

ERASE_ATTEMPTS = 5


def _gone() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def export(store: DynamoPrivacyStore, customer_id: str, *, clock: Clock) -> CustomerExport:
    items = store.partition(customer_id)
    profile = next((i for i in items if i.get("type") == "profile"), None)
    if profile is None:
        raise _gone()
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        kind = str(item.get("type") or "other")
        if item is not profile:
            records[kind].append(export_record(item))
    return CustomerExport(
        customer_id=customer_id,
        exported_at=clock(),
        profile=export_record(profile),
        records=dict(sorted(records.items())),
    )


def erase(
    store: DynamoPrivacyStore, customer_id: str, *, by: Literal["customer", "admin"], clock: Clock
) -> None:
    for _ in range(ERASE_ATTEMPTS):
        try:
            store.erase(customer_id, by=by, at=clock())
            return
        except (LookupError, AlreadyErased):
            raise _gone() from None
        except ProfileChanged:
            continue
    raise Conflict("The profile kept changing; retry the erasure.", code="concurrent_update")
