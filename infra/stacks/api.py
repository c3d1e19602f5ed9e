"""The user directory and the REST API in front of every service.

The API is defined by ONE OpenAPI document generated from the topology (``infra/openapi.py``):
the routes, models and roles the local ``/openapi.json`` serves, with API Gateway's integration,
authorizer, validator, CORS and gateway-response extensions. Its routes, preflights and error
answers are part of the API's body, not CloudFormation resources, and each function that serves
routes gets one invoke permission (not one per route): the stack stays small as services are
added. The API depends on the functions (their invocation ARNs), never the reverse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from aws_cdk import Aws, Fn, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra import openapi
from infra.config import StageConfig
from infra.stacks import waf
from infra.stacks.functions import LOGS_HOLD_NO_PERSONAL_DATA, retention
from infra.stacks.nag import acknowledge, waive_checkov
from shared.auth import HUMAN_ROLES, MACHINE_SCOPE
from shared.topology import Function, System

RESOURCE_SERVER, MACHINE_SCOPE_NAME = MACHINE_SCOPE.split("/")
PLANS = {
    "LITE": cognito.FeaturePlan.LITE,
    "ESSENTIALS": cognito.FeaturePlan.ESSENTIALS,
    "PLUS": cognito.FeaturePlan.PLUS,
}


def auth_domain_prefix(stage: StageConfig) -> str:
    """The Cognito domain prefix, unique across every AWS account of the region: the configured
    one, or ``dangol-<stage>-<account id>`` (resolved at deploy time)."""
    return stage.auth_domain_prefix or f"{stage.stage_id}-{Aws.ACCOUNT_ID}"


class UserDirectory(Construct):
    """The Cognito user pool: one group per role, an app client and a machine client; its mail
    goes through the stage's SES identity and configuration set."""

    def __init__(self, scope: Construct, construct_id: str, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.mail = ses.ConfigurationSet(
            self,
            "Mail",
            configuration_set_name=stage.ses_configuration_set,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,  # customers' mail never in clear text
        )
        # The domain identity, when the stage lets the stack own it (Easy DKIM: SES makes the keys,
        # the zone publishes the three CNAMEs); else it was verified out of band. Either way its
        # name is the stage's domain: the pool's and the campaigns' sender are on it.
        self.identity: ses.EmailIdentity | None = None
        if stage.ses_identity_in_stack:
            self.identity = ses.EmailIdentity(
                self,
                "Identity",
                identity=ses.Identity.domain(stage.ses_identity),
                dkim_identity=ses.DkimIdentity.easy_dkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
                dkim_signing=True,
                configuration_set=self.mail,
            )
        plus = stage.cognito_plan == "PLUS"
        self.pool = cognito.UserPool(
            self,
            "Pool",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            email=cognito.UserPoolEmail.with_ses(
                from_email=stage.mail_from,
                from_name=stage.mail_from_name,
                ses_region=stage.region,
                ses_verified_domain=stage.ses_identity,
                configuration_set_name=self.mail.configuration_set_name,
            ),
            feature_plan=PLANS[stage.cognito_plan],
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION
            if plus
            else None,
            deletion_protection=stage.prod,
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
        )
        if self.identity is not None:
            self.pool.node.add_dependency(self.identity)
        acknowledge(
            self.pool,
            "AwsSolutions::AwsSolutions-COG2",
            "Customers sign up from the consumer app; MFA is offered (TOTP) but not forced on them.",
        )
        if not plus:
            acknowledge(
                self.pool,
                "AwsSolutions::AwsSolutions-COG8",
                f"Threat protection needs the Plus plan (about $0.02 per monthly active user, $60k a month"
                f" at 3M); the stage runs the {stage.cognito_plan} plan on purpose (README: Cognito plan).",
            )
        for role in HUMAN_ROLES.values():  # a machine is a client, not a user in a group
            cognito.CfnUserPoolGroup(
                self, f"Group-{role.value}", user_pool_id=self.pool.user_pool_id, group_name=role.value
            )
        machine_scope = cognito.ResourceServerScope(
            scope_name=MACHINE_SCOPE_NAME, scope_description="Store and POS systems"
        )
        server = self.pool.add_resource_server(
            "Api",
            identifier=RESOURCE_SERVER,
            scopes=[machine_scope],
            user_pool_resource_server_name="dangol API",
        )
        self.pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=auth_domain_prefix(stage))
        )
        self.app_client = self.pool.add_client(
            "App",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            disable_o_auth=True,  # the apps sign in with SRP; no hosted-UI grants, no placeholder callback
        )
        self.machine_client = self.pool.add_client(
            "Machine",
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                scopes=[cognito.OAuthScope.resource_server(server, machine_scope)],
            ),
        )


USER_POOL_VARIABLE = "UserPoolArn"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _variable(function_id: str) -> str:
    """The ``Fn::Sub`` variable of a function's invocation ARN (``profile-api`` -> ``FnProfileApi``)."""
    return "Fn" + "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]", function_id) if word)


