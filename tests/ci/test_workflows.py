"""The GitHub Actions workflows: linted by zizmor, and held to this project's rules.

ci.yml runs `make test` on every pull request and push to main, on the project's minimum Python and
on the Lambda runtime's; for main, once every test job of that run has passed, it calls deploy.yml
(the same commit), which synthesizes the cloud assembly once, shows each stage's `cdk diff` in a job
summary, and deploys that same assembly to dev, then (after the approval on the `prod` environment)
to prod. Everything here runs offline: zizmor with --offline, YAML parsed locally. (actionlint is not
used: its PyPI package downloads its binary from GitHub at install time, which a CI without GitHub
access cannot do; zizmor is a wheel.)
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.bootstrap import DEPLOY_ROLE_VARIABLE, REGION_VARIABLE, diff_region_variable, diff_role_variable
from infra.config import STAGES

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
# GitHub's self-repository reference: this repository at the running commit (a reusable workflow here).
SELF_REFERENCE = re.compile(r"^\$/\.github/workflows/(?P<file>[\w.-]+\.ya?ml)$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*?))?\s*$")
# Per stage of infra/config.py: the job that diffs it, the job that deploys it, its stacks' pattern.
DIFF_JOBS = {f"diff-{s.name}": (s.name, f"{s.stage_id}/*") for s in STAGES}
DEPLOY_JOBS = {f"deploy-{s.name}": (s.name, f"{s.stage_id}/*") for s in STAGES}
AWS_JOBS = {**DIFF_JOBS, **DEPLOY_JOBS}
PROD = [s.name for s in STAGES if s.prod]
MAKEFILE = ROOT / "Makefile"
PYPROJECT = ROOT / "pyproject.toml"
FUNCTIONS = ROOT / "infra" / "stacks" / "functions.py"
MIN_NODE = 22  # jsii supports 22 and 24; Node 20 is past its end of life
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
        if SELF_REFERENCE.match(match["ref"]):
            continue  # this repository at the running commit: nothing to pin (see the test below)
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
    unpinned = [ref for ref in refs if not (PINNED.match(ref) or SELF_REFERENCE.match(ref))]
    # Then none escapes it (a `uses:` written as a flow mapping would escape the line scan)
    assert not unpinned, unpinned


def test_a_self_reference_calls_a_workflow_of_this_repository_that_only_a_call_can_start() -> None:
    # Given every job that calls a workflow of this repository (`$/`: at the running commit)
    calls = [(workflow, name, job["uses"]) for workflow, name, job in all_jobs() if "uses" in job]
    for workflow, name, ref in calls:
        # When the called file is read
        match = SELF_REFERENCE.match(ref)
        assert match, f"{workflow}/{name}: a job may only call a workflow of this repository: {ref}"
        called = WORKFLOWS / match["file"]
        # Then it exists and has no trigger of its own: it runs only as part of its caller's run
        assert called.is_file(), ref
        assert set(triggers(load(called))) == {"workflow_call"}, ref
    # And steps use actions only: `$/` is for whole workflows here
    step_refs = [step["uses"] for _, _, job in all_jobs() for step in steps(job) if "uses" in step]
    assert not [ref for ref in step_refs if ref.startswith(("$/", "./"))], step_refs


# --- permissions ---------------------------------------------------------------------------------


def calling_jobs(workflow: dict[str, Any], called: Path) -> dict[str, dict[str, Any]]:
    return {
        name: job
        for name, job in jobs(workflow).items()
        if (match := SELF_REFERENCE.match(job.get("uses", ""))) and match["file"] == called.name
    }


def test_workflow_level_permissions_are_minimal() -> None:
    # Given both workflows
    # When their top-level permissions are read
    # Then CI can only read the repository and deploy grants nothing by default
    assert load(CI)["permissions"] == {"contents": "read"}
    assert load(DEPLOY)["permissions"] == {}


def test_only_the_jobs_that_reach_aws_can_request_an_oidc_token() -> None:
    # Given every job of every workflow, and the job of ci.yml that calls deploy.yml
    (caller,) = calling_jobs(load(CI), DEPLOY)
    for workflow, name, job in all_jobs():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"{workflow}/{name}: permissions must be a mapping"
        # When its permissions are read
        if (workflow == "deploy.yml" and name in AWS_JOBS) or (workflow == "ci.yml" and name == caller):
            # Then a diff or deploy job (and the call that bounds them) gets an OIDC token and read access
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
        assert "secrets: inherit" not in text, path.name
        assert "aws-access-key-id" not in text, path.name
        assert "aws-secret-access-key" not in text, path.name
        assert "AWS_ACCESS_KEY_ID" not in text, path.name


# --- triggers and injection --------------------------------------------------------------------


def test_triggers_are_pull_requests_and_main_and_never_a_privileged_one() -> None:
    # Given both workflows
    ci, deploy = triggers(load(CI)), triggers(load(DEPLOY))
    # When their triggers are read
    # Then CI runs on pull requests, on main and by hand; deploy only when a workflow calls it
    assert set(ci) == {"pull_request", "push", "workflow_dispatch"}, ci
    assert ci["push"] == {"branches": ["main"]}, ci
    assert set(deploy) == {"workflow_call"}, deploy
    # And nothing runs on a trigger that runs with privileges on behalf of someone else's code
    for path in workflow_files():
        assert not {"pull_request_target", "workflow_run", "issue_comment"} & set(triggers(load(path))), path


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
        if "uses" in job:
            # (A job that calls a workflow takes no timeout: the called workflow's jobs have theirs.)
            assert SELF_REFERENCE.match(job["uses"]), (workflow, name)
            continue
        # Then it has a bounded timeout and no checkout leaves the token in .git/config
        assert 0 < job.get("timeout-minutes", 0) <= 60, f"{workflow}/{name}: timeout-minutes"
        for step in steps_using(job, "actions/checkout"):
            assert step.get("with", {}).get("persist-credentials") is False, f"{workflow}/{name}"


# --- the versions the runtime needs --------------------------------------------------------------


def runtime_python() -> str:
    """The Lambda runtime's Python version: infra/packaging.py's LAMBDA_PYTHON, which the stacks'
    RUNTIME (infra/stacks/functions.py) and the packaged bytecode both follow."""
    from infra.packaging import LAMBDA_PYTHON, LAMBDA_RUNTIME

    assert "from infra.packaging import LAMBDA_RUNTIME" in FUNCTIONS.read_text(encoding="utf-8")
    assert f"python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}" == LAMBDA_RUNTIME
    return f"{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}"


def minimum_python() -> str:
    """The project's minimum Python, from pyproject.toml's requires-python (">=3.11")."""
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", requires)
    assert match, requires
    return match[1]


def test_the_runtime_python_is_read_from_the_code() -> None:
    # Given the code's Lambda runtime and the project's minimum
    # When their versions are read
    # Then both are Python versions, the runtime's no older than the minimum
    runtime, minimum = runtime_python(), minimum_python()
    assert re.fullmatch(r"3\.\d+", runtime), runtime
    assert tuple(map(int, runtime.split("."))) >= tuple(map(int, minimum.split(".")))


def test_node_is_22_or_newer_in_every_job() -> None:
    # Given every Node.js set-up of every workflow
    nodes = [
        (workflow, name, str(step["with"]["node-version"]))
        for workflow, name, job in all_jobs()
        for step in steps_using(job, "actions/setup-node")
    ]
    assert nodes
    for workflow, name, version in nodes:
        # When its version is read
        major = re.match(r"(\d+)", version)
        # Then it is a major version jsii supports (Node 20 is past its end of life)
        assert major, f"{workflow}/{name}: node-version {version!r}"
        assert int(major[1]) >= MIN_NODE, f"{workflow}/{name}: node-version {version!r}"
    # And every job that runs npx (the CDK CLI) or make (jsii) sets Node up first
    for workflow, name, job in all_jobs():
        if any(re.search(r"\b(npx|make)\b", script) for script in scripts(job)):
            assert steps_using(job, "actions/setup-node"), f"{workflow}/{name} runs Node without set-up"


# --- ci.yml ------------------------------------------------------------------------------------


def make_test_job() -> tuple[str, dict[str, Any]]:
    """ci.yml's job that runs `make test`, and its name."""
    ((name, job),) = [
        (name, job) for name, job in jobs(load(CI)).items() if "make test" in map(str.strip, scripts(job))
    ]
    return name, job


