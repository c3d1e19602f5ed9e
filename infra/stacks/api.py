"""The REST API in front of every service: Cognito authorizer, request validation,
WAF, JSON access logs, stage throttling, CORS and our error body on every
gateway-made error."""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from infra.stacks.functions import retention
from infra.stacks.nag import acknowledge
from shared.auth import MACHINE_SCOPE, Role
from shared.idempotency import HEADER as IDEMPOTENCY_HEADER
from shared.topology import Route

USER_SCOPE = "aws.cognito.signin.user.admin"  # in every user-pool access token
RESOURCE_SERVER, MACHINE_SCOPE_NAME = MACHINE_SCOPE.split("/")

# Errors API Gateway makes itself, in the same body as the functions' errors.
GATEWAY_ERRORS: dict[apigw.ResponseType, tuple[str, str]] = {
    apigw.ResponseType.UNAUTHORIZED: ("401", "unauthorized"),
    apigw.ResponseType.EXPIRED_TOKEN: ("401", "token_expired"),
    apigw.ResponseType.INVALID_SIGNATURE: ("401", "invalid_token"),
    apigw.ResponseType.ACCESS_DENIED: ("403", "forbidden"),
    apigw.ResponseType.WAF_FILTERED: ("403", "forbidden"),
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("404", "route_not_found"),
    apigw.ResponseType.RESOURCE_NOT_FOUND: ("404", "route_not_found"),
    apigw.ResponseType.REQUEST_TOO_LARGE: ("413", "payload_too_large"),
    apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE: ("415", "unsupported_media_type"),
    apigw.ResponseType.BAD_REQUEST_PARAMETERS: ("400", "bad_request"),
    apigw.ResponseType.BAD_REQUEST_BODY: ("400", "bad_request"),
    apigw.ResponseType.THROTTLED: ("429", "throttled"),
    apigw.ResponseType.QUOTA_EXCEEDED: ("429", "throttled"),
    apigw.ResponseType.DEFAULT_4_XX: ("400", "bad_request"),
    apigw.ResponseType.INTEGRATION_TIMEOUT: ("504", "function_timeout"),
    apigw.ResponseType.DEFAULT_5_XX: ("502", "function_error"),
}


class UserDirectory(Construct):
    """The Cognito user pool: one group per role, an app client and a machine client."""

    def __init__(self, scope: Construct, construct_id: str, stage: StageConfig) -> None:
        super().__init__(scope, construct_id)
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
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=stage.prod,
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.pool,
            "AwsSolutions::AwsSolutions-COG2",
            "Customers sign up from the consumer app; MFA is offered (TOTP) but not forced on them.",
        )
        for role in Role:
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
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=stage.auth_domain_prefix)
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


class Api(Construct):
    def __init__(self, scope: Construct, construct_id: str, stage: StageConfig, users: UserDirectory) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=retention(stage.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.RestApi(
            self,
            "Rest",
            rest_api_name=stage.stage_id,
            description="dangol CRM API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
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
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=list(stage.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", IDEMPOTENCY_HEADER, "If-Match"],
                expose_headers=["ETag", "Retry-After", "Idempotent-Replayed"],
            ),
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: the AWS managed policy is the documented one.",
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "Authorizer", cognito_user_pools=[users.pool], results_cache_ttl=None
        )
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=False
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions::AwsSolutions-APIG2",
            "API Gateway validates the required Authorization header and path parameters; bodies are"
            " validated once, by the function against the same pydantic models that generate the OpenAPI"
            " spec, so the deployed and local APIs give the same 422 with per-field details.",
        )
        origin = stage.cors_origins[0] if len(stage.cors_origins) == 1 else "*"
        for response_type, (status, code) in GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"Gateway-{code}-{status}-{response_type.response_type}",
                type=response_type,
                status_code=status,
                response_headers={"Access-Control-Allow-Origin": f"'{origin}'"},
                templates={
                    "application/json": json.dumps(
                        {"error": {"code": code, "message": "$context.error.message", "details": []}}
                    )
                },
            )
        self._web_acl(stage)

    def add_route(self, route: Route, handler: lambda_.IFunction) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        parameters = {f"method.request.path.{name}": True for name in route.path_params}
        parameters["method.request.header.Authorization"] = True
        scopes = [MACHINE_SCOPE, USER_SCOPE] if Role.MACHINE in route.allow else None
        return resource.add_method(
            route.method,
            # No test-invoke grant: the console's "Test" button is not how anyone calls us, and a
            # second permission per route would spend 70 of the stack's 500 resources for it.
            apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False),
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.COGNITO,
            authorization_scopes=scopes,
            request_validator=self.validator,
            request_parameters=parameters,
            operation_name=route.summary,
        )

    def _web_acl(self, stage: StageConfig) -> None:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(name),
            )

        rate = wafv2.CfnWebACL.RuleProperty(
            name="RatePerClientIp",
            priority=0,
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=stage.waf_rate_limit, aggregate_key_type="IP"
                )
            ),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            visibility_config=_visibility("RatePerClientIp"),
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{stage.stage_id}-api"),
            rules=[
                rate,
                managed("AWSManagedRulesAmazonIpReputationList", 1),
                managed("AWSManagedRulesCommonRuleSet", 2),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )
