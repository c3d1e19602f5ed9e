"""Stage configuration as typed data. Accounts and regions come from here (or the
deploying environment), never from lookups at synth time."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

COGNITO_PLANS = ("LITE", "ESSENTIALS", "PLUS")
PUSH_PLATFORMS = ("ios", "android", "web")
PLATFORM_APPLICATION_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[a-z0-9-]+):\d{12}:app/(?P<platform>APNS|APNS_SANDBOX|GCM)/(?P<name>[\w.-]+)$"
)


@dataclass(frozen=True)
class StageConfig:
    """One deployment stage. What a team sets once per stage (``DANGOL_<STAGE>_...`` variables
    override the defaults below, which name the example domain): the account, the verified SES
    identity and sender the user pool (and later campaigns) mail from, the alarm e-mail, the CORS
    origin and the Cognito plan (README: "Deploying")."""

    name: str
    prod: bool
    region: str = "ap-northeast-2"
    account: str | None = None  # None: environment-agnostic; CI's credentials decide at deploy
    log_retention_days: int = 30
    api_rate_limit: int = 200  # steady requests per second per stage
    api_burst_limit: int = 400
    waf_rate_limit: int = 2000  # requests per 5 minutes per client IP
    # The public routes (no token: opt-out links) get a tighter limit of their own, per client IP.
    waf_public_rate_limit: int = 100  # requests per 5 minutes per client IP
    # The API's public base URL (https://..., no trailing slash): what links in messages point to
    # (opt-out links). The API's custom domain, mapped to the stage by the team; "" derives
    # https://api.<SES domain> (prod) or https://api-<stage>.<SES domain>.
    public_api_url: str = ""
    cors_origins: tuple[str, ...] = ("*",)
    # The Cognito domain prefix is unique across every account of the region: "" derives
    # ``dangol-<stage>-<account id>`` at deploy time; a team that wants a nicer one sets it.
    auth_domain_prefix: str = ""
    archive_retention_days: int = 30
    # SES: a domain identity verified (DKIM) in the stage's account and region, the sender on it,
    # and the configuration set the stack creates for the user pool's and campaigns' mail.
    ses_identity: str = "dangol.example"
    mail_from: str = "no-reply@dangol.example"
    mail_from_name: str = "dangol"
    # The campaigns' sender (``From`` of their mail, on the same identity); "" sends as mail_from.
    campaign_mail_from: str = ""
    # True: the stack creates the domain identity (Easy DKIM; publish the CNAMEs it outputs). False
    # (the default): it was verified out of band, as README's "Deploying" step 4 says.
    ses_identity_in_stack: bool = False
    # Push: the SNS platform applications, per platform (ios, android, web), as (platform, ARN).
    # They hold APNs/FCM credentials, so they are made out of band; none: no push on that platform.
    push_applications: tuple[tuple[str, str], ...] = ()
    alarm_email: str = "alarms@dangol.example"
    # LITE, ESSENTIALS or PLUS (threat protection), per monthly active user: README's cost table.
    cognito_plan: str = "LITE"
    # Lambda's concurrency quota the account is raised to (a new account may start at 10):
    # every queue consumer's maximum concurrency together may take at most half of it.
    account_concurrency: int = 1000
    # SnapStart for the functions that serve routes (published versions, an alias).
    snap_start: bool = True

    def __post_init__(self) -> None:
        if self.cognito_plan not in COGNITO_PLANS:
            raise ValueError(f"{self.name}: cognito_plan must be one of {COGNITO_PLANS}")
        if not re.fullmatch(r"https://[a-z0-9.-]+(:\d+)?(/[\w.-]+)*", self.api_url):
            raise ValueError(f"{self.name}: public_api_url must be https://host[/path], no trailing slash")
        if len(self.cors_origins) != 1:
            raise ValueError(f"{self.name}: one CORS origin per stage ('*' or https://...)")
        if not self.mail_from.endswith("@" + self.ses_identity):
            raise ValueError(f"{self.name}: mail_from must be an address of the SES identity")
        if not self.campaign_sender.endswith("@" + self.ses_identity):
            raise ValueError(f"{self.name}: campaign_mail_from must be an address of the SES identity")
        platforms = [platform for platform, _ in self.push_applications]
        if len(set(platforms)) != len(platforms) or not set(platforms) <= set(PUSH_PLATFORMS):
            raise ValueError(f"{self.name}: push_applications: at most one of each of {PUSH_PLATFORMS}")
        for platform, arn in self.push_applications:
            found = PLATFORM_APPLICATION_ARN.match(arn)
            if found is None or found["region"] != self.region:
                raise ValueError(
                    f"{self.name}: push application of {platform} must be an SNS platform application"
                    f" in {self.region} (arn:aws:sns:{self.region}:<account>:app/<APNS|GCM>/<name>)"
                )

    @property
    def stage_id(self) -> str:
        return f"dangol-{self.name}"

    @property
    def api_url(self) -> str:
        """The API's public base URL (``public_api_url``, or the one derived from the domain)."""
        if self.public_api_url:
            return self.public_api_url
        return (
            f"https://api.{self.ses_identity}"
            if self.prod
            else f"https://api-{self.name}.{self.ses_identity}"
        )

    @property
    def cors_origin(self) -> str:
        return self.cors_origins[0]

    @property
    def ses_configuration_set(self) -> str:
        return self.stage_id

    @property
    def campaign_sender(self) -> str:
        return self.campaign_mail_from or self.mail_from


