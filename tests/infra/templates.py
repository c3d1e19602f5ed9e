"""Reading a stage's templates as one: the root stack and its nested stacks, flattened.

A stage is a root stack (the platform and the API) with one nested stack per service. The
property tests state facts about the whole stage ("every function of the topology ..."), so they
read one flattened template: every resource of every stack, with each nested stack's parameters
replaced by what the root passes and each ``Fn::GetAtt [<nested stack>, Outputs.X]`` replaced by
that output's value. References across stacks then look exactly like references within one. The
size and limit tests read the real files (``StageFiles``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]
NESTED = "AWS::CloudFormation::Stack"
_HASH = re.compile(r"/([0-9a-f]{64})\.json$")


@dataclass(frozen=True)
class StageFiles:
    """The files CloudFormation gets for a stage: the root template and each nested one."""

    root: Path
    nested: tuple[Path, ...]

    @property
    def all(self) -> tuple[Path, ...]:
        return (self.root, *self.nested)


def _assets(assembly: Path) -> dict[str, Path]:
    """Asset hash -> file, from the stage's asset manifests."""
    found: dict[str, Path] = {}
    for manifest in assembly.glob("*.assets.json"):
        for asset_hash, asset in json.loads(manifest.read_text()).get("files", {}).items():
            found[asset_hash] = assembly / asset["source"]["path"]
    return found


def _template_url_hash(resource: Json) -> str:
    parts = resource["Properties"]["TemplateURL"]["Fn::Join"][1]
    match = _HASH.search(str(parts[-1]))
    assert match, f"not an asset template URL: {parts}"
    return match.group(1)


def _replace(value: Any, swap: Any) -> Any:
    """``value`` with every dict ``swap`` answers for (not None) replaced by its answer."""
    if isinstance(value, dict):
        answer = swap(value)
        if answer is not None:
            return answer
        return {k: _replace(v, swap) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, swap) for v in value]
    return value


def nested_files(root: Json, assembly: Path) -> dict[str, Path]:
    """Logical id of each nested stack -> its template file."""
    assets = _assets(assembly)
    return {
        logical_id: assets[_template_url_hash(resource)]
        for logical_id, resource in root["Resources"].items()
        if resource["Type"] == NESTED
    }


def flatten(root: Json, assembly: Path) -> Json:
    """One template with the resources of the root and of every nested stack (see above)."""
    resources = {k: v for k, v in root["Resources"].items() if v["Type"] != NESTED}
    outputs: dict[str, dict[str, Any]] = {}
    for logical_id, path in nested_files(root, assembly).items():
        child = flatten(json.loads(path.read_text()), assembly)
        passed = root["Resources"][logical_id]["Properties"].get("Parameters", {})

        def parameter(value: Json, passed: Json = passed) -> Any:
            ref = value.get("Ref")
            return passed[ref] if len(value) == 1 and isinstance(ref, str) and ref in passed else None

        for child_id, resource in child["Resources"].items():
            assert child_id not in resources, f"logical id {child_id} is in two stacks"
            resources[child_id] = _replace(resource, parameter)
        outputs[logical_id] = {
            k: _replace(v["Value"], parameter) for k, v in child.get("Outputs", {}).items()
        }

    def output(value: Json) -> Any:
        getatt = value.get("Fn::GetAtt")
        if len(value) == 1 and isinstance(getatt, list) and getatt[0] in outputs:
            return outputs[getatt[0]][str(getatt[1]).removeprefix("Outputs.")]
        return None

    for _ in range(len(outputs) + 1):  # an output may pass on another stack's output
        resources = _replace(resources, output)
    flattened = {k: v for k, v in root.items() if k != "Resources"}
    flattened["Resources"] = resources
    return flattened


def stage_files(root_path: Path) -> StageFiles:
    root = json.loads(root_path.read_text())
    return StageFiles(root_path, tuple(sorted(nested_files(root, root_path.parent).values())))
