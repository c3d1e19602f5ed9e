"""What every command shares: the profile and output chosen on the command line, the client
made from them, and how a command shows its example."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer

from console import auth, config
from console.client import Client
from console.output import Format


def example(*lines: str) -> str:
    """A command's epilog: how it is used."""
    return "Example:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


@dataclass
class State:
    profile_name: str | None = None
    fmt: Format = Format.table
    _client: Client | None = field(default=None, repr=False)

    def profile(self) -> config.Profile:
        return config.load(self.profile_name)

    def client(self) -> Client:
        if self._client is None:
            profile = self.profile()
            self._client = Client(
                profile.api_url,
                token=lambda: auth.id_token(profile),
                local_secret=profile.local_secret,
                attempts=ATTEMPTS,
            )
        return self._client


ATTEMPTS = 3  # a command's request answered 429/502/503/504 is tried again (the same key)
STATE = State()
OutputOption = Annotated[
    Format | None, typer.Option("--output", "-o", help="table (default), json or csv", show_default=False)
]


def fmt(chosen: Format | None) -> Format:
    return chosen or STATE.fmt
