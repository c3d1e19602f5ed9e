"""The CDK app: one Stage per deployment stage, each with the dangol stack (and its nested
stacks), and one Stage per AWS account with what the account holds once (``AccountStack``:
GitHub's OIDC provider, the deploy and diff roles, API Gateway's logging role), all checked by
cdk-nag (AwsSolutions and Serverless packs) as a policy-validation plugin.

    .venv/bin/python -m infra.app      (what `make synth` and cdk.json run) -> cdk.out/
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Environment, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import ACCOUNTS, STAGES, AccountConfig, StageConfig, account_problems, stages_in
from infra.stacks.account import AccountStack
from infra.stacks.dangol import DangolStack
from infra.topology import SYSTEM
from shared.topology import System

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def quiet_node_warnings() -> None:
    """jsii runs on the machine's Node 20, past its end of life; it still works."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def context() -> dict[str, object]:
    """cdk.json's feature flags: the CLI passes them itself, a direct run (make synth, tests) reads them."""
    if os.environ.get("CDK_CONTEXT_JSON"):
        return {}
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def build(
    outdir: str | None = None,
    stages: tuple[StageConfig, ...] = STAGES,
    system: System = SYSTEM,
    accounts: tuple[AccountConfig, ...] = ACCOUNTS,
) -> App:
    """The app of ``stages`` and of the accounts they are deployed into (an account whose stages
    are not all among ``stages`` is left out: a test that builds one stage builds no account)."""
    app = App(outdir=outdir, context=context()) if outdir else App(context=context())
    for stage in stages:
        deployment = Stage(app, stage.stage_id, env=Environment(account=stage.account, region=stage.region))
        DangolStack(deployment, "dangol", system=system, stage=stage)
    names = {stage.name for stage in stages}
    included = tuple(a for a in accounts if set(a.stages) <= names)
    if included and (problems := account_problems(accounts, STAGES)):
        raise ValueError("the accounts are misconfigured: " + "; ".join(problems))
    for account in included:
        scope = Stage(app, account.stage_id, env=Environment(account=account.account, region=account.region))
        AccountStack(scope, "account", account=account, stages=stages_in(account, stages))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


def summary(outdir: Path) -> list[str]:
    """Per stage, each template's resources and size: how far each is from CloudFormation's 500
    resources and 1 MB (``tests/infra/test_limits.py`` holds them under 400 and 60%)."""
    lines = []
    for directory in sorted(outdir.glob("assembly-*")):
        parts = []
        for path in sorted(directory.glob("*.template.json"), key=lambda p: ("nested" in p.name, p.name)):
            template = json.loads(path.read_text())
            # a nested stack's file is <stage><stack><service><hash>.nested.template.json
            prefix = directory.name.removeprefix("assembly-").replace("-", "") + "dangol"
            stem = path.name.split(".")[0]
            kind = stem.removeprefix(prefix)[:-8] if ".nested." in path.name else "root"
            parts.append(f"{kind} {len(template['Resources'])} resources ({path.stat().st_size // 1024} KB)")
        lines.append(f"  {directory.name.removeprefix('assembly-')}: " + ", ".join(parts))
    return lines


def main() -> None:
    quiet_node_warnings()
    # The CDK CLI passes CDK_OUTDIR; run directly (make synth), the assembly goes to cdk.out/.
    outdir = os.environ.get("CDK_OUTDIR", "cdk.out")
    build(outdir).synth()
    if "CDK_OUTDIR" not in os.environ:
        print("templates:\n" + "\n".join(summary(Path(outdir))))  # noqa: T201 - make synth's report


if __name__ == "__main__":
    main()
