"""Triggered campaigns' entries, the exposures and conversions that make a campaign's result, the
offers waiting at login and the logins that find them, in the campaigns table (``dal/keys.py``).

Each write that must happen once is conditional on what was read, in one transaction with its
counters: an entry (its item's run counter), an exposure (the touch's absence), a conversion (the
touch not yet converted), an offer (its absence, with its event in the outbox).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.campaigns.dal import keys
from services.campaigns.dal.campaigns import LOG_TTL_DAYS, DynamoCampaigns, due_item
from services.campaigns.logic.journeys import Entry, may_enter, remembered
from services.campaigns.logic.offers import offer_of
from services.campaigns.logic.results import counter, period_of
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write
from shared.events import DomainEvent, EventPublisher

DAY_S = 86_400
ATTEMPTS = 5
TOUCH_TTL_DAYS = 120  # the longest attribution window (90 days) and a margin for late purchases
OFFER_TTL_DAYS = 400
# An entry's due item falls in the minute after its due instant at the earliest: the releaser may
# have taken the current minute already (an entry without a delay also goes to the sender at once).
RELEASE_MARGIN = dt.timedelta(seconds=1)


def _ttl(at: dt.datetime, days: int) -> int:
    return int(at.timestamp()) + days * DAY_S


class DynamoJourneys:
    """``logic.journeys.JourneyStore``."""

    def __init__(self, table: DynamoTable, campaigns: DynamoCampaigns) -> None:
        self.table = table
        self.campaigns = campaigns

    def live(self, trigger: str) -> list[Item]:
        listed = self.table.query_all(
            f"{keys.PK} = :pk AND begins_with({keys.SK}, :t)", values={":pk": "LIVE", ":t": f"{trigger}#"}
        )
        ids = [str(i[keys.SK]).split("#", 1)[1] for i in listed]
        return self.table.batch_get([keys.campaign_key(c) for c in ids]) if ids else []

    def is_member(self, segment_id: str, customer_id: str) -> bool:
        return self.table.get(keys.member_key(segment_id, customer_id)) is not None

    def last_winback(self, customer_id: str) -> dt.datetime | None:
        item = self.table.get(keys.winback_key(customer_id))
        return dt.datetime.fromisoformat(str(item["at"])) if item else None

    def enter(self, entry: Entry) -> int | None:
        for _ in range(ATTEMPTS):
            current = self.table.get(keys.journey_key(entry.customer_id, entry.campaign_id))
            if not may_enter(current, entry):
                return None
            runs = int(current["runs"]) if current else 0
            run = runs + 1
            try:
                transact_write(self.table.client, self._entry_actions(entry, current, run))
            except ConditionFailed as failed:
                reasons = list(failed.reasons)
                if entry.winback_period_days and reasons[-1:] == ["ConditionalCheckFailed"]:
                    entry = replace(entry, excluded="winback_period", winback_period_days=None)
                continue  # someone entered them meanwhile: read again
            return run
        return None

    def _entry_actions(self, entry: Entry, current: Item | None, run: int) -> list[dict[str, Any]]:
        at = entry.at
        pending = {
            r: due
            for r, due in ((current or {}).get("pending") or {}).items()
            if dt.datetime.fromisoformat(str(due)) > at
        }
        if entry.exit_on_purchase and not entry.excluded:
            pending[str(run)] = entry.due.isoformat()
        journey = {
            **keys.journey_key(entry.customer_id, entry.campaign_id),
            "campaign_id": entry.campaign_id,
            "runs": run,
            "subjects": remembered((current or {}).get("subjects") or {}, entry.subject, at),
            "pending": pending,
        }
        condition = f"attribute_not_exists({keys.PK})" if current is None else "runs = :n"
        values = None if current is None else {":n": run - 1}
        decision = "excluded" if entry.excluded else "deferred"
        line: dict[str, Any] = {
            **keys.log_key(entry.campaign_id, entry.customer_id, run),
            "customer_id": entry.customer_id,
            "run": run,
            "state": "decided",
            "decision": decision,
            "reason": entry.excluded or "trigger",
            "decided_at": at.isoformat(),
            "context": json.dumps(dict(entry.facts), separators=(",", ":")),
            keys.TTL: _ttl(at, LOG_TTL_DAYS),
        }
        if not entry.excluded:
            line["deferred_until"] = entry.due.isoformat()
        actions: list[dict[str, Any]] = [
            {"Put": self.table.put_op(journey, condition=condition, values=values)},
            {"Put": self.table.put_op(line, condition=f"attribute_not_exists({keys.PK})")},
            {
                "Update": self.table.update_op(
                    keys.stat_key(entry.campaign_id, secrets.randbelow(keys.STAT_SHARDS)),
                    "ADD audience :one, #d :one",
                    names={"#d": decision},
                    values={":one": 1},
                )
            },
        ]
        if not entry.excluded:
            actions.append(
                {
                    "Put": self.table.put_op(
                        due_item(entry.campaign_id, run, entry.customer_id, entry.due + RELEASE_MARGIN)
                    )
                }
            )
        if entry.winback_period_days:  # last: its failure is told by the last reason
            cutoff = at - dt.timedelta(days=entry.winback_period_days)
            actions.append(
                {
                    "Put": self.table.put_op(
                        {
                            **keys.winback_key(entry.customer_id),
                            "at": at.isoformat(),
                            "campaign_id": entry.campaign_id,
                        },
                        condition=f"attribute_not_exists({keys.PK}) OR #at <= :cutoff",
                        names={"#at": "at"},
                        values={":cutoff": cutoff.isoformat()},
                    )
                }
            )
        return actions

    def pending_exits(self, customer_id: str, at: dt.datetime) -> list[tuple[str, int]]:
        found = self.table.query_all(
            f"{keys.PK} = :pk AND begins_with({keys.SK}, :t)",
            values={":pk": keys.customer_pk(customer_id), ":t": "TRIG#"},
        )
        return [
            (str(item["campaign_id"]), int(run))
            for item in found
            for run, due in (item.get("pending") or {}).items()
            if dt.datetime.fromisoformat(str(due)) > at
        ]

    def exit(self, campaign_id: str, run: int, customer_id: str, *, reason: str, at: dt.datetime) -> bool:
        if not self.campaigns.decide(campaign_id, run, customer_id, decision="exited", reason=reason, at=at):
            return False
        self.campaigns.add_counts(campaign_id, {"exited": 1, "deferred": -1})
        return True


# -- exposures and conversions: a campaign's result ---------------------------------------------------


class DynamoResults:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def exposed(
        self,
        campaign_id: str,
        run: int,
        customer_id: str,
        *,
        group: str,
        at: dt.datetime,
        attribution_days: int,
    ) -> bool:
        """The customer got the message (``group`` ``t``) or was held out (``c``) at ``at``: their
        purchases until the window closes are the campaign's conversions. Once per run (False: it
        was recorded before). The sender counts the exposures with its batch's decisions."""
        touch = {
            **keys.touch_key(customer_id, campaign_id, run),
            "campaign_id": campaign_id,
            "run": run,
            "group": group,
            "at": at.isoformat(),
            "until": (at + dt.timedelta(days=attribution_days)).isoformat(),
            "period": period_of(at),
            keys.TTL: _ttl(at, TOUCH_TTL_DAYS),
        }
        try:
            self.table.put(touch, condition=f"attribute_not_exists({keys.PK})")
        except ConditionFailed:
            return False
        return True

    def converted(
        self, customer_id: str, purchase_id: str, *, total: int, currency: str, at: dt.datetime
    ) -> list[str]:
        """The campaigns a purchase at ``at`` converts for (each touch converts once, by its first
        purchase in its window)."""
        touches = self.table.query_all(
            f"{keys.PK} = :pk AND begins_with({keys.SK}, :t)",
            values={":pk": keys.customer_pk(customer_id), ":t": "TOUCH#"},
        )
        converted: list[str] = []
        for touch in touches:
            opened = dt.datetime.fromisoformat(str(touch["at"]))
            if not opened <= at <= dt.datetime.fromisoformat(str(touch["until"])) or touch.get("converted"):
                continue
            campaign_id, group, period = str(touch["campaign_id"]), str(touch["group"]), str(touch["period"])
            names = {
                "#c": counter("conversions", group=group),
                "#pc": counter("conversions", group=group, period=period),
                "#r": counter("revenue", group=group, currency=currency),
                "#pr": counter("revenue", group=group, period=period, currency=currency),
            }
            try:
                transact_write(
                    self.table.client,
                    [
                        {
                            "Update": self.table.update_op(
                                {keys.PK: touch[keys.PK], keys.SK: touch[keys.SK]},
                                "SET converted = :p",
                                condition="attribute_not_exists(converted)",
                                values={":p": purchase_id},
                            )
                        },
                        {
                            "Update": self.table.update_op(
                                keys.stat_key(campaign_id, secrets.randbelow(keys.STAT_SHARDS)),
                                "ADD #c :one, #pc :one, #r :total, #pr :total",
                                names=names,
                                values={":one": 1, ":total": total},
                            )
                        },
                    ],
                )
            except ConditionFailed:
                continue  # another delivery of this purchase (or another purchase) converted it
            converted.append(campaign_id)
        return converted


