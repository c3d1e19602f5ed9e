"""The account stack (``infra/stacks/account.py``) synthesized on its own, as ``make bootstrap``
deploys it: a fresh app, one Stage ``dangol-account-<name>`` per account configuration, cdk-nag's
AwsSolutions and Serverless packs as validation plugins.

Four set-ups are synthesized together: the configured accounts (``infra.config.ACCOUNTS``, from the
environment; usually ids unknown), an account per stage with known ids, one account with both stages
and a qualifier of its own, and an account that already has GitHub's OIDC provider. For each, the
template proves: GitHub's OIDC provider (URL, audience, no thumbprint) or the existing one; per stage
a deploy role that only that repository's GitHub environment of that stage may assume and that may
only assume the CDK bootstrap roles of that account and region; a diff role that only the deploy
branch's workflows may assume and that may only read the stage's stack templates; API Gateway's
account setting and its logging role, retained. Then cfn-lint and cdk-nag, and the configuration's
rule that one AWS account has one owner.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.app import context, quiet_node_warnings
from infra.config import (
    ACCOUNTS,
    CDK_DEFAULT_QUALIFIER,
    STAGES,
    AccountConfig,
    StageConfig,
    account_problems,
    stages_in,
)
from infra.stacks.account import AccountStack, check

# tests/infra/conftest.py puts every infra test in the xdist group "synth" (the app's one synthesis);
# this module synthesizes only the account stacks, so its tests run in a group of their own, next to
# it (pytest-xdist joins a test's group names: this module's group is "account_synth").
ACCOUNT_GROUP = pytest.mark.xdist_group("account")
pytestmark = [pytest.mark.infra, ACCOUNT_GROUP]

Json = dict[str, Any]
OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
REPOSITORY = "acme/crm"
EXISTING_PROVIDER = f"arn:aws:iam::444444444444:oidc-provider/{OIDC_HOST}"
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
DIFF_ACTIONS = {
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
}
APIGW_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
MIN_REASON = 40


def with_account(stage: StageConfig, account: str | None) -> StageConfig:
    return replace(stage, account=account)


# The stages, without the account ids the environment may give them (each set-up sets its own).
DEV, PROD = (replace(stage, account=None) for stage in STAGES)
FREE = (DEV, PROD)
SET_UPS: tuple[tuple[AccountConfig, tuple[StageConfig, ...]], ...] = (
    *((account, stages_in(account)) for account in ACCOUNTS),
    (
        AccountConfig("known-dev", ("dev",), account="111111111111", github_repository=REPOSITORY),
        (with_account(DEV, "111111111111"),),
    ),
    (
        AccountConfig("known-prod", ("prod",), account="222222222222", github_repository=REPOSITORY),
        (with_account(PROD, "222222222222"),),
    ),
    (
        AccountConfig(
            "single",
            ("dev", "prod"),
            account="333333333333",
            github_repository=REPOSITORY,
            cdk_qualifier="dangol",
        ),
        (with_account(DEV, "333333333333"), with_account(PROD, "333333333333")),
    ),
    (
        AccountConfig(
            "reused",
            ("dev",),
            account="444444444444",
            github_repository=REPOSITORY,
            github_oidc_provider_arn=EXISTING_PROVIDER,
        ),
        (with_account(DEV, "444444444444"),),
    ),
)


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, Json]  # account name -> template
    stacks: dict[str, Json]  # account name -> the stack's manifest properties
    accounts: dict[str, tuple[AccountConfig, tuple[StageConfig, ...]]]

    @property
    def report(self) -> Json:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    quiet_node_warnings()
    outdir = tmp_path_factory.mktemp("cdk.out.account")
    app = App(outdir=str(outdir), context=context())
    for account, stages in SET_UPS:
        stage = Stage(app, account.stage_id, env=Environment(account=account.account, region=account.region))
        AccountStack(stage, "account", account=account, stages=stages)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    assembly = app.synth()
    templates, stacks = {}, {}
    for account, _ in SET_UPS:
        (stack,) = assembly.get_nested_assembly(f"assembly-{account.stage_id}").stacks
        templates[account.name] = dict(stack.template)
        stacks[account.name] = {
            "terminationProtection": stack.termination_protection,
            "assumeRoleArn": stack.assume_role_arn,
            "stackName": stack.stack_name,
        }
    return Synthesized(
        outdir, templates, stacks, {account.name: (account, stages) for account, stages in SET_UPS}
    )


# --- reading a template --------------------------------------------------------------------------


def resources(template: Json, kind: str) -> dict[str, Json]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def render(value: Any, account: AccountConfig) -> Any:
    """A template value as a string where it is one: joins joined, pseudo parameters named
    (the partition as `aws`, an unknown account as ${AWS::AccountId})."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(render(part, account)) for part in parts)
    if isinstance(value, dict) and "Ref" in value and str(value["Ref"]).startswith("AWS::"):
        pseudo = {
            "AWS::Partition": "aws",
            "AWS::AccountId": account.account or "${AWS::AccountId}",
            "AWS::Region": account.region,
        }
        return pseudo[value["Ref"]]
    if isinstance(value, list):
        return [render(v, account) for v in value]
    return value


