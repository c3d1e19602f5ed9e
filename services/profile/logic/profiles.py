"""What customers and staff can do with profiles. No boto3 here: the store,
the clock and the id factory are passed in."""

from __future__ import annotations

from collections.abc import Callable

from services.profile.dal.profiles import ProfileExists, ProfileStore, VersionMismatch
from services.profile.models.profile import Profile, ProfileCreate, ProfileUpdate
from shared.clock import Clock
from shared.errors import Conflict, NotFound, PreconditionFailed


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
    try:
        store.create(subject, profile)
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
    customer_id = store.customer_id_of(subject)
    if customer_id is None:
        raise _no_profile()
    try:
        return store.update(customer_id, data.changes(), expected_version=expected_version, at=clock())
    except VersionMismatch:
        if expected_version is not None and store.get(customer_id) is not None:
            raise PreconditionFailed() from None
        raise _no_profile() from None


def customer(store: ProfileStore, customer_id: str) -> Profile:
    profile = store.get(customer_id)
    if profile is None:
        raise _no_profile()
    return profile
