"""The GitHub Actions workflows: linted by zizmor, and held to this project's rules.

ci.yml runs `make test` on every pull request; deploy.yml synthesizes the cloud assembly once and
deploys that same assembly to dev, then (after the approval on the `prod` environment) to prod.
Everything here runs offline: zizmor with --offline, YAML parsed locally. (actionlint is not used:
its PyPI package downloads its binary from GitHub at install time, which a CI without GitHub access
cannot do; zizmor is a wheel.)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
# The linters are dev dependencies of the project: they live next to the interpreter running pytest.
BIN = Path(sys.executable).parent
TOOL_TIMEOUT_S = 60

# The only actions the workflows may use, each at a commit vetted for its release tag.
VETTED_PINS = {
    ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683"): "v4.2.2",
    ("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065"): "v5.6.0",
    ("actions/setup-node", "49933ea5288caeca8642d1e84afbd3f7d6820020"): "v4.4.0",
    ("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02"): "v4.6.2",
    ("actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093"): "v4.3.0",
    ("aws-actions/configure-aws-credentials", "b47578312673ae6fa5b5096b330d9fbac3d116df"): "v4.2.1",
}
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*?))?\s*$")
DEPLOY_JOBS = {"deploy-dev": ("dev", "dangol-dev/*"), "deploy-prod": ("prod", "dangol-prod/*")}
MAKEFILE = ROOT / "Makefile"
CDK_CLI_PIN = re.compile(r"^CDK_CLI\s*:?=\s*(?P<cli>\S+)\s*$", re.MULTILINE)
EXACT_CDK_CLI = re.compile(r"^aws-cdk@\d+\.\d+\.\d+$")
ENV_REF = re.compile(r"\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}?")


# --- helpers -----------------------------------------------------------------------------------


def tool(name: str) -> Path:
    """The executable `name` next to sys.executable, or a failed test that says what to install."""
    path = BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"`{name}` is not installed in {BIN}: it must come with the project's dev extra "
            f"(pyproject.toml), installed by `make install`",
            pytrace=False,
        )
    return path


def run_tool(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    # No token reaches the linters: they must work (and do work) without GitHub.
    env = {
        k: v for k, v in os.environ.items() if k not in {"GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"}
    }
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S
    )


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a mapping"
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return workflow["jobs"]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in workflow_files():
        for name, job in jobs(load(path)).items():
            yield path.name, name, job


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on


def action(step: dict[str, Any]) -> str | None:
    uses = step.get("uses")
    return uses.split("@", 1)[0] if uses else None


def steps_using(job: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [step for step in steps(job) if action(step) == name]


def scripts(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(job) if "run" in step]


def expand(script: str, *envs: dict[str, Any] | None) -> str:
    """The script with $NAME/${NAME} replaced from the given env mappings (later ones win)."""
    merged: dict[str, str] = {}
    for env in envs:
        merged.update({k: str(v) for k, v in (env or {}).items()})
    return ENV_REF.sub(lambda m: merged.get(m["name"], m[0]), script)


def zizmor_findings(cwd: Path, *paths: Path) -> list[dict[str, Any]]:
    result = run_tool(
        tool("zizmor"), "--offline", "--persona", "pedantic", "--format", "json", *paths, cwd=cwd
    )
    # 0: no findings; 10-14: findings of the highest severity found; anything else: zizmor failed.
    assert result.returncode in {0, 10, 11, 12, 13, 14}, f"zizmor failed:\n{result.stderr}"
    findings = json.loads(result.stdout)
    assert isinstance(findings, list), result.stdout
    assert (result.returncode == 0) == (not findings), (result.returncode, result.stdout)
    return findings


def describe_zizmor(findings: list[dict[str, Any]]) -> str:
    lines = []
    for finding in findings:
        where = ""
        for location in finding.get("locations", []):
            concrete = location.get("concrete", {})
            row = concrete.get("location", {}).get("start_point", {}).get("row", -1) + 1
            where = f" line {row}: {concrete.get('feature', '')!r}"
            break
        lines.append(f"{finding.get('ident')}: {finding.get('desc')}{where}")
    return "\n".join(lines)


def write_workflow(root: Path, text: str) -> Path:
    path = root / ".github" / "workflows" / "canary.yml"
    path.parent.mkdir(parents=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# A workflow with the mistakes both linters exist for: a dangerous trigger, an unpinned action,
# an attacker-controlled expression inside a script and a job that needs a job that does not exist.
CANARY = """\
    name: canary
    on: pull_request_target
    jobs:
      greet:
        runs-on: ubuntu-latest
        needs: nowhere
        steps:
          - uses: actions/checkout@v4
          - run: echo "${{ github.event.pull_request.title }}"