def role_named(template: Json, name: str) -> tuple[str, Json]:
    ((logical_id, role),) = [
        (k, v)
        for k, v in resources(template, "AWS::IAM::Role").items()
        if v["Properties"].get("RoleName") == name
    ]
    return logical_id, role


def statements_of(template: Json, logical_id: str) -> list[Json]:
    """Every statement of every policy a role has: inline, attached policies, managed policies."""
    role = template["Resources"][logical_id]["Properties"]
    found = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in resources(template, kind).values():
            if {"Ref": logical_id} in policy["Properties"].get("Roles", []):
                found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_set(value: Any) -> set[str]:
    return set(value) if isinstance(value, list) else {value}


def provider_of(template: Json, account: AccountConfig) -> Any:
    """What a GitHub role's trust names as its federated principal."""
    if account.github_oidc_provider_arn is not None:
        return account.github_oidc_provider_arn
    (logical_id,) = resources(template, "AWS::IAM::OIDCProvider")
    return {"Ref": logical_id}


def assert_github_trust(role: Json, provider: Any, subject: str) -> None:
    """Only GitHub's tokens for STS with exactly this subject: one statement, no other condition."""
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": provider}
    assert statement["Condition"] == {
        "StringEquals": {f"{OIDC_HOST}:aud": AUDIENCE, f"{OIDC_HOST}:sub": subject}
    }, statement
    assert "*" not in subject
    assert "?" not in subject


def every_set_up(synthesized: Synthesized) -> list[tuple[AccountConfig, tuple[StageConfig, ...], Json]]:
    return [(a, s, synthesized.templates[a.name]) for a, s in synthesized.accounts.values()]


# --- the OIDC provider ---------------------------------------------------------------------------


def test_githubs_oidc_provider_is_created_for_sts_without_thumbprints(synthesized: Synthesized) -> None:
    for account, _, template in every_set_up(synthesized):
        # Given an account's template
        # When its OIDC providers are read
        providers = list(resources(template, "AWS::IAM::OIDCProvider").values())
        if account.github_oidc_provider_arn is not None:
            # Then an account that has GitHub's provider already gets none (IAM holds one per URL)
            assert providers == [], account.name
            continue
        # Then there is exactly one: GitHub's, for STS only, with no thumbprint (IAM trusts GitHub's
        # certificate through its own root CAs, and a pinned thumbprint would only break on rotation)
        (provider,) = providers
        assert provider["Properties"]["Url"] == f"https://{OIDC_HOST}", account.name
        assert provider["Properties"]["ClientIdList"] == [AUDIENCE], account.name
        assert not provider["Properties"].get("ThumbprintList"), account.name


# --- the deploy roles ----------------------------------------------------------------------------


def test_each_stage_has_a_deploy_role_only_its_github_environment_can_assume(
    synthesized: Synthesized,
) -> None:
    for account, stages, template in every_set_up(synthesized):
        for stage in stages:
            # Given a stage deployed into the account
            # When its deploy role's trust is read
            _, role = role_named(template, account.deploy_role_name(stage.name))
            # Then only a job of that repository's GitHub environment named after the stage may assume it
            subject = f"repo:{account.github_repository}:environment:{stage.name}"
            assert_github_trust(role, provider_of(template, account), subject)


def test_a_deploy_role_may_only_assume_the_bootstrap_roles_of_its_account_and_region(
    synthesized: Synthesized,
) -> None:
    for account, stages, template in every_set_up(synthesized):
        acct = account.account or "${AWS::AccountId}"
        expected = {
            f"arn:aws:iam::{acct}:role/cdk-{account.cdk_qualifier}-{kind}-role-{acct}-{account.region}"
            for kind in BOOTSTRAP_ROLES
        }
        for stage in stages:
            # Given a stage's deploy role
            logical_id, role = role_named(template, account.deploy_role_name(stage.name))
            # When every policy it has is read
            (statement,) = statements_of(template, logical_id)
            # Then it has no managed policy and one statement: sts:AssumeRole on exactly the CDK bootstrap
            # roles (deploy, file-publishing, image-publishing, lookup) of this account and region
            assert "ManagedPolicyArns" not in role["Properties"]
            assert statement["Effect"] == "Allow"
            assert as_set(statement["Action"]) == {"sts:AssumeRole"}
            assert "Condition" not in statement
            assert as_set(render(statement["Resource"], account)) == expected, account.name


