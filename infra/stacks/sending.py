"""What a function that sends messages to customers (``Function.sends_messages``) is given and may
do: e-mail through SES v2 from the stage's sender in the stage's configuration set, SMS through
SNS to phone numbers, push through the stage's SNS platform applications.

Its role gets one policy of its own (``<function>-sending``), nothing else does:

- ``ses:SendEmail`` and ``ses:SendRawEmail`` on the sender's identity (the stage's domain) and
  the configuration set, and nowhere else: SES authorizes a send against both.
- ``sns:Publish`` to phone numbers on ``"*"``: SNS's ``Publish`` has one resource type, the topic
  (a platform endpoint is named by its ARN); a phone number is none, so IAM evaluates the call
  against ``"*"``, and none of SNS's condition keys (``sns:Endpoint``, ``sns:Protocol``) applies
  to ``Publish`` (Service Authorization Reference, "Actions, resources, and condition keys for
  Amazon SNS"; the SNS Developer Guide's "Getting started with Amazon SNS SMS access management").
  So the statement cannot be narrowed; it is acknowledged on this policy alone.
- ``sns:CreatePlatformEndpoint`` on each configured platform application and ``sns:Publish`` on
  its endpoints (``endpoint/<platform>/<application>/*``: an endpoint's id is SNS's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

from infra.config import PLATFORM_APPLICATION_ARN
from infra.environment import messaging_environment
from infra.stacks.nag import acknowledge, waive_checkov
from shared.topology import Function

SES_SEND_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
SMS_REASON = (
    "SMS to a phone number: SNS's Publish has no resource type but the topic, and no condition key"
    " narrows a publish to a phone number, so IAM evaluates it against '*' (Service Authorization"
    " Reference, Amazon SNS: Publish; SNS Developer Guide, SMS access management). Only the"
    " functions that send messages (topology: sends_messages) get it, in this policy alone."
)


@dataclass(frozen=True)
class Sending:
    """The stage's channels: the sender and its SES identity (a domain), the configuration set's
    name (a reference to the one the stack creates, so senders depend on it) and the SNS platform
    applications by platform (ios, android, web)."""

    sender: str
    identity: str
    configuration_set: str
    push_applications: Mapping[str, str]

    @property
    def environment(self) -> dict[str, str]:
        return messaging_environment(
            sender=self.sender,
            configuration_set=self.configuration_set,
            push_applications=self.push_applications,
        )


def endpoints_of(application_arn: str) -> str:
    """The ARNs of a platform application's endpoints: ``...:app/GCM/x`` -> ``...:endpoint/GCM/x/*``."""
    found = PLATFORM_APPLICATION_ARN.match(application_arn)
    if found is None:
        raise ValueError(f"{application_arn} is not an SNS platform application ARN")
    head = application_arn[: found.start("platform") - len("app/")]
    return f"{head}endpoint/{found['platform']}/{found['name']}/*"


def grant_sending(function: lambda_.Function, fn: Function, sending: Sending) -> iam.Policy:
    """The sender's policy (see the module); the function depends on it as on its default policy."""
    stack = Stack.of(function)
    ses_arn = f"arn:{stack.partition}:ses:{stack.region}:{stack.account}"
    statements = [
        iam.PolicyStatement(
            sid="Email",
            actions=list(SES_SEND_ACTIONS),
            resources=[
                f"{ses_arn}:identity/{sending.identity}",
                f"{ses_arn}:configuration-set/{sending.configuration_set}",
            ],
        ),
    ]
    sms = fn.sends_messages  # staff mail (Function.mails_staff) is e-mail only: no SMS, no push
    applications = sorted(sending.push_applications.values()) if sms else []
    if sms:
        statements.append(iam.PolicyStatement(sid="Sms", actions=["sns:Publish"], resources=["*"]))
    if applications:
        statements += [
            iam.PolicyStatement(
                sid="PushEndpoints", actions=["sns:CreatePlatformEndpoint"], resources=applications
            ),
            iam.PolicyStatement(
                sid="Push", actions=["sns:Publish"], resources=[endpoints_of(a) for a in applications]
            ),
        ]
    assert function.role is not None
    policy = iam.Policy(function, "Sending", statements=statements)
    policy.attach_to_role(function.role)
    if sms:
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", SMS_REASON)
        waive_checkov(policy, "CKV_AWS_111", SMS_REASON)
        waive_checkov(policy, "CKV_AWS_355", SMS_REASON)
    for application in applications:
        acknowledge(
            policy,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::{endpoints_of(application)}]",
            f"{fn.id} publishes to the endpoints of {application} (one per device token, made on first"
            " use, named by SNS): the application's endpoints, and no other's.",
        )
    cfn_function = function.node.default_child
    default_policy = function.role.node.try_find_child("DefaultPolicy")
    if isinstance(cfn_function, CfnResource) and default_policy is not None:
        # make_function keeps the function's DependsOn to its default policy only; this one joins it.
        depends = [_logical_id(stack, default_policy), _logical_id(stack, policy)]
        cfn_function.add_override("DependsOn", depends)
    return policy


def _logical_id(stack: Stack, construct: IConstruct) -> str:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return stack.get_logical_id(resource)
