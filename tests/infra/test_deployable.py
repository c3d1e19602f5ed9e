"""What a real deploy into a real (possibly new) AWS account needs, pinned in the templates.

None of this can fail locally (moto has no WAF, no Cognito mail quota, no account concurrency
quota, no global Cognito domains): each test reads the AWS behaviour it guards from the
template, with the service's documented rule in its comment.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.config import STAGES
from infra.stacks.api import PLANS
from tests.infra.deployments import Deployment, arn, joined, ref

pytestmark = pytest.mark.infra
Json = dict[str, Any]


# --- mail: the user pool sends through SES, not Cognito's 50-a-day sender ------------------------


def test_the_user_pool_mails_through_the_stages_ses_identity_and_configuration_set(stage: Deployment) -> None:
    # Given the user pool's e-mail configuration and the stage's SES settings
    config = stage.stage
    email = stage.props(stage.user_pool)["EmailConfiguration"]
    # Then Cognito sends with our SES account (DEVELOPER), not its own sender (about 50 a day)
    assert email["EmailSendingAccount"] == "DEVELOPER"
    # From the stage's sender, on the stage's verified identity in the stage's region
    assert email["From"].endswith(f"<{config.mail_from}>")
    source = "".join(p if isinstance(p, str) else json.dumps(p) for p in joined(email["SourceArn"]))
    assert source.endswith(
        f":ses:{config.region}:" + json.dumps({"Ref": "AWS::AccountId"}) + f":identity/{config.ses_identity}"
    )
    # And through the configuration set the stack creates for the stage (campaigns will use it too)
    (config_set_id, config_set) = stage.only("AWS::SES::ConfigurationSet")
    assert email["ConfigurationSet"] == ref(config_set_id)
    assert config_set["Properties"]["Name"] == config.ses_configuration_set
    # which drops addresses that bounced or complained (SES's reputation depends on it)
    assert set(config_set["Properties"]["SuppressionOptions"]["SuppressedReasons"]) == {"BOUNCE", "COMPLAINT"}


# --- Cognito: the plan is chosen on purpose ------------------------------------------------------


def test_the_user_pool_runs_the_plan_the_stage_chose_and_threat_protection_only_with_plus(
    stage: Deployment,
) -> None:
    # Given the stage's chosen plan
    props = stage.props(stage.user_pool)
    plan = stage.stage.cognito_plan
    # Then the pool is on it (the plan sets the price per monthly active user: README)
    assert props["UserPoolTier"] == plan
    assert plan in PLANS
    # And threat protection, which only the Plus plan has, is on exactly when the plan is Plus
    threat = props.get("UserPoolAddOns", {}).get("AdvancedSecurityMode", "OFF")
    assert (threat == "ENFORCED") == (plan == "PLUS")


def test_every_stage_chose_its_cognito_plan_and_none_pays_for_plus_by_default() -> None:
    # Plus with threat protection costs about $0.02 per monthly active user ($60k a month at 3M);
    # it must be a stage's explicit choice, and the shipped stages do not make it.
    assert [s.cognito_plan for s in STAGES] == ["LITE"] * len(STAGES)


# --- names: unique where AWS needs them unique ----------------------------------------------------


def test_the_cognito_domain_is_unique_across_accounts(stage: Deployment) -> None:
    # Given the user pool's domain (prefixes are global across every account of the region)
    _, resource = stage.only("AWS::Cognito::UserPoolDomain")
    domain = resource["Properties"]["Domain"]
    # Then it is the configured one, or it carries the account id (resolved at deploy time)
    if stage.stage.auth_domain_prefix:
        assert domain == stage.stage.auth_domain_prefix
    else:
        assert joined(domain) == [f"{stage.stage.stage_id}-", {"Ref": "AWS::AccountId"}]


NAME_PROPERTIES = ("Name", "EventBusName", "ConfigurationSetName", "FunctionName", "QueueName", "TopicName")


def test_every_name_we_set_carries_the_stage_so_two_stages_share_an_account_without_clashing(
    stage: Deployment,
) -> None:
    # Given every physical name the template sets as a plain string (the rest are CloudFormation's)
    named = {
        (logical_id, key): value
        for logical_id, resource in stage.template["Resources"].items()
        for key, value in resource.get("Properties", {}).items()
        if key in NAME_PROPERTIES
        and isinstance(value, str)
        # names scoped inside their parent (an alias of a function, a pool's resource server)
        and resource["Type"] not in {"AWS::Lambda::Alias", "AWS::Cognito::UserPoolResourceServer"}
    }
    assert named
    for where, name in named.items():
        # Then each carries the stage id
        assert stage.stage.stage_id in name, (where, name)


def test_no_stage_owns_an_account_wide_singleton(stage: Deployment) -> None:
    # API Gateway's CloudWatch role is one setting per account and region: the account stack owns
    # it (infra/stacks/account.py); a stage that set it would take it away when dev is deleted.
    assert not stage.resources("AWS::ApiGateway::Account")
    assert not stage.resources("AWS::IAM::OIDCProvider")
    assert "AWS::IAM::OIDCProvider" not in json.dumps(stage.template)


# --- alarms reach someone -------------------------------------------------------------------------


def test_the_alarm_topic_mails_the_stages_on_call_address_and_keeps_what_it_could_not_deliver(
    stage: Deployment,
) -> None:
    # Given the alarm topic (the one every alarm notifies) and its subscriptions
    targets = {
        json.dumps(a, sort_keys=True)
        for r in stage.resources("AWS::CloudWatch::Alarm").values()
        for a in r["Properties"]["AlarmActions"]
    }
    (topic,) = (json.loads(t)["Ref"] for t in targets)
    subscriptions = [
        s["Properties"]
        for s in stage.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == ref(topic)
    ]
    # Then one mails the stage's configured address
    (mail,) = subscriptions
    assert (mail["Protocol"], mail["Endpoint"]) == ("email", stage.stage.alarm_email)
    # And what SNS could not deliver waits in a queue (whose own alarm notifies the topic)
    dlq = mail["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert stage.template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"


# --- concurrency: nothing a new account cannot give -----------------------------------------------


def test_no_function_reserves_concurrency(stage: Deployment) -> None:
    # A new account's Lambda concurrency quota can be 10, and Lambda keeps 10 unreserved: any
    # reservation fails the stack there. Scheduled jobs run alone by a lease instead (shared/jobs.py).
    for logical_id, resource in stage.resources("AWS::Lambda::Function").items():
        assert "ReservedConcurrentExecutions" not in resource["Properties"], logical_id


def test_every_queue_consumer_is_capped_so_a_backlog_cannot_take_the_apis_concurrency(
    stage: Deployment,
) -> None:
    # Given every SQS event source mapping
    mappings = [r["Properties"] for r in stage.resources("AWS::Lambda::EventSourceMapping").values()]
    assert len(mappings) == len(stage.system.consumers)
    caps = []
    for mapping in mappings:
        # Then each caps the functions its poller may run at once (SQS's MaximumConcurrency, 2..1000)
        cap = mapping["ScalingConfig"]["MaximumConcurrency"]
        assert 2 <= cap <= 1000, mapping
        caps.append(cap)
    # And together they leave at least half of the account's concurrency to the API and the jobs
    assert sum(caps) <= stage.stage.account_concurrency // 2, sum(caps)


# --- the deployment's source: no plaintext secret --------------------------------------------------


def test_no_secret_value_is_in_any_function_environment(stage: Deployment) -> None:
    for logical_id, resource in stage.resources("AWS::Lambda::Function").items():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for name, value in variables.items():
            # Then no variable holds a key, a dynamic reference or anything secret-like
            assert not re.search(r"(KEY|SECRET|TOKEN|PASSWORD)$", name) or name.endswith("_ARN"), name
            assert "{{resolve:" not in json.dumps(value), (logical_id, name)


def test_the_api_stage_is_guarded_by_the_web_acl_and_uses_the_pools_arn(stage: Deployment) -> None:
    # (a cheap check that the body's variables point at the platform's resources)
    _, variables = stage.api_body
    assert variables["UserPoolArn"] == arn(stage.user_pool)
