"""Taking a verified delivery from a source: classify each mention, link it to the customer who
linked its handle, keep it once, publish it. Pure: the store and the handle lookup are ports.

The store claims the delivery (its digest) with the mentions it keeps: a replay is refused with
nothing written, and a delivery that could not be taken is released again, so the source's retry
is not taken for a replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from services.feedback.logic.classify import classify
from services.feedback.models.intake import Accepted, Classified, Failure
from services.feedback.models.mention import Mention

HANDLE_NETWORKS = {"x": "x", "instagram": "instagram"}  # sources whose handles customers link


class MentionStore(Protocol):
    def keep(self, delivery: str, found: Sequence[Classified], now: datetime) -> list[Classified]: ...
    def publish(self, classified: Classified) -> None: ...


class HandleLookup(Protocol):
    def customers(self, handles: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], str]: ...


def _handle(mention: Mention) -> tuple[str, str] | None:
    network = HANDLE_NETWORKS.get(mention.source)
    if network is None or not mention.author_handle:
        return None
    return network, mention.author_handle.lower()


def classified(mentions: Sequence[Mention], handles: HandleLookup, now: datetime) -> list[Classified]:
    wanted = list(dict.fromkeys(h for m in mentions if (h := _handle(m)) is not None))
    linked = handles.customers(wanted) if wanted else {}
    out = []
    for mention in mentions:
        handle = _handle(mention)
        out.append(
            Classified(
                mention=mention,
                found=classify(mention.text, rating=mention.rating),
                customer_id=linked.get(handle) if handle else None,
                received_at=now,
            )
        )
    return out


def failures_of(parsed: Any) -> list[Failure]:
    return [Failure.model_validate(f, from_attributes=True) for f in getattr(parsed, "failures", [])]


def take(
    parsed: Any, *, delivery: str, store: MentionStore, handles: HandleLookup, now: datetime
) -> Accepted:
    """``parsed``: what the source's adapter read (its mentions, failures, skipped count)."""
    found = classified(list(parsed.mentions), handles, now)
    fresh = store.keep(delivery, found, now)
    for item in fresh:
        store.publish(item)
    return Accepted(
        accepted=len(fresh),
        duplicates=len(found) - len(fresh),
        skipped=int(getattr(parsed, "skipped", 0)),
        failures=failures_of(parsed),
    )
