"""The SLA clock of a complaint case: two timers counted in business seconds on the calendar of the
team that holds the case (``logic.calendar``), and the figures the weekly digest shows.

Targets (``Targets``), in business seconds on the team's calendar:

============== ============================= =====================================
priority       first response                resolution
============== ============================= =====================================
``high``       1 business hour               8 business hours
``normal``     4 business hours              24 business hours (3 follow-up days)
============== ============================= =====================================

A case is ``high`` when it came from a negative mention with a reach of at least ``HIGH_REACH``
(the same 1,000 that tells the person on duty at once) or when it was escalated (``priority_of``).
The targets are copied onto the clock when it starts: changing the defaults never moves the
deadline of a case already open, and ``move`` keeps them too (an escalation that makes a case
``high`` does not shorten a clock already running; its remaining time goes on on the new team's
calendar).

Each timer is in one of four states:

- running: ``running_since`` and ``due_at`` are set; ``consumed_s`` is what earlier runs (before
  a pause, or on another team's calendar) used, and the deadline is
  ``add_business_time(running_since, target_s - consumed_s)``;
- paused (resolution only, while the case waits for the customer): both are None;
- met (``met_at``) or breached (``breached_at``): ended for good. ``consumed_s`` is then the
  business time it took (met) or had run (breached); nothing changes it again.

Every operation is a pure function of (clock, instant, calendars) and returns a new clock, or the
same object when there is nothing to do (so ``new is old`` tells the caller nothing changed).

- Pausing stops the resolution timer only. The first response is owed before a case can wait
  for anyone (asking the customer a question *is* a first response, which the caller meets), so
  waiting does not excuse it.
- A timer met after its deadline, before the scheduler's breach arrived, is recorded as met, but
  late (``on_time`` is False): the digest does not count it as met, ``breached`` is True, and the
  breach that follows changes nothing.
- A breached timer stays breached: meeting it later records nothing, so the digest's times to
  respond and to resolve are those of the timers that were met (the breached ones are counted).

``to_dict``/``from_dict`` give the clock as a plain dict of strings, integers and None, instants
as ISO 8601 in UTC, that can live on a DynamoDB item (numbers read back as ``Decimal`` are fine)::

    {"team": "follow_up", "priority": "normal",
     "first_response": {"target_s": 14400, "consumed_s": 0,
                        "running_since": "2026-09-18T08:30:00Z", "due_at": "2026-09-21T03:30:00Z",
                        "met_at": None, "breached_at": None},
     "resolution": {...the same keys...}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.feedback.logic.calendar import TEAMS, Calendar
from services.feedback.models.cases import Priority, Team
from services.feedback.models.mention import ALERT_REACH, Sentiment

TeamName = Team
TimerName = Literal["first_response", "resolution"]
TIMERS: tuple[TimerName, ...] = ("first_response", "resolution")
HOUR = 3600
HIGH_REACH = ALERT_REACH  # a negative mention this loud makes a high-priority case

Calendars = Mapping[str, Calendar]


def priority_of(*, sentiment: Sentiment | None, reach: int, escalated: bool) -> Priority:
    """``high`` for a case from a negative mention with ``reach`` ≥ ``HIGH_REACH``, or escalated.
    ``sentiment`` is None for a case that did not come from a mention."""
    loud_complaint = sentiment == "negative" and reach >= HIGH_REACH
    return "high" if loud_complaint or escalated else "normal"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Goal(_Frozen):
    """One timer's target per priority, in business seconds; ``high`` is never the looser one."""

    high: int = Field(gt=0)
    normal: int = Field(gt=0)

    @model_validator(mode="after")
    def _high_is_tighter(self) -> Self:
        if self.high > self.normal:
            raise ValueError(f"the high target ({self.high} s) is looser than the normal ({self.normal} s)")
        return self


class Targets(_Frozen):
    """The SLA targets, in business seconds (the module's table)."""

    first_response: Goal = Goal(high=1 * HOUR, normal=4 * HOUR)
    resolution: Goal = Goal(high=8 * HOUR, normal=24 * HOUR)

    @model_validator(mode="after")
    def _respond_before_resolving(self) -> Self:
        for level in ("high", "normal"):
            if getattr(self.first_response, level) > getattr(self.resolution, level):
                raise ValueError(f"the {level} first-response target exceeds the {level} resolution target")
        return self

    def seconds(self, timer: TimerName, priority: Priority) -> int:
        goal: Goal = getattr(self, timer)
        return goal.high if priority == "high" else goal.normal


def _instant(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"an SLA instant must be aware, not {at!r}")
    return at.astimezone(UTC)


