"""What `make bootstrap ACCOUNT=<name>` needs from the account configuration (``infra.config.ACCOUNTS``),
and the GitHub side of an account, printed as the `gh` commands a repository administrator runs once.

    python -m infra.bootstrap args ACCOUNT     the arguments of `cdk bootstrap` for that account
    python -m infra.bootstrap github ACCOUNT   the GitHub environments and variables its stages need,
                                               prod's required reviewers, and the call that checks them

Nothing here calls AWS or GitHub: it prints, the administrator runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from infra.config import (
    ACCOUNTS,
    CDK_DEFAULT_QUALIFIER,
    STAGES,
    AccountConfig,
    StageConfig,
    account_problems,
    stages_in,
)

# The variables the workflows read (.github/workflows/deploy.yml). A deploy job runs in the GitHub
# environment of its stage and reads that environment's variables; a diff job runs before any
# approval, in no environment, and reads repository variables named after its stage.
DEPLOY_ROLE_VARIABLE = "AWS_DEPLOY_ROLE_ARN"
REGION_VARIABLE = "AWS_REGION"


def diff_role_variable(stage: str) -> str:
    return f"AWS_DIFF_ROLE_ARN_{stage.upper()}"


def diff_region_variable(stage: str) -> str:
    return f"AWS_REGION_{stage.upper()}"


class Refusal(Exception):
    """The configuration cannot be bootstrapped as it is; the message says what to set."""


def account_named(name: str, accounts: Sequence[AccountConfig] = ACCOUNTS) -> AccountConfig:
    for account in accounts:
        if account.name == name:
            return account
    names = " ".join(account.name for account in accounts)
    raise Refusal(f"usage: make bootstrap ACCOUNT=<name>, one of: {names}")


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account: AccountConfig, role_name: str) -> str:
    return f"arn:{partition(account.region)}:iam::{account.account or '<account-id>'}:role/{role_name}"


def bootstrap_args(
    account: AccountConfig,
    accounts: Sequence[AccountConfig] = ACCOUNTS,
    stages: Sequence[StageConfig] = STAGES,
    environ: dict[str, str] | None = None,
) -> list[str]:
    """`cdk bootstrap` of the account and region, with the account's qualifier. Refuses what would
    bootstrap the wrong thing: an account id that is not set, a repository left at the default (the
    deploy roles trust it), accounts that share an AWS account."""
    environ = dict(os.environ) if environ is None else environ
    variable = f"DANGOL_{account.name.upper()}_ACCOUNT"
    if account.account is None:
        raise Refusal(f"set {variable}=<12-digit account id> for account {account.name}")
    if not environ.get("DANGOL_GITHUB_REPOSITORY"):
        raise Refusal(
            "set DANGOL_GITHUB_REPOSITORY=<owner>/<repo>: the deploy roles trust that repository's"
            f" environments (now: {account.github_repository})"
        )
    problems = account_problems(tuple(accounts), tuple(stages))
    if problems:
        raise Refusal("infra/config.py ACCOUNTS: " + "; ".join(problems))
    args = [f"aws://{account.account}/{account.region}", "--termination-protection"]
    if account.cdk_qualifier != CDK_DEFAULT_QUALIFIER:
        qualifier = account.cdk_qualifier
        args += ["--qualifier", qualifier, "--toolkit-stack-name", f"CDKToolkit-{qualifier}"]
    return args


def _environment_call(repository: str, stage: StageConfig) -> list[str]:
    body: dict[str, object] = {
        # Only a protected branch (main) may deploy; the deploy role trusts the environment alone.
        "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
    }
    if stage.prod:
        body["reviewers"] = [{"type": "Team", "id": "<team id: gh api orgs/<org>/teams/<slug> --jq .id>"}]
        body["prevent_self_review"] = True
    return [
        f"gh api --method PUT repos/{repository}/environments/{stage.name} --input - <<'JSON'",
        json.dumps(body, indent=2),
        "JSON",
    ]


def github_setup(account: AccountConfig, stages: Sequence[StageConfig]) -> list[str]:
    """The `gh` commands that give the repository what deploy.yml reads for these stages."""
    repository = account.github_repository
    set_variable = "gh variable set"
    lines = [
        f"# GitHub for account {account.name} ({account.account or '<account-id>'}, {account.region}),"
        f" repository {repository}: run once, as a repository administrator.",
    ]
    for stage in stages:
        deploy_role = role_arn(account, account.deploy_role_name(stage.name))
        diff_role = role_arn(account, account.diff_role_name(stage.name))
        env = f"--env {stage.name}"
        reviewed = " with required reviewers (a team; fill in its id)" if stage.prod else ""
        lines += [
            "",
            f"# Stage {stage.name}: the environment `{stage.name}`{reviewed}, deployable from main only",
            *_environment_call(repository, stage),
            f"{set_variable} {DEPLOY_ROLE_VARIABLE} --repo {repository} {env} --body {deploy_role}",
            f"{set_variable} {REGION_VARIABLE} --repo {repository} {env} --body {stage.region}",
            "# the diff in front of its deploy (no environment, read-only role)",
            f"{set_variable} {diff_role_variable(stage.name)} --repo {repository} --body {diff_role}",
            f"{set_variable} {diff_region_variable(stage.name)} --repo {repository} --body {stage.region}",
        ]
        if stage.prod:
            lines += [
                f"# check: prints 1 or more (the required-reviewer rules of `{stage.name}`)",
                f"gh api repos/{repository}/environments/{stage.name}"
                " --jq '[.protection_rules[]? | select(.type == \"required_reviewers\")] | length'",
            ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in {"args", "github"}:
        sys.stderr.write(__doc__ or "")
        return 2
    command, name = args
    try:
        account = account_named(name)
        if command == "args":
            sys.stdout.write(" ".join(bootstrap_args(account)) + "\n")
        else:
            sys.stdout.write("\n".join(github_setup(account, stages_in(account))) + "\n")
    except Refusal as refusal:
        sys.stderr.write(f"make bootstrap: {refusal}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
