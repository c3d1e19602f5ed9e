"""The web ACL in front of the API: a rate limit per client IP, AWS's managed rule groups, and body
size rules that follow each route's declared limit (``Route.max_body_bytes``).

AWS's core rule set blocks every body over 8 KB (its ``SizeRestrictions_BODY`` rule); most routes
declare 8 KB and keep that protection. That one rule is set to count, and a rule of ours blocks
what it labels unless the request is for a route that declares more (CSV imports, purchase and
visit batches, grants, issuances, configuration). Such a route gets a size rule of its own where
WAF can see its limit: API Gateway forwards the first 16 KB of a body to WAF (the web ACL's
default body inspection limit), so a body over that is an "oversize" body, which our rules count
as too large; a route that declares more than WAF can inspect is limited by its function (413)
and by API Gateway's 10 MB.

The public routes (``Route.public``: no token, an opt-out link) have a rate limit of their own per
client IP (``waf_public_rate_limit``), tighter than the API's: no authorizer stands in front of
them, and a link's token can only be checked by the function.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import StageConfig
from shared.topology import SMALL_BODY_BYTES, Route, System

CORE_RULE_SET = "AWSManagedRulesCommonRuleSet"
CORE_SIZE_RULE = "SizeRestrictions_BODY"
CORE_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
CORE_BODY_LIMIT = SMALL_BODY_BYTES  # what CORE_SIZE_RULE lets through (8 KB)
INSPECTION_LIMIT = 16 * 1024  # what API Gateway forwards to WAF (the web ACL's default, KB_16)
INSPECTION_SETTING = "KB_16"
MANAGED = (
    ("AWSManagedRulesAmazonIpReputationList", 1),
    (CORE_RULE_SET, 2),
    ("AWSManagedRulesKnownBadInputsRuleSet", 3),
)
_PARAM = re.compile(r"\{[^}]+\}")


def path_pattern(route: Route, stage_name: str) -> str:
    """The URI paths of a route: with the stage prefix (the execute-api URL) or without it (a
    custom domain), a path parameter being one segment."""
    parts = [re.escape(part) for part in _PARAM.split(route.path)]
    return f"^(/{re.escape(stage_name)})?" + "[^/]+".join(parts) + "/?$"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


S = wafv2.CfnWebACL.StatementProperty


def _all(statements: list[S]) -> S:
    if len(statements) == 1:
        return statements[0]
    return S(and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=statements))


def _any(statements: list[S]) -> S:
    if len(statements) == 1:
        return statements[0]
    return S(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=statements))


def _no_transformation() -> list[wafv2.CfnWebACL.TextTransformationProperty]:
    return [wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")]


def _route(route: Route, stage_name: str) -> S:
    """The requests of one route: its method and its path."""
    method = S(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(method={}),
            positional_constraint="EXACTLY",
            search_string=route.method,
            text_transformations=_no_transformation(),
        )
    )
    path = S(
        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            regex_string=path_pattern(route, stage_name),
            text_transformations=_no_transformation(),
        )
    )
    return _all([method, path])


def _body_over(limit: int) -> S:
    return S(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
            ),
            comparison_operator="GT",
            size=limit,
            text_transformations=_no_transformation(),
        )
    )


@dataclass(frozen=True)
class BodyRule:
    name: str
    statement: S


def body_rules(system: System, stage_name: str) -> list[BodyRule]:
    """The core rule set's size verdict for every route that declares the small limit, and a
    limit of its own for each larger one WAF can inspect."""
    larger = sorted((r for r in system.routes if r.max_body_bytes > CORE_BODY_LIMIT), key=lambda r: r.key)
    labelled = S(
        label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(key=CORE_SIZE_LABEL, scope="LABEL")
    )
    core = (
        _all(
            [
                labelled,
                S(
                    not_statement=wafv2.CfnWebACL.NotStatementProperty(
                        statement=_any([_route(r, stage_name) for r in larger])
                    )
                ),
            ]
        )
        if larger
        else labelled
    )
    rules = [BodyRule("BodyOverCoreLimit", core)]
    by_limit: dict[int, list[Route]] = defaultdict(list)
    for route in system.routes:
        if (
            route.max_body_bytes < CORE_BODY_LIMIT
            or CORE_BODY_LIMIT < route.max_body_bytes <= INSPECTION_LIMIT
        ):
            by_limit[route.max_body_bytes].append(route)
    for limit, routes in sorted(by_limit.items()):
        matchers = [_route(r, stage_name) for r in sorted(routes, key=lambda r: r.key)]
        rules.append(BodyRule(f"BodyOver{limit}", _all([_body_over(limit), _any(matchers)])))
    return rules


def public_rate_rule(
    system: System, stage: StageConfig, *, priority: int
) -> wafv2.CfnWebACL.RuleProperty | None:
    """A rate limit per client IP on the public routes only (None: the system has none); a source's
    signed webhook (``Route.public_rate_limited`` False) is left to the API's rate."""
    public = sorted((r for r in system.routes if r.public and r.public_rate_limited), key=lambda r: r.key)
    if not public:
        return None
    return wafv2.CfnWebACL.RuleProperty(
        name="PublicRatePerClientIp",
        priority=priority,
        statement=S(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=stage.waf_public_rate_limit,
                aggregate_key_type="IP",
                scope_down_statement=_any([_route(r, stage.name) for r in public]),
            )
        ),
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        visibility_config=_visibility("PublicRatePerClientIp"),
    )


def web_acl(scope: Construct, stage: StageConfig, system: System, *, resource_arn: str) -> wafv2.CfnWebACL:
    """The stage's web ACL, associated with the API stage ``resource_arn``."""
    rules = [
        wafv2.CfnWebACL.RuleProperty(
            name="RatePerClientIp",
            priority=0,
            statement=S(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=stage.waf_rate_limit, aggregate_key_type="IP"
                )
            ),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            visibility_config=_visibility("RatePerClientIp"),
        )
    ]
    for name, priority in MANAGED:
        overrides = (
            [
                wafv2.CfnWebACL.RuleActionOverrideProperty(
                    name=CORE_SIZE_RULE, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                )
            ]
            if name == CORE_RULE_SET
            else None
        )
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                statement=S(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name, rule_action_overrides=overrides
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(name),
            )
        )
    first = max(p for _, p in MANAGED) + 1
    for offset, rule in enumerate(body_rules(system, stage.name)):
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name=rule.name,
                priority=first + offset,
                statement=rule.statement,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility(rule.name),
            )
        )
    if (public := public_rate_rule(system, stage, priority=len(rules))) is not None:
        rules.append(public)
    acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility(f"{stage.stage_id}-api"),
        association_config=wafv2.CfnWebACL.AssociationConfigProperty(
            request_body={
                "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                    default_size_inspection_limit=INSPECTION_SETTING
                )
            }
        ),
        rules=rules,
    )
    wafv2.CfnWebACLAssociation(
        scope, "WebAclAssociation", resource_arn=resource_arn, web_acl_arn=acl.attr_arn
    )
    return acl
