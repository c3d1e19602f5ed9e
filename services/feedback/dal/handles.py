"""The customers behind social handles, from the profile service's ``profile-handles`` function,
invoked directly (``shared.invoke``) by the name the topology gives its callers
(``PROFILE_HANDLES_FUNCTION``). Nothing but the customer id comes back, and nothing is logged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.invoke import InvokeError, invoke
from shared.observability import make_logger

MAX_HANDLES = 100  # what one invocation takes
_log = make_logger()


class InvokedHandles:
    """``logic.intake.HandleLookup`` over the profile service. Without the function (a stage that
    has none) or when it fails, mentions go on unlinked: a case can be linked by an agent later."""

    def __init__(self, function_name: str | None) -> None:
        self.function_name = function_name

    def customers(self, handles: Sequence[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
        if not self.function_name:
            return {}
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(handles), MAX_HANDLES):
            chunk = handles[start : start + MAX_HANDLES]
            request = {"handles": [{"network": n, "handle": h} for n, h in chunk]}
            try:
                answer = invoke(self.function_name, request)
            except InvokeError as failed:
                _log.warning("handle lookup failed", extra={"invoke_error": failed.code})
                return found
            for match in answer.get("matches", []):
                found[(str(match["network"]), str(match["handle"]).lower())] = str(match["customer_id"])
        return found
