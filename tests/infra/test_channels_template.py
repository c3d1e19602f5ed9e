"""The channels a campaign sends on, in the templates: SES's configuration set, who may send
e-mail, SMS and push and on what, and what the sender is told of them (``infra/stacks/sending.py``).

The real stages have no push application and an SES identity made out of band; a small stack
of its own pins the grants on configured platform applications and the identity the stack owns.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.config import STAGES
from infra.stacks.api import UserDirectory
from infra.stacks.sending import Sending, endpoints_of, grant_sending
from services.campaigns.topology import SENDER
from services.feedback.topology import DIGEST
from tests.infra.deployments import Deployment, as_list, joined, ref

pytestmark = pytest.mark.infra
Json = dict[str, Any]
IOS = "arn:aws:sns:ap-northeast-2:123456789012:app/APNS/dangol-ios"
ANDROID = "arn:aws:sns:ap-northeast-2:123456789012:app/GCM/dangol-android"


def _text(value: Any) -> str:
    """A template string value with its intrinsics spelled out (``{"Ref": ...}`` as JSON)."""
    return "".join(p if isinstance(p, str) else json.dumps(p, sort_keys=True) for p in joined(value))


def _statements(deployment: Deployment, fn_id: str) -> list[Json]:
    fn = deployment.system.function(fn_id)
    return [s for s in deployment.statements_of_role(deployment.role_of(fn)) if s["Effect"] == "Allow"]


def _resources_of(statements: list[Json], action: str) -> set[str]:
    return {_text(r) for s in statements if action in as_list(s["Action"]) for r in as_list(s["Resource"])}


def test_the_configuration_set_suppresses_bounces_and_complaints_over_tls_with_reputation_metrics(
    stage: Deployment,
) -> None:
    # Given the stage's one SES configuration set
    _, config_set = stage.only("AWS::SES::ConfigurationSet")
    props = config_set["Properties"]
    # Then SES refuses addresses that bounced or complained, sends only over TLS, and keeps metrics
    assert set(props["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}
    assert props["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert props["ReputationOptions"]["ReputationMetricsEnabled"] is True
    # And the identity was verified out of band (the default): the stack makes none
    assert not stage.resources("AWS::SES::EmailIdentity")


def test_only_the_functions_that_send_messages_may_send_mail_or_sms(stage: Deployment) -> None:
    senders = {fn.id for fn in stage.system.functions if fn.sends_messages}
    mailers = {fn.id for fn in stage.system.functions if fn.mails}
    assert senders == {SENDER.id}
    assert mailers == {SENDER.id, DIGEST.id}
    for fn in stage.system.functions:
        # Given what each function's role allows
        statements = _statements(stage, fn.id)
        actions = {a for s in statements for a in as_list(s["Action"])}
        # Then only the sender and the digest may send e-mail (raw or not), and only the sender may
        # publish on "*" (an SMS): the digest mails staff, nothing else
        assert ("ses:SendRawEmail" in actions) == (fn.id in mailers), fn.id
        assert ("ses:SendEmail" in actions) == (fn.id in mailers), fn.id
        assert ("*" in _resources_of(statements, "sns:Publish")) == (fn.id in senders), fn.id
        assert not {a for a in actions if a.startswith("ses:")} - {"ses:SendEmail", "ses:SendRawEmail"}
        # And nobody may make platform endpoints: the real stages configure no push application
        assert "sns:CreatePlatformEndpoint" not in actions, fn.id


def test_the_sender_may_send_mail_only_as_the_stages_identity_in_its_configuration_set(
    stage: Deployment,
) -> None:
    # Given the sender's SES grants and the stage's configuration set
    statements = _statements(stage, SENDER.id)
    config_set, _ = stage.only("AWS::SES::ConfigurationSet")
    account = json.dumps({"Ref": "AWS::AccountId"}, sort_keys=True)
    partition = json.dumps({"Ref": "AWS::Partition"}, sort_keys=True)
    ses = f"arn:{partition}:ses:{stage.stage.region}:{account}"
    expected = {
        f"{ses}:identity/{stage.stage.ses_identity}",
        f"{ses}:configuration-set/{json.dumps(ref(config_set), sort_keys=True)}",
    }
    # Then both send actions name that identity and that set, and nothing else
    for action in ("ses:SendEmail", "ses:SendRawEmail"):
        assert _resources_of(statements, action) == expected, action
    # And it publishes SMS on "*" (no narrower resource exists) and nothing else of SNS
    assert _resources_of(statements, "sns:Publish") == {"*"}


def test_the_sender_is_told_the_stages_channels(stage: Deployment) -> None:
    # Given the sender's environment
    _, props = stage.function(SENDER)
    env = props["Environment"]["Variables"]
    config_set, _ = stage.only("AWS::SES::ConfigurationSet")
    # Then it sends as the stage's campaign sender, in the stack's configuration set, with the
    # stage's push applications (none configured)
    assert env["EMAIL_SENDER"] == stage.stage.campaign_sender
    assert env["EMAIL_CONFIGURATION_SET"] == ref(config_set)
    assert json.loads(env["PUSH_APPLICATIONS"]) == dict(stage.stage.push_applications)
    # And no other function is told of them, but the digest, of the e-mail sender and set alone
    for fn in stage.system.functions:
        if fn != SENDER:
            _, other = stage.function(fn)
            variables = other["Environment"]["Variables"]
            assert "PUSH_APPLICATIONS" not in variables, fn.id
            assert ("EMAIL_SENDER" in variables) == (fn == DIGEST), fn.id


# --- what the real stages do not configure: push applications, an identity the stack owns -------


def test_the_sender_may_make_endpoints_of_and_publish_to_its_push_applications_only() -> None:
    # Given a function granted the channels of a stage with an iOS and an Android application
    stack = Stack(App(), "Channels", env={"account": "123456789012", "region": "ap-northeast-2"})
    function = lambda_.Function(
        stack,
        "Sender",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    sending = Sending(
        sender="news@dangol.example",
        identity="dangol.example",
        configuration_set="dangol-dev",
        push_applications={"ios": IOS, "android": ANDROID},
    )
    grant_sending(function, SENDER, sending)
    # When the policy is read
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    # Then it may make endpoints on those two applications, and publish to their endpoints only
    assert set(as_list(statements["PushEndpoints"]["Resource"])) == {IOS, ANDROID}
    assert as_list(statements["PushEndpoints"]["Action"]) == ["sns:CreatePlatformEndpoint"]
    assert set(as_list(statements["Push"]["Resource"])) == {
        "arn:aws:sns:ap-northeast-2:123456789012:endpoint/APNS/dangol-ios/*",
        "arn:aws:sns:ap-northeast-2:123456789012:endpoint/GCM/dangol-android/*",
    }
    assert as_list(statements["Push"]["Action"]) == ["sns:Publish"]
    assert endpoints_of(IOS).endswith(":endpoint/APNS/dangol-ios/*")


def test_a_stage_may_let_the_stack_own_its_domain_identity_with_dkim() -> None:
    # Given a stage whose SES identity the stack creates
    stage = replace(STAGES[0], ses_identity_in_stack=True)
    stack = Stack(App(), "Users")
    UserDirectory(stack, "Users", stage)
    template = Template.from_stack(stack)
    # Then the domain is an identity signed with Easy DKIM, in the stage's configuration set
    (identity,) = template.find_resources("AWS::SES::EmailIdentity").values()
    props = identity["Properties"]
    assert props["EmailIdentity"] == stage.ses_identity
    assert props["DkimAttributes"]["SigningEnabled"] is True
    assert props["DkimSigningAttributes"]["NextSigningKeyLength"] == "RSA_2048_BIT"
    (config_set_id,) = template.find_resources("AWS::SES::ConfigurationSet")
    assert props["ConfigurationSetAttributes"]["ConfigurationSetName"] == ref(config_set_id)
    # And the user pool, which mails from it, is created after it
    (pool,) = template.find_resources("AWS::Cognito::UserPool").values()
    (identity_id,) = template.find_resources("AWS::SES::EmailIdentity")
    assert identity_id in pool.get("DependsOn", [])


@pytest.mark.parametrize(
    ("push", "problem"),
    [
        ((("ios", "arn:aws:sns:us-east-1:123456789012:app/APNS/x"),), "in ap-northeast-2"),
        ((("ios", "arn:aws:sns:ap-northeast-2:123456789012:topic"),), "platform application"),
        ((("pager", IOS),), "at most one of each"),
        ((("ios", IOS), ("ios", IOS)), "at most one of each"),
    ],
)
def test_a_stage_takes_only_platform_applications_of_its_region(
    push: tuple[tuple[str, str], ...], problem: str
) -> None:
    # Given a stage with a push application that is not one of its region's, or twice a platform
    # Then it is refused, saying why
    with pytest.raises(ValueError, match=problem):
        replace(STAGES[0], push_applications=push)


def test_the_campaigns_sender_is_an_address_of_the_stages_identity() -> None:
    # Given a campaign sender on another domain
    # Then the stage is refused; by default the campaigns send as the pool's sender
    with pytest.raises(ValueError, match="campaign_mail_from"):
        replace(STAGES[0], campaign_mail_from="news@elsewhere.example")
    assert STAGES[0].campaign_sender == STAGES[0].mail_from
