"""What customers and staff can do with profiles. No boto3 here: the store,
the clock and the id factory are passed in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.profile.models.events import CustomerRegistered, ProfileUpdated
from services.profile.models.handles import merged
from services.profile.models.profile import (
    MAX_DEVICES,
    Device,
    DeviceRegistration,
    HandleTaken,
    Profile,
    ProfileCreate,
    ProfileExists,
    ProfileUpdate,
    VersionMismatch,
)
from shared.clock import Clock
from shared.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from shared.events import DomainEvent

UPDATE_ATTEMPTS = 10  # each round, one of the racing writers wins: enough for any real contention


class ProfileStore(Protocol):
    """Writes record their events atomically with the change (the outbox) and publish them."""

    def create(
        self, subject: str, profile: Profile, events: Sequence[DomainEvent], *, username: str | None = None
    ) -> None: ...
    def get(self, customer_id: str) -> Profile | None: ...
    def customer_id_of(self, subject: str) -> str | None: ...
    def find(self, *, email: str | None = None, phone: str | None = None) -> list[Profile]: ...
    def update(
        self, profile: Profile, changes: dict[str, Any], events: Sequence[DomainEvent], *, at: datetime
    ) -> Profile: ...


def _no_profile() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def register(
    store: ProfileStore,
    subject: str,
    data: ProfileCreate,
    *,
    clock: Clock,
    new_id: Callable[[], str],
    username: str | None = None,
    returning: bool = False,
) -> Profile:
    """A new customer for the caller's login. ``returning``: the person had an erased login (see
    ``privacy.returning``): a new customer, but the event says so (no second sign-up bonus)."""
    now = clock()
    profile = Profile(
        customer_id=new_id(),
        version=1,
        created_at=now,
        updated_at=now,
        **data.model_dump(),
    )
    registered = CustomerRegistered(
        customer_id=profile.customer_id,
        subject=subject,
        locale=profile.locale,
        time_zone=profile.time_zone,
        returning=returning,
    )
    try:
        store.create(subject, profile, [registered], username=username)
    except ProfileExists:
        raise Conflict(
            "You already have a profile; update it with PATCH /me.", code="profile_exists"
        ) from None
    return profile


def my_profile(store: ProfileStore, subject: str) -> Profile:
    customer_id = store.customer_id_of(subject)
    profile = store.get(customer_id) if customer_id else None
    if profile is None:
        raise _no_profile()
    return profile


def update_mine(
    store: ProfileStore, subject: str, data: ProfileUpdate, *, expected_version: int | None, clock: Clock
) -> Profile:
    """Apply the changes to the caller's profile (see ``_apply``)."""
    return _apply(store, lambda: my_profile(store, subject), _changes(data), expected_version, clock)


def update_customer(
    store: ProfileStore,
    customer_id: str,
    data: ProfileUpdate,
    *,
    expected_version: int | None,
    clock: Clock,
) -> Profile:
    """Staff change a customer's profile: the same rules as the customer's own changes."""
    return _apply(store, lambda: customer(store, customer_id), _changes(data), expected_version, clock)


def _changes(data: ProfileUpdate) -> dict[str, Any] | Callable[[Profile], dict[str, Any]]:
    """The update's changes. Social handles are sent per network, so the handles linked after it
    depend on those linked now: the whole mapping is computed from the current profile, and left
    out when it stays the same. The store claims each newly linked handle and releases each
    unlinked one in the profile's transaction (409 ``handle_taken``: another customer's)."""
    changes = data.changes()
    if "social_handles" not in changes:
        return changes
    sent = changes.pop("social_handles")

    def on(current: Profile) -> dict[str, Any]:
        handles = merged(current.social_handles, sent)
        return {**changes, "social_handles": handles} if handles != current.social_handles else changes

    return on


def _apply(
    store: ProfileStore,
    load: Callable[[], Profile],
    changes: dict[str, Any] | Callable[[Profile], dict[str, Any]],
    expected_version: int | None,
    clock: Clock,
) -> Profile:
    """Apply changes to the current profile. With ``expected_version`` (If-Match) a stale version
    is 412; without it, a concurrent change is re-read and the changes applied on top.
    ``changes`` may be computed from the current profile (a device list, say)."""
    for _ in range(UPDATE_ATTEMPTS):
        current = load()
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed()
        wanted = changes(current) if callable(changes) else changes
        if not wanted:
            return current
        event = ProfileUpdated(
            customer_id=current.customer_id, changed=sorted(wanted), version=current.version + 1
        )
        try:
            return store.update(current, wanted, [event], at=clock())
        except HandleTaken as taken:
            raise Conflict(
                f"Another customer has linked this {taken.network} handle; nothing was changed.",
                code="handle_taken",
                details=[{"loc": ["body", "social_handles", taken.network], "type": "handle_taken"}],
            ) from None
        except VersionMismatch:
            if expected_version is not None:
                raise PreconditionFailed() from None
    raise Conflict("The profile kept changing; retry.", code="concurrent_update")


def register_device(
    store: ProfileStore, subject: str, device_id: str, data: DeviceRegistration, *, clock: Clock
) -> Profile:
    """Register (or refresh) the push token of one of the caller's devices. A token moves with
    its device; a token seen on another device id is that device now. Beyond ``MAX_DEVICES`` the
    device seen longest ago is forgotten, as push providers expire idle tokens anyway."""
    now = clock()

    def devices(current: Profile) -> dict[str, Any]:
        mine = {d.device_id: d for d in current.devices}
        same = mine.get(device_id)
        if same and same.token == data.token and same.platform == data.platform:
            refreshed = same.model_copy(update={"last_seen_at": now})
        else:
            refreshed = Device(
                device_id=device_id,
                platform=data.platform,
                token=data.token,
                registered_at=now,
                last_seen_at=now,
            )
        others = [d for d in current.devices if d.device_id != device_id and d.token != data.token]
        others.sort(key=lambda d: d.last_seen_at, reverse=True)
        kept = [refreshed, *others[: MAX_DEVICES - 1]]
        kept.sort(key=lambda d: d.device_id)
        return {"devices": [d.model_dump(mode="json") for d in kept]}

    return _apply(store, lambda: my_profile(store, subject), devices, None, clock)


def forget_device(store: ProfileStore, subject: str, device_id: str, *, clock: Clock) -> Profile:
    current = my_profile(store, subject)
    if all(d.device_id != device_id for d in current.devices):
        raise NotFound("No such device on your profile.", code="device_not_found")

    def without(profile: Profile) -> dict[str, Any]:
        kept = [d.model_dump(mode="json") for d in profile.devices if d.device_id != device_id]
        return {"devices": kept} if len(kept) != len(profile.devices) else {}

    return _apply(store, lambda: my_profile(store, subject), without, None, clock)


def customer(store: ProfileStore, customer_id: str) -> Profile:
    profile = store.get(customer_id)
    if profile is None:
        raise _no_profile()
    return profile


def find(store: ProfileStore, *, email: str | None, phone: str | None) -> list[Profile]:
    """Staff look a customer up by exactly one contact point (e-mail matches in any case)."""
    if (email is None) == (phone is None):
        raise BadRequest("Give exactly one of email or phone.", code="invalid_query")
    return store.find(email=email, phone=phone)
