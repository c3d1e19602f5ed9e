"""The web ACL in front of the API, read from the template, and its body rules evaluated.

The local runtime has no WAF, so no end-to-end test can show what WAF lets through. These tests
evaluate the web ACL's own rules (as written in the template) on requests to every route: a body
of the route's declared size passes, a larger one is blocked where WAF can see it, and AWS's core
rule set keeps its 8 KB limit on every route that declares no more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from infra.stacks import waf
from shared.topology import Route
from tests.infra.deployments import Deployment, arn, mentions

pytestmark = pytest.mark.infra
Json = dict[str, Any]
KB = 1024


def _acl(stage: Deployment) -> tuple[str, Json]:
    acl, resource = stage.only("AWS::WAFv2::WebACL")
    return acl, resource["Properties"]


# --- a small evaluator of the statements our rules use ---------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body_bytes: int

    @property
    def labels(self) -> set[str]:
        """What the core rule set (its size rule set to count) labels this request with."""
        return {waf.CORE_SIZE_LABEL} if self.body_bytes > waf.CORE_BODY_LIMIT else set()


def matches(statement: Json, request: Request) -> bool:
    ((kind, spec),) = statement.items()
    if kind == "AndStatement":
        return all(matches(s, request) for s in spec["Statements"])
    if kind == "OrStatement":
        return any(matches(s, request) for s in spec["Statements"])
    if kind == "NotStatement":
        return not matches(spec["Statement"], request)
    if kind == "LabelMatchStatement":
        assert spec["Scope"] == "LABEL"
        return spec["Key"] in request.labels
    if kind == "ByteMatchStatement":
        assert spec["FieldToMatch"] == {"Method": {}}
        assert spec["PositionalConstraint"] == "EXACTLY"
        return bool(request.method == spec["SearchString"])
    if kind == "RegexMatchStatement":
        assert spec["FieldToMatch"] == {"UriPath": {}}
        return re.search(spec["RegexString"], request.path) is not None
    if kind == "SizeConstraintStatement":
        assert spec["FieldToMatch"]["Body"]["OversizeHandling"] == "MATCH"
        assert spec["ComparisonOperator"] == "GT"
        # WAF sees the first 16 KB; anything larger is "oversize", which these rules count as a match
        return request.body_bytes > waf.INSPECTION_LIMIT or request.body_bytes > spec["Size"]
    raise AssertionError(f"a statement the evaluator does not know: {kind}")


def blocked_by_body_rules(stage: Deployment, request: Request) -> list[str]:
    """The names of our blocking body rules that match the request."""
    _, props = _acl(stage)
    return [
        rule["Name"]
        for rule in props["Rules"]
        if rule["Name"].startswith("Body")
        and "Block" in rule["Action"]
        and matches(rule["Statement"], request)
    ]


def _concrete(route: Route) -> str:
    return re.sub(r"\{[^}]+\}", "x1", route.path)


# --- the rules ------------------------------------------------------------------------------------


def test_a_regional_web_acl_with_a_rate_rule_and_aws_managed_rules_guards_the_stage(
    stage: Deployment,
) -> None:
    # Given the web ACL
    acl, props = _acl(stage)
    assert props["Scope"] == "REGIONAL"
    rules = props["Rules"]
    # Then one rule blocks a client IP above the stage's rate, on every route
    (rate,) = (
        r
        for r in rules
        if "RateBasedStatement" in r["Statement"]
        and "ScopeDownStatement" not in r["Statement"]["RateBasedStatement"]
    )
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == stage.stage.waf_rate_limit
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rate["Action"] == {"Block": {}}
    # And the AWS managed rule groups are enforced, the core set's size rule alone only counted
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r
        for r in rules
        if r["Statement"].get("ManagedRuleGroupStatement", {}).get("VendorName") == "AWS"
    }
    assert set(managed) == {name for name, _ in waf.MANAGED}
    for name, rule in managed.items():
        assert rule["OverrideAction"] == {"None": {}}, name
        overrides = rule["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
        expected = (
            [{"Name": waf.CORE_SIZE_RULE, "ActionToUse": {"Count": {}}}] if name == waf.CORE_RULE_SET else []
        )
        assert overrides == expected, name
    # And every rule has its own priority, the body rules after the core set that labels
    priorities = [r["Priority"] for r in rules]
    assert len(set(priorities)) == len(priorities)
    core = managed[waf.CORE_RULE_SET]["Priority"]
    assert all(r["Priority"] > core for r in rules if r["Name"].startswith("Body"))
    # And the ACL guards the API's stage
    _, association = stage.only("AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == arn(acl)
    stage_id, _ = stage.api_stage
    assert mentions(association["Properties"]["ResourceArn"], stage_id)
    assert mentions(association["Properties"]["ResourceArn"], stage.rest_api)


def test_the_public_routes_have_a_tighter_rate_per_client_ip_of_their_own(stage: Deployment) -> None:
    # Given the rate rules scoped down to some requests
    _, props = _acl(stage)
    (rule,) = (
        r for r in props["Rules"] if "ScopeDownStatement" in r["Statement"].get("RateBasedStatement", {})
    )
    rate = rule["Statement"]["RateBasedStatement"]
    # Then it blocks a client IP above the stage's public rate, tighter than the API's
    assert (rate["Limit"], rate["AggregateKeyType"], rule["Action"]) == (
        stage.stage.waf_public_rate_limit,
        "IP",
        {"Block": {}},
    )
    assert stage.stage.waf_public_rate_limit < stage.stage.waf_rate_limit
    # And it counts exactly the requests to the public routes (no token: the opt-out links, the
    # draws), with or without the stage's prefix, and no other route's; a source's signed webhooks
    # (a few servers send every mention) are left to the API's rate
    for route in stage.system.routes:
        counted = route.public and route.public_rate_limited
        for prefix in ("", f"/{stage.stage.name}"):
            request = Request(route.method, prefix + _concrete(route), 0)
            assert matches(rate["ScopeDownStatement"], request) == counted, route.key


def test_waf_inspects_the_first_16_kb_of_a_body_as_the_rules_assume(stage: Deployment) -> None:
    # Given the web ACL's association config
    _, props = _acl(stage)
    # Then API Gateway forwards 16 KB of each body (the default, stated; more is billed extra)
    assert props["AssociationConfig"]["RequestBody"]["API_GATEWAY"] == {"DefaultSizeInspectionLimit": "KB_16"}
    assert waf.INSPECTION_LIMIT == 16 * KB


def test_the_evaluator_reads_each_statement_as_waf_does() -> None:
    # Given the statements the body rules are made of
    label = {"LabelMatchStatement": {"Key": waf.CORE_SIZE_LABEL, "Scope": "LABEL"}}
    size = {
        "SizeConstraintStatement": {
            "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
            "ComparisonOperator": "GT",
            "Size": 4 * KB,
        }
    }
    path = {"RegexMatchStatement": {"FieldToMatch": {"UriPath": {}}, "RegexString": "^/a$"}}
    method = {
        "ByteMatchStatement": {
            "FieldToMatch": {"Method": {}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": "POST",
        }
    }
    # Then each matches exactly the requests it describes
    assert matches(label, Request("POST", "/a", 8 * KB + 1))
    assert not matches(label, Request("POST", "/a", 8 * KB))
    assert matches(size, Request("POST", "/a", 4 * KB + 1))
    assert not matches(size, Request("POST", "/a", 4 * KB))
    assert matches(size, Request("POST", "/a", 20 * KB))  # oversize counts as a match
    assert matches({"AndStatement": {"Statements": [method, path]}}, Request("POST", "/a", 0))
    assert not matches({"AndStatement": {"Statements": [method, path]}}, Request("PUT", "/a", 0))
    assert matches({"OrStatement": {"Statements": [method, path]}}, Request("PUT", "/a", 0))
    assert matches({"NotStatement": {"Statement": path}}, Request("POST", "/b", 0))


def test_every_route_takes_a_body_of_its_declared_size_and_no_more_where_waf_can_see(
    stage: Deployment,
) -> None:
    for route in (r for r in stage.system.routes if r.has_body):
        for prefix in (f"/{stage.stage.name}", ""):  # the execute-api URL, and a custom domain
            path = prefix + _concrete(route)
            # Given a body of exactly the route's limit: WAF lets it through
            at_limit = Request(route.method, path, route.max_body_bytes)
            assert blocked_by_body_rules(stage, at_limit) == [], (route.key, path)
            # When the body is one byte more
            over = Request(route.method, path, route.max_body_bytes + 1)
            blocked = blocked_by_body_rules(stage, over)
            # Then WAF blocks it if it can see that far (16 KB), else the function answers 413
            if route.max_body_bytes <= waf.INSPECTION_LIMIT:
                assert blocked, (route.key, path)
            else:
                assert blocked == [], (route.key, path)


def test_routes_that_declare_no_more_than_8_kb_keep_the_core_rule_sets_limit(stage: Deployment) -> None:
    small = [r for r in stage.system.routes if r.has_body and r.max_body_bytes <= waf.CORE_BODY_LIMIT]
    assert small, "most routes declare the small limit"
    for route in small:
        # Given a 9 KB body to a route that declares 8 KB
        request = Request(route.method, f"/{stage.stage.name}{_concrete(route)}", 9 * KB)
        # Then the core rule set's verdict stands
        assert "BodyOverCoreLimit" in blocked_by_body_rules(stage, request), route.key


def test_a_large_body_route_is_not_a_door_for_other_methods_or_paths(stage: Deployment) -> None:
    # Given a route that declares 5 MB (the CSV import)
    (imports,) = (r for r in stage.system.routes if r.max_body_bytes == 5 * KB * KB)
    big = 1024 * KB
    # Then its own method and path take a large body
    assert (
        blocked_by_body_rules(stage, Request(imports.method, f"/{stage.stage.name}{imports.path}", big)) == []
    )
    # But another method on the same path, a longer path and a path that only contains it do not
    for method, path in (
        ("PUT", imports.path),
        (imports.method, imports.path + "/x1/rejections"),
        (imports.method, "/evil" + imports.path),
        (imports.method, imports.path + "x"),
    ):
        assert blocked_by_body_rules(stage, Request(method, f"/{stage.stage.name}{path}", big)), (
            method,
            path,
        )


def test_a_large_body_to_no_route_at_all_is_blocked(stage: Deployment) -> None:
    request = Request("POST", f"/{stage.stage.name}/nowhere", 100 * KB)
    assert blocked_by_body_rules(stage, request) == ["BodyOverCoreLimit"]


def test_the_web_acl_fits_its_default_capacity(stage: Deployment) -> None:
    # Given the capacity units the rules cost (AWS's published figures for the managed groups; 1
    # per label, 2 per byte match, 3 per regex, 1 per size constraint, 1 per and/or/not)
    _, props = _acl(stage)
    managed = {"AWSManagedRulesCommonRuleSet": 700, "AWSManagedRulesKnownBadInputsRuleSet": 200}
    managed["AWSManagedRulesAmazonIpReputationList"] = 25

    def cost(statement: Json) -> int:
        ((kind, spec),) = statement.items()
        if kind in {"AndStatement", "OrStatement"}:
            return sum(cost(s) for s in spec["Statements"])
        if kind == "NotStatement":
            return cost(spec["Statement"])
        return {
            "LabelMatchStatement": 1,
            "ByteMatchStatement": 2,
            "RegexMatchStatement": 3,
            "SizeConstraintStatement": 1,
            "RateBasedStatement": 2,
        }.get(kind) or managed[spec["Name"]]

    total = sum(cost(rule["Statement"]) for rule in props["Rules"])
    # Then they fit in the 1,500 units a web ACL has without extra charges, with room for two
    # more services' large-body routes
    assert total <= 1500 * 0.8, total