def _account(stage: str) -> str | None:
    return os.environ.get(f"DANGOL_{stage.upper()}_ACCOUNT") or None


def _setting(stage: str, name: str, default: str) -> str:
    return os.environ.get(f"DANGOL_{stage.upper()}_{name}") or default


def _stage(name: str, *, prod: bool, **settings: Any) -> StageConfig:
    domain = _setting(name, "SES_IDENTITY", "dangol.example")
    return StageConfig(
        name=name,
        prod=prod,
        account=_account(name),
        ses_identity=domain,
        mail_from=_setting(name, "MAIL_FROM", f"no-reply@{domain}"),
        alarm_email=_setting(name, "ALARM_EMAIL", f"alarms+{name}@{domain}"),
        auth_domain_prefix=_setting(name, "AUTH_DOMAIN_PREFIX", ""),
        campaign_mail_from=_setting(name, "CAMPAIGN_MAIL_FROM", ""),
        public_api_url=_setting(name, "PUBLIC_API_URL", ""),
        ses_identity_in_stack=_setting(name, "SES_IDENTITY_IN_STACK", "") in {"1", "true", "yes"},
        push_applications=tuple(
            (platform, arn)
            for platform in PUSH_PLATFORMS
            if (arn := _setting(name, f"PUSH_{platform.upper()}_APPLICATION", ""))
        ),
        **settings,
    )


STAGES: tuple[StageConfig, ...] = (
    _stage(
        "dev",
        prod=False,
        log_retention_days=14,
        api_rate_limit=50,
        api_burst_limit=100,
        archive_retention_days=7,
    ),
    _stage(
        "prod",
        prod=True,
        log_retention_days=365,
        cors_origins=("https://app.dangol.example",),
        archive_retention_days=90,
    ),
)


# --- accounts: what exists once per AWS account (infra/stacks/account.py, `make bootstrap`) ------

CDK_DEFAULT_QUALIFIER = "hnb659fds"  # the CDK's: `cdk bootstrap` and every stack's synthesizer agree on it
DEFAULT_GITHUB_REPOSITORY = "dangol/dangol"  # DANGOL_GITHUB_REPOSITORY names the team's repository
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True)
class AccountConfig:
    """One AWS account (in one region) that stages are deployed into, and what it holds once:
    GitHub's OIDC provider, per stage a deploy role and a read-only diff role, the CDK bootstrap
    (with ``cdk_qualifier``) and API Gateway's CloudWatch Logs role. The default is one account
    per stage; a team on one account configures one entry with every stage."""

    name: str
    stages: tuple[str, ...]  # the names of the StageConfigs deployed into this account
    account: str | None = None  # None: environment-agnostic; `make bootstrap` needs it
    region: str = "ap-northeast-2"
    # The repository (owner/name, as GitHub spells it) whose workflows may deploy; only its
    # environment of a stage may assume that stage's deploy role.
    github_repository: str = DEFAULT_GITHUB_REPOSITORY
    # The diff roles trust the workflows that run on this branch of the repository.
    deploy_branch: str = "main"
    cdk_qualifier: str = CDK_DEFAULT_QUALIFIER
    # IAM holds one OIDC provider per URL and account: an account that already has GitHub's
    # (another project made it) names it here, and the account stack trusts it instead.
    github_oidc_provider_arn: str | None = None

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError(f"account {self.name}: no stages")
        if self.account is not None and not (len(self.account) == 12 and self.account.isdigit()):
            raise ValueError(f"account {self.name}: an AWS account id is 12 digits, not {self.account!r}")
        owner, _, repo = self.github_repository.partition("/")
        if not (owner and repo and set(owner) | set(repo) <= _NAME_CHARS):
            raise ValueError(f"account {self.name}: github_repository must be owner/name (no wildcard)")
        if not (self.deploy_branch and "*" not in self.deploy_branch):
            raise ValueError(f"account {self.name}: deploy_branch must be one branch")
        if not (0 < len(self.cdk_qualifier) <= 10 and self.cdk_qualifier.isalnum()):
            raise ValueError(f"account {self.name}: a CDK qualifier is 1-10 letters and digits")

    @property
    def stage_id(self) -> str:
        return f"dangol-account-{self.name}"

    @staticmethod
    def deploy_role_name(stage: str) -> str:
        return f"dangol-{stage}-deploy"

    @staticmethod
    def diff_role_name(stage: str) -> str:
        return f"dangol-{stage}-diff"

    def deploy_subject(self, stage: str) -> str:
        """The OIDC subject of a job in the repository's GitHub environment named after the stage."""
        return f"repo:{self.github_repository}:environment:{stage}"

    @property
    def diff_subject(self) -> str:
        """The OIDC subject of a job (with no environment) of a workflow run on the deploy branch."""
        return f"repo:{self.github_repository}:ref:refs/heads/{self.deploy_branch}"


