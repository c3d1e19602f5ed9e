"""The CDK app synthesized once, in-process, with cdk-nag's plugins on (as `make synth` does).

Each stage is read as one flattened template (its root stack and its nested stacks, see
``templates.py``) for the property tests, and as its real files for the limit tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from infra.app import build, quiet_node_warnings
from infra.config import STAGES, StageConfig
from infra.topology import SYSTEM
from shared.topology import System
from tests.infra.templates import StageFiles, flatten, stage_files

if TYPE_CHECKING:
    from tests.infra.deployments import Deployment


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stage name -> its stacks flattened into one template
    files: dict[str, StageFiles]  # stage name -> the template files CloudFormation gets

    def template(self, stage: str = "dev") -> dict[str, Any]:
        return self.templates[stage]

    def resources(self, stage: str = "dev", kind: str | None = None) -> dict[str, dict[str, Any]]:
        found = self.templates[stage]["Resources"]
        return {k: v for k, v in found.items() if kind is None or v["Type"] == kind}

    @property
    def report(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One worker synthesizes once for every infra test.
    for item in items:
        if "tests/infra" in str(item.path):
            item.add_marker(pytest.mark.xdist_group("synth"))


def synthesize(
    outdir: Path, stages: tuple[StageConfig, ...] = STAGES, system: System = SYSTEM
) -> Synthesized:
    quiet_node_warnings()
    assembly = build(str(outdir), stages, system).synth()
    templates, files = {}, {}
    for stage in stages:
        nested = assembly.get_nested_assembly(f"assembly-{stage.stage_id}")
        (stack,) = nested.stacks
        root = Path(nested.directory) / stack.template_file
        templates[stage.name] = flatten(dict(stack.template), root.parent)
        files[stage.name] = stage_files(root)
    return Synthesized(outdir, templates, files)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def backbone(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The test topology that uses the whole asynchronous backbone (``backbone_topology.py``),
    synthesized once, for the first stage, with cdk-nag as for the real app."""
    from tests.infra.backbone_topology import BACKBONE

    return synthesize(tmp_path_factory.mktemp("cdk.out.backbone"), stages=(STAGES[0],), system=BACKBONE)


@pytest.fixture(scope="session", params=[s.name for s in STAGES])
def stage(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    """Each real stage's synthesized deployment (``deployments.py``)."""
    from tests.infra.deployments import load

    return load(request.param, synthesized, tmp_path_factory)
