"""Least privilege, read from every identity policy in the templates.

Each function's role may do exactly what the topology says the function needs: its
tables (read or read-write, the indexes it queries), the bus if it publishes, the queues
it sends to or consumes (and its own dead-letter queue), the topics it notifies (and
their key), its own log group, and X-Ray; a schedule's role only its target and DLQ.
Every wildcard is an exception listed here with its reason.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.topology import Access, Function
from tests.infra.conftest import Synthesized
from tests.infra.deployments import (
    EVERY,
    Deployment,
    arn,
    as_list,
    joined,
    key,
    load,
    mentions,
    needs_async_dlq,
    ref,
)

Json = dict[str, Any]

# Actions allowed on Resource "*", each with why no narrower resource exists.
WILDCARD_RESOURCE_EXCEPTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions: traces cannot be scoped.",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions: telemetry cannot be scoped.",
    # Only for the functions that send messages: test_channels_template.py pins who has it.
    "sns:Publish": "An SMS to a phone number: SNS's Publish names no resource but a topic or endpoint.",
}
# AWS managed policies a role may carry, each with why an inline least-privilege policy is not used.
MANAGED_POLICY_EXCEPTIONS: dict[str, str] = {
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": (
        "API Gateway's account-level logging role; AWS documents this managed policy for it."
    ),
}

DYNAMODB_READ = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:PartiQLSelect",
}
DYNAMODB_WRITE = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
NEEDED_TO_READ = {"dynamodb:GetItem", "dynamodb:Query"}
NEEDED_TO_WRITE = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
NEVER = {"dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:CreateTable", "dynamodb:UpdateTable"}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# What Lambda's poller needs to consume a queue, and a publisher on a key-encrypted topic.
CONSUME_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
}
TOPIC_KEY_ACTIONS = {"kms:GenerateDataKey", "kms:Decrypt"}
SERVICE_WIDE = re.compile(r"^[a-z0-9-]+:\*$")


@pytest.fixture(scope="session", params=EVERY)
def deployment(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


def _allows(statements: list[Json]) -> list[Json]:
    return [s for s in statements if s["Effect"] == "Allow"]


def _grants(deployment: Deployment, fn: Function) -> dict[str, set[str]]:
    """What the function's role allows: resource (as ``key``) -> actions."""
    out: dict[str, set[str]] = {}
    for statement in _allows(deployment.statements_of_role(deployment.role_of(fn))):
        for resource in as_list(statement["Resource"]):
            out.setdefault(key(resource), set()).update(as_list(statement["Action"]))
    return out


def _actions(grants: dict[str, set[str]], prefix: str) -> dict[str, set[str]]:
    """Only the grants of one service's actions (``dynamodb:``), by resource."""
    found = {r: {a for a in actions if a.startswith(prefix)} for r, actions in grants.items()}
    return {r: actions for r, actions in found.items() if actions}


def _table_arn(deployment: Deployment, table_id: str) -> Json:
    return arn(deployment.tables[table_id])


def _index_arn(deployment: Deployment, table_id: str, index: str) -> Json:
    return {"Fn::Join": ["", [_table_arn(deployment, table_id), f"/index/{index}"]]}


# --- every policy ---------------------------------------------------------------------------------


def test_no_policy_allows_every_action_or_every_action_of_a_service(deployment: Deployment) -> None:
    # Given every identity policy: AWS::IAM::Policy and roles' inline policies
    documents = list(deployment.policy_documents())
    assert documents
    for name, document in documents:
        for statement in _allows(as_list(document["Statement"])):
            # Then no allow is "everything but", "*" or "<service>:*"
            assert "NotAction" not in statement, name
            for action in as_list(statement["Action"]):
                assert action != "*", name
                assert not SERVICE_WIDE.match(action), (name, action)


def test_only_the_listed_exceptions_are_allowed_on_every_resource(deployment: Deployment) -> None:
    for name, document in deployment.policy_documents():
        for statement in _allows(as_list(document["Statement"])):
            # Given an allow statement
            assert "NotResource" not in statement, name
            resources = as_list(statement["Resource"])
            # Then it names its resources, unless all its actions are listed exceptions
            if "*" in resources:
                unjustified = set(as_list(statement["Action"])) - set(WILDCARD_RESOURCE_EXCEPTIONS)
                assert not unjustified, f"{name}: {sorted(unjustified)} on Resource '*'"


