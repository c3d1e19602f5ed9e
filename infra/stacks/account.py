"""The account stack: what exists once per AWS account (and region), whichever stages it hosts.

- GitHub's OIDC provider (``token.actions.githubusercontent.com``, audience ``sts.amazonaws.com``),
  unless the account already has one (``AccountConfig.github_oidc_provider_arn``). No thumbprint:
  IAM trusts GitHub's certificate through its own library of root CAs and ignores thumbprints for it.
- Per stage deployed into the account, two roles that only GitHub Actions can assume, each with an
  exact subject (no wildcard) and audience:
  - the deploy role ``dangol-<stage>-deploy``: a job in the repository's GitHub environment named
    after the stage (``repo:<owner>/<repo>:environment:<stage>``) may assume it, and it may only
    assume the CDK bootstrap roles of this account and region (deploy, file-publishing,
    image-publishing, lookup): the CDK CLI does everything else through them;
  - the diff role ``dangol-<stage>-diff``: a job of a workflow run on the deploy branch
    (``repo:<owner>/<repo>:ref:refs/heads/main``), with no environment, may assume it; it may only
    read the templates of the stage's stacks, which is what ``cdk diff --method template`` needs.
    The diff in front of prod's approval runs before any reviewer approved, so it cannot use the
    prod environment nor anything that can change the account.
- API Gateway's account setting (``AWS::ApiGateway::Account``, one per account and region) and the
  CloudWatch Logs role it names, both retained when the stack is deleted: API Gateway's execution
  logs of every stage in the account depend on them, so no stage stack owns them.

Built from typed data (``infra.config.AccountConfig``), offline: nothing is looked up at synth time.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, DefaultStackSynthesizer, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import GITHUB_OIDC_HOST, AccountConfig, StageConfig
from infra.stacks.nag import acknowledge

GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
# The roles `cdk bootstrap` creates that the CDK CLI assumes (cfn-exec is CloudFormation's, not the CLI's).
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
# What `cdk diff --method template` reads of a deployed stack and its nested stacks.
DIFF_ACTIONS = (
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
)
API_GATEWAY_LOGS_POLICY = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def check(account: AccountConfig, stages: Sequence[StageConfig]) -> None:
    """The stages given are exactly the account's, in its region (and its account, where known)."""
    if tuple(stage.name for stage in stages) != account.stages:
        raise ValueError(
            f"account {account.name} hosts {account.stages}, not {tuple(s.name for s in stages)}"
        )
    for stage in stages:
        if stage.region != account.region:
            raise ValueError(
                f"stage {stage.name} is in {stage.region}, account {account.name} in {account.region}"
            )
        if None not in (stage.account, account.account) and stage.account != account.account:
            raise ValueError(f"stage {stage.name} is in account {stage.account}, not {account.account}")


class AccountStack(Stack):
    """``AccountStack(stage_scope, "account", account=config, stages=stages_in(config))``, in a
    Stage named ``config.stage_id`` (``dangol-account-<name>``) with the account's environment."""

    def __init__(
        self, scope: Construct, construct_id: str, *, account: AccountConfig, stages: Sequence[StageConfig]
    ) -> None:
        check(account, stages)
        super().__init__(
            scope,
            construct_id,
            description=f"dangol: account-level resources of account {account.name} (stages: "
            + ", ".join(account.stages)
            + ")",
            # The stack is deployed with the bootstrap it relies on: the account's qualifier.
            synthesizer=DefaultStackSynthesizer(qualifier=account.cdk_qualifier),
            # It holds CI's only way into the account and a setting every stage's API uses.
            termination_protection=True,
        )
        self.config = account
        self.oidc_provider_arn = self._github_oidc_provider(account)
        self.deploy_roles: dict[str, iam.Role] = {}
        self.diff_roles: dict[str, iam.Role] = {}
        for stage in stages:
            self.deploy_roles[stage.name] = self._deploy_role(account, stage)
            self.diff_roles[stage.name] = self._diff_role(account, stage)
        self.api_gateway_role = self._api_gateway_logging()

    def _github_oidc_provider(self, account: AccountConfig) -> str:
        if account.github_oidc_provider_arn is not None:
            return account.github_oidc_provider_arn
        provider = iam.OidcProviderNative(
            self,
            "GitHubOidcProvider",
            url=GITHUB_OIDC_URL,
            client_ids=[STS_AUDIENCE],
            # No thumbprints: IAM validates GitHub's certificate against its trusted root CAs.
        )
        CfnOutput(self, "GitHubOidcProviderArn", value=provider.oidc_provider_arn)
        return provider.oidc_provider_arn

    def _github_principal(self, subject: str) -> iam.WebIdentityPrincipal:
        """GitHub Actions' tokens for this audience and exactly this subject, nothing else."""
        return iam.WebIdentityPrincipal(
            self.oidc_provider_arn,
            conditions={
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": subject,
                }
            },
        )

    def bootstrap_role_arn(self, kind: str) -> str:
        qualifier = self.config.cdk_qualifier
        return (
            f"arn:{self.partition}:iam::{self.account}:role/"
            f"cdk-{qualifier}-{kind}-role-{self.account}-{self.region}"
        )

    def _deploy_role(self, account: AccountConfig, stage: StageConfig) -> iam.Role:
        role = iam.Role(
            self,
            f"DeployRole-{stage.name}",
            role_name=account.deploy_role_name(stage.name),
            description=f"GitHub Actions, environment {stage.name} of {account.github_repository}:"
            " deploys the stage through the CDK bootstrap roles",
            assumed_by=self._github_principal(account.deploy_subject(stage.name)),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[self.bootstrap_role_arn(kind) for kind in BOOTSTRAP_ROLES],
            )
        )
        CfnOutput(self, f"DeployRoleArn-{stage.name}", value=role.role_arn)
        return role

    def _diff_role(self, account: AccountConfig, stage: StageConfig) -> iam.Role:
        role = iam.Role(
            self,
            f"DiffRole-{stage.name}",
            role_name=account.diff_role_name(stage.name),
            description=f"GitHub Actions, {account.deploy_branch} of {account.github_repository}:"
            f" reads the templates of {stage.stage_id} for cdk diff",
            assumed_by=self._github_principal(account.diff_subject),
        )
        stacks = self.format_arn(
            service="cloudformation", resource="stack", resource_name=f"{stage.stage_id}-*/*"
        )
        role.add_to_policy(iam.PolicyStatement(actions=list(DIFF_ACTIONS), resources=[stacks]))
        region = "<AWS::Region>" if Token.is_unresolved(self.region) else self.region
        account_id = "<AWS::AccountId>" if Token.is_unresolved(self.account) else self.account
        acknowledge(
            role,
            "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:"
            f"{region}:{account_id}:stack/{stage.stage_id}-*/*]",
            f"Read-only on the stacks of stage {stage.name} alone: their names all start with"
            f" '{stage.stage_id}-' and a stack's ARN ends in the id CloudFormation gives it at creation.",
        )
        CfnOutput(self, f"DiffRoleArn-{stage.name}", value=role.role_arn)
        return role

    def _api_gateway_logging(self) -> iam.Role:
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            description="API Gateway's account-wide role for writing execution and access logs",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(API_GATEWAY_LOGS_POLICY)],
        )
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        acknowledge(
            role,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: AmazonAPIGatewayPushToCloudWatchLogs is the"
            " policy AWS documents for it, and AWS keeps it current with what API Gateway writes.",
        )
        setting = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        setting.apply_removal_policy(RemovalPolicy.RETAIN)
        return role
