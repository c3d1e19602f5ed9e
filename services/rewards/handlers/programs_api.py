"""Marketing's programs (the ``rewards-programs-api`` function): thin routes.

Earn rules and tiers; awards and pre-grants to many customers (a job on the grants queue, with
its progress and report); what a campaign's points offers pre-granted; the last ledger
verification.

The earn rules and the tier program are versioned: the response's ``ETag`` is the version and
a change may send it back as ``If-Match`` (a stale one is 412 ``version_mismatch``). Version 0
is the built-in defaults until marketing stores one; every version stays readable (the version
used is recorded on each earn). A change applies from the next earn, and to tiers at each
account's next evaluation (an earn, or the nightly run).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from services.rewards.dal.audit import DynamoAuditStore
from services.rewards.dal.grants import DynamoGrantStore
from services.rewards.dal.keys import claims
from services.rewards.dal.programs import DynamoProgramStore
from services.rewards.handlers.env import RewardsSettings
from services.rewards.logic import grants
from services.rewards.models.audit import AuditReport
from services.rewards.models.grants import (
    CAMPAIGN_ID_PATTERN,
    JOB_ID_PATTERN,
    GrantJob,
    GrantReport,
    GrantRequest,
    PointCampaignReport,
)
from services.rewards.models.programs import EarnRules, EarnRulesSpec, TierProgram, TierProgramSpec
from services.rewards.topology import (
    AUDIT_GET,
    EARN_RULES_GET,
    EARN_RULES_PUT,
    EARN_RULES_VERSION,
    GRANT_GET,
    GRANT_REPORT,
    GRANT_START,
    GRANTS_QUEUE,
    POINT_CAMPAIGN_REPORT,
    PROGRAMS_API,
    SERVICE,
    TIERS_GET,
    TIERS_PUT,
)
from shared import aws
from shared.api import make_resolver, parse_if_match, respond
from shared.clock import utc_now
from shared.dynamo import DynamoTable
from shared.errors import NotFound
from shared.idempotency import IdempotencyStore
from shared.ids import new_id
from shared.observability import make_logger, make_metrics
from shared.queues import SqsSender
from shared.settings import load

logger = make_logger()
metrics = make_metrics()
Version = Annotated[str, Path(pattern=r"^(0|[1-9][0-9]{0,7})$", description="A version (0: the defaults)")]
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN)]
CampaignId = Annotated[str, Path(pattern=CAMPAIGN_ID_PATTERN, description="A campaign id (cmp_…)")]


class ProgramsSettings(RewardsSettings):
    """The rewards settings plus the grants queue the jobs' chunks go to."""

    grants_queue_url: str = Field(alias=GRANTS_QUEUE.env_var, min_length=1)


@dataclass(frozen=True)
class Dependencies:
    settings: ProgramsSettings
    programs: DynamoProgramStore
    grants: DynamoGrantStore
    queue: SqsSender
    audits: DynamoAuditStore
    idempotency: IdempotencyStore


@functools.cache
def dependencies() -> Dependencies:
    """Built once per cold start, on first use (settings validated here)."""
    settings = load(ProgramsSettings)
    table = DynamoTable(settings.rewards_table, aws.client("dynamodb"))
    return Dependencies(
        settings=settings,
        programs=DynamoProgramStore(table),
        grants=DynamoGrantStore(table),
        queue=SqsSender(
            lambda: aws.client("sqs"), settings.grants_queue_url, failure_code="grant_not_queued"
        ),
        audits=DynamoAuditStore(table),
        idempotency=claims(table, lock_s=PROGRAMS_API.timeout_s),
    )


app = make_resolver(SERVICE, PROGRAMS_API, idempotency_store=lambda: dependencies().idempotency)


def _if_match() -> int | None:
    return parse_if_match(app.current_event.headers.get("If-Match"))


# -- earn rules ---------------------------------------------------------------------------------


@app.on(EARN_RULES_GET)
def get_earn_rules() -> Response[EarnRules]:
    rules = dependencies().programs.earn_rules()
    return respond(rules, version=rules.version)


@app.on(EARN_RULES_PUT, errors=(409, 412))
def put_earn_rules(body: EarnRulesSpec) -> Response[EarnRules]:
    rules = dependencies().programs.change_earn_rules(body, expected_version=_if_match(), at=utc_now())
    logger.info("earn rules changed", extra={"rules_version": rules.version})
    return respond(rules, version=rules.version)


@app.on(EARN_RULES_VERSION, errors=(404,))
def get_earn_rules_version(version: Version) -> EarnRules:
    return dependencies().programs.earn_rules_version(int(version))


# -- the tier program ---------------------------------------------------------------------------


@app.on(TIERS_GET)
def get_tier_program() -> Response[TierProgram]:
    program = dependencies().programs.tier_program()
    return respond(program, version=program.version)


@app.on(TIERS_PUT, errors=(409, 412))
def put_tier_program(body: TierProgramSpec) -> Response[TierProgram]:
    program = dependencies().programs.change_tier_program(body, expected_version=_if_match(), at=utc_now())
    logger.info("tier program changed", extra={"program_version": program.version})
    return respond(program, version=program.version)


# -- awards and pre-grants to many; the audit -------------------------------------------------


@app.on(GRANT_START, status=202, description="Accepted: the job grants each customer once", errors=(503,))
def start_grant(body: GrantRequest) -> Response[GrantJob]:
    deps = dependencies()
    job = grants.start(
        deps.grants,
        deps.queue,
        body,
        actor=app.caller.subject,
        now=utc_now(),
        default_valid_days=deps.programs.earn_rules().points_valid_days,
        new_id=lambda: new_id("pgj"),
    )
    logger.info(
        "grant job queued", extra={"job_id": job.job_id, "kind": job.kind, "customers": job.customers}
    )
    return respond(job, status=202)


@app.on(GRANT_GET, errors=(404,))
def get_grant(job_id: JobId) -> GrantJob:
    return grants.job(dependencies().grants, job_id)


@app.on(GRANT_REPORT, errors=(404,))
def get_grant_report(job_id: JobId) -> GrantReport:
    return grants.report(dependencies().grants, job_id, now=utc_now())


@app.on(POINT_CAMPAIGN_REPORT, errors=(404,))
def get_point_campaign(campaign_id: CampaignId) -> PointCampaignReport:
    return grants.point_campaign_report(dependencies().grants, campaign_id)


@app.on(AUDIT_GET, errors=(404,))
def get_audit() -> AuditReport:
    report = dependencies().audits.latest()
    if report is None:
        raise NotFound("No verification has run yet (it runs nightly).", code="no_audit_yet")
    return report


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
