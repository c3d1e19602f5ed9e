"""One-time timers on EventBridge Scheduler: ``set`` a named timer to send its input to the
service's timer queue at an instant, ``cancel`` it when what it watched for happened first.

A timer is a schedule ``at(yyyy-mm-ddThh:mm:ss)`` in UTC in the service's schedule group
(``shared.topology.Timers``), deleted by the Scheduler once it has fired
(``ActionAfterCompletion: DELETE``), with the group's retry policy and DLQ. Setting a timer that
exists moves it (the name is the timer's identity: a case's first-response timer is one schedule
whatever happens to the case). An instant already past is not scheduled: the input goes to the
queue at once, so a timer set late fires late, never not at all. Cancelling one that is gone
(it fired, or never was) is not an error.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.queues import SqsSender

NAME = re.compile(r"^[0-9a-zA-Z._-]{1,64}$")  # the Scheduler's schedule names


class TimersConfig(BaseModel):
    """What ``<ID>_TIMERS`` holds (``infra.environment``): where timers live and what they reach."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str
    role_arn: str
    target_arn: str
    target_url: str  # the same queue, for an instant already past
    dlq_arn: str | None = None  # deployed stages only (locally the runtime's scheduler retries)
    retry_attempts: int = 3
    max_event_age_s: int = 3600

    @classmethod
    def parse(cls, raw: str) -> TimersConfig:
        return cls.model_validate_json(raw)


@dataclass
class Timers:
    """Sets and cancels the timers of one group. ``client`` makes the Scheduler client when first
    needed; ``queue`` sends an input whose instant has already passed."""

    config: TimersConfig
    client: Callable[[], Any]
    queue: SqsSender

    def __post_init__(self) -> None:
        self._client: Any = None

    def _scheduler(self) -> Any:
        if self._client is None:
            self._client = self.client()
        return self._client

    def set(self, name: str, at: datetime, payload: dict[str, Any], *, now: datetime) -> bool:
        """The timer ``name`` fires ``payload`` at ``at``; True if scheduled, False if it was due
        already and went to the queue at once."""
        if not NAME.match(name):
            raise ValueError(f"timer name {name!r} is not a schedule name")
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        if at.astimezone(UTC) <= now.astimezone(UTC) + timedelta(seconds=1):
            self.cancel(name)
            self.queue.send([body])
            return False
        when = at.astimezone(UTC).replace(microsecond=0)
        if when < at.astimezone(UTC):
            when += timedelta(seconds=1)  # never before the instant asked for
        target: dict[str, Any] = {
            "Arn": self.config.target_arn,
            "RoleArn": self.config.role_arn,
            "Input": body,
            "RetryPolicy": {
                "MaximumRetryAttempts": self.config.retry_attempts,
                "MaximumEventAgeInSeconds": self.config.max_event_age_s,
            },
        }
        if self.config.dlq_arn:
            target["DeadLetterConfig"] = {"Arn": self.config.dlq_arn}
        request: dict[str, Any] = {
            "Name": name,
            "GroupName": self.config.group,
            "ScheduleExpression": f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": target,
            "State": "ENABLED",
            "ActionAfterCompletion": "DELETE",
        }
        scheduler = self._scheduler()
        try:
            scheduler.create_schedule(**request)
        except scheduler.exceptions.ConflictException:
            scheduler.update_schedule(**request)
        return True

    def cancel(self, name: str) -> None:
        scheduler = self._scheduler()
        with contextlib.suppress(scheduler.exceptions.ResourceNotFoundException):
            scheduler.delete_schedule(Name=name, GroupName=self.config.group)
