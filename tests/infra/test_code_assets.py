"""What each function's code asset and the dependency layer hold, read from the cloud assembly.

A service's asset is its package plus ``shared/`` and nothing else (no tests, no infra,
no other service, no bytecode), so a deployment ships only that service's code and its
hash changes only when that code does. The layer carries the third-party dependencies
built for the Lambda platform (arm64, CPython 3.14).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from infra.packaging import ROOT
from shared.topology import Service
from tests.infra.conftest import Synthesized
from tests.infra.deployments import REAL, Deployment, load

CACHES = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
BYTECODE = {".pyc", ".pyo"}
FOREIGN_PLATFORMS = ("x86_64", "amd64", "i686", "darwin", "win32")
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}  # the Lambda runtime's own


@pytest.fixture(scope="session", params=REAL)
def stage(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _sources(root: Path) -> set[str]:
    """The files of a source tree, without caches and bytecode."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not CACHES & set(p.parts) and p.suffix not in BYTECODE
    }


def _service_asset(stage: Deployment, service: Service) -> Path:
    """The one staged directory every function of the service is deployed from."""
    assets = {stage.asset_of(stage.function(fn)[1]["Code"]) for fn in service.functions}
    assert len(assets) == 1, f"{service.name}: functions deployed from {sorted(map(str, assets))}"
    (asset,) = assets
    assert asset.is_dir(), asset
    return asset


def test_each_service_asset_holds_only_its_package_and_shared(stage: Deployment) -> None:
    for service in stage.system.services:
        # Given the directory a service's functions are zipped from
        asset = _service_asset(stage, service)
        # Then its top level is services/ and shared/, and services/ holds only this service
        assert {p.name for p in asset.iterdir()} == {"services", "shared"}, service.name
        assert {p.name for p in (asset / "services").iterdir()} == {"__init__.py", service.name}


def test_each_service_asset_holds_every_source_file_of_its_service_and_shared(stage: Deployment) -> None:
    for service in stage.system.services:
        # Given the repository's sources of the service and shared/
        expected = (
            {"services/__init__.py"} | _sources(ROOT / "services" / service.name) | _sources(ROOT / "shared")
        )
        # When the asset's files are listed
        shipped = _files(_service_asset(stage, service))
        # Then they are the same files, none missing and none extra
        assert shipped == expected, service.name


def test_no_asset_holds_bytecode_caches_tests_infra_or_another_service(stage: Deployment) -> None:
    for service in stage.system.services:
        # Given every path in a service's asset
        asset = _service_asset(stage, service)
        others = {s.name for s in stage.system.services} - {service.name}
        for path in asset.rglob("*"):
            parts = set(path.relative_to(asset).parts)
            # Then none is a cache, bytecode, a test, the infrastructure or another service's code
            assert not parts & CACHES, path
            assert path.suffix not in BYTECODE, path
            assert not parts & {"tests", "infra"}, path
            assert not parts & others, path


def test_every_handler_is_a_function_defined_in_its_service_asset(stage: Deployment) -> None:
    for service in stage.system.services:
        asset = _service_asset(stage, service)
        for fn in service.functions:
            # Given the module a function's handler names
            module = asset / (fn.module.replace(".", "/") + ".py")
            assert module.is_file(), fn.handler
            # Then the module defines the entry point at top level
            tree = ast.parse(module.read_text())
            defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
            defined |= {
                t.id
                for n in tree.body
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            assert fn.entry in defined, fn.handler


def _layer(stage: Deployment) -> tuple[dict[str, Any], Path]:
    layers = stage.resources("AWS::Lambda::LayerVersion")
    (props,) = (r["Properties"] for r in layers.values())
    return props, stage.asset_of(props["Content"])


def test_the_layer_is_for_python_3_14_on_arm64(stage: Deployment) -> None:
    # Given the dependency layer
    props, _ = _layer(stage)
    # Then it declares the functions' runtime and architecture
    assert props["CompatibleRuntimes"] == ["python3.14"]
    assert props["CompatibleArchitectures"] == ["arm64"]


def test_the_layer_has_powertools_and_pydantic_core_built_for_cp314_on_aarch64(stage: Deployment) -> None:
    # Given the directory the layer is zipped from
    _, layer = _layer(stage)
    # Then Lambda finds the packages under python/, with pydantic's native core for the platform
    assert (layer / "python" / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (layer / "python" / "pydantic" / "__init__.py").is_file()
    cores = sorted((layer / "python" / "pydantic_core").glob("*.so"))
    assert cores
    assert all("cpython-314" in c.name and "aarch64" in c.name for c in cores), cores


def test_the_layer_has_no_native_code_for_another_platform_and_nothing_the_runtime_provides(
    stage: Deployment,
) -> None:
    # Given every file in the layer
    _, layer = _layer(stage)
    native = [p.name for p in layer.rglob("*.so")]
    # Then no extension is built for another architecture or interpreter
    assert native
    assert not [n for n in native if any(m in n for m in FOREIGN_PLATFORMS)]
    assert not [n for n in native if "cpython-" in n and "cpython-314" not in n]
    # And it ships no bytecode cache and not the runtime's own boto3
    assert not list(layer.rglob("__pycache__"))
    assert not {p.name for p in (layer / "python").iterdir()} & RUNTIME_PROVIDED