# --- the diff roles ------------------------------------------------------------------------------


def test_each_stage_has_a_diff_role_that_only_reads_its_stacks_for_the_deploy_branch(
    synthesized: Synthesized,
) -> None:
    for account, stages, template in every_set_up(synthesized):
        for stage in stages:
            # Given a stage's diff role (the `cdk diff` in front of an approval, before any reviewer)
            logical_id, role = role_named(template, account.diff_role_name(stage.name))
            # When its trust and policies are read
            # Then only workflows running on the deploy branch of the repository may assume it
            subject = f"repo:{account.github_repository}:ref:refs/heads/{account.deploy_branch}"
            assert_github_trust(role, provider_of(template, account), subject)
            # And it may only read the templates of that stage's stacks (and nested stacks)
            (statement,) = statements_of(template, logical_id)
            assert "ManagedPolicyArns" not in role["Properties"]
            assert statement["Effect"] == "Allow"
            assert as_set(statement["Action"]) == DIFF_ACTIONS
            acct = account.account or "${AWS::AccountId}"
            stacks = f"arn:aws:cloudformation:{account.region}:{acct}:stack/{stage.stage_id}-*/*"
            assert as_set(render(statement["Resource"], account)) == {stacks}, account.name


def test_github_can_assume_nothing_else(synthesized: Synthesized) -> None:
    for account, stages, template in every_set_up(synthesized):
        # Given every role of the account stack
        # When the roles that trust a federated principal are counted
        federated = [
            role
            for role in resources(template, "AWS::IAM::Role").values()
            if any(
                "Federated" in s["Principal"]
                for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            )
        ]
        # Then they are the deploy and diff roles of the account's stages, nothing more
        names = {role["Properties"]["RoleName"] for role in federated}
        expected = {account.deploy_role_name(s.name) for s in stages} | {
            account.diff_role_name(s.name) for s in stages
        }
        assert names == expected, account.name


# --- API Gateway's account setting ----------------------------------------------------------------


def test_api_gateways_account_setting_and_its_logging_role_are_owned_here_and_retained(
    synthesized: Synthesized,
) -> None:
    for account, _, template in every_set_up(synthesized):
        # Given the account's template
        # When its API Gateway account setting is read
        (setting,) = resources(template, "AWS::ApiGateway::Account").values()
        role_id, _ = setting["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"]
        role = template["Resources"][role_id]
        # Then it names a role only API Gateway may assume, with AWS's policy for pushing logs
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert trust["Action"] == "sts:AssumeRole"
        assert render(role["Properties"]["ManagedPolicyArns"], account) == [APIGW_POLICY]
        assert statements_of(template, role_id) == []
        # And both outlive the stack: every stage's API logs through them
        for resource in (setting, role):
            assert resource["DeletionPolicy"] == "Retain", account.name
            assert resource["UpdateReplacePolicy"] == "Retain", account.name


# --- the stack -----------------------------------------------------------------------------------


def test_the_stack_is_termination_protected_and_deployed_through_its_accounts_bootstrap(
    synthesized: Synthesized,
) -> None:
    for account, _, template in every_set_up(synthesized):
        # Given the account stack's manifest entry and template
        stack = synthesized.stacks[account.name]
        # When its deployment properties are read
        # Then it is protected from deletion, and deployed with the bootstrap of its qualifier
        assert stack["terminationProtection"] is True, account.name
        assert f"role/cdk-{account.cdk_qualifier}-deploy-role-" in stack["assumeRoleArn"], account.name
        version = template["Parameters"]["BootstrapVersion"]["Default"]
        assert version == f"/cdk-bootstrap/{account.cdk_qualifier}/version", account.name
        assert stack["stackName"] == f"{account.stage_id}-account"
    # And the qualifier the configuration uses by default is the CDK's
    assert CDK_DEFAULT_QUALIFIER == "hnb659fds"


