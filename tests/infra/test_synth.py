"""`make synth` as a test: offline, every stage, cdk-nag clean, cfn-lint clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.config import STAGES
from infra.topology import SYSTEM
from tests.infra.conftest import Synthesized

MIN_REASON = 40


def test_every_stage_synthesizes_with_zero_unacknowledged_nag_findings(synthesized: Synthesized) -> None:
    # Given the app synthesized with the AwsSolutions and Serverless packs as validation plugins
    report = synthesized.report
    # When the report is read
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    # Then both packs ran and found nothing that is not acknowledged
    assert set(plugins) == {"AwsSolutions", "Serverless"}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success", plugin["violations"]
        assert plugin["violations"] == []


def test_every_acknowledgment_names_one_rule_and_gives_a_specific_reason(synthesized: Synthesized) -> None:
    # Given the acknowledged findings
    acknowledged = [s for p in synthesized.report["pluginReports"] for s in p.get("suppressedViolations", [])]
    # Then each is on a construct (not a whole stack) and explains itself
    assert acknowledged
    for finding in acknowledged:
        assert len(finding["reason"]) >= MIN_REASON, finding
        assert finding["acknowledgedAt"].count("/") >= 2, (
            f"acknowledged too broadly: {finding['acknowledgedAt']}"
        )


def test_cfn_lint_finds_nothing_in_any_template(synthesized: Synthesized) -> None:
    # Given every synthesized template: each stage's root stack and its nested stacks
    templates = sorted(
        path
        for stage in STAGES
        for path in synthesized.outdir.glob(f"assembly-{stage.stage_id}/*.template.json")
    )
    assert templates == sorted(path for files in synthesized.files.values() for path in files.all)
    assert len(templates) == len(synthesized.templates) * (1 + len(SYSTEM.services))
    # When cfn-lint checks them
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), *map(str, templates)], capture_output=True, text=True)
    # Then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr
