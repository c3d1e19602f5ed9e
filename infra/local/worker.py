"""One Lambda execution environment: a process that imports a handler at once (init,
the cold start) and then serves invocations (warm), as the Lambda runtime does.

Started as a script (``python -P worker.py``) with only the function's code asset on its path
(``PYTHONPATH``, as ``/var/task``): it imports nothing of the repository itself, and it removes
the editable install's import hook first, so the other services are not importable.

The parent speaks JSON lines: requests on our stdin, replies on a private copy
of the original stdout. Everything the function prints or logs goes to stderr,
so a stray ``print`` cannot corrupt the protocol. The first line is init's outcome.
The worker leaves when its stdin closes; Ctrl-C (SIGINT to the terminal's process group) is
the runtime's to handle, not the worker's.

Init:     {"ok": true, "init_ms": float} or {"ok": false, "error": {...}}
Request:  {"op": "invoke", "event": {...}, "request_id": "...", "deadline_ms": 1234}
          {"op": "openapi"}
Reply:    {"ok": true, "result": ..., "cold": bool, "duration_ms": float}
          {"ok": false, "error": {"type": "...", "message": "..."}}
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context``."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_ms: int
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _start: float = field(default_factory=time.time)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def _reply(channel: TextIO, payload: dict[str, Any]) -> None:
    channel.write(json.dumps(payload, default=str) + "\n")
    channel.flush()


def only_the_asset() -> None:
    """What the Lambda runtime has on its path: the asset and the packages, not the checkout
    (an editable install maps ``services`` to the repository through a finder of its own)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not _editable(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not _editable(h)]
    sys.path_importer_cache.clear()


def _editable(hook: Any) -> bool:
    return str(getattr(hook, "__module__", "")).startswith("__editable__")


def _init(channel: TextIO, module_name: str) -> Any:
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # Runtime.ImportModuleError: reported, then the environment goes
        traceback.print_exc()
        _reply(channel, {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)[:500]}})
        sys.exit(1)
    _reply(channel, {"ok": True, "init_ms": (time.perf_counter() - started) * 1000})
    return module


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    only_the_asset()
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's stdout (logs, metrics) joins stderr
    sys.stdout = sys.stderr
    handler_path = os.environ["DANGOL_HANDLER"]
    module_name, attr = handler_path.rsplit(".", 1)
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
    region = os.environ.get("AWS_REGION", "ap-northeast-2")
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    module = _init(channel, module_name)
    cold = True
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            if request["op"] == "openapi":
                result: Any = json.loads(module.app.get_openapi_json_schema())
            else:
                context = LambdaContext(
                    function_name=name,
                    memory_limit_in_mb=memory,
                    invoked_function_arn=f"arn:aws:lambda:{region}:000000000000:function:{name}",
                    aws_request_id=request["request_id"],
                    deadline_ms=int(request["deadline_ms"]),
                    log_group_name=f"/aws/lambda/{name}",
                )
                result = getattr(module, attr)(request["event"], context)
            _reply(
                channel,
                {
                    "ok": True,
                    "result": result,
                    "cold": cold,
                    "duration_ms": (time.perf_counter() - started) * 1000,
                },
            )
            cold = False
        except Exception as exc:  # the function failed: report it like the Lambda runtime does
            traceback.print_exc()
            _reply(channel, {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)[:500]}})


def leave() -> None:
    """The runtime is done with this environment: go at once, as Lambda ends one (no interpreter
    teardown: with twenty workers leaving together it took seconds of CPU)."""
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
    leave()
