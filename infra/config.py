"""Stage configuration as typed data. Accounts and regions come from here (or the
deploying environment), never from lookups at synth time."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class StageConfig:
    name: str
    prod: bool
    region: str = "ap-northeast-2"
    account: str | None = None  # None: environment-agnostic; CI's credentials decide at deploy
    log_retention_days: int = 30
    api_rate_limit: int = 200  # steady requests per second per stage
    api_burst_limit: int = 400
    waf_rate_limit: int = 2000  # requests per 5 minutes per client IP
    cors_origins: tuple[str, ...] = ("*",)
    auth_domain_prefix: str = ""
    archive_retention_days: int = 30

    @property
    def stage_id(self) -> str:
        return f"dangol-{self.name}"


def _account(stage: str) -> str | None:
    return os.environ.get(f"DANGOL_{stage.upper()}_ACCOUNT") or None


STAGES: tuple[StageConfig, ...] = (
    StageConfig(
        name="dev",
        prod=False,
        account=_account("dev"),
        log_retention_days=14,
        api_rate_limit=50,
        api_burst_limit=100,
        auth_domain_prefix="dangol-dev-auth",
        archive_retention_days=7,
    ),
    StageConfig(
        name="prod",
        prod=True,
        account=_account("prod"),
        log_retention_days=365,
        cors_origins=("https://app.dangol.example",),
        auth_domain_prefix="dangol-auth",
        archive_retention_days=90,
    ),
)