def test_ci_runs_make_test_on_the_minimum_and_the_runtime_python_with_node_24() -> None:
    # Given the CI workflow's test job
    workflow = load(CI)
    _, job = make_test_job()
    # When its matrix and set-up are read
    versions = [str(v) for v in job["strategy"]["matrix"]["python"]]
    # Then it runs on the project's minimum Python and on the Lambda runtime's (read from the code)
    assert minimum_python() in versions, versions
    assert runtime_python() in versions, versions
    assert job["strategy"].get("fail-fast") is False
    (python,) = steps_using(job, "actions/setup-python")
    assert python["with"]["python-version"] == "${{ matrix.python }}"
    (node,) = steps_using(job, "actions/setup-node")
    assert str(node["with"]["node-version"]) == "24"
    # And it runs `make test` with CI=true, on ubuntu
    assert job["runs-on"] == "ubuntu-latest"
    assert str(workflow["env"]["CI"]).lower() == "true"
    assert [s.strip() for s in scripts(job)] == ["make test"], scripts(job)


def test_ci_cancels_superseded_pull_request_runs_and_never_a_run_of_main() -> None:
    # Given the CI workflow, whose runs on main deploy
    concurrency = load(CI)["concurrency"]
    # When its concurrency is read
    # Then only a pull request's runs share a group (its ref) and cancel each other; every other
    # run is a group of its own, so a deploy is never cancelled by the next push
    assert concurrency["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}", concurrency
    group = concurrency["group"]
    assert "github.event_name == 'pull_request' && github.ref" in group, group
    assert "|| github.run_id" in group, group


def test_deploy_runs_only_after_the_same_commits_tests_pass_and_only_for_main() -> None:
    # Given the CI workflow
    workflow = load(CI)
    test_name, _ = make_test_job()
    # When the job that calls deploy.yml is read
    (caller,) = calling_jobs(workflow, DEPLOY).values()
    # Then it needs the test job of the same run (every Python of its matrix), so the same commit;
    # a self-reference runs deploy.yml as of that commit too, and deploy.yml has no trigger of its own
    assert caller["needs"] in (test_name, [test_name]), caller
    assert caller["uses"] == "$/.github/workflows/deploy.yml"
    assert set(triggers(load(DEPLOY))) == {"workflow_call"}
    # And it runs for main only, never for a pull request
    condition = caller["if"]
    assert "github.ref == 'refs/heads/main'" in condition, condition
    assert "github.event_name != 'pull_request'" in condition, condition
    assert "||" not in condition, condition
    # And deploy.yml checks out nothing but the run's own commit (no `ref:`, no other repository)
    for job in jobs(load(DEPLOY)).values():
        for checkout in steps_using(job, "actions/checkout"):
            assert not {"ref", "repository"} & set(checkout.get("with", {})), checkout


# --- deploy.yml --------------------------------------------------------------------------------


def needs(job: dict[str, Any]) -> set[str]:
    found = job.get("needs", [])
    return {found} if isinstance(found, str) else set(found)


def upstream(deploy: dict[str, dict[str, Any]], name: str) -> set[str]:
    """Every job that must finish before `name` starts."""
    seen: set[str] = set()
    todo = list(needs(deploy[name]))
    while todo:
        job = todo.pop()
        if job not in seen:
            seen.add(job)
            todo += needs(deploy[job])
    return seen


def test_each_stage_is_diffed_then_deployed_in_its_environment_and_prod_after_the_others() -> None:
    # Given the deploy workflow
    deploy = jobs(load(DEPLOY))
    # When its jobs and their dependencies are read
    # Then there is one synth, and per stage a diff job and a deploy job, nothing else
    assert set(deploy) == {"synth", *DIFF_JOBS, *DEPLOY_JOBS}, set(deploy)
    assert "environment" not in deploy["synth"]
    for (diff, (stage, _)), deploy_job in zip(DIFF_JOBS.items(), DEPLOY_JOBS, strict=True):
        # And a stage's diff runs after the synth, in no environment (in a reviewed one it would wait
        # for the approval it informs), and its deploy waits for that diff
        assert needs(deploy[diff]) == {"synth"}, diff
        assert "environment" not in deploy[diff], diff
        assert diff in needs(deploy[deploy_job]), deploy_job
        assert deploy[deploy_job]["environment"] in (stage, {"name": stage}), deploy_job
    # And a prod stage deploys only after every other stage deployed
    assert PROD
    for stage in PROD:
        others = {f"deploy-{s.name}" for s in STAGES if not s.prod}
        assert others <= upstream(deploy, f"deploy-{stage}"), stage


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


def test_synth_runs_make_synth_once_on_the_runtime_python_and_ships_cdk_out() -> None:
    # Given the deploy workflow
    deploy = jobs(load(DEPLOY))
    synth = deploy["synth"]
    # When its scripts are read
    all_scripts = [script for job in deploy.values() for script in scripts(job)]
    # Then `make synth` runs exactly once in the whole workflow, in the synth job
    assert sum(script.count("make synth") for script in all_scripts) == 1, all_scripts
    (make_synth,) = [step for step in steps(synth) if "make synth" in step.get("run", "")]
    # And with the bytecode of the Lambda runtime's Python required (compiled by that Python)
    assert str(make_synth.get("env", {}).get("DANGOL_REQUIRE_BYTECODE")) == "1", make_synth
    (python,) = steps_using(synth, "actions/setup-python")
    assert str(python["with"]["python-version"]) == runtime_python()
    (node,) = steps_using(synth, "actions/setup-node")
    assert str(node["with"]["node-version"]) == "24"
    # And it uploads cdk.out, all of it
    (upload,) = steps_using(synth, "actions/upload-artifact")
    assert upload["with"]["if-no-files-found"] == "error"
    assert any(
        script.split() == ["tar", "-cf", upload["with"]["path"], "cdk.out"] for script in scripts(synth)
    )


def commands_of(workflow: dict[str, Any], job: dict[str, Any], step: dict[str, Any]) -> list[str]:
    return shlex.split(expand(step["run"], workflow.get("env"), job.get("env"), step.get("env")))


def test_diff_and_deploy_jobs_use_the_synthesized_assembly_and_do_not_synthesize() -> None:
    # Given the deploy workflow and the artifact its synth job uploads
    workflow = load(DEPLOY)
    deploy = jobs(workflow)
    (upload,) = steps_using(deploy["synth"], "actions/upload-artifact")
    for name in AWS_JOBS:
        job = deploy[name]
        # When a diff or deploy job's steps are read
        commands = [commands_of(workflow, job, step) for step in steps(job) if "run" in step]
        # Then it does not check out the code nor build anything: it unpacks the synth's artifact
        assert not steps_using(job, "actions/checkout"), name
        assert not any(word in {"make", "synth", "pip", "python", "uv"} for c in commands for word in c), name
        (download,) = steps_using(job, "actions/download-artifact")
        assert download["with"]["name"] == upload["with"]["name"], name
        assert ["tar", "-xf", upload["with"]["path"]] in commands, (name, commands)


def test_deploy_jobs_deploy_only_their_stage_with_the_pinned_cli_as_their_last_step() -> None:
    # Given the deploy jobs
    workflow = load(DEPLOY)
    for name, (_, stacks) in DEPLOY_JOBS.items():
        job = jobs(workflow)[name]
        # When the last step is read
        last = commands_of(workflow, job, steps(job)[-1])
        # Then it deploys the assembly, its own stage only, with the pinned CDK CLI and no prompt
        assert last == [
            "npx",
            "--yes",
            workflow["env"]["CDK_CLI"],
            "deploy",
            "--app",
            "cdk.out",
            stacks,
            "--require-approval",
            "never",
        ], (name, last)


def test_each_diff_job_shows_its_stages_diff_in_the_job_summary() -> None:
    # Given the diff jobs
    workflow = load(DEPLOY)
    for name, (_, stacks) in DIFF_JOBS.items():
        job = jobs(workflow)[name]
        # When its last script is read
        script = expand(steps(job)[-1]["run"], workflow.get("env"), job.get("env"))
        first = shlex.split(script.splitlines()[0])
        # Then it diffs the assembly's stage against the deployed stacks with the pinned CDK CLI,
        # reading templates only (what the read-only diff role may do), as `make diff` does
        npx = first.index("npx")
        assert first[npx : npx + 8] == [
            "npx",
            "--yes",
            workflow["env"]["CDK_CLI"],
            "diff",
            "--app",
            "cdk.out",
            stacks,
            "--method",
        ], first
        assert first[npx + 8] == "template", first
        # And writes it to the job summary, which reviewers read before they approve
        assert "--no-color 2>&1 | tee diff.txt" in script, script
        assert "head -c 900000 diff.txt" in script, script
        assert script.rstrip().endswith('} >> "$GITHUB_STEP_SUMMARY"'), script
    # And the workflow's bash fails a step when any command of a pipe fails (`cdk diff | tee`)
    assert workflow["defaults"]["run"]["shell"] == "bash"


def test_aws_jobs_assume_their_stages_role_with_oidc_before_they_touch_aws() -> None:
    # Given the diff and deploy jobs
    deploy = jobs(load(DEPLOY))
    for name, (stage, _) in AWS_JOBS.items():
        job = deploy[name]
        # When their AWS credentials step is read
        (credentials,) = steps_using(job, "aws-actions/configure-aws-credentials")
        given = credentials["with"]
        # Then a deploy job assumes its environment's deploy role, a diff job its stage's diff role
        # (a repository variable: it runs in no environment), through OIDC, with no static keys
        if name in DEPLOY_JOBS:
            role, region = DEPLOY_ROLE_VARIABLE, REGION_VARIABLE
        else:
            role, region = diff_role_variable(stage), diff_region_variable(stage)
        assert given["role-to-assume"] == f"${{{{ vars.{role} }}}}", name
        assert given["aws-region"] == f"${{{{ vars.{region} }}}}", name
        assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(given), name
        # And it comes right before the job's last step, the only one that calls AWS
        assert steps(job).index(credentials) == len(steps(job)) - 2, name


def test_a_deploy_stops_when_main_has_moved_on() -> None:
    # Given the deploy jobs (runs finish out of order: a slow test, a re-run, a late approval)
    deploy = jobs(load(DEPLOY))
    for name in DEPLOY_JOBS:
        job = deploy[name]
        # When their first step is read
        first = steps(job)[0]
        # Then it compares the branch's head with the run's commit and fails when they differ,
        # before the job has any AWS credentials
        script = first["run"]
        assert 'gh api "repos/$GITHUB_REPOSITORY/commits/$GITHUB_REF_NAME" --jq .sha' in script, script
        assert 'if [ "$head" != "$GITHUB_SHA" ]; then' in script, script
        assert "exit 1" in script, script
        assert first["env"]["GH_TOKEN"] == "${{ github.token }}", first


def test_deploys_use_the_exact_cdk_cli_the_makefile_pins() -> None:
    # Given the CDK CLI that `make deploy` uses
    makefile = CDK_CLI_PIN.search(MAKEFILE.read_text(encoding="utf-8"))
    assert makefile, "the Makefile no longer pins CDK_CLI := aws-cdk@X.Y.Z"
    # When the deploy workflow's CLI is read
    cli = load(DEPLOY)["env"]["CDK_CLI"]
    # Then it is an exact version, the Makefile's: the CLI that reads the assembly is the same everywhere
    assert EXACT_CDK_CLI.match(cli), cli
    assert cli == makefile["cli"], f"deploy.yml deploys with {cli}, the Makefile with {makefile['cli']}"


# --- the Makefile's deploy targets ----------------------------------------------------------------


def recipe(target: str) -> list[str]:
    """The recipe lines of a Makefile target."""
    lines = MAKEFILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        body.append(line.strip().lstrip("@"))
    return body


def test_make_bootstrap_bootstraps_the_account_then_deploys_its_account_stack() -> None:
    # Given `make bootstrap ACCOUNT=<name>`
    lines = recipe("bootstrap")
    # When its recipe is read
    cdk = [line for line in lines if "npx --yes $(CDK_CLI)" in line]
    # Then it checks the account first, bootstraps it with the pinned CLI, deploys its account stack
    # (asking before IAM changes: no --require-approval never), then prints the GitHub side
    assert "infra.bootstrap args" in lines[0], lines
    assert "$(CDK_CLI) bootstrap --app cdk.out" in cdk[0], cdk
    assert cdk[1] == 'npx --yes $(CDK_CLI) deploy --app cdk.out "dangol-account-$(ACCOUNT)/*"', cdk
    assert "infra.bootstrap github" in lines[-1], lines


def test_make_diff_is_the_diff_ci_shows() -> None:
    # Given `make diff STAGE=dev`
    (line,) = recipe("diff")
    # When its command is read
    # Then it is the diff jobs' command, on the stage given (dev by default)
    assert line == 'npx --yes $(CDK_CLI) diff --app cdk.out "dangol-$(or $(STAGE),dev)/*" --method template'
    assert recipe("deploy") == [
        'npx --yes $(CDK_CLI) deploy --app cdk.out "dangol-$(or $(STAGE),dev)/*" --require-approval never'
    ]