class TimerState(_Frozen):
    """One timer of a clock (the module docstring lists its states)."""

    target_s: int = Field(ge=0)
    consumed_s: int = Field(default=0, ge=0)
    running_since: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    met_at: AwareDatetime | None = None
    breached_at: AwareDatetime | None = None

    @field_validator("running_since", "due_at", "met_at", "breached_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _one_state(self) -> Self:
        if self.met_at is not None and self.breached_at is not None:
            raise ValueError("a timer is met or breached, not both")
        if (self.running_since is None) != (self.due_at is None):
            raise ValueError("a running timer has running_since and due_at, a stopped one neither")
        if self.ended and self.running:
            raise ValueError("an ended timer does not run")
        return self

    @property
    def ended(self) -> bool:
        return self.met_at is not None or self.breached_at is not None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def paused(self) -> bool:
        return not self.ended and not self.running

    @property
    def on_time(self) -> bool | None:
        """True when met within its target, False when breached or met late, None until it ends."""
        if self.met_at is not None:
            return self.consumed_s <= self.target_s
        return False if self.breached_at is not None else None

    def elapsed(self, at: datetime, calendar: Calendar) -> int:
        """Business seconds used up to ``at`` (what it took, once ended)."""
        if self.running_since is None:
            return self.consumed_s
        return self.consumed_s + max(0, calendar.business_seconds_between(self.running_since, at))

    def _run(self, at: datetime, calendar: Calendar) -> TimerState:
        """Running from ``at`` (UTC) on ``calendar``, due when what is left of the target has passed."""
        left = max(0, self.target_s - self.consumed_s)
        return self.model_copy(update={"running_since": at, "due_at": calendar.add_business_time(at, left)})

    def _stop(self, at: datetime, calendar: Calendar, **ending: datetime) -> TimerState:
        """Stopped at ``at`` (UTC), its business time so far banked in ``consumed_s``."""
        stopped = {"consumed_s": self.elapsed(at, calendar), "running_since": None, "due_at": None}
        return self.model_copy(update=stopped | ending)


class SlaClock(_Frozen):
    """The two SLA timers of a case, on the calendar of ``team``."""

    team: TeamName
    priority: Priority
    first_response: TimerState
    resolution: TimerState

    # -- stored ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of strings, integers and None (the module docstring shows it)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaClock:
        return cls.model_validate(data)

    # -- read ------------------------------------------------------------------------------------

    def timer(self, timer: TimerName) -> TimerState:
        if timer not in TIMERS:
            raise ValueError(f"no SLA timer {timer!r} (there are {', '.join(TIMERS)})")
        state: TimerState = getattr(self, timer)
        return state

    def due(self, timer: TimerName) -> datetime | None:
        """When the scheduler should look at ``timer``: its deadline while it runs, else None."""
        return self.timer(timer).due_at

    def elapsed(self, timer: TimerName, at: datetime, *, calendars: Calendars = TEAMS) -> int:
        """Business seconds ``timer`` has used up to ``at`` on this clock's calendar."""
        return self.timer(timer).elapsed(_instant(at), _calendar(calendars, self.team))

    @property
    def breached(self) -> bool:
        """A timer missed its target: breached, or met late."""
        return any(self.timer(t).on_time is False for t in TIMERS)

    def view(self, timer: TimerName) -> dict[str, Any]:
        """What an agent is shown of ``timer`` (``models.cases.TimerView``'s fields)."""
        state = self.timer(timer)
        return {
            "target_s": state.target_s,
            "due_at": state.due_at,
            "met_at": state.met_at,
            "breached_at": state.breached_at,
            "paused": state.paused,
        }

    # -- operations ------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        team: TeamName,
        priority: Priority,
        at: datetime,
        *,
        targets: Targets | None = None,
        calendars: Calendars = TEAMS,
    ) -> SlaClock:
        """Both timers running from ``at`` on ``team``'s calendar, with ``priority``'s targets."""
        chosen = targets if targets is not None else Targets()
        at, calendar = _instant(at), _calendar(calendars, team)
        states = {t: TimerState(target_s=chosen.seconds(t, priority))._run(at, calendar) for t in TIMERS}
        return cls(team=team, priority=priority, **states)

    def meet(self, timer: TimerName, at: datetime, *, calendars: Calendars = TEAMS) -> SlaClock:
        """``timer`` met at ``at``; one already met or breached is left as it is (the same clock)."""
        state, at = self.timer(timer), _instant(at)
        if state.ended:
            return self
        return self._with(timer, state._stop(at, _calendar(calendars, self.team), met_at=at))

    def breach(
        self, timer: TimerName, at: datetime, *, calendars: Calendars = TEAMS
    ) -> tuple[SlaClock, bool]:
        """``timer`` breached at ``at`` if it runs and ``at`` is at or past its deadline; True only
        then. Met, paused, not yet due or already breached: the same clock and False."""
        state, at = self.timer(timer), _instant(at)
        if state.due_at is None or at < state.due_at:
            return self, False
        return self._with(timer, state._stop(at, _calendar(calendars, self.team), breached_at=at)), True

    def pause(self, at: datetime, *, calendars: Calendars = TEAMS) -> SlaClock:
        """Waiting for the customer: the resolution timer stops counting (first response runs on)."""
        state, at = self.resolution, _instant(at)
        if not state.running:
            return self
        return self._with("resolution", state._stop(at, _calendar(calendars, self.team)))

    def resume(self, at: datetime, *, calendars: Calendars = TEAMS) -> SlaClock:
        """The customer answered: the resolution timer runs again, due once what was left of it has
        passed on the team's calendar from ``at``."""
        state, at = self.resolution, _instant(at)
        if not state.paused:
            return self
        return self._with("resolution", state._run(at, _calendar(calendars, self.team)))

    def move(self, team: TeamName, at: datetime, *, calendars: Calendars = TEAMS) -> SlaClock:
        """Escalated to ``team`` at ``at``: each running timer's business time so far is counted on
        the old calendar, and what it has left on the new one from ``at``. A paused timer stays
        paused (it resumes on the new calendar); an ended one is left as it is. The same team: the
        same clock."""
        at = _instant(at)
        if team == self.team:
            return self
        old, new = _calendar(calendars, self.team), _calendar(calendars, team)
        moved: dict[str, Any] = {"team": team}
        for timer in TIMERS:
            state = self.timer(timer)
            if state.running:
                moved[timer] = state._stop(at, old)._run(at, new)
        return self.model_copy(update=moved)

    def _with(self, timer: TimerName, state: TimerState) -> SlaClock:
        return self.model_copy(update={timer: state})


