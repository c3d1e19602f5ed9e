"""The dangol stack of one stage: the platform (users, bus, alarms and their e-mail, the key of
the alarm and messaging topics, the cursor key, the dependency layer), one nested stack per
service, and the API in front of them, all from the topology.

Every template stays far from CloudFormation's limits (``tests/infra/test_limits.py``): the API's
routes are its OpenAPI body, not resources, and each service's resources are in its own stack.
References go one way: a service's stack gets the platform's bus, layer, key and secret; the API
gets the services' functions; nothing refers back."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import StageConfig
from infra.packaging import layer_zip
from infra.stacks.api import Api, Entry, UserDirectory
from infra.stacks.functions import RUNTIME
from infra.stacks.messaging import ALARM_MAIL_DLQ, MAX_RETENTION, Channels
from infra.stacks.nag import acknowledge, waive_checkov
from infra.stacks.sending import Sending
from infra.stacks.service import Platform, ServiceStack
from shared.topology import PlatformSecret, System


class DangolStack(Stack):
    def _let_cloudwatch_alarm(self, key: kms.Key) -> None:
        """Alarms publish to an encrypted, SSL-only topic: CloudWatch needs the key and the topic."""
        cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        same_account = {"StringEquals": {"aws:SourceAccount": self.account}}
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[cloudwatch_service],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=same_account,
            )
        )
        self.alarms.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"],
                principals=[cloudwatch_service],
                resources=[self.alarms.topic_arn],
                conditions=same_account,
            )
        )

    def _publish_email_events(self, system: System, channels: Channels, key: kms.Key) -> None:
        """The stage's configuration set publishes its e-mails' events (the types a topic declares,
        ``Topic.email_events``) to that topic: an event destination per topic, and a topic policy
        and a key grant that let SES publish for this account and this configuration set only
        (``aws:SourceAccount``, ``aws:SourceArn``: no other account's or set's events get in).
        AWS only: moto publishes no SES events, so locally the topic is only fed by hand."""
        topics = [t for t in system.topics if t.email_events]
        if not topics:
            return
        name = self.users.mail.configuration_set_name
        config_set_arn = f"arn:{self.partition}:ses:{self.region}:{self.account}:configuration-set/{name}"
        source = {"StringEquals": {"aws:SourceAccount": self.account, "aws:SourceArn": config_set_arn}}
        ses_service = iam.ServicePrincipal("ses.amazonaws.com")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[ses_service],
                resources=["*"],  # in a key policy, "*" is this key
                conditions=source,
            )
        )
        for topic in topics:
            resource = channels.topics[topic.id]
            resource.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    principals=[ses_service],
                    resources=[resource.topic_arn],
                    conditions=source,
                )
            )
            ses.CfnConfigurationSetEventDestination(
                self,
                f"EmailEvents-{topic.id}",
                configuration_set_name=name,
                event_destination=ses.CfnConfigurationSetEventDestination.EventDestinationProperty(
                    name=topic.id,
                    enabled=True,
                    matching_event_types=list(topic.email_events),
                    sns_destination=ses.CfnConfigurationSetEventDestination.SnsDestinationProperty(
                        topic_arn=resource.topic_arn
                    ),
                ),
            )

    def _notify_on_call(self, stage: StageConfig, channels: Channels) -> None:
        """Every alarm reaches the stage's on-call address (SNS mails it a confirmation link once);
        an e-mail SNS could not deliver waits in a DLQ, whose alarm says so."""
        undelivered = channels.dead_letter_queue(
            self,
            ALARM_MAIL_DLQ,
            retention=MAX_RETENTION,
            holds="the alarm e-mails SNS could not deliver",
            dead_letter_config_of="the alarm topic's e-mail subscription (its redrive policy)",
        )
        self.alarms.add_subscription(
            subscriptions.EmailSubscription(stage.alarm_email, dead_letter_queue=undelivered)
        )

    def _platform_secret(self, stage: StageConfig, secret: PlatformSecret) -> secretsmanager.Secret:
        """A secret of the stage, generated once by Secrets Manager and never rotated: only the
        functions that declare it may read it, at run time."""
        resource = secretsmanager.Secret(
            self,
            f"Secret-{secret.id}",
            description=f"{stage.stage_id}: {secret.description}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
        )
        acknowledge(
            resource,
            "AwsSolutions::AwsSolutions-SMG4",
            f"{secret.id} {secret.description}: rotating it would make what it keyed unrecognisable;"
            " only the functions that declare it may read it.",
        )
        waive_checkov(
            resource,
            "CKV_AWS_149",
            "Encrypted with Secrets Manager's AWS managed key; only the functions that declare it may read"
            " it (IAM), and it keys pseudonyms, no data.",
        )
        return resource

    def _triggers(self, system: System) -> None:
        """The user pool invokes the functions the topology names for its triggers. The pool (here)
        refers to the function (in its service's stack) and the permission lives here too: nothing
        in a service's stack refers to the pool."""
        cfn_pool = self.users.pool.node.default_child
        assert isinstance(cfn_pool, cognito.CfnUserPool)
        for trigger in system.triggers:
            function = self.services[trigger.function.service].functions[trigger.function.id]
            lambda_.CfnPermission(
                self,
                f"Trigger-{trigger.event}",
                action="lambda:InvokeFunction",
                function_name=function.function_arn,
                principal="cognito-idp.amazonaws.com",
                source_arn=self.users.pool.user_pool_arn,
                source_account=self.account,
            )
            cfn_pool.add_property_override(f"LambdaConfig.{trigger.event}", function.function_arn)

    def _cursor_signing_key(self, stage: StageConfig) -> secretsmanager.Secret:
        """One generated secret per stage signs every list cursor (HMAC). The functions that serve
        routes get its ARN and read it at run time (``shared.secrets``): its value is in no template,
        environment or repository. Replacing it only invalidates the cursors clients hold."""
        secret = secretsmanager.Secret(
            self,
            "CursorSigningKey",
            description=f"{stage.stage_id}: HMAC key of the API's pagination cursors",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            secret,
            "AwsSolutions::AwsSolutions-SMG4",
            "A cursor signing key needs no rotation schedule: it guards no data, only the integrity "
            "of paging tokens that live minutes; rotating it by hand just restarts clients' lists.",
        )
        waive_checkov(
            secret,
            "CKV_AWS_149",
            "Encrypted with Secrets Manager's AWS managed key; only the functions that serve routes may"
            " read it (IAM), and it signs paging cursors, no data.",
        )
        return secret

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        system: System,
        stage: StageConfig,
        served: dict[str, object] | None = None,
        **kw: object,
    ) -> None:
        """``served``: the 3.1 OpenAPI document of the system's routes (default: generated from
        the handler modules); a test topology passes its own."""
        super().__init__(scope, construct_id, description=f"dangol CRM ({stage.name})", **kw)  # type: ignore[arg-type]
        key = kms.Key(
            self, "Key", enable_key_rotation=True, description=f"{stage.stage_id}: alarms and messaging"
        )
        self.alarms = sns.Topic(
            self, "Alarms", master_key=key, enforce_ssl=True, display_name="dangol alarms"
        )
        self._let_cloudwatch_alarm(key)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{stage.stage_id}-{system.bus.id}")
        archive = self.bus.archive(
            "Archive",
            event_pattern=events.EventPattern(account=[self.account]),
            retention=Duration.days(stage.archive_retention_days),
            description="Every event that passed the bus, for replay",
        )
        cfn_archive = archive.node.default_child
        if isinstance(cfn_archive, CfnResource):
            # aws-cdk#37847: without a key CDK writes KmsKeyIdentifier "" (refused in some regions);
            # leaving it out is "encrypted with an AWS owned key", the service default.
            cfn_archive.add_property_deletion_override("KmsKeyIdentifier")
        self.users = UserDirectory(self, "Users", stage)
        layer = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(layer_zip())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Powertools and pydantic for the Lambda platform",
            removal_policy=RemovalPolicy.DESTROY,
        )
        channels = Channels(key=key, alarms=self.alarms)
        self._notify_on_call(stage, channels)
        self.services = {
            svc.name: ServiceStack(self, system, svc, stage=stage, channels=channels)
            for svc in system.services
        }
        domain = stage.ses_identity
        platform = Platform(
            bus=self.bus,
            layer=layer,
            cursor_secret=self._cursor_signing_key(stage),
            secrets={x.id: self._platform_secret(stage, x) for x in system.secrets},
            sending=Sending(
                sender=stage.campaign_sender,
                identity=self.users.identity.email_identity_name if self.users.identity else domain,
                configuration_set=self.users.mail.configuration_set_name,
                push_applications=dict(stage.push_applications),
            ),
        )
        entries: dict[str, Entry] = {}
        for service in self.services.values():
            entries |= service.add_functions(platform)
        self._publish_email_events(system, channels, key)
        self.api = Api(self, "Api", stage, system=system, users=self.users, entries=entries, served=served)
        self._triggers(system)
        cloudwatch.Alarm(
            self,
            "Api5xx",
            alarm_description="The API answered with 5xx errors",
            metric=self.api.rest_api.metric_server_error(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        ).add_alarm_action(actions.SnsAction(self.alarms))