"""


# --- the workflows exist -----------------------------------------------------------------------


def test_both_workflows_exist() -> None:
    # Given the .github/workflows folder
    # When its workflow files are listed
    names = {path.name for path in workflow_files()}
    # Then the CI and the deploy workflows are there
    assert {"ci.yml", "deploy.yml"} <= names, names


# --- zizmor ------------------------------------------------------------------------------------


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    # Given every workflow of the repository
    paths = workflow_files()
    assert paths
    # When zizmor audits them offline, pedantic persona (regular findings and code smells)
    findings = zizmor_findings(ROOT, *paths)
    # Then it reports no finding
    assert not findings, "zizmor findings:\n" + describe_zizmor(findings)


def test_zizmor_catches_an_injectable_unpinned_workflow(tmp_path: Path) -> None:
    # Given a workflow with a dangerous trigger, an unpinned action and a template injection
    canary = write_workflow(tmp_path, CANARY)
    # When zizmor audits it offline as it audits ours
    idents = {finding["ident"] for finding in zizmor_findings(tmp_path, canary)}
    # Then it flags each of them (so a clean report above means something)
    assert {"dangerous-triggers", "unpinned-uses", "template-injection"} <= idents, idents


# --- every action is pinned to a vetted commit -------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "pinned"),
    [
        ("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", True),
        ("actions/checkout@v4", False),
        ("actions/checkout@v4.2.2", False),
        ("actions/checkout@main", False),
        ("actions/checkout@11bd719", False),
        ("actions/checkout@11BD71901BBE5B1630CEEA73D27597364C9AF683", False),
        ("actions/checkout", False),
    ],
)
def test_the_pin_rule_accepts_only_a_full_commit_sha(ref: str, pinned: bool) -> None:
    # Given a `uses:` reference
    # When the pin rule reads it
    match = PINNED.match(ref)
    # Then only a full, lower-case 40-hex commit SHA passes
    assert (match is not None) is pinned


def test_every_action_is_pinned_to_a_vetted_commit_with_its_version_comment() -> None:
    # Given every `uses:` line of every workflow, read as text to keep the trailing comments
    uses = [
        (path.name, number, match)
        for path in workflow_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if (match := USES_LINE.match(line))
    ]
    assert uses
    for name, number, match in uses:
        where = f"{name}:{number}: {match['ref']}"
        # When its reference is read
        pin = PINNED.match(match["ref"])
        # Then it is a full commit SHA of a vetted action, commented with that commit's release tag
        assert pin, f"{where} is not pinned to a 40-hex commit SHA"
        version = VETTED_PINS.get((pin["action"], pin["sha"]))
        assert version, f"{where} is not a vetted (action, commit) pair: vet it and add it to VETTED_PINS"
        assert match["comment"] == version, f"{where} must end with `# {version}`, not {match['comment']!r}"


def test_the_parsed_workflows_use_no_action_the_text_scan_missed() -> None:
    # Given every `uses:` of every job and step, as YAML reads them
    refs = [job["uses"] for _, _, job in all_jobs() if "uses" in job]
    refs += [step["uses"] for _, _, job in all_jobs() for step in steps(job) if "uses" in step]
    assert refs
    # When each is checked against the pin rule
    unpinned = [ref for ref in refs if not PINNED.match(ref)]
    # Then none escapes it (a `uses:` written as a flow mapping would escape the line scan)
    assert not unpinned, unpinned


# --- permissions -------------------------------------------------------------------------------


def test_workflow_level_permissions_are_minimal() -> None:
    # Given both workflows
    # When their top-level permissions are read
    # Then CI can only read the repository and deploy grants nothing by default
    assert load(CI)["permissions"] == {"contents": "read"}
    assert load(DEPLOY)["permissions"] == {}


def test_only_the_deploy_jobs_can_request_an_oidc_token() -> None:
    # Given every job of every workflow
    for workflow, name, job in all_jobs():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"{workflow}/{name}: permissions must be a mapping"
        # When its permissions are read
        if workflow == "deploy.yml" and name in DEPLOY_JOBS:
            # Then a deploy job gets an OIDC token and read access, nothing else
            assert permissions == {"id-token": "write", "contents": "read"}, (name, permissions)
        else:
            # Then any other job writes nothing and gets no OIDC token
            assert "write" not in permissions.values(), (workflow, name, permissions)


def test_no_workflow_references_a_secret_or_long_lived_aws_keys() -> None:
    # Given the text of every workflow
    for path in workflow_files():
        text = path.read_text(encoding="utf-8")
        # When it is searched for secrets and static AWS keys
        # Then there are none: deploys authenticate with OIDC alone
        assert "secrets." not in text, path.name
        assert "aws-access-key-id" not in text, path.name
        assert "aws-secret-access-key" not in text, path.name
        assert "AWS_ACCESS_KEY_ID" not in text, path.name


# --- triggers and injection --------------------------------------------------------------------


def test_triggers_are_pull_requests_and_main_and_never_pull_request_target() -> None:
    # Given both workflows
    ci, deploy = triggers(load(CI)), triggers(load(DEPLOY))
    # When their triggers are read
    # Then CI runs on pull requests and on main, deploy on main and by hand, neither on _target
    assert set(ci) == {"pull_request", "push"}, ci
    assert ci["push"] == {"branches": ["main"]}, ci
    assert set(deploy) == {"push", "workflow_dispatch"}, deploy
    assert deploy["push"] == {"branches": ["main"]}, deploy
    for path in workflow_files():
        assert "pull_request_target" not in triggers(load(path)), path.name
        assert "workflow_run" not in triggers(load(path)), path.name


def test_no_expression_is_interpolated_into_a_script() -> None:
    # Given every `run:` script of every workflow
    for workflow, name, job in all_jobs():
        for script in scripts(job):
            # When it is searched for `${{ ... }}`
            # Then there is none: values reach scripts through `env:` only
            assert "${{" not in script, f"{workflow}/{name}: {script!r}"


def test_every_job_has_a_timeout_and_no_checkout_persists_its_token() -> None:
    # Given every job of every workflow
    for workflow, name, job in all_jobs():
        # When its timeout and checkouts are read
        # Then it has a bounded timeout and no checkout leaves the token in .git/config
        assert 0 < job.get("timeout-minutes", 0) <= 60, f"{workflow}/{name}: timeout-minutes"
        for step in steps_using(job, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{workflow}/{name}"


# --- ci.yml ------------------------------------------------------------------------------------


def test_ci_runs_make_test_with_python_3_11_and_node_20() -> None:
    # Given the CI workflow
    workflow = load(CI)
    (job,) = jobs(workflow).values()
    # When its single job is read
    # Then it sets up Python 3.11 and Node 20 and runs `make test` with CI=true
    assert job["runs-on"] == "ubuntu-latest"
    assert str(workflow["env"]["CI"]).lower() == "true"
    (python,) = steps_using(job, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"
    (node,) = steps_using(job, "actions/setup-node")
    assert str(node["with"]["node-version"]) == "20"
    assert [s.strip() for s in scripts(job)] == ["make test"], scripts(job)


def test_ci_cancels_superseded_runs_of_the_same_ref() -> None:
    # Given the CI workflow
    concurrency = load(CI)["concurrency"]
    # When its concurrency is read
    # Then runs are grouped by ref and a newer run cancels the older one
    assert "${{ github.ref }}" in concurrency["group"], concurrency
    assert concurrency["cancel-in-progress"] is True


# --- deploy.yml --------------------------------------------------------------------------------


def test_deploys_run_synth_then_dev_then_prod_each_in_its_environment() -> None:
    # Given the deploy workflow
    deploy = jobs(load(DEPLOY))
    # When its jobs and their dependencies are read
    # Then synth has no environment, dev needs synth, prod needs dev, each in its GitHub environment
    assert set(deploy) == {"synth", *DEPLOY_JOBS}, set(deploy)
    assert "environment" not in deploy["synth"]
    assert deploy["deploy-dev"]["needs"] in ("synth", ["synth"])
    assert deploy["deploy-prod"]["needs"] in ("deploy-dev", ["deploy-dev"])
    for name, (environment, _) in DEPLOY_JOBS.items():
        assert deploy[name]["environment"] in (environment, {"name": environment}), name


def test_a_deploy_is_never_cancelled_and_never_runs_twice_for_one_environment() -> None:
    # Given the deploy jobs
    deploy = jobs(load(DEPLOY))
    groups = set()
    for name in DEPLOY_JOBS:
        # When their concurrency is read
        concurrency = deploy[name]["concurrency"]
        # Then each has its own group and an in-progress deploy is never cancelled
        assert concurrency["cancel-in-progress"] is False, name
        groups.add(concurrency["group"])
    assert len(groups) == len(DEPLOY_JOBS), groups


def test_synth_runs_make_synth_once_and_ships_cdk_out() -> None:
    # Given the deploy workflow
    deploy = jobs(load(DEPLOY))
    synth = deploy["synth"]
    # When its scripts are read
    all_scripts = [script for job in deploy.values() for script in scripts(job)]
    # Then `make synth` runs exactly once in the whole workflow, in the synth job
    assert sum(script.count("make synth") for script in all_scripts) == 1, all_scripts
    assert any("make synth" in script for script in scripts(synth))
    # And the synth job sets up Python 3.11 and Node 20 and uploads cdk.out, all of it
    (python,) = steps_using(synth, "actions/setup-python")
    assert str(python["with"]["python-version"]) == "3.11"
    (node,) = steps_using(synth, "actions/setup-node")
    assert str(node["with"]["node-version"]) == "20"
    (upload,) = steps_using(synth, "actions/upload-artifact")
    assert upload["with"]["if-no-files-found"] == "error"
    assert any(
        script.split() == ["tar", "-cf", upload["with"]["path"], "cdk.out"] for script in scripts(synth)
    )


def test_deploy_jobs_deploy_the_synthesized_assembly_and_do_not_synthesize() -> None:
    # Given the deploy workflow and the artifact its synth job uploads
    workflow = load(DEPLOY)
    deploy = jobs(workflow)
    (upload,) = steps_using(deploy["synth"], "actions/upload-artifact")
    for name, (_, stacks) in DEPLOY_JOBS.items():
        job = deploy[name]
        # When a deploy job's steps are read
        commands = [
            shlex.split(expand(step["run"], workflow.get("env"), job.get("env"), step.get("env")))
            for step in steps(job)
            if "run" in step
        ]
        # Then it does not check out the code nor build anything: it unpacks the synth's artifact
        assert not steps_using(job, "actions/checkout"), name
        assert not any(word in {"make", "synth", "pip", "python", "uv"} for c in commands for word in c), name
        (download,) = steps_using(job, "actions/download-artifact")
        assert download["with"]["name"] == upload["with"]["name"], name
        assert ["tar", "-xf", upload["with"]["path"]] in commands, (name, commands)
        # And deploys it, and only its own stage, with the pinned CDK CLI and no prompt
        expected = [
            "npx",
            "--yes",
            workflow["env"]["CDK_CLI"],
            "deploy",
            "--app",
            "cdk.out",
            stacks,
            "--require-approval",
            "never",
        ]
        assert commands[-1] == expected, (name, commands[-1])


def test_deploy_jobs_assume_the_environment_role_with_oidc_before_deploying() -> None:
    # Given the deploy jobs
    deploy = jobs(load(DEPLOY))
    for name in DEPLOY_JOBS:
        job = deploy[name]
        # When their AWS credentials step is read
        (credentials,) = steps_using(job, "aws-actions/configure-aws-credentials")
        # Then it assumes the role of the job's environment through OIDC, with no static keys
        assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}", name
        assert credentials["with"]["aws-region"] == "${{ vars.AWS_REGION }}", name
        assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(
            credentials["with"]
        ), name
        # And it comes before the deploy, which is the job's last step
        assert steps(job).index(credentials) < len(steps(job)) - 1, name
        assert "deploy" in steps(job)[-1].get("run", ""), name


def test_deploys_use_the_exact_cdk_cli_the_makefile_pins() -> None:
    # Given the CDK CLI that `make deploy` uses
    makefile = CDK_CLI_PIN.search(MAKEFILE.read_text(encoding="utf-8"))
    assert makefile, "the Makefile no longer pins CDK_CLI := aws-cdk@X.Y.Z"
    # When the deploy workflow's CLI is read
    cli = load(DEPLOY)["env"]["CDK_CLI"]
    # Then it is an exact version, the Makefile's: the CLI that reads the assembly is the same everywhere
    assert EXACT_CDK_CLI.match(cli), cli
    assert cli == makefile["cli"], f"deploy.yml deploys with {cli}, the Makefile with {makefile['cli']}"