# -- offers waiting at login -----------------------------------------------------------------------


class DynamoOffers:
    def __init__(self, table: DynamoTable, publisher: EventPublisher | None = None) -> None:
        self.table = table
        self.publisher = publisher
        self.outbox = keys.outbox(table)

    def attach(self, offer: Mapping[str, Any], event: DomainEvent | None, at: dt.datetime) -> bool:
        """The offer, once (its id is the campaign run's and the customer's), with the event that asks
        the rewards service for its coupon or points in the same transaction."""
        item = {
            **keys.offer_key(str(offer["customer_id"]), str(offer["offer_id"])),
            **{k: v for k, v in offer.items() if v is not None},
            keys.TTL: _ttl(at, OFFER_TTL_DAYS),
        }
        pending = [self.outbox.item(self.outbox.envelope(event, at))] if event is not None else []
        try:
            transact_write(
                self.table.client,
                [
                    {"Put": self.table.put_op(item, condition=f"attribute_not_exists({keys.PK})")},
                    *({"Put": self.table.put_op(p)} for p in pending),
                ],
            )
        except ConditionFailed:
            return False
        if self.publisher is not None:
            self.outbox.publish_or_leave(self.publisher, pending)
        return True

    def mine(self, customer_id: str) -> list[Item]:
        return self.table.query_all(
            f"{keys.PK} = :pk AND begins_with({keys.SK}, :o)",
            values={":pk": keys.customer_pk(customer_id), ":o": "OFFER#"},
        )

    def mark(
        self, customer_id: str, offer_id: str, field: str, value: str, *, first: bool = True
    ) -> Item | None:
        """Set ``field`` on the offer (``first``: only if unset); the offer, or None when there is none."""
        expression = "SET #f = if_not_exists(#f, :v)" if first else "SET #f = :v"
        with contextlib.suppress(ConditionFailed):
            return self.table.update(
                keys.offer_key(customer_id, offer_id),
                expression,
                condition=f"attribute_exists({keys.PK})",
                names={"#f": field},
                values={":v": value},
            )
        return None


class DynamoLogins:
    """Which customer a login (Cognito ``sub``) is: ``/me/offers`` asks."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def link(self, subject: str, customer_id: str) -> None:
        self.table.batch_write(
            puts=[
                {**keys.subject_key(subject), "customer_id": customer_id},
                {**keys.login_key(customer_id), "subject": subject},
            ]
        )

    def customer_of(self, subject: str) -> str | None:
        item = self.table.get(keys.subject_key(subject))
        return str(item["customer_id"]) if item else None


class DynamoAftermath:
    """``logic.delivery.Aftermath``: exposures for the result, offers for login."""

    def __init__(self, results: DynamoResults, offers: DynamoOffers) -> None:
        self.results = results
        self.offers = offers

    def exposed(
        self,
        campaign_id: str,
        run: int,
        customer_id: str,
        *,
        group: str,
        at: dt.datetime,
        attribution_days: int,
    ) -> bool:
        return self.results.exposed(
            campaign_id, run, customer_id, group=group, at=at, attribution_days=attribution_days
        )

    def offered(self, campaign: Mapping[str, Any], run: int, customer_id: str, at: dt.datetime) -> None:
        item, event = offer_of(campaign, run, customer_id, at)
        self.offers.attach(item, event, at)