def _calendar(calendars: Calendars, team: str) -> Calendar:
    try:
        return calendars[team]
    except KeyError:
        raise ValueError(f"no calendar for team {team!r}") from None


# -- figures for the digest -------------------------------------------------------------------------


@dataclass(frozen=True)
class TimerFigures:
    """One timer over a set of clocks.

    ``met`` counts the timers met within their target, ``late`` those met after it, ``breached``
    those the scheduler breached, ``running`` those not ended (running or paused). ``met_pct`` is
    ``met`` out of the ended ones, to a tenth of a percent (None when none ended). ``median_s`` and
    ``p90_s`` are the business seconds it took to meet the timer, among those met (late or not),
    interpolated between ranks and rounded to the second (None when none was met)."""

    met: int
    late: int
    breached: int
    running: int
    met_pct: float | None
    median_s: int | None
    p90_s: int | None

    @property
    def ended(self) -> int:
        return self.met + self.late + self.breached


@dataclass(frozen=True)
class SlaFigures:
    cases: int
    first_response: TimerFigures
    resolution: TimerFigures

    @property
    def first_response_met_pct(self) -> float | None:
        return self.first_response.met_pct

    @property
    def resolution_met_pct(self) -> float | None:
        return self.resolution.met_pct

    @property
    def first_response_median_s(self) -> int | None:
        return self.first_response.median_s

    @property
    def resolution_median_s(self) -> int | None:
        return self.resolution.median_s


def percentile(values: Iterable[int], pct: float) -> float | None:
    """The ``pct``-th percentile of ``values``, linear between ranks (numpy's default); None if empty."""
    if not 0 <= pct <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {pct}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _seconds(value: float | None) -> int | None:
    return None if value is None else round(value)


def _timer_figures(states: list[TimerState]) -> TimerFigures:
    taken = [s.consumed_s for s in states if s.met_at is not None]
    met = sum(s.on_time is True for s in states)
    breached = sum(s.breached_at is not None for s in states)
    ended = len(taken) + breached
    return TimerFigures(
        met=met,
        late=len(taken) - met,
        breached=breached,
        running=len(states) - ended,
        met_pct=round(100 * met / ended, 1) if ended else None,
        median_s=_seconds(percentile(taken, 50)),
        p90_s=_seconds(percentile(taken, 90)),
    )


def figures(clocks: Iterable[SlaClock]) -> SlaFigures:
    """The digest's SLA figures over ``clocks`` (one per case)."""
    seen = list(clocks)
    return SlaFigures(
        cases=len(seen),
        first_response=_timer_figures([c.first_response for c in seen]),
        resolution=_timer_figures([c.resolution for c in seen]),
    )
