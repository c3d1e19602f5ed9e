"""Recording consent: each change is appended to the log and the state derived from it;
the ConsentChanged event carries the whole resulting state."""

from __future__ import annotations

from typing import Literal, Protocol

from services.profile.models.consent import ConsentChange, ConsentRecord, ConsentState
from services.profile.models.events import ConsentChanged
from services.profile.models.profile import VersionMismatch
from shared.clock import Clock
from shared.errors import Conflict, NotFound

ATTEMPTS = 5


class ConsentStore(Protocol):
    def state(self, customer_id: str, *, history: int = 0) -> ConsentState: ...
    def record(
        self, customer_id: str, record: ConsentRecord, seen: ConsentState, events: list[ConsentChanged]
    ) -> None: ...


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
    for _ in range(ATTEMPTS):
        seen = store.state(customer_id)
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
        return ConsentState(customer_id=customer_id, consents=after, version=seen.version + 1)
    raise Conflict("Consent kept changing; retry.", code="concurrent_update")
