"""Campaigns, their runs, plans, counters, message log, due items and frequency caps in the
campaigns table (``dal/keys.py``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from services.campaigns.dal import keys
from services.campaigns.models.templates import TemplateDefinition
from shared.dynamo import ConditionFailed, DynamoTable, Item, transact_write
from shared.errors import PreconditionFailed
from shared.queues import SqsSender

DAY_S = 86_400
LOG_TTL_DAYS = 400  # the log answers "why didn't they get it?" for a year and more
DUE_TTL_DAYS = 7


def _minute(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


def _epoch(at: dt.datetime, days: int) -> int:
    return int(at.timestamp()) + days * DAY_S


def _due(at: dt.datetime, shard_by: str, sk_tail: str, **fields: Any) -> Item:
    """Something due at ``at``, filed under the minute it falls in, or the next one (never before
    it is due), in the hour's partition, sharded by ``shard_by``."""
    minute = _minute(at + dt.timedelta(seconds=59, microseconds=999_999))
    return {
        keys.PK: keys.due_pk(minute[:10], keys.shard_of(shard_by, keys.DUE_SHARDS)),
        keys.SK: f"{minute[10:]}#{sk_tail}",
        **fields,
        keys.TTL: _epoch(at, DUE_TTL_DAYS),
    }


def due_item(campaign_id: str, run: int, customer_id: str, until: dt.datetime) -> Item:
    """A recipient due again at ``until``."""
    return _due(
        until,
        customer_id,
        f"REC#{campaign_id}#{run:06d}#{customer_id}",
        kind="recipient",
        campaign_id=campaign_id,
        run=run,
        customer_id=customer_id,
    )


