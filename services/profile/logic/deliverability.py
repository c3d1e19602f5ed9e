"""What the campaigns service learnt of a customer's channels while sending
(``profile-deliverability``): an e-mail that bounced permanently or drew a complaint marks the
profile's e-mail unverified; a dead push token marks that device's token unverified. Nothing else
of the profile changes; an erased or unknown customer is ignored. Marking what is already
unverified changes nothing, so a redelivered event has no second effect; a write is conditioned on
the profile's version and read again on a conflict.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Protocol

from services.profile.models.inbound import EmailUndeliverable, PushTokenDisabled
from services.profile.models.profile import Profile, VersionMismatch

ATTEMPTS = 5
Outcome = Literal["unverified", "unchanged", "no_profile"]


class ChannelStore(Protocol):
    def get(self, customer_id: str) -> Profile | None: ...
    def unverify_email(self, profile: Profile, *, at: dt.datetime) -> None:
        """``email_verified`` false, if the profile is still at its version (else VersionMismatch)."""
        ...

    def unverify_device(self, profile: Profile, device_id: str, *, at: dt.datetime) -> None:
        """The device's ``verified`` false, if the profile is still at its version (else VersionMismatch)."""
        ...


def apply(store: ChannelStore, event: EmailUndeliverable | PushTokenDisabled, *, now: dt.datetime) -> Outcome:
    for _ in range(ATTEMPTS):
        profile = store.get(event.customer_id)
        if profile is None:
            return "no_profile"  # erased (its tombstone holds nothing to mark) or never known here
        try:
            if isinstance(event, EmailUndeliverable):
                if not profile.email or not profile.email_verified:
                    return "unchanged"
                store.unverify_email(profile, at=now)
            else:
                device = next((d for d in profile.devices if d.device_id == event.device_id), None)
                if device is None or not device.verified:
                    return "unchanged"  # gone (deleted, or replaced) or already unverified
                store.unverify_device(profile, event.device_id, at=now)
        except VersionMismatch:
            continue
        return "unverified"
    raise VersionMismatch