def body_text(body: openapi.Json, variables: set[str]) -> str:
    """The document as one compact JSON string for ``Fn::Sub``: CloudFormation takes the body as a
    string too, and compact text is half the size of the nested object CDK would indent (the
    template limit is 1 MB). Every ``${...}`` in it must be one of ours or a pseudo parameter."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    allowed = variables | {"AWS::Partition", "AWS::Region"}
    if stray := {m for m in _PLACEHOLDER.findall(text) if m not in allowed}:
        raise ValueError(
            f"the OpenAPI document contains ${{...}} that are not its variables: {sorted(stray)}"
        )
    return text


@dataclass(frozen=True)
class Entry:
    """How API Gateway reaches a function that serves routes: its live alias (SnapStart) or the
    function itself."""

    function: Function
    target: lambda_.IFunction


class Api(Construct):
    """The REST API from the topology's OpenAPI document, its stage, WAF and invoke permissions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        stage: StageConfig,
        *,
        system: System,
        users: UserDirectory,
        entries: dict[str, Entry],
        served: openapi.Json | None = None,
    ) -> None:
        """``entries``: function id -> how to invoke it, for every function that serves routes.
        ``served``: the 3.1 document (default: built from the handler modules, ``openapi.document``)."""
        super().__init__(scope, construct_id)
        self.body = openapi.for_api_gateway(
            system,
            served if served is not None else openapi.document(system),
            openapi.Gateway(
                invoke_arn=lambda fn: "${" + _variable(fn.id) + "}",
                user_pool_arn="${" + USER_POOL_VARIABLE + "}",
                cors_origin=stage.cors_origin,
                partition="${AWS::Partition}",
                region="${AWS::Region}",
            ),
            title=stage.stage_id,
        )
        variables = {_variable(fid): entry.target.function_arn for fid, entry in entries.items()}
        variables[USER_POOL_VARIABLE] = users.pool.user_pool_arn
        definition = Fn.sub(body_text(self.body, set(variables)), variables)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(stage.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.SpecRestApi(
            self,
            "Rest",
            # CDK takes an inline document as an object only: the string is set on the resource below.
            api_definition=apigw.ApiDefinition.from_inline({"openapi": "3.0.1", "paths": {}}),
            rest_api_name=stage.stage_id,
            description="dangol CRM API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # With a body, API Gateway takes the endpoint type from this import parameter.
            parameters={"endpointConfigurationTypes": "REGIONAL"},
            # The account's API Gateway logging role belongs to the account stack, not to a stage.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=stage.name,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=stage.api_rate_limit,
                throttling_burst_limit=stage.api_burst_limit,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
            ),
        )
        cfn_api = self.rest_api.node.default_child
        assert isinstance(cfn_api, apigw.CfnRestApi)
        cfn_api.add_property_override("Body", definition)
        # A new deployment whenever the document changes (its routes, models or targets).
        self.rest_api.latest_deployment.add_to_logical_id(definition)  # type: ignore[union-attr]
        acknowledge(
            self.rest_api,
            "AwsSolutions::AwsSolutions-APIG2",
            "API Gateway validates the required Authorization header and path parameters; bodies are"
            " validated once, by the function against the same pydantic models that generate the OpenAPI"
            " document, so the deployed and local APIs give the same 422 with per-field details.",
        )
        public = ", ".join(sorted(r.key for r in system.routes if r.public)) or "none"
        acknowledge(
            self.rest_api,
            "AwsSolutions::AwsSolutions-COG4",
            "Every route is authorized by the Cognito user pool authorizer declared in the API's OpenAPI"
            " body (x-amazon-apigateway-authorizer), which cdk-nag does not read; only CORS preflights"
            " (a mock integration) and the public routes are open. Public routes (" + public + "):"
            " an opt-out link must work from any mail client without a login (RFC 8058; 정보통신망법"
            " 제50조), the function verifying its HMAC-signed token; a gift's draw is for anyone to check"
            " (read-only, entry ids and no personal data). The WAF limits them per client IP.",
        )
        waive_checkov(access_logs, "CKV_AWS_158", LOGS_HOLD_NO_PERSONAL_DATA)
        waive_checkov(
            self.rest_api.deployment_stage,
            "CKV_AWS_120",
            "Answers are per caller (their profile, points, coupons): a cache keyed on path and query"
            " would serve one customer's data to another; every route is authorized and cheap to run.",
        )
        self._permissions(entries)
        self.web_acl = waf.web_acl(self, stage, system, resource_arn=self.rest_api.deployment_stage.stage_arn)

    def _permissions(self, entries: dict[str, Entry]) -> None:
        """One invoke permission per function, for this API's stage only."""
        source = self.rest_api.arn_for_execute_api(stage=self.rest_api.deployment_stage.stage_name)
        for function_id, entry in sorted(entries.items()):
            lambda_.CfnPermission(
                self,
                f"Invoke-{function_id}",
                action="lambda:InvokeFunction",
                function_name=entry.target.function_arn,
                principal="apigateway.amazonaws.com",
                source_arn=source,
            )