class DynamoCampaigns:
    """The campaign catalog and its counters (``logic.campaigns.CampaignStore``)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def all(self) -> list[Item]:
        return self.table.query_all(f"{keys.PK} = :pk", values={":pk": "CAMPAIGNS"}, forward=False)

    def get(self, campaign_id: str) -> Item | None:
        return self.table.get(keys.campaign_key(campaign_id))

    def create(self, item: Mapping[str, Any]) -> None:
        self.table.put(
            {**keys.campaign_key(str(item["id"])), **item}, condition=f"attribute_not_exists({keys.PK})"
        )

    def replace(self, item: Mapping[str, Any], *, expected: int) -> None:
        try:
            self.table.put(
                {**keys.campaign_key(str(item["id"])), **item},
                condition="version = :v",
                values={":v": expected},
            )
        except ConditionFailed as failed:
            raise PreconditionFailed(
                "The campaign changed meanwhile; read it again.", code="version_mismatch"
            ) from failed

    def set_status(self, campaign_id: str, status: str, *, when: Iterable[str], **fields: Any) -> bool:
        """Move the campaign to ``status`` if it is in one of ``when`` (False: it was not)."""
        names = {"#s": "status"}
        values: dict[str, Any] = {f":w{i}": w for i, w in enumerate(when)}
        values[":to"] = status
        sets = ["#s = :to", "version = version + :one"]
        values[":one"] = 1
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        condition = "#s IN (" + ", ".join(k for k in values if k.startswith(":w")) + ")"
        try:
            self.table.update(
                keys.campaign_key(campaign_id),
                "SET " + ", ".join(sets),
                condition=condition,
                names=names,
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    def go_live(self, campaign_id: str, event: str, *, live: bool) -> None:
        """List a live triggered campaign under its trigger's event (or take it off the list)."""
        if live:
            self.table.put({**keys.live_key(event, campaign_id), "campaign_id": campaign_id})
        else:
            self.table.delete(keys.live_key(event, campaign_id))

    def add_counts(self, campaign_id: str, deltas: Mapping[str, int]) -> None:
        """Add to the decision counters, on a random shard (one write per batch)."""
        changes = {k: v for k, v in deltas.items() if v}
        if not changes:
            return
        names = {f"#c{i}": k for i, k in enumerate(changes)}
        values = {f":c{i}": v for i, v in enumerate(changes.values())}
        expression = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(changes)))
        shard = secrets.randbelow(keys.STAT_SHARDS)
        self.table.update(keys.stat_key(campaign_id, shard), expression, names=names, values=values)

    def counts(self, campaign_id: str) -> dict[str, int]:
        """The decision counters (summed over their shards) and the audience (what every planner
        step of every run planned)."""
        total: dict[str, int] = {}
        for item in self.table.query_all(f"{keys.PK} = :pk", values={":pk": f"CAMP#{campaign_id}"}):
            kind = str(item[keys.SK])
            if kind.startswith("PLAN#"):
                total["audience"] = total.get("audience", 0) + int(item.get("planned", 0))
            elif kind.startswith("STAT#"):
                for name, value in item.items():
                    if name not in (keys.PK, keys.SK) and isinstance(value, int):
                        total[name] = total.get(name, 0) + value
        return total

    def planned(self, campaign_id: str, runs: int) -> bool:
        """Every planner chain of the latest run has come to its end."""
        page = self.table.query(
            f"{keys.PK} = :pk AND {keys.SK} BETWEEN :run AND :plans",
            values={
                ":pk": f"CAMP#{campaign_id}",
                ":run": f"PLAN#{runs:06d}#",
                ":plans": f"PLAN#{runs:06d}#~",
            },
        )
        run = self.table.get(keys.run_key(campaign_id, runs))
        return run is not None and sum(1 for i in page.items if i.get("done")) == int(run["chains"])

    # -- runs and plans ----------------------------------------------------------------------

    def record_run(self, campaign_id: str, run: int, at: dt.datetime, *, chains: int) -> bool:
        """The run's item (once: False when it already exists) and how many planner chains it has."""
        try:
            self.table.put(
                {
                    **keys.run_key(campaign_id, run),
                    "run": run,
                    "chains": chains,
                    "started_at": at.isoformat(),
                },
                condition=f"attribute_not_exists({keys.PK})",
            )
        except ConditionFailed:
            return False
        return True

    def advance_plan(
        self, campaign_id: str, run: int, chain: int, *, step: int, done: bool, planned: int
    ) -> bool:
        """Record a chain's step and what it planned, in one conditional write; False when another
        delivery of the same step got there first (the audience is the sum of what was planned)."""
        condition = f"attribute_not_exists({keys.PK})" if step == 0 else "#step = :previous"
        values: dict[str, Any] = {":step": step, ":done": done, ":n": planned}
        if step:
            values[":previous"] = step - 1
        try:
            self.table.update(
                keys.plan_key(campaign_id, run, chain),
                "SET #step = :step, done = :done ADD planned :n",
                condition=condition,
                names={"#step": "step"},
                values=values,
            )
        except ConditionFailed:
            return False
        return True

    # -- the message log ---------------------------------------------------------------------

    def log_lines(self, campaign_id: str, run: int, customer_ids: Sequence[str]) -> dict[str, Item]:
        found = self.table.batch_get([keys.log_key(campaign_id, c, run) for c in customer_ids])
        return {str(i["customer_id"]): i for i in found}

    def claim(self, campaign_id: str, run: int, customer_id: str, at: dt.datetime) -> bool:
        """Claim the one send of a campaign run to a customer: False when someone has it (or a
        final decision exists). A deferred line may be claimed again."""
        try:
            self.table.update(
                keys.log_key(campaign_id, customer_id, run),
                "SET customer_id = :c, #run = :r, #state = :claimed, claimed_at = :at, #ttl = :ttl, "
                "#prior = if_not_exists(decision, :none) REMOVE decision",
                condition=f"attribute_not_exists({keys.PK}) OR decision = :deferred",
                names={"#run": "run", "#state": "state", "#ttl": keys.TTL, "#prior": "prior"},
                values={
                    ":c": customer_id,
                    ":r": run,
                    ":claimed": "claimed",
                    ":at": at.isoformat(),
                    ":ttl": _epoch(at, LOG_TTL_DAYS),
                    ":none": "none",
                    ":deferred": "deferred",
                },
            )
        except ConditionFailed:
            return False
        return True

    def unclaim(self, campaign_id: str, run: int, customer_id: str) -> None:
        """Give a claim back when the channel surely did not send (a throttle, a timeout before
        the request went out): the batch's retry may then send. A line that was deferred is
        deferred again, as it was (its context kept); a new one goes."""
        key = keys.log_key(campaign_id, customer_id, run)
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                key,
                "SET decision = :deferred, #s = :decided REMOVE #prior",
                condition="#s = :c AND #prior = :deferred",
                names={"#s": "state", "#prior": "prior"},
                values={":c": "claimed", ":deferred": "deferred", ":decided": "decided"},
            )
            return
        with contextlib.suppress(ConditionFailed):
            self.table.delete(key, condition="#s = :c", names={"#s": "state"}, values={":c": "claimed"})

    def decide(
        self,
        campaign_id: str,
        run: int,
        customer_id: str,
        *,
        decision: str,
        reason: str | None,
        at: dt.datetime,
        message_id: str | None = None,
        until: dt.datetime | None = None,
        claimed: bool = False,
        provider: str | None = None,
        context: str | None = None,
    ) -> bool:
        """Write the line's decision. Without a claim, only where no final decision exists.
        ``context``: what a triggered entry's message may say, kept while it waits."""
        item: dict[str, Any] = {
            **keys.log_key(campaign_id, customer_id, run),
            "customer_id": customer_id,
            "run": run,
            "state": "decided",
            "decision": decision,
            "decided_at": at.isoformat(),
            keys.TTL: _epoch(at, LOG_TTL_DAYS),
        }
        for name, value in (
            ("reason", reason),
            ("message_id", message_id),
            ("provider", provider),
            ("context", context),
        ):
            if value:
                item[name] = value
        if until is not None:
            item["deferred_until"] = until.isoformat()
        try:
            if claimed:
                self.table.put(item)
            else:
                self.table.put(
                    item,
                    condition=f"attribute_not_exists({keys.PK}) OR decision = :deferred",
                    values={":deferred": "deferred"},
                )
        except ConditionFailed:
            return False
        return True

    def log_page(
        self,
        campaign_id: str,
        *,
        shard: int,
        after: str | None,
        limit: int,
        decision: str | None,
        customer_id: str | None,
    ) -> tuple[list[Item], str | None]:
        """A shard's lines in customer order after ``after``; the last key when the shard goes on."""
        if customer_id is not None:
            pk = keys.log_pk(campaign_id, keys.shard_of(customer_id, keys.LOG_SHARDS))
            if pk != keys.log_pk(campaign_id, shard):
                return [], None
        condition = f"{keys.PK} = :pk"
        values: dict[str, Any] = {":pk": keys.log_pk(campaign_id, shard)}
        if customer_id is not None:
            condition += f" AND begins_with({keys.SK}, :c)"
            values[":c"] = f"{customer_id}#"
        start = {keys.PK: keys.log_pk(campaign_id, shard), keys.SK: after} if after else None
        filter_expression = None
        names = None
        if decision is not None:
            filter_expression, names = "#d = :d", {"#d": "decision"}
            values[":d"] = decision
        page = self.table.query(
            condition,
            values=values,
            names=names,
            limit=limit,
            start_key=start,
            filter_expression=filter_expression,
        )
        last = str(page.last_key[keys.SK]) if page.last_key else None
        return page.items, last

    # -- due items and the release cursor ------------------------------------------------------

    def due_run(self, campaign_id: str, run: int, at: dt.datetime) -> None:
        minute = _minute(at)
        self.table.put(
            {
                keys.PK: keys.due_pk(minute[:10], keys.shard_of(campaign_id, keys.DUE_SHARDS)),
                keys.SK: f"{minute[10:]}#RUN#{campaign_id}#{run:06d}",
                "kind": "run",
                "campaign_id": campaign_id,
                "run": run,
                keys.TTL: _epoch(at, DUE_TTL_DAYS),
            }
        )

    def defer(self, campaign_id: str, run: int, customer_ids: Sequence[str], until: dt.datetime) -> None:
        """Recipients due again at ``until`` (the minute it falls in, or the next one), one item each."""
        self.table.batch_write(puts=[due_item(campaign_id, run, c, until) for c in customer_ids])

    @staticmethod
    def due_draw(gift_id: str, draw: int, at: dt.datetime) -> Item:
        """A draw whose entries close at ``at``: the releaser announces it due then (``DrawDue``)."""
        return _due(at, gift_id, f"DRAW#{gift_id}#{draw:02d}", kind="draw", gift_id=gift_id, draw=draw)

    def due_between(self, first: str, last: str) -> list[Item]:
        """What is due from minute ``first`` to minute ``last`` (``yyyymmddHHMM``, the same hour)."""
        found: list[Item] = []
        for shard in range(keys.DUE_SHARDS):
            found += self.table.query_all(
                f"{keys.PK} = :pk AND {keys.SK} BETWEEN :first AND :last",
                values={
                    ":pk": keys.due_pk(first[:10], shard),
                    ":first": f"{first[10:]}#",
                    ":last": f"{last[10:]}#~",
                },
            )
        return found

    def forget_due(self, items: Sequence[Item]) -> None:
        self.table.batch_write(deletes=[{keys.PK: i[keys.PK], keys.SK: i[keys.SK]} for i in items])

    def release_cursor(self) -> str | None:
        item = self.table.get(keys.RELEASE_CURSOR)
        return str(item["minute"]) if item else None

    def move_release_cursor(self, minute: str) -> None:
        self.table.put({**keys.RELEASE_CURSOR, "minute": minute})

    def take_release_lease(self, seconds: int) -> bool:
        """One release at a time (a schedule may fire twice, or many times after the clock jumped):
        the lease is held for ``seconds`` of real time at most, so a crashed holder cannot block."""
        now = time.time()
        try:
            self.table.put(
                {**keys.RELEASE_LEASE, "until": int(now) + seconds},
                condition=f"attribute_not_exists({keys.PK}) OR #until < :now",
                names={"#until": "until"},
                values={":now": int(now)},
            )
        except ConditionFailed:
            return False
        return True

    def drop_release_lease(self) -> None:
        self.table.delete(keys.RELEASE_LEASE)

    # -- frequency caps ------------------------------------------------------------------------

    def cap_room(self, wanted: Mapping[str, Sequence[tuple[str, int, int]]]) -> dict[str, bool]:
        """Per customer, whether one more message fits every period now (``(period key, cap, ttl
        days)``, as ``take_cap`` takes them): read only, one batch for them all. A dry run looks
        where the sender takes."""
        keys_wanted = [keys.cap_key(c, period) for c, periods in wanted.items() for period, _, _ in periods]
        sent = {
            (str(i[keys.PK]), str(i[keys.SK])): int(i.get("sent", 0))
            for i in self.table.batch_get(keys_wanted)
        }
        return {
            customer_id: all(
                sent.get((keys.cap_key(customer_id, period)[keys.PK], period), 0) < cap
                for period, cap, _ in periods
            )
            for customer_id, periods in wanted.items()
        }

    def take_cap(self, customer_id: str, periods: Sequence[tuple[str, int, int]], at: dt.datetime) -> bool:
        """One more message in every period (``(period key, cap, ttl days)``), all or none: False
        when any is at its cap."""
        actions = [
            {
                "Update": self.table.update_op(
                    keys.cap_key(customer_id, period),
                    "ADD sent :one SET #ttl = :ttl",
                    condition="attribute_not_exists(sent) OR sent < :cap",
                    names={"#ttl": keys.TTL},
                    values={":one": 1, ":cap": cap, ":ttl": _epoch(at, ttl_days)},
                )
            }
            for period, cap, ttl_days in periods
        ]
        try:
            transact_write(self.table.client, actions)
        except ConditionFailed:
            return False
        return True


