"""One Lambda execution environment: a process that imports a handler once (cold
start) and then serves invocations (warm), as the Lambda runtime does.

The parent speaks JSON lines: requests on our stdin, replies on a private copy
of the original stdout. Everything the function prints or logs goes to stderr,
so a stray ``print`` cannot corrupt the protocol.

Request:  {"op": "invoke", "event": {...}, "request_id": "...", "deadline_ms": 1234}
          {"op": "openapi"}
Reply:    {"ok": true, "result": ..., "cold": bool, "duration_ms": float}
          {"ok": false, "error": {"type": "...", "message": "..."}}
"""

from __future__ import annotations

import importlib
import json
import os
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


def main() -> None:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's stdout (logs, metrics) joins stderr
    sys.stdout = sys.stderr
    handler_path = os.environ["DANGOL_HANDLER"]
    module_name, attr = handler_path.rsplit(".", 1)
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
    region = os.environ.get("AWS_REGION", "ap-northeast-2")
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    module: Any = None
    cold = True
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            if module is None:
                module = importlib.import_module(module_name)
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


if __name__ == "__main__":
    main()
