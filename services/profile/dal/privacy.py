"""Export and erasure: a customer's whole partition, read or removed.

Erasure runs in two steps so that it is never half-done in a way that shows:
1. one transaction deletes the profile, its anniversary index entries and the claims of its linked
   social handles (``HANDLE#<network>#<handle>``: a handle is found no more), writes the tombstone
   ``ERASED#<id>`` (no personal data) and records ``CustomerErased`` in the outbox;
2. every other item of the customer's partition (consents, purchases, visits, the usual, value,
   contacts…) is deleted in batches; then the login is forgotten (``forget_login``: the logic
   deletes it from the user pool) and last the link from the Cognito subject goes.
Step 2 is re-runnable: erasing again after a crash finds the tombstone and finishes the job.
Two markers outlive the customer, neither personal data on its own: the erased login's subject
(for a day: its tokens make no new profile) and a keyed digest of its e-mail (for two years: the
same person signing up again is a new customer without a second sign-up bonus).
What stays is pseudonymous: purchase and import claims keyed by the store's own ids (so a
replayed purchase or a re-imported file cannot bring the person back), store popularity counts
and the other services' own records, which ``CustomerErased`` tells them to erase.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from services.profile.dal.handles import release_op
from services.profile.dal.keys import (
    PK,
    SK,
    TTL,
    claims,
    erased_login_key,
    identity_key,
    profile_key,
    returning_key,
    tombstone_key,
)
from services.profile.dal.profiles import DynamoProfileStore, anniversary_items
from services.profile.models.events import CustomerErased
from services.profile.models.privacy import AlreadyErased, ForgetLogin, ProfileChanged
from services.profile.models.profile import Profile
from shared.clock import iso
from shared.dynamo import ConditionFailed, Item, Key, transact_write

# Storage detail, not the customer's data: left out of an export.
_INTERNAL = frozenset({PK, SK, "type", "listed", "subject", "email_key", "phone_key", "expires_at"})


ERASED_LOGIN_KEPT = timedelta(days=1)  # longer than any token of the login lives (1 h)
RETURNING_KEPT = timedelta(days=730)  # the sign-up bonus's abuse window (docs/decisions.md)


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

    def export_record(self, item: Item) -> dict[str, Any]:
        """A stored item as the customer sees it in an export."""
        return {k: v for k, v in item.items() if k not in _INTERNAL}

    def erased(self, customer_id: str) -> bool:
        return self.table.get(tombstone_key(customer_id)) is not None

    def erase(
        self,
        customer_id: str,
        *,
        by: Literal["customer", "admin"],
        at: datetime,
        forget_login: ForgetLogin | None = None,
    ) -> None:
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
        link = self.table.get(identity_key(subject)) if subject else None
        if subject and link and link.get("customer_id") == customer_id:
            if forget_login is not None:
                forget_login(subject, str(link["username"]) if link.get("username") else None)
            self.table.delete(identity_key(subject))

    def _linked(self, subject: str) -> str | None:
        link = self.table.get(identity_key(subject))
        return str(link["customer_id"]) if link else None

    # -- what outlives an erased login ----------------------------------------------------------

    def remember_erased_login(self, subject: str, email_digest: str | None, *, at: datetime) -> None:
        self.table.put(
            {
                **erased_login_key(subject),
                "type": "erased-login",
                "erased_at": iso(at),
                TTL: int((at + ERASED_LOGIN_KEPT).timestamp()),
            }
        )
        if email_digest:
            self.table.put(
                {
                    **returning_key(email_digest),
                    "type": "returning",
                    "erased_at": iso(at),
                    TTL: int((at + RETURNING_KEPT).timestamp()),
                }
            )

    def login_erased(self, subject: str) -> bool:
        return self.table.get(erased_login_key(subject)) is not None

    def returning(self, email_digest: str) -> bool:
        return self.table.get(returning_key(email_digest)) is not None

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
        handles = [
            release_op(self.table, network, handle, profile.customer_id)
            for network, handle in sorted(profile.social_handles.items())
        ]
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
            *handles,
            *({"Put": self.table.put_op(item)} for item in pending),
        ]
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed:
            raise ProfileChanged from None
        self.profiles.flush(pending)
