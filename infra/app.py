"""The CDK app: one Stage per deployment stage, each with the dangol stack, checked
by cdk-nag (AwsSolutions and Serverless packs) as a policy-validation plugin.

    .venv/bin/python -m infra.app      (what `make synth` and cdk.json run) -> cdk.out/
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aws_cdk import App, Environment, Stage, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from infra.config import STAGES, StageConfig
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
    outdir: str | None = None, stages: tuple[StageConfig, ...] = STAGES, system: System = SYSTEM
) -> App:
    app = App(outdir=outdir, context=context()) if outdir else App(context=context())
    for stage in stages:
        deployment = Stage(app, stage.stage_id, env=Environment(account=stage.account, region=stage.region))
        DangolStack(deployment, "dangol", system=system, stage=stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


def main() -> None:
    quiet_node_warnings()
    # The CDK CLI passes CDK_OUTDIR; run directly (make synth), the assembly goes to cdk.out/.
    build(os.environ.get("CDK_OUTDIR", "cdk.out")).synth()


if __name__ == "__main__":
    main()
