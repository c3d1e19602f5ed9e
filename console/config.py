"""Where the console talks to: profiles (a stage's API and its user pool), and the local runtime.

Profiles live in ``$DANGOL_CONFIG`` or ``$XDG_CONFIG_HOME/dangol/config.toml`` (by default
``~/.config/dangol/config.toml``)::

    default = "dev"

    [profiles.dev]
    api_url = "https://api.dev.example.com"
    region = "ap-northeast-2"
    user_pool_id = "ap-northeast-2_AbCdEf123"
    client_id = "4f1...console client id"

The profile ``local`` needs no entry: it is the local runtime (``make run``), found from its state
file (``$DANGOL_STATE_DIR`` or ``.dangol`` in the working folder, ``local.json``), which names its
URL, its Cognito endpoint, its app client and its demo users. The profile used is ``--profile``,
else ``$DANGOL_PROFILE``, else the file's ``default``, else ``local``.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.errors import AUTH, ERROR, ConsoleError

LOCAL = "local"
STATE_FILE = "local.json"


@dataclass(frozen=True)
class Profile:
    name: str
    api_url: str
    region: str
    client_id: str
    user_pool_id: str | None = None
    cognito_url: str | None = None  # an endpoint other than AWS's (the local runtime's /cognito)
    local_users: dict[str, dict[str, Any]] = field(default_factory=dict)  # demo users (local only)
    local_secret: str | None = None  # the local runtime's /_local secret (local only)

    @property
    def is_local(self) -> bool:
        return self.name == LOCAL

    def demo_user(self, role: str) -> tuple[str, str]:
        """A demo user of the local runtime with ``role``: (username, password)."""
        for username, user in self.local_users.items():
            if user.get("role") == role:
                return username, str(user["password"])
        roles = sorted({str(u.get("role")) for u in self.local_users.values()})
        raise ConsoleError(
            f"no demo user with the role {role!r} (there are: {', '.join(roles)})", exit_code=AUTH
        )


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dangol"


def config_file() -> Path:
    return Path(os.environ.get("DANGOL_CONFIG") or config_dir() / "config.toml")


def state_dir() -> Path:
    return Path(os.environ.get("DANGOL_STATE_DIR") or ".dangol")


def _read_config() -> dict[str, Any]:
    path = config_file()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConsoleError(f"{path}: {exc}", exit_code=ERROR, code="invalid_config") from None


def chosen(name: str | None) -> str:
    return name or os.environ.get("DANGOL_PROFILE") or str(_read_config().get("default") or LOCAL)


def load(name: str | None = None) -> Profile:
    """The profile called ``name`` (see the module's docstring for which one that is)."""
    name = chosen(name)
    if name == LOCAL:
        return _local()
    entry = _read_config().get("profiles", {}).get(name)
    if not isinstance(entry, dict):
        raise ConsoleError(f"no profile {name!r} in {config_file()}", exit_code=ERROR, code="unknown_profile")
    missing = [k for k in ("api_url", "region", "client_id") if not entry.get(k)]
    if missing:
        raise ConsoleError(
            f"profile {name!r} in {config_file()} lacks {', '.join(missing)}",
            exit_code=ERROR,
            code="invalid_config",
        )
    return Profile(
        name=name,
        api_url=str(entry["api_url"]).rstrip("/"),
        region=str(entry["region"]),
        client_id=str(entry["client_id"]),
        user_pool_id=entry.get("user_pool_id"),
        cognito_url=entry.get("cognito_url"),
    )


def _local() -> Profile:
    path = state_dir() / STATE_FILE
    if not path.exists():
        raise ConsoleError(
            f"the local system is not running ({path} not found): start it with make run",
            exit_code=ERROR,
            code="not_running",
        )
    state = json.loads(path.read_text(encoding="utf-8"))
    return Profile(
        name=LOCAL,
        api_url=str(state["url"]).rstrip("/"),
        region=str(state["region"]),
        client_id=str(state["client_id"]),
        user_pool_id=str(state["pool_id"]),
        cognito_url=str(state["cognito_url"]),
        local_users=dict(state.get("users", {})),
        local_secret=state.get("local_secret"),
    )