def test_cdk_nag_finds_nothing_unacknowledged_and_each_acknowledgment_is_specific(
    synthesized: Synthesized,
) -> None:
    # Given the account stacks synthesized with the AwsSolutions and Serverless packs
    report = synthesized.report
    # When the report is read
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    # Then the packs found nothing that is not acknowledged (the CDK leaves a pack that found nothing
    # at all out of the report: Serverless has no function to look at here)
    assert "AwsSolutions" in plugins
    assert set(plugins) <= {"AwsSolutions", "Serverless"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success", plugin["violations"]
        assert plugin["violations"] == []
    # And each acknowledgment is on one role (not a stack) for one rule, with its reason
    acknowledged = [s for p in plugins.values() for s in p.get("suppressedViolations", [])]
    assert acknowledged
    for finding in acknowledged:
        assert len(finding["reason"]) >= MIN_REASON, finding
        _, stack, construct = finding["acknowledgedAt"].split("/")
        assert stack == "account", finding
        rule = finding["ruleName"]
        if construct == "ApiGatewayCloudWatchRole":
            assert rule.startswith("AwsSolutions-IAM4[Policy::"), finding
            assert rule.endswith("/AmazonAPIGatewayPushToCloudWatchLogs]"), finding
        else:
            # a diff role's read-only access to its stage's stacks, whose ARNs end in a generated id
            assert construct.startswith("DiffRole-"), finding
            stage = construct.removeprefix("DiffRole-")
            assert rule.startswith("AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:"), (
                finding
            )
            assert rule.endswith(f":stack/dangol-{stage}-*/*]"), finding


def test_cfn_lint_finds_nothing_in_the_account_templates(synthesized: Synthesized) -> None:
    # Given every synthesized account template
    templates = sorted(synthesized.outdir.glob("assembly-dangol-account-*/*.template.json"))
    assert len(templates) == len(SET_UPS)
    # When cfn-lint checks them
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), *map(str, templates)], capture_output=True, text=True)
    # Then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr


# --- one owner per account -----------------------------------------------------------------------


def test_the_configured_accounts_are_distinct_and_host_every_stage_once() -> None:
    # Given the configured accounts and stages (ids from DANGOL_<NAME>_ACCOUNT, where set)
    # When the rule is checked
    # Then no two accounts with known ids are the same AWS account (account-level singletons
    # have one owner), and every stage is deployed into exactly one account, in its region
    known = [account.account for account in ACCOUNTS if account.account is not None]
    assert len(known) == len(set(known)), known
    assert account_problems(ACCOUNTS, STAGES) == []
    # And the default is the usual multi-account set-up: one account per stage
    assert [account.stages for account in ACCOUNTS] == [(stage.name,) for stage in STAGES]


def test_the_rule_catches_one_account_configured_twice_and_a_stage_without_an_owner() -> None:
    # Given two entries for one AWS account, and a stage left out
    same = (
        AccountConfig("dev", ("dev",), account="555555555555"),
        AccountConfig("prod", ("prod",), account="555555555555"),
    )
    # When the rule checks them
    # Then each mistake is named; one entry with both stages is how one account hosts two stages
    assert account_problems(same, FREE) == ["two accounts are account 555555555555"]
    assert account_problems(same[:1], FREE) == ["stage prod is deployed into 0 accounts, not one"]
    assert account_problems((AccountConfig("main", ("dev", "prod"), account="555555555555"),), FREE) == []
    moved = (AccountConfig("dev", ("dev",), region="eu-west-1"), AccountConfig("prod", ("prod",)))
    assert account_problems(moved, FREE) == ["stage dev is in ap-northeast-2, its account dev in eu-west-1"]


def test_an_account_stack_takes_exactly_its_accounts_stages() -> None:
    # Given an account configuration
    account = AccountConfig("dev", ("dev",), account="111111111111")
    # When the stack's inputs are checked
    # Then other stages, a stage of another region or another account id are refused
    check(account, (DEV,))
    with pytest.raises(ValueError, match="hosts"):
        check(account, (DEV, PROD))
    with pytest.raises(ValueError, match="eu-west-1"):
        check(account, (replace(DEV, region="eu-west-1"),))
    with pytest.raises(ValueError, match="222222222222"):
        check(account, (replace(DEV, account="222222222222"),))


@pytest.mark.parametrize(
    "settings",
    [
        {"github_repository": "acme/*"},
        {"github_repository": "acme"},
        {"github_repository": "*/crm"},
        {"account": "1234"},
        {"deploy_branch": "*"},
        {"cdk_qualifier": "not-alnum"},
        {"stages": ()},
    ],
    ids=[
        "wildcard-repo",
        "no-owner",
        "wildcard-owner",
        "short-id",
        "wildcard-branch",
        "qualifier",
        "no-stage",
    ],
)
def test_an_account_configuration_refuses_what_would_widen_the_trust(settings: dict[str, Any]) -> None:
    # Given an account configuration with a wildcard or a malformed value
    # When it is built
    # Then it is refused
    with pytest.raises(ValueError, match="account x"):
        AccountConfig(**{"name": "x", "stages": ("dev",), **settings})


def test_this_module_runs_in_its_own_xdist_group(request: pytest.FixtureRequest) -> None:
    # Given this test's marks
    # When pytest-xdist's loadgroup reads its group (all its xdist_group names, sorted and joined)
    group = "_".join(sorted({m.args[0] for m in request.node.iter_markers("xdist_group")}))
    # Then it is this module's, not the app synthesis' group
    assert group == "account_synth"
