"""Every template stays far from CloudFormation's limits.

A template over CloudFormation's 500 resources (or 1 MB, or 200 outputs ...) fails at deploy
time, after a review. These tests fail in the pull request instead: each template (a stage's root
stack and each service's nested stack) must stay under 400 resources and under 60% of every
other limit below. (Until the four services were built, a projection sized the missing ones from
their issues; all four are real now, so the real system is what is measured.)

CloudFormation's quotas (AWS CloudFormation User Guide, "CloudFormation quotas"): 500 resources,
200 outputs, 200 parameters and 200 mappings per template, 1 MB of template in S3. API Gateway's:
300 resources (path parts) per REST API. IAM's: 10,240 characters of inline policy per role.
Lambda's: 4 KB of environment variables per function.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import STAGES
from infra.topology import SYSTEM
from tests.infra.conftest import Synthesized
from tests.infra.templates import StageFiles

pytestmark = pytest.mark.infra
Json = dict[str, Any]

MAX_RESOURCES = 400
SHARE = 0.6
PER_TEMPLATE = {"Outputs": 200, "Parameters": 200, "Mappings": 200}
TEMPLATE_BYTES = 1_000_000
API_RESOURCES = 300
ROLE_POLICY_CHARS = 10_240
ENVIRONMENT_BYTES = 4 * 1024
TOKEN_CHARS = 256  # what a reference resolves to, at most (an ARN, a URL, a name)


def _resolved_size(value: Any) -> int:
    """The length of a template value once deployed: a reference counts as its longest value."""
    if isinstance(value, dict):
        if set(value) & {"Ref", "Fn::GetAtt", "Fn::ImportValue"}:
            return TOKEN_CHARS
        if "Fn::Join" in value:
            return sum(_resolved_size(p) for p in value["Fn::Join"][1])
        if "Fn::Sub" in value:
            return len(value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0])
        return 2 + sum(len(json.dumps(k)) + 1 + _resolved_size(v) + 1 for k, v in value.items())
    if isinstance(value, list):
        return 2 + sum(_resolved_size(v) + 1 for v in value)
    return len(json.dumps(value))


def measure(files: StageFiles) -> dict[str, dict[str, int]]:
    """Per template file: its resources, outputs, parameters, mappings and bytes."""
    out = {}
    for path in files.all:
        template = json.loads(path.read_text())
        out[path.name] = {
            "Resources": len(template["Resources"]),
            **{key: len(template.get(key, {})) for key in PER_TEMPLATE},
            "bytes": path.stat().st_size,
        }
    return out


def assert_within_limits(files: StageFiles) -> None:
    for name, counts in measure(files).items():
        assert counts["Resources"] <= MAX_RESOURCES, (name, counts)
        for key, limit in PER_TEMPLATE.items():
            assert counts[key] <= limit * SHARE, (name, key, counts)
        assert counts["bytes"] <= TEMPLATE_BYTES * SHARE, (name, counts)


def _api_resources(template: Json) -> int:
    """API Gateway resources (path parts) the API's body makes: every distinct path prefix."""
    (api,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi")
    paths = json.loads(api["Properties"]["Body"]["Fn::Sub"][0])["paths"]
    prefixes = {"/".join(p.split("/")[:i]) for p in paths for i in range(2, len(p.split("/")) + 1)}
    return len(prefixes)


def assert_services_within_limits(template: Json) -> None:
    """The limits that grow with services, in the stage's flattened template."""
    assert _api_resources(template) <= API_RESOURCES * SHARE
    resources = template["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function":
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            size = sum(len(k) + _resolved_size(v) for k, v in variables.items())
            assert size <= ENVIRONMENT_BYTES * SHARE, (logical_id, size)
        if resource["Type"] == "AWS::IAM::Role":
            inline = [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
            inline += [
                r["Properties"]["PolicyDocument"]
                for r in resources.values()
                if r["Type"] == "AWS::IAM::Policy" and {"Ref": logical_id} in r["Properties"].get("Roles", [])
            ]
            size = sum(_resolved_size(d) for d in inline)
            assert size <= ROLE_POLICY_CHARS * SHARE, (logical_id, size)


# --- the system as it is ----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [s.name for s in STAGES])
def test_every_template_of_a_stage_is_within_the_limits(synthesized: Synthesized, stage: str) -> None:
    # Given the stage's templates (its root stack and one nested stack per service)
    files = synthesized.files[stage]
    assert len(files.nested) == len(SYSTEM.services)
    # Then each is under 400 resources and 60% of CloudFormation's other limits
    assert_within_limits(files)
    # And the API, roles and environments are within theirs
    assert_services_within_limits(synthesized.template(stage))


def test_the_limit_checks_fail_a_template_over_them(tmp_path: Path) -> None:
    # Given a template of 401 resources (the base case: one of 400 passes)
    def write(count: int, name: str) -> StageFiles:
        path = tmp_path / name
        resources = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(count)}
        path.write_text(json.dumps({"Resources": resources}))
        return StageFiles(path, ())

    assert_within_limits(write(400, "ok.json"))
    # Then the check fails
    with pytest.raises(AssertionError):
        assert_within_limits(write(401, "over.json"))


def test_the_size_of_a_reference_is_counted_as_its_longest_value() -> None:
    assert _resolved_size({"Ref": "X"}) == TOKEN_CHARS
    assert _resolved_size({"Fn::Join": ["", ["ab", {"Ref": "X"}]]}) == len('"ab"') + TOKEN_CHARS
    assert re.fullmatch(r"\d+", str(_resolved_size({"a": [1, 2]})))
