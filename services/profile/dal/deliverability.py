"""The two marks ``logic.deliverability`` writes on a profile (``CUSTOMER#<id> / PROFILE``): its
e-mail unverified, or one device's push token unverified. Each is one update conditioned on the
profile's version (and its existence: an erasure deletes it), moving the version on so that its
``ETag`` changes; nothing else of the profile is written, and no event is published."""

from __future__ import annotations

import datetime as dt

from services.profile.dal.keys import PK, profile_key
from services.profile.models.profile import Profile, VersionMismatch
from shared.clock import iso
from shared.dynamo import ConditionFailed, DynamoTable


class DynamoChannelStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def get(self, customer_id: str) -> Profile | None:
        item = self.table.get(profile_key(customer_id), consistent=True)
        return Profile.model_validate(item) if item else None  # the item's keys are not fields

    def unverify_email(self, profile: Profile, *, at: dt.datetime) -> None:
        self._set(profile, "email_verified = :false", at=at)

    def unverify_device(self, profile: Profile, device_id: str, *, at: dt.datetime) -> None:
        index = next(i for i, d in enumerate(profile.devices) if d.device_id == device_id)
        # The device at that place is still that one: the version says nothing moved since read.
        self._set(profile, f"devices[{index}].verified = :false", at=at)

    def _set(self, profile: Profile, assignment: str, *, at: dt.datetime) -> None:
        try:
            self.table.update(
                profile_key(profile.customer_id),
                f"SET {assignment}, #v = :next, updated_at = :at",
                condition="attribute_exists(#pk) AND #v = :seen",
                names={"#pk": PK, "#v": "version"},
                values={
                    ":false": False,
                    ":next": profile.version + 1,
                    ":seen": profile.version,
                    ":at": iso(at),
                },
            )
        except ConditionFailed as exc:
            raise VersionMismatch from exc
