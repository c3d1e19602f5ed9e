"""One construct per service: its tables, its functions (from the one factory) and
its routes, all read from the service's topology."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.config import StageConfig
from infra.environment import function_environment
from infra.packaging import stage_service_code
from infra.stacks.api import Api
from infra.stacks.functions import Wiring, make_function
from shared.topology import AttrType, Service, System, Table

ATTR_TYPES = {
    AttrType.S: dynamodb.AttributeType.STRING,
    AttrType.N: dynamodb.AttributeType.NUMBER,
    AttrType.B: dynamodb.AttributeType.BINARY,
}
STREAMS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "OLD_IMAGE": dynamodb.StreamViewType.OLD_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    "KEYS_ONLY": dynamodb.StreamViewType.KEYS_ONLY,
}
ID_TAG = "dangol:id"


class ServiceConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        system: System,
        service: Service,
        *,
        stage: StageConfig,
        api: Api,
        bus: events.IEventBus,
        layer: lambda_.ILayerVersion,
        alarms: sns.ITopic,
    ) -> None:
        super().__init__(scope, service.name)
        self.tables = {t.id: self._table(t, stage) for t in service.tables}
        code = lambda_.Code.from_asset(str(stage_service_code(service.name)))
        self.functions: dict[str, lambda_.Function] = {}
        for fn in service.functions:
            environment = function_environment(
                system,
                fn,
                stage=stage.name,
                table_name=lambda t: self.tables[t.id].table_name,
                bus_name=lambda _: bus.event_bus_name,
            )
            wiring = Wiring(self.tables, bus, layer, code, environment)
            synchronous = fn in {r.function for r in service.routes}
            function = make_function(self, fn, wiring, stage, synchronous=synchronous)
            Tags.of(function).add(ID_TAG, fn.id)
            cloudwatch.Alarm(
                self,
                f"{fn.id}-errors",
                alarm_description=f"{fn.id} raised errors",
                metric=function.metric_errors(period=Duration.minutes(5)),
                threshold=1,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ).add_alarm_action(actions.SnsAction(alarms))
            self.functions[fn.id] = function
        for route in service.routes:
            api.add_route(route, self.functions[route.function.id])

    def _table(self, table: Table, stage: StageConfig) -> dynamodb.Table:
        sort_key = table.sort_key
        resource = dynamodb.Table(
            self,
            table.id,
            partition_key=dynamodb.Attribute(
                name=table.partition_key.name, type=ATTR_TYPES[table.partition_key.type]
            ),
            sort_key=dynamodb.Attribute(name=sort_key.name, type=ATTR_TYPES[sort_key.type])
            if sort_key
            else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=stage.prod,
            removal_policy=RemovalPolicy.RETAIN if stage.prod else RemovalPolicy.DESTROY,
            time_to_live_attribute=table.ttl_attribute,
            stream=STREAMS[table.stream] if table.stream else None,
        )
        for index in table.indexes:
            resource.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(
                    name=index.partition_key.name, type=ATTR_TYPES[index.partition_key.type]
                ),
                sort_key=dynamodb.Attribute(name=index.sort_key.name, type=ATTR_TYPES[index.sort_key.type])
                if index.sort_key
                else None,
                projection_type=dynamodb.ProjectionType(index.projection),
            )
        Tags.of(resource).add(ID_TAG, table.id)
        return resource