class QueuedWork:
    """The planner's steps and the sender's batches, on their queues."""

    def __init__(self, plan: SqsSender, send: SqsSender | None = None) -> None:
        self.plan = plan
        self.send = send  # None: this function only starts runs

    def plan_steps(self, steps: Sequence[Mapping[str, Any]]) -> None:
        self.plan.send([json.dumps(s, separators=(",", ":")) for s in steps])

    def batches(
        self, campaign_id: str, run: int, recipients: Sequence[Sequence[str]], *, delay_s: int
    ) -> None:
        bodies = [
            json.dumps({"campaign_id": campaign_id, "run": run, "recipients": list(r)}, separators=(",", ":"))
            for r in recipients
        ]
        if self.send is None:
            raise RuntimeError("this function queues no sender batches")
        self.send.send(bodies, delay_s=delay_s)


class ViewFacts:
    """``logic.delivery.Facts``: what the campaigns' own view knows that a message may say."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def facts(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = self.table.batch_get([keys.view_key(c) for c in customer_ids])
        out: dict[str, dict[str, Any]] = {}
        for item in found:
            view = json.loads(str(item["view"]))
            out[str(item["customer_id"])] = {
                "tier": view.get("tier"),
                "points": view.get("points_balance", 0),
            }
        return out


class TemplateReader:
    """Templates as campaigns read them: the channel and purpose of the one in force
    (``logic.campaigns.Lookup``), and a version's definition (``logic.delivery.Templates``; a
    version never changes, so a warm sender parses each once)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self._parsed: dict[tuple[str, int], TemplateDefinition] = {}

    def get(self, template_id: str) -> dict[str, Any] | None:
        item = self.table.get(keys.template_key(template_id))
        if item is None:
            return None
        definition = item.get("definition") or {}
        return {
            "id": template_id,
            "version": int(item["version"]),
            "channel": definition.get("channel"),
            "purpose": definition.get("purpose"),
        }

    def definition(self, template_id: str, version: int) -> TemplateDefinition | None:
        cached = self._parsed.get((template_id, version))
        if cached is None:
            item = self.table.get(keys.template_version_key(template_id, version))
            if item is None:
                return None
            cached = self._parsed[(template_id, version)] = TemplateDefinition.model_validate(
                item["definition"]
            )
        return cached
