"""The environment each function gets, derived from the topology for every backend.

The CDK stacks and the local runtime both call ``function_environment`` so that
a function sees the same variables wherever it runs; only the physical names
(resolved by the backend) differ.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.topology import EventBus, Function, System, Table


def function_environment(
    system: System,
    function: Function,
    *,
    stage: str,
    table_name: Callable[[Table], str],
    bus_name: Callable[[EventBus], str],
    log_level: str = "INFO",
) -> dict[str, str]:
    env = {
        "STAGE": stage,
        "POWERTOOLS_SERVICE_NAME": function.service,
        "POWERTOOLS_METRICS_NAMESPACE": system.name,
        "POWERTOOLS_LOG_LEVEL": log_level,
        # Skip pydantic's scan of installed packages for plugins at the first model: cold start.
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    for access in function.tables:
        env[access.table.env_var] = table_name(access.table)
    if function.publishes_to is not None:
        env[function.publishes_to.env_var] = bus_name(function.publishes_to)
    env.update(dict(function.environment))
    return env
