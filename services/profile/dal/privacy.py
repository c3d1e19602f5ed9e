"""Export and erasure: a customer's whole partition, read or removed.

Erasure runs in two steps so that it is never half-done in a way that shows:
1. one transaction deletes the profile and its anniversary index entries, writes the tombstone
   ``ERASED#<id>`` (no personal data) and records ``CustomerErased`` in the outbox;
2. every other item of the customer's partition (consents, purchases, visits, the usual, value,
   contacts…) is deleted in batches, and last the link from the Cognito subject.
Step 2 is re-runnable: erasing again after a crash finds the tombstone and finishes the job.
What stays is pseudonymous: purchase and import claims keyed by the store's own ids (so a
replayed purchase or a re-imported file cannot bring the person back), store popularity counts
and the other services' own records, which ``CustomerErased`` tells them to erase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from services.profile.dal.keys import PK, SK, claims, identity_key, profile_key, tombstone_key
from services.profile.dal.profiles import DynamoProfileStore, anniversary_items
from services.profile.models.events import CustomerErased
from services.profile.models.profile import Profile
from shared.clock import iso
from shared.dynamo import ConditionFailed, Item, Key, transact_write

# Storage detail, not the customer's data: left out of an export.
_INTERNAL = frozenset({PK, SK, "type", "listed", "subject", "email_key", "phone_key", "expires_at"})


class AlreadyErased(Exception):
    """The customer was erased (the tombstone exists) and nothing is left to do."""


class DynamoPrivacyStore:
    def __init__(self, profiles: DynamoProfileStore) -> None:
        self.profiles = profiles
        self.table = profiles.table

    def partition(self, customer_id: str) -> list[Item]:
        """Every item of the customer's partition, all pages."""
        items: list[Item] = []
        start: Key | None = None
        while True:
            page = self.table.query(
                "#pk = :pk",
                names={"#pk": PK},
                values={":pk": profile_key(customer_id)[PK]},
                start_key=start,
            )
            items += page.items
            if page.last_key is None:
                return items
            start = page.last_key

    def erased(self, customer_id: str) -> bool:
        return self.table.get(tombstone_key(customer_id)) is not None

    def erase(self, customer_id: str, *, by: Literal["customer", "admin"], at: datetime) -> None:
        """Erase the customer (see the module's docstring); AlreadyErased when nothing was left."""
        stored = self.table.get(profile_key(customer_id))
        subject = str(stored["subject"]) if stored and stored.get("subject") else None
        if stored is not None:
            profile = Profile.model_validate(stored)
            self._remove_profile(profile, subject, by=by, at=at)
        elif not self.erased(customer_id):
            raise LookupError(customer_id)
        leftover = [{PK: i[PK], SK: i[SK]} for i in self.partition(customer_id)]
        tomb = self.table.get(tombstone_key(customer_id)) or {}
        subject = subject or (str(tomb["subject"]) if tomb.get("subject") else None)
        if not leftover and stored is None and (subject is None or self._linked(subject) is None):
            raise AlreadyErased(customer_id)
        self.table.batch_write(deletes=leftover)
        if subject:
            # The answers kept for their retried requests (24 h) may hold what they sent: gone too.
            claims(self.table, lock_s=1).forget(subject)
        if subject and self._linked(subject) == customer_id:
            self.table.delete(identity_key(subject))

    def _linked(self, subject: str) -> str | None:
        link = self.table.get(identity_key(subject))
        return str(link["customer_id"]) if link else None

    def _remove_profile(
        self, profile: Profile, subject: str | None, *, by: Literal["customer", "admin"], at: datetime
    ) -> None:
        outbox = self.profiles.outbox
        erased = CustomerErased(customer_id=profile.customer_id, erased_by=by)
        pending = [outbox.item(outbox.envelope(erased, at))]
        tomb: Item = {**tombstone_key(profile.customer_id), "type": "erased", "erased_at": iso(at), "by": by}
        if subject:
            tomb["subject"] = subject  # a pseudonymous id: lets a retried erasure unlink the login
        index = [{"Delete": self.table.delete_op({PK: i[PK], SK: i[SK]})} for i in anniversary_items(profile)]
        actions: list[dict[str, Any]] = [
            {
                "Delete": self.table.delete_op(
                    profile_key(profile.customer_id),
                    condition="attribute_exists(#pk) AND #v = :v",
                    names={"#pk": PK, "#v": "version"},
                    values={":v": profile.version},
                )
            },
            {"Put": self.table.put_op(tomb)},
            *index,
            *({"Put": self.table.put_op(item)} for item in pending),
        ]
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed:
            raise ProfileChanged from None
        self.profiles.flush(pending)


class ProfileChanged(Exception):
    """The profile changed while it was being erased (retry)."""


def export_record(item: Item) -> dict[str, Any]:
    """A stored item as the customer sees it in an export."""
    return {k: v for k, v in item.items() if k not in _INTERNAL}