def test_every_wildcard_resource_exception_is_still_used(deployment: Deployment) -> None:
    # Given the actions the templates allow on Resource "*"
    on_everything = {
        action
        for _, document in deployment.policy_documents()
        for statement in _allows(as_list(document["Statement"]))
        if "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }
    # Then the exception list holds nothing stale (SMS's only where a function sends messages)
    senders = any(fn.sends_messages for fn in deployment.system.functions)
    assert set(WILDCARD_RESOURCE_EXCEPTIONS) - ({"sns:Publish"} if not senders else set()) <= on_everything


def test_roles_carry_no_managed_policy_but_the_listed_exceptions(deployment: Deployment) -> None:
    for logical_id, role in deployment.resources("AWS::IAM::Role").items():
        for managed in role["Properties"].get("ManagedPolicyArns", []):
            # Given a managed policy attached to a role
            literal = "".join(p for p in joined(managed) if isinstance(p, str))
            name = literal.rsplit(":policy/", 1)[-1]
            # Then it is a listed exception
            assert name in MANAGED_POLICY_EXCEPTIONS, f"{logical_id}: {name}"


# --- each function's role -------------------------------------------------------------------------


def test_each_function_has_its_own_role_assumable_only_by_lambda(deployment: Deployment) -> None:
    roles = {fn.id: deployment.role_of(fn) for fn in deployment.system.functions}
    # Then no two functions share a role
    assert len(set(roles.values())) == len(roles), roles
    for fn_id, role in roles.items():
        props = deployment.props(role)
        # And only Lambda may assume it, and it has nothing but its own inline grants
        (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Effect"] == "Allow", fn_id
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}, fn_id
        assert trust["Action"] == "sts:AssumeRole", fn_id
        assert not props.get("ManagedPolicyArns"), fn_id


def _consumed(deployment: Deployment, fn: Function) -> list[str]:
    """Topology ids of the queues the function consumes."""
    return [c.queue.id for c in deployment.system.consumers if c.function == fn]


def _dead_letter(deployment: Deployment, fn: Function) -> Json | None:
    """The ARN of the queue its failed asynchronous invocations go to, if it has one."""
    _, props = deployment.function(fn)
    config = props.get("DeadLetterConfig")
    return None if config is None else dict(config["TargetArn"])


def _reasons(deployment: Deployment, fn: Function) -> dict[str, str]:
    """The services whose actions a function's role may hold, each with what in the topology justifies it."""
    reasons = {"logs": "it writes its own log group", "xray": "it is traced (Tracing: Active)"}
    if fn.tables:
        reasons["dynamodb"] = "it touches tables"
    if fn.publishes_to is not None:
        reasons["events"] = "it publishes to the bus"
    if fn.sends_to or _consumed(deployment, fn) or needs_async_dlq(deployment.system, fn):
        reasons["sqs"] = "it sends to or consumes a queue, or dead-letters its asynchronous invocations"
    if deployment.system.routes_of(fn):
        reasons["secretsmanager"] = "it serves routes, whose list cursors it signs with the stage's key"
    if fn.secrets:
        reasons["secretsmanager"] = "it reads the platform secrets it declares"
    if fn.logins:
        reasons["cognito-idp"] = "it manages logins of the stage's user pool (topology: logins)"
    if deployment.system.callees_of(fn):
        reasons["lambda"] = "it invokes functions directly (topology: invokes / invoked_by)"
    if fn.notifies:
        reasons["sns"] = "it publishes to a topic"
        reasons["kms"] = "its topics are encrypted with a key"
    if fn.timers:
        reasons["scheduler"] = "it sets one-time timers in its service's schedule group (topology: timers)"
        reasons["iam"] = "it passes the timers' role to the Scheduler (topology: timers)"
        reasons["sqs"] = "a timer already due goes straight to its queue"
    if fn.mails:
        reasons["ses"] = "it sends e-mail (topology: sends_messages, mails_staff)"
    if fn.sends_messages:
        reasons["sns"] = "it sends SMS and push (topology: sends_messages)"
    return reasons


def test_a_function_role_grants_nothing_the_topology_gives_no_reason_for(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given what the function's role allows, and the reasons the topology gives it
        granted = {a.split(":", 1)[0] for actions in _grants(deployment, fn).values() for a in actions}
        reasons = _reasons(deployment, fn)
        # Then every service it may call has a reason
        assert granted <= set(reasons), f"{fn.id}: {sorted(granted - set(reasons))} without a reason"


def test_a_function_reaches_dynamodb_only_on_its_tables_and_the_indexes_it_queries(
    deployment: Deployment,
) -> None:
    for fn in deployment.system.functions:
        # Given the tables and indexes the topology lets the function use
        allowed = set()
        for access in fn.tables:
            allowed.add(key(_table_arn(deployment, access.table.id)))
            allowed |= {key(_index_arn(deployment, access.table.id, i)) for i in access.indexes}
        # When its role's DynamoDB grants are read
        grants = _actions(_grants(deployment, fn), "dynamodb:")
        # Then they name only those tables and indexes (never "*", another table or every index)
        assert set(grants) <= allowed, f"{fn.id}: {sorted(set(grants) - allowed)}"
        # And no statement of its role mentions a table it does not touch
        others = {t for t in deployment.tables if t not in {a.table.id for a in fn.tables}}
        for statement in deployment.statements_of_role(deployment.role_of(fn)):
            for table_id in others:
                assert not mentions(statement, deployment.tables[table_id]), (fn.id, table_id)


def test_a_function_may_do_what_its_table_access_needs_and_no_more(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        grants = _actions(_grants(deployment, fn), "dynamodb:")
        for access in fn.tables:
            # Given a declared table access and what the role allows on the table
            on_table = grants.get(key(_table_arn(deployment, access.table.id)), set())
            read_only = access.access == Access.READ
            allowed = DYNAMODB_READ if read_only else DYNAMODB_READ | DYNAMODB_WRITE
            # Then it may read (and write, for read-write) the table
            assert on_table >= NEEDED_TO_READ, (fn.id, access.table.id)
            if not read_only:
                assert on_table >= NEEDED_TO_WRITE, (fn.id, access.table.id)
            # And a read-only access gets no write action, any access no other action
            assert on_table <= allowed, (fn.id, access.table.id, sorted(on_table - allowed))
            # And it may query each index it declares, and nothing else there
            for index in access.indexes:
                on_index = grants.get(key(_index_arn(deployment, access.table.id, index)), set())
                assert "dynamodb:Query" in on_index, (fn.id, index)
                assert on_index <= allowed, (fn.id, index, sorted(on_index - allowed))


def test_no_function_may_scan_or_create_delete_or_change_a_table(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given every DynamoDB action the function's role allows, wherever
        actions = {a for grants in _actions(_grants(deployment, fn), "dynamodb:").values() for a in grants}
        # Then none reads a whole table or manages one
        assert not actions & NEVER, (fn.id, sorted(actions & NEVER))


def test_a_function_may_put_events_on_the_bus_only_if_it_publishes(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given the function's EventBridge grants
        grants = _actions(_grants(deployment, fn), "events:")
        # Then a publisher may put events on the system's bus, and on nothing else; others get nothing
        if fn.publishes_to is None:
            assert grants == {}, fn.id
        else:
            assert grants == {key(arn(deployment.bus)): {"events:PutEvents"}}, fn.id


def test_a_function_may_write_logs_only_to_its_own_log_group(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given the function's log group and its role's CloudWatch Logs grants
        own = key(arn(deployment.log_group_of(fn)))
        grants = _actions(_grants(deployment, fn), "logs:")
        # Then it may create streams and put events there, and nowhere else (no CreateLogGroup on "*")
        assert grants == {own: LOG_ACTIONS}, fn.id


def test_a_function_may_send_to_and_consume_only_the_queues_it_declares(deployment: Deployment) -> None:
    queues = deployment.by_id_tag("AWS::SQS::Queue")
    for fn in deployment.system.functions:
        # Given the queues the topology says the function sends to and consumes, and its DLQ
        expected: dict[str, set[str]] = {}
        for queue in (*fn.sends_to, *(t.target for t in fn.timers)):
            expected.setdefault(key(arn(queues[queue.id])), set()).add("sqs:SendMessage")
        for queue_id in _consumed(deployment, fn):
            expected.setdefault(key(arn(queues[queue_id])), set()).update(CONSUME_ACTIONS)
        if (dead_letter := _dead_letter(deployment, fn)) is not None:
            expected.setdefault(key(dead_letter), set()).add("sqs:SendMessage")
        # Then its role's SQS grants are exactly those
        assert _actions(_grants(deployment, fn), "sqs:") == expected, fn.id


def test_a_function_may_publish_only_to_the_topics_it_declares_with_their_key(deployment: Deployment) -> None:
    topics = deployment.by_id_tag("AWS::SNS::Topic")
    for fn in deployment.system.functions:
        # Given the topics the topology says the function publishes to
        grants = _grants(deployment, fn)
        declared = {key(ref(topics[t.id])) for t in fn.notifies}
        keys = {key(deployment.props(topics[t.id])["KmsMasterKeyId"]) for t in fn.notifies}
        sns = _actions(grants, "sns:")
        if fn.sends_messages:  # and its SMS and push, pinned by test_channels_template.py
            sns = {r: actions for r, actions in sns.items() if r in declared}
        # Then it may publish there and nowhere else, and use only their key, to encrypt
        assert sns == {topic: {"sns:Publish"} for topic in declared}, fn.id
        assert _actions(grants, "kms:") == {k: set(TOPIC_KEY_ACTIONS) for k in keys}, fn.id


def test_a_schedule_may_reach_only_its_target_and_its_dead_letter_queue(deployment: Deployment) -> None:
    schedules = [r["Properties"] for r in deployment.resources("AWS::Scheduler::Schedule").values()]
    assert len(schedules) == len(deployment.system.schedules)
    queues = deployment.by_id_tag("AWS::SQS::Queue")
    for schedule in deployment.system.schedules:
        # Given a declared schedule, its target and the role it invokes the target with
        (target,) = (s["Target"] for s in schedules if s["Name"].endswith(f"-{schedule.id}"))
        if schedule.target in deployment.system.functions:
            target_arn, action = arn(deployment.functions[schedule.target.id]), "lambda:InvokeFunction"
        else:
            target_arn, action = arn(queues[schedule.target.id]), "sqs:SendMessage"
        role = target["RoleArn"]["Fn::GetAtt"][0]
        statements = _allows(deployment.statements_of_role(role))
        granted = {key(r): set(as_list(s["Action"])) for s in statements for r in as_list(s["Resource"])}
        # Then the schedule calls its target, and its role may do that and dead-letter, nothing else
        assert target["Arn"] == target_arn, schedule.id
        assert granted == {
            key(target_arn): {action},
            key(target["DeadLetterConfig"]["Arn"]): {"sqs:SendMessage"},
        }, schedule.id
        (trust,) = deployment.props(role)["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}, schedule.id
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}


def test_timers_are_delivered_only_by_the_scheduler_of_this_account_and_their_group(
    deployment: Deployment,
) -> None:
    groups = {
        deployment.props(logical)["Name"]: logical
        for logical in deployment.resources("AWS::Scheduler::ScheduleGroup")
    }
    queues = deployment.by_id_tag("AWS::SQS::Queue")
    for timers in deployment.system.timers:
        # Given a service's timers: their schedule group, and the role their schedules run with
        group = groups[f"{deployment.stage.stage_id}-{timers.id}"]
        (role,) = [
            logical
            for logical, resource in deployment.resources("AWS::IAM::Role").items()
            if str(resource["Properties"].get("Description", "")).startswith(f"timers {timers.id}:")
        ]
        # Then only the Scheduler may assume the role, for this account and from this group only
        # (the Scheduler's guide: aws:SourceArn is the schedule group's ARN, never a schedule's)
        (trust,) = deployment.props(role)["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}, timers.id
        assert trust["Action"] == "sts:AssumeRole", timers.id
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
            "ArnEquals": {"aws:SourceArn": arn(group)},
        }, timers.id
        # and it may send to the target queue and the timers' DLQ, nothing else
        statements = _allows(deployment.statements_of_role(role))
        granted = {key(r): set(as_list(s["Action"])) for s in statements for r in as_list(s["Resource"])}
        assert granted == {
            key(arn(queues[timers.target.id])): {"sqs:SendMessage"},
            key(arn(queues[timers.dlq_id])): {"sqs:SendMessage"},
        }, timers.id
        assert deployment.props(queues[timers.dlq_id])["MessageRetentionPeriod"] == 14 * 24 * 3600
        for fn in deployment.system.functions:
            # And a function passes the role only if it sets these timers, and only to the Scheduler
            passes = [
                s
                for s in _allows(deployment.statements_of_role(deployment.role_of(fn)))
                if "iam:PassRole" in as_list(s["Action"])
                and key(arn(role)) in map(key, as_list(s["Resource"]))
            ]
            if timers not in fn.timers:
                assert passes == [], (fn.id, timers.id)
                continue
            assert [s["Condition"] for s in passes] == [
                {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
            ], fn.id


def test_a_function_role_is_attached_only_to_its_own_policies(deployment: Deployment) -> None:
    # Given the function roles
    roles = {deployment.role_of(fn) for fn in deployment.system.functions}
    for name, resource in deployment.resources("AWS::IAM::Policy").items():
        attached = [r for r in resource["Properties"].get("Roles", []) if r in [ref(x) for x in roles]]
        # Then a policy that applies to a function's role applies to that role alone
        assert len(attached) <= 1, name
        assert not resource["Properties"].get("Users"), name
        assert not resource["Properties"].get("Groups"), name


# --- direct invocations ---------------------------------------------------------------------------


def test_a_function_may_invoke_exactly_the_functions_the_topology_lets_it(deployment: Deployment) -> None:
    for fn in deployment.system.functions:
        # Given the functions the topology lets it invoke directly
        callees = deployment.system.callees_of(fn)
        expected = {key(arn(deployment.functions[c.id])): {"lambda:InvokeFunction"} for c in callees}
        # Then its role may invoke those, by their unqualified ARNs, and no other function
        assert _actions(_grants(deployment, fn), "lambda:") == expected, fn.id


def test_a_directly_invoked_function_is_reachable_only_by_its_declared_callers(
    deployment: Deployment,
) -> None:
    system = deployment.system
    callees = {c for _, c in system.invocations}
    if deployment.label == "probe":
        assert {c.id for c in callees} >= {"probe-callee"}  # the rule below cannot pass vacuously there
    for callee in callees:
        # Given the callee's function and the roles of the callers the topology names
        logical_id = deployment.functions[callee.id]
        callers = {deployment.role_of(c) for c in system.callers_of(callee)}
        # When every identity policy that allows invoking it is read
        holders: set[str] = set()
        for name, resource in deployment.resources("AWS::IAM::Policy").items():
            for statement in _allows(as_list(resource["Properties"]["PolicyDocument"]["Statement"])):
                if any(a.startswith("lambda:") for a in as_list(statement["Action"])) and mentions(
                    statement["Resource"], logical_id
                ):
                    holders |= {r["Ref"] for r in resource["Properties"].get("Roles", [])}
                    assert not resource["Properties"].get("Users"), name
                    assert not resource["Properties"].get("Groups"), name
        for role_id, role in deployment.resources("AWS::IAM::Role").items():
            for inline in role["Properties"].get("Policies", []):
                assert not mentions(inline["PolicyDocument"], logical_id), (role_id, callee.id)
        # Then exactly the declared callers' roles may
        assert holders == callers, callee.id


def test_no_resource_based_policy_opens_a_directly_invoked_function(deployment: Deployment) -> None:
    # Given the functions invoked directly (and those that name callers not declared yet)
    system = deployment.system
    callees = {c.id for _, c in system.invocations} | {f.id for f in system.functions if f.invoked_by}
    for name, resource in deployment.resources("AWS::Lambda::Permission").items():
        # Then no Lambda permission (API Gateway's, a service's, another account's) names one of them
        assert deployment.function_of_target(resource["Properties"]["FunctionName"]) not in callees, name
