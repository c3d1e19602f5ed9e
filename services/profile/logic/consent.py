"""Recording consent: each change is appended to the log and the state derived from it;
the ConsentChanged event carries the whole resulting state."""

from __future__ import annotations

from typing import Literal, Protocol

from services.profile.models.consent import (
    ConsentChange,
    ConsentRecord,
    ConsentState,
    ProfileGone,
    consent_key,
)
from services.profile.models.events import ConsentChanged
from services.profile.models.profile import VersionMismatch
from shared.clock import Clock
from shared.errors import Conflict, NotFound

ATTEMPTS = 5


class ConsentStore(Protocol):
    def state(self, customer_id: str, *, history: int = 0) -> ConsentState: ...
    def record(
        self, customer_id: str, record: ConsentRecord, seen: ConsentState, events: list[ConsentChanged]
    ) -> None:
        """Append ``record`` and move the state on from ``seen``, if the customer's profile exists:
        VersionMismatch if the state moved, ProfileGone if the profile is gone."""
        ...


def change(
    store: ConsentStore,
    customer_id: str | None,
    data: ConsentChange,
    *,
    actor: Literal["customer", "staff", "system"],
    clock: Clock,
) -> ConsentState:
    if customer_id is None:
        raise NotFound("No profile exists for this customer.", code="profile_not_found")
    try:
        state, _ = _apply(store, customer_id, data, actor=actor, clock=clock, unless_already=False)
    except ProfileGone:
        raise NotFound("No profile exists for this customer.", code="profile_not_found") from None
    return state


def change_once(
    store: ConsentStore,
    customer_id: str,
    data: ConsentChange,
    *,
    actor: Literal["customer", "staff", "system"],
    clock: Clock,
) -> bool:
    """The same change as ``change``, recorded only if it changes something: a consent already in
    the asked state (a second click of an opt-out link) records nothing and publishes nothing. A
    customer whose profile is gone (erased) gets nothing recorded either. True: it was recorded."""
    try:
        _, recorded = _apply(store, customer_id, data, actor=actor, clock=clock, unless_already=True)
    except ProfileGone:
        return False
    return recorded


def _apply(
    store: ConsentStore,
    customer_id: str,
    data: ConsentChange,
    *,
    actor: Literal["customer", "staff", "system"],
    clock: Clock,
    unless_already: bool,
) -> tuple[ConsentState, bool]:
    """The state after the change, and whether it was recorded."""
    for _ in range(ATTEMPTS):
        seen = store.state(customer_id)
        if unless_already and seen.consents.get(consent_key(data.channel, data.purpose)) == data.granted:
            return seen, False
        record = ConsentRecord(**data.model_dump(), actor=actor, at=clock())
        after = ConsentState.complete({**seen.consents, f"{data.channel}.{data.purpose}": data.granted})
        event = ConsentChanged(
            customer_id=customer_id,
            channel=data.channel,
            purpose=data.purpose,
            granted=data.granted,
            consents=after,
        )
        try:
            store.record(customer_id, record, seen, [event])
        except VersionMismatch:
            continue
        return ConsentState(customer_id=customer_id, consents=after, version=seen.version + 1), True
    raise Conflict("Consent kept changing; retry.", code="concurrent_update")
