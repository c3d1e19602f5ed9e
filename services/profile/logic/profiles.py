"""What customers and staff can do with profiles. No boto3 here: the store,
the clock and the id factory are passed in."""

from __future__ import annotations

from collections.abc import Callable

from services.profile.dal.profiles import ProfileExists, ProfileStore, VersionMismatch
from services.profile.models.events import CustomerRegistered, ProfileUpdated
from services.profile.models.profile import Profile, ProfileCreate, ProfileUpdate
from shared.clock import Clock
from shared.errors import BadRequest, Conflict, NotFound, PreconditionFailed

UPDATE_ATTEMPTS = 10  # each round, one of the racing writers wins: enough for any real contention


def _no_profile() -> NotFound:
    return NotFound("No profile exists for this customer.", code="profile_not_found")


def register(
    store: ProfileStore, subject: str, data: ProfileCreate, *, clock: Clock, new_id: Callable[[], str]
) -> Profile:
    now = clock()
    profile = Profile(
        customer_id=new_id(),
        version=1,
        created_at=now,
        updated_at=now,
        **data.model_dump(),
    )
    registered = CustomerRegistered(
        customer_id=profile.customer_id, locale=profile.locale, time_zone=profile.time_zone
    )
    try:
        store.create(subject, profile, [registered])
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
    """Apply the changes to the caller's profile. With ``expected_version`` (If-Match) a stale
    version is 412; without it, a concurrent change is re-read and the changes applied on top."""
    changes = data.changes()
    for _ in range(UPDATE_ATTEMPTS):
        current = my_profile(store, subject)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed()
        event = ProfileUpdated(
            customer_id=current.customer_id, changed=sorted(changes), version=current.version + 1
        )
        try:
            return store.update(current, changes, [event], at=clock())
        except VersionMismatch:
            if expected_version is not None:
                raise PreconditionFailed() from None
    raise Conflict("The profile kept changing; retry.", code="concurrent_update")


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
