"""The consent log (append-only) and its current state, in the profiles table:
- ``CUSTOMER#<id> / CONSENT#<time>#<ulid>``  one log entry
- ``CUSTOMER#<id> / CONSENTS``                the state derived from the log (versioned)
A change writes both, and its event, in one transaction, with a check that the profile exists (an
erasure deletes it in the transaction that writes the tombstone): no consent outlives its customer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.profile.dal.keys import PK, SK, profile_key
from services.profile.dal.profiles import DynamoProfileStore
from services.profile.models.consent import ConsentRecord, ConsentState, ProfileGone, consent_key
from services.profile.models.profile import VersionMismatch
from shared.clock import iso
from shared.dynamo import ConditionFailed, transact_write
from shared.events import DomainEvent
from shared.ids import ulid


def _state_key(customer_id: str) -> dict[str, str]:
    return {PK: profile_key(customer_id)[PK], SK: "CONSENTS"}


class DynamoConsentStore:
    def __init__(self, profiles: DynamoProfileStore) -> None:
        self.profiles = profiles
        self.table = profiles.table

    def state(self, customer_id: str, *, history: int = 0) -> ConsentState:
        item = self.table.get(_state_key(customer_id)) or {}
        records: list[ConsentRecord] = []
        if history:
            page = self.table.query(
                "#pk = :pk AND begins_with(#sk, :log)",
                names={"#pk": PK, "#sk": SK},
                values={":pk": profile_key(customer_id)[PK], ":log": "CONSENT#"},
                forward=False,
                limit=history,
            )
            records = [ConsentRecord.model_validate(i["record"]) for i in page.items]
        return ConsentState(
            customer_id=customer_id,
            consents=ConsentState.complete(dict(item.get("consents") or {})),
            version=int(item.get("version", 0)),
            history=records,
        )

    def record(
        self, customer_id: str, record: ConsentRecord, seen: ConsentState, events: Sequence[DomainEvent]
    ) -> None:
        """Append ``record`` and move the state on from ``seen`` (VersionMismatch if it moved,
        ProfileGone if the customer's profile is gone)."""
        consents = {**seen.consents, consent_key(record.channel, record.purpose): record.granted}
        entry = {
            PK: profile_key(customer_id)[PK],
            SK: f"CONSENT#{iso(record.at)}#{ulid()}",
            "type": "consent",
            "record": record.model_dump(mode="json"),
        }
        state: dict[str, Any] = {**_state_key(customer_id), "type": "consents", "consents": consents}
        state["version"] = seen.version + 1
        condition = "attribute_not_exists(#pk)" if seen.version == 0 else "version = :seen"
        guard: dict[str, Any] = {"condition": condition, "names": {"#pk": PK}}
        if seen.version:
            guard = {"condition": condition, "values": {":seen": seen.version}}
        exists = {"condition": "attribute_exists(#pk)", "names": {"#pk": PK}}
        pending = [self.profiles.outbox.item(self.profiles.outbox.envelope(e, record.at)) for e in events]
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(state, **guard)},
                    {"ConditionCheck": self.table.delete_op(profile_key(customer_id), **exists)},  # type: ignore[arg-type]
                    {"Put": self.table.put_op(entry)},
                    *({"Put": self.table.put_op(item)} for item in pending),
                ],
            )
        except ConditionFailed as exc:
            if len(exc.reasons) > 1 and exc.reasons[1] == "ConditionalCheckFailed":
                raise ProfileGone(customer_id) from exc
            raise VersionMismatch from exc
        self.profiles.flush(pending)
