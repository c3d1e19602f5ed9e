"""A function for the runtime's own tests: its init (import) takes ``SLOW_INIT_S`` seconds and
each invocation ``event["sleep_s"]``; both only sleep, so the timings are the runtime's."""

from __future__ import annotations

import os
import time
from typing import Any

time.sleep(float(os.environ.get("SLOW_INIT_S", "0")))  # raises for a value that is no number


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("sleep_s", 0)))
    return {"slept": event.get("sleep_s", 0), "remaining_ms": context.get_remaining_time_in_millis()}
