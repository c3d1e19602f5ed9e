"""THE Lambda factory: every function's defaults in one place, and a
least-privilege role per function derived from what the topology says it touches."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig
from infra.packaging import LAMBDA_RUNTIME
from infra.stacks.messaging import Channels
from infra.stacks.nag import acknowledge, waive_checkov
from shared.topology import Access, Function

# The runtime the code is packaged (and its bytecode compiled) for: one constant, infra/packaging.py.
RUNTIME = lambda_.Runtime(LAMBDA_RUNTIME, lambda_.RuntimeFamily.PYTHON, supports_snap_start=True)
READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
WRITE_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


LIVE_ALIAS = "live"


@dataclass(frozen=True)
class Wiring:
    """What a function may be given: the tables (by logical id), the bus, the queues and topics,
    and the secret that signs list cursors (for the functions that serve routes)."""

    tables: dict[str, dynamodb.Table]
    bus: events.IEventBus
    layer: lambda_.ILayerVersion
    code: lambda_.Code
    environment: dict[str, str]
    channels: Channels
    secrets: tuple[secretsmanager.ISecret, ...] = ()  # what it reads at run time (shared/secrets.py)


def make_function(
    scope: Construct,
    fn: Function,
    wiring: Wiring,
    stage: StageConfig,
    *,
    dead_letter: sqs.IQueue | str,
    snap_start: bool = False,
) -> lambda_.Function:
    """``dead_letter``: the DLQ of its asynchronous invocations, or why it needs none (nothing
    invokes it asynchronously). ``snap_start``: Lambda snapshots its initialized environment when
    a version is published (``live_alias`` publishes one per change and points at it); callers
    then invoke the alias. No function reserves concurrency: a new account's quota (10) leaves
    nothing to reserve, and a reservation there fails the whole stack."""
    log_group = logs.LogGroup(
        scope,
        f"{fn.id}-logs",
        retention=retention(stage.log_retention_days),
        removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        f"{fn.id}-role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"{fn.id}: only its own tables, bus, queues, topics and log group",
    )
    function = lambda_.Function(
        scope,
        fn.id,
        description=fn.description,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=fn.handler,
        code=wiring.code,
        layers=[wiring.layer],
        memory_size=fn.memory_mb,
        timeout=Duration.seconds(fn.timeout_s),
        environment=wiring.environment,
        role=role,
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
        system_log_level_v2=lambda_.SystemLogLevel.WARN,
        tracing=lambda_.Tracing.ACTIVE,
        dead_letter_queue=None if isinstance(dead_letter, str) else dead_letter,
        snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
        # A replaced version is deleted (after the alias moved on): each kept version's snapshot is billed.
        current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY)
        if snap_start
        else None,
    )
    _grant_logs(role, log_group)
    _grant_tables(role, fn, wiring.tables)
    wiring.channels.grant_to(role, fn)
    if wiring.secrets:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[s.secret_arn for s in wiring.secrets]
            )
        )
    if fn.logins:
        _grant_logins(role, fn)
    if isinstance(dead_letter, str):
        acknowledge(function, "Serverless::Serverless-LambdaDLQ", dead_letter)
        waive_checkov(function, "CKV_AWS_116", dead_letter)
    _waive_checkov(function, log_group)
    if fn.publishes_to is not None:
        role.add_to_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[wiring.bus.event_bus_arn])
        )
    _depend_on_policy_only(function, role)
    acknowledge(
        role,
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
    )
    return function


def _grant_logins(role: iam.Role, fn: Function) -> None:
    """What the function may do to the stage's logins. The pool cannot be named here: it invokes a
    service's function (its trigger), so a reference back from the service would be a cycle. The
    grant is on the account's pools in the stage's region; the pool is the one that issued the
    token or event the function handles."""
    stack = Stack.of(role)
    pools = f"arn:{stack.partition}:cognito-idp:{stack.region}:{stack.account}:userpool/*"
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    role.add_to_policy(
        iam.PolicyStatement(actions=[f"cognito-idp:{a}" for a in fn.logins], resources=[pools])
    )
    acknowledge(
        role,
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cognito-idp:{region}:<AWS::AccountId>:userpool/*]",
        f"{fn.id} may {', '.join(fn.logins)} on the stage's user pool, which cannot be named without a"
        " reference cycle (the pool invokes a service's function); the account holds one stage's pool.",
    )


def live_alias(scope: Construct, fn: Function, function: lambda_.Function) -> lambda_.Alias:
    """The alias API Gateway invokes: the version published for the function's current code and
    configuration (a new one, snapshotted, at every change)."""
    return lambda_.Alias(
        scope, f"{fn.id}-{LIVE_ALIAS}", alias_name=LIVE_ALIAS, version=function.current_version
    )


LOGS_HOLD_NO_PERSONAL_DATA = (
    "Logs hold no personal data (shared/observability.py masks it; an e2e test searches every log of"
    " a run for the seeded e-mails and phones); CloudWatch Logs encrypts them at rest with its keys."
)


def _waive_checkov(function: lambda_.Function, log_group: logs.LogGroup) -> None:
    """What checkov asks of every function that this design answers otherwise, and why."""
    waive_checkov(
        function,
        "CKV_AWS_115",
        "No reserved concurrency: a new account's Lambda quota (10) leaves none to reserve and the stack"
        " would fail; queue consumers are capped by MaximumConcurrency, jobs run alone by a lease.",
    )
    waive_checkov(
        function,
        "CKV_AWS_117",
        "It calls only AWS APIs (DynamoDB, EventBridge, SQS, SNS, Secrets Manager) over TLS with IAM"
        " credentials scoped to its resources, and reaches no private network: a VPC would add NAT or"
        " endpoints and ENI set-up for no protection gained.",
    )
    waive_checkov(
        function,
        "CKV_AWS_173",
        "Its environment holds resource names and ARNs only, no secret (the cursor key is read from"
        " Secrets Manager at run time); Lambda encrypts it at rest with its service key.",
    )
    waive_checkov(log_group, "CKV_AWS_158", LOGS_HOLD_NO_PERSONAL_DATA)


def _depend_on_policy_only(function: lambda_.Function, role: iam.Role) -> None:
    """CDK makes the function depend on its role twice (GetAtt and DependsOn; cfn-lint W3005):
    keep only the dependency on the role's policy, which a GetAtt cannot express."""
    policy = role.node.try_find_child("DefaultPolicy")
    cfn_function = function.node.default_child
    if policy is None or not isinstance(cfn_function, CfnResource):
        return
    cfn_policy = policy.node.default_child
    assert isinstance(cfn_policy, CfnResource)
    cfn_function.add_override("DependsOn", [Stack.of(function).get_logical_id(cfn_policy)])


def _grant_logs(role: iam.Role, log_group: logs.LogGroup) -> None:
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    )


def _grant_tables(role: iam.Role, fn: Function, tables: dict[str, dynamodb.Table]) -> None:
    for access in fn.tables:
        table = tables[access.table.id]
        actions = READ_ACTIONS + (WRITE_ACTIONS if access.access == Access.READ_WRITE else ())
        resources = [table.table_arn]
        resources += [f"{table.table_arn}/index/{name}" for name in access.indexes]
        role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=resources))


RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    if days not in RETENTION:
        raise ValueError(f"log retention must be one of {sorted(RETENTION)} days, not {days}")
    return RETENTION[days]
