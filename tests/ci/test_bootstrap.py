"""`make bootstrap`'s helper (infra/bootstrap.py): what it refuses, the `cdk bootstrap` arguments it
gives, and the GitHub set-up it prints (the environments, prod's required reviewers, the variables
deploy.yml reads). Pure Python: no AWS, no GitHub."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from infra.bootstrap import (
    DEPLOY_ROLE_VARIABLE,
    REGION_VARIABLE,
    Refusal,
    account_named,
    bootstrap_args,
    diff_region_variable,
    diff_role_variable,
    github_setup,
    main,
)
from infra.config import ACCOUNTS, STAGES, AccountConfig, stages_in

REPOSITORY = "acme/crm"
EXPLICIT = {"DANGOL_GITHUB_REPOSITORY": REPOSITORY}
DEV, PROD = (replace(s, account=None) for s in STAGES)
DEV_ACCOUNT = AccountConfig("dev", ("dev",), account="111111111111", github_repository=REPOSITORY)
PROD_ACCOUNT = AccountConfig("prod", ("prod",), account="222222222222", github_repository=REPOSITORY)
BOTH = (DEV_ACCOUNT, PROD_ACCOUNT)


def test_bootstrap_gives_the_account_and_region_with_termination_protection() -> None:
    # Given an account with its id, and the repository named explicitly
    # When its `cdk bootstrap` arguments are asked for
    args = bootstrap_args(DEV_ACCOUNT, BOTH, (DEV, PROD), EXPLICIT)
    # Then they name exactly that environment; the default qualifier needs no flag
    assert args == ["aws://111111111111/ap-northeast-2", "--termination-protection"]


def test_a_custom_qualifier_gets_its_own_toolkit_stack() -> None:
    # Given an account bootstrapped with a qualifier of its own (another CDK app owns the default)
    account = replace(DEV_ACCOUNT, cdk_qualifier="dangol")
    # When its arguments are asked for
    args = bootstrap_args(account, (account, PROD_ACCOUNT), (DEV, PROD), EXPLICIT)
    # Then the qualifier and a toolkit stack of its own are passed
    assert args[2:] == ["--qualifier", "dangol", "--toolkit-stack-name", "CDKToolkit-dangol"]


@pytest.mark.parametrize(
    ("account", "accounts", "environ", "says"),
    [
        (replace(DEV_ACCOUNT, account=None), BOTH, EXPLICIT, "DANGOL_DEV_ACCOUNT"),
        (DEV_ACCOUNT, BOTH, {}, "DANGOL_GITHUB_REPOSITORY"),
        (
            DEV_ACCOUNT,
            (DEV_ACCOUNT, replace(PROD_ACCOUNT, account=DEV_ACCOUNT.account)),
            EXPLICIT,
            "two accounts are account 111111111111",
        ),
        (DEV_ACCOUNT, (DEV_ACCOUNT,), EXPLICIT, "stage prod is deployed into 0 accounts"),
    ],
    ids=["no-account-id", "default-repository", "one-account-twice", "stage-without-account"],
)
def test_bootstrap_refuses_what_would_bootstrap_the_wrong_thing(
    account: AccountConfig, accounts: tuple[AccountConfig, ...], environ: dict[str, str], says: str
) -> None:
    # Given a configuration with one thing wrong
    # When its bootstrap arguments are asked for
    # Then it refuses and says what to set
    with pytest.raises(Refusal, match=says):
        bootstrap_args(account, accounts, (DEV, PROD), environ)


def test_an_unknown_account_name_gets_the_usage() -> None:
    # Given a name no configured account has
    # When it is looked up
    # Then the refusal lists the names there are
    with pytest.raises(Refusal, match="one of: dev prod"):
        account_named("staging", BOTH)


def reviewers_call(lines: list[str], stage: str) -> dict[str, object] | None:
    """The JSON body of the `gh api --method PUT .../environments/<stage>` call, if printed."""
    for i, line in enumerate(lines):
        if line.startswith("gh api --method PUT") and f"/environments/{stage} " in line:
            end = lines.index("JSON", i)
            return dict(json.loads("\n".join(lines[i + 1 : end])))
    return None


def test_prod_gets_required_reviewers_and_dev_does_not() -> None:
    # Given the GitHub set-up of each account
    for account, stage in ((DEV_ACCOUNT, DEV), (PROD_ACCOUNT, PROD)):
        lines = github_setup(account, (stage,))
        # When the call that creates the stage's environment is read
        body = reviewers_call(lines, stage.name)
        assert body is not None, lines
        # Then only main (a protected branch) may deploy to it, and a prod stage needs a reviewer
        # other than whoever started the run, and the set-up prints the call that checks it
        branches = {"protected_branches": True, "custom_branch_policies": False}
        assert body["deployment_branch_policy"] == branches
        check = f"gh api repos/{REPOSITORY}/environments/{stage.name} --jq"
        if stage.prod:
            assert body["reviewers"], body
            assert body["prevent_self_review"] is True
            assert any(line.startswith(check) and "required_reviewers" in line for line in lines), lines
        else:
            assert "reviewers" not in body, body
            assert not any(line.startswith(check) for line in lines), lines


def test_the_github_set_up_gives_each_stage_the_variables_deploy_yml_reads() -> None:
    # Given one account with both stages (a team on one account)
    account = AccountConfig("main", ("dev", "prod"), account="333333333333", github_repository=REPOSITORY)
    # When its GitHub set-up is printed
    lines = github_setup(account, (DEV, PROD))
    for stage in (DEV, PROD):
        prefix = f"gh variable set {{}} --repo {REPOSITORY}"
        deploy_role = f"arn:aws:iam::333333333333:role/dangol-{stage.name}-deploy"
        diff_role = f"arn:aws:iam::333333333333:role/dangol-{stage.name}-diff"
        # Then the stage's environment holds its deploy role and region
        env = f" --env {stage.name} --body "
        assert prefix.format(DEPLOY_ROLE_VARIABLE) + env + deploy_role in lines, lines
        assert prefix.format(REGION_VARIABLE) + env + stage.region in lines, lines
        # And the repository holds its diff role and region (a diff job runs in no environment)
        assert prefix.format(diff_role_variable(stage.name)) + " --body " + diff_role in lines, lines
        assert prefix.format(diff_region_variable(stage.name)) + " --body " + stage.region in lines, lines


def test_the_command_line_prints_and_refuses_with_exit_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the configured accounts, with the repository left at its default
    monkeypatch.delenv("DANGOL_GITHUB_REPOSITORY", raising=False)
    name = ACCOUNTS[-1].name
    assert stages_in(ACCOUNTS[-1])
    # When the helper runs as `make bootstrap` runs it
    # Then the GitHub set-up prints; bootstrap arguments are refused (no account id or no explicit
    # repository), and so is a missing account name, with exit code 2
    assert main(["github", name]) == 0
    assert "gh variable set" in capsys.readouterr().out
    assert main(["args", name]) == 2
    assert capsys.readouterr().err.startswith("make bootstrap: set DANGOL_")
    assert main(["args", ""]) == 2
    assert "usage: make bootstrap ACCOUNT=<name>" in capsys.readouterr().err
    assert main([]) == 2
