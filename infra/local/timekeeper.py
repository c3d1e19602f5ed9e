"""The local EventBridge Scheduler: fires the topology's schedules, and those a service
creates at run time through the Scheduler API (moto stores them, never fires them), at
their times in their zones, on the runtime's simulated clock.

Each tick reads the clock (``.dangol/clock.json``, shared with the functions and the
``dangol-local clock`` command), takes every occurrence due since the last tick in time
order (a clock moved a day ahead fires that day's occurrences, each once) and delivers
it: a function target is invoked asynchronously with the rendered input (retried, then
given up as Scheduler does), a queue target gets the input as a message.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from infra.local.clock import SimulatedClock
from infra.local.lambdas import FunctionPool, InvocationError
from infra.local.schedules import Firing, ScheduleEntry, Scheduler
from shared.cron import TooManyOccurrences
from shared.topology import Function, Queue

SYNC_EVERY_S = 2.0
Key = tuple[str, str]  # a schedule's (group, name)


@dataclass(frozen=True)
class Fired:
    schedule: str
    scheduled_utc: str
    scheduled_local: str
    target: str
    outcome: str


class Timekeeper:
    def __init__(
        self,
        scheduler: Scheduler,
        clock: SimulatedClock,
        *,
        pools: dict[str, FunctionPool],
        send: Callable[[str, str], None],
        api_schedules: Callable[[], list[ScheduleEntry]] | None = None,
        delete_api_schedule: Callable[[str, str], None] | None = None,
        tick_s: float = 0.2,
    ) -> None:
        self.scheduler = scheduler
        self.clock = clock
        self.pools = pools
        self.send = send  # (queue id or ARN, body)
        self.api_schedules = api_schedules
        self.delete_api_schedule = delete_api_schedule  # (group, name): AWS deletes a completed DELETE
        self._synced_clock: datetime | None = None  # the simulated time of the last sync
        # API schedules the scheduler completed and dropped (DELETE), fired or jumped over: AWS
        # deletes them, so the next sync must not bring them back from moto
        self._gone: dict[Key, ScheduleEntry] = {}
        self.tick_s = tick_s
        self.fired: deque[Fired] = deque(maxlen=5000)
        self.warnings: deque[str] = deque(maxlen=100)
        self._lock = threading.Lock()
        self._ticking = threading.RLock()
        self._stop = threading.Event()
        self._synced = -SYNC_EVERY_S
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def jump(self, when: str, tz: str) -> datetime:
        """Set the clock, forwards or back, without firing what lies between (``advance`` fires
        it all); what falls exactly at the new time still fires."""
        with self._ticking:
            now = self.clock.set(when, tz)
            self.scheduler.jump_to(now - timedelta(seconds=1))
        return now

    def back_to_real_time(self) -> datetime:
        """Reset the clock; like a jump, it fires nothing of the months it may skip."""
        with self._ticking:
            now = self.clock.reset()
            self.scheduler.jump_to(now - timedelta(seconds=1))
        return now

    def tick(self) -> list[Firing]:
        with self._ticking:
            now = self.clock.now()
            self._sync(now)
            before = self._api_entries()
            try:
                firings = self.scheduler.due(now)
            except TooManyOccurrences as exc:
                self.warnings.append(f"{exc}; skipped to {now.isoformat()} (move the clock in smaller steps)")
                self.scheduler.skip_to(now)
                firings = []
            self._completed(before, fired={(f.group, f.schedule_id) for f in firings})
            if not firings:
                return []
        for firing in firings:
            self._deliver(firing)
        return firings

    def history(self, schedule: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [vars(f) for f in self.fired if schedule is None or f.schedule == schedule]

    def _api_entries(self) -> dict[Key, ScheduleEntry]:
        return {
            (e.group, e.name): e
            for e in self.scheduler.entries()
            if not isinstance(e.target, Queue | Function)
        }

    def _completed(
        self, before: dict[tuple[str, str], ScheduleEntry], *, fired: set[tuple[str, str]]
    ) -> None:
        """What the scheduler just completed and dropped: AWS deletes it (a fired one is deleted as
        it is delivered), and a later sync must not bring it back from moto."""
        for key in before.keys() - self._api_entries().keys():
            self._gone[key] = before[key]
            if key not in fired and self.delete_api_schedule is not None:
                try:
                    self.delete_api_schedule(*key)
                except Exception as exc:  # moto busy: the tombstone keeps it from coming back
                    self.warnings.append(f"could not delete {key[0]}/{key[1]}: {exc}")

    def _sync(self, now: datetime) -> None:
        """Mirror the schedules created through the Scheduler API (checked every 2 s)."""
        if self.api_schedules is None or time.monotonic() - self._synced < SYNC_EVERY_S:
            return
        self._synced = time.monotonic()
        try:
            wanted = {(e.group, e.name): e for e in self.api_schedules()}
        except Exception:  # moto busy or stopping: try again next time
            return
        known = {
            (e.group, e.name): e
            for e in self.scheduler.entries()
            if not isinstance(e.target, Queue | Function)
        }
        # A schedule created since the last sync counts from then: a timer set just before the
        # clock moved on fires, as on AWS, where it exists from the moment it is created.
        since = min(self._synced_clock or now, now)
        self._synced_clock = now
        self._gone = {k: e for k, e in self._gone.items() if wanted.get(k) == e}  # until moto drops it
        for key, entry in wanted.items():
            if key in self._gone:
                continue
            if key not in known:
                self.scheduler.add(entry, now=since if entry.one_time else now)
            elif known[key] != entry:
                self.scheduler.update(entry, now=now)
        for key in set(known) - set(wanted):
            self.scheduler.remove(key[1], key[0])

    def _deliver(self, firing: Firing) -> None:
        target = firing.target
        body = firing.render_input()
        if isinstance(target, Queue):
            self._record(firing, target.id, "sent")
            self.send(target.id, body)
        elif isinstance(target, Function):
            threading.Thread(target=self._invoke, args=(firing, target.id, body), daemon=True).start()
        else:  # an ARN, from a schedule created at run time
            entry = firing.entry
            if entry.one_time and entry.action_after_completion == "DELETE" and self.delete_api_schedule:
                try:
                    self.delete_api_schedule(entry.group, entry.name)
                except Exception as exc:  # moto busy: the next sync removes it from the scheduler
                    self.warnings.append(f"could not delete {entry.group}/{entry.name}: {exc}")
            name = str(target).rsplit(":", 1)[-1]
            if ":lambda:" in str(target) and name in self.pools:
                threading.Thread(target=self._invoke, args=(firing, name, body), daemon=True).start()
            elif ":sqs:" in str(target):
                self._record(firing, name, "sent")
                self.send(str(target), body)
            else:
                self._record(firing, str(target), "unknown target")

    def _invoke(self, firing: Firing, function_id: str, body: str) -> None:
        payload: Any = json.loads(body) if body.strip().startswith(("{", "[")) else body
        retries = firing.entry.retry_attempts
        for attempt in range(retries + 1):
            try:
                done = self.pools[function_id].invoke(payload)
                outcome = "invoked" if attempt == 0 else f"invoked after {attempt} retries"
                if isinstance(done.result, dict) and "skipped" in done.result:  # shared/jobs.py
                    outcome += f", skipped: {done.result['skipped']}"
                self._record(firing, function_id, outcome)
                return
            except InvocationError as exc:
                outcome = exc.kind
            if self._stop.wait(min(0.5 * 2**attempt, 10.0)):
                break
        self._record(firing, function_id, f"failed ({outcome})")

    def _record(self, firing: Firing, target: str, outcome: str) -> None:
        with self._lock:
            self.fired.append(
                Fired(
                    schedule=firing.schedule_id,
                    scheduled_utc=firing.scheduled_utc.isoformat(),
                    scheduled_local=firing.scheduled_local.isoformat(),
                    target=target,
                    outcome=outcome,
                )
            )

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception as exc:  # never let one bad schedule stop the clock
                self.warnings.append(f"{type(exc).__name__}: {exc}")