def github_repository() -> str:
    """The repository whose workflows may deploy: DANGOL_GITHUB_REPOSITORY, else (in GitHub
    Actions) the repository running the workflow, else the default."""
    return (
        os.environ.get("DANGOL_GITHUB_REPOSITORY")
        or os.environ.get("GITHUB_REPOSITORY")
        or DEFAULT_GITHUB_REPOSITORY
    )


def stages_in(account: AccountConfig, stages: tuple[StageConfig, ...] = STAGES) -> tuple[StageConfig, ...]:
    """The StageConfigs deployed into an account, in the account's order."""
    by_name = {stage.name: stage for stage in stages}
    unknown = [name for name in account.stages if name not in by_name]
    if unknown:
        raise ValueError(f"account {account.name}: no stage named {', '.join(unknown)}")
    return tuple(by_name[name] for name in account.stages)


def account_problems(
    accounts: tuple[AccountConfig, ...], stages: tuple[StageConfig, ...] = STAGES
) -> list[str]:
    """What makes a set of accounts wrong: account-level singletons need one owner per account,
    so no two entries may be the same account, and every stage is deployed into one account of
    its own region (and of its own account id, where both are known)."""
    problems = []
    names = [account.name for account in accounts]
    problems += [f"two accounts are named {n}" for n in sorted({n for n in names if names.count(n) > 1})]
    ids = [account.account for account in accounts if account.account is not None]
    problems += [f"two accounts are account {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    owners: dict[str, list[AccountConfig]] = {stage.name: [] for stage in stages}
    for account in accounts:
        for name in account.stages:
            if name not in owners:
                problems.append(f"account {account.name}: no stage named {name}")
                continue
            owners[name].append(account)
    for stage in stages:
        found = owners[stage.name]
        if len(found) != 1:
            problems.append(f"stage {stage.name} is deployed into {len(found)} accounts, not one")
            continue
        (account,) = found
        if stage.region != account.region:
            problems.append(
                f"stage {stage.name} is in {stage.region}, its account {account.name} in {account.region}"
            )
        if None not in (stage.account, account.account) and stage.account != account.account:
            problems.append(
                f"stage {stage.name} names account {stage.account}, its account {account.name} is"
                f" {account.account}"
            )
    return problems


def _account_config(name: str, stages: tuple[str, ...]) -> AccountConfig:
    (region,) = {stage.region for stage in STAGES if stage.name in stages}
    return AccountConfig(
        name=name,
        stages=stages,
        account=_account(name),
        region=region,
        github_repository=github_repository(),
        github_oidc_provider_arn=os.environ.get(f"DANGOL_{name.upper()}_GITHUB_OIDC_PROVIDER_ARN") or None,
    )


# The usual set-up: an account per stage (DANGOL_DEV_ACCOUNT, DANGOL_PROD_ACCOUNT, the same
# variables the stages read). A team on one account: ``(_account_config("main", ("dev", "prod")),)``.
ACCOUNTS: tuple[AccountConfig, ...] = (
    _account_config("dev", ("dev",)),
    _account_config("prod", ("prod",)),
)
