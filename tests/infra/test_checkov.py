"""checkov over the cloud assembly: no failed check, and every skip says why in the template.

checkov (pinned in ``requirements-checkov.txt``) runs from a virtualenv of its own
(``.venv/checkov``, which ``make test`` builds): its pins clash with the project's. It runs
offline (``--skip-download``). A finding this design answers otherwise is waived on its resource
in the CDK code (``infra.stacks.nag.waive_checkov``), with the reason as checkov's skip comment.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra
ROOT = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv" / "checkov" / "bin" / "checkov"))
MIN_REASON = 40


def _checkov(templates: list[Path]) -> list[dict[str, Any]]:
    if not CHECKOV.is_file():
        pytest.fail(f"checkov is not installed at {CHECKOV}: `make test` installs it (see the Makefile)")
    files = [arg for path in templates for arg in ("-f", str(path))]
    done = subprocess.run(
        [str(CHECKOV), *files, "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    reports = json.loads(done.stdout)
    return reports if isinstance(reports, list) else [reports]


@pytest.fixture(scope="session")
def scanned(synthesized: Synthesized) -> list[dict[str, Any]]:
    # every template of the assembly: the stages' root and nested stacks, the account stacks
    return _checkov(sorted(synthesized.outdir.glob("assembly-*/*.template.json")))


def test_checkov_finds_no_failed_check_in_any_template(scanned: list[dict[str, Any]]) -> None:
    # Given checkov's report over every template of the cloud assembly
    (report,) = scanned
    summary = report["summary"]
    # Then it read them all and nothing failed
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100
    failed = [(f["check_id"], f["resource"], f["file_path"]) for f in report["results"]["failed_checks"]]
    assert failed == []


def test_every_checkov_skip_is_on_one_resource_and_says_why(scanned: list[dict[str, Any]]) -> None:
    (report,) = scanned
    skipped = report["results"]["skipped_checks"]
    assert skipped
    for finding in skipped:
        assert len(finding["check_result"].get("suppress_comment", "")) >= MIN_REASON, finding["check_id"]


def test_checkov_does_fail_a_template_that_breaks_a_rule(tmp_path: Path) -> None:
    # (the base case: the scan above can fail) Given a queue that is not encrypted at all
    template = {"Resources": {"Plain": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
    (tmp_path / "plain.template.json").write_text(json.dumps(template))
    # Then checkov reports it
    (report,) = _checkov([tmp_path / "plain.template.json"])
    assert {f["check_id"] for f in report["results"]["failed_checks"]} >= {"CKV_AWS_27"}
