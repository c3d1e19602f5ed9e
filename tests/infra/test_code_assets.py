"""What each function's code asset and the dependency layer hold, read from the cloud assembly,
and how ``infra.packaging`` compiles them.

A service's asset is its package plus ``shared/`` and nothing else (no tests, no infra,
no other service), so a deployment ships only that service's code and its hash changes only
when that code does. The layer carries the third-party dependencies built for the Lambda
platform (arm64, CPython 3.14). Both ship bytecode for the runtime's Python only (unchecked-hash
pycs compiled by a Python 3.14), or none when no such interpreter was there to compile it.
"""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import packaging
from infra.packaging import (
    INTERPRETER_ENV,
    LAMBDA_PYTHON,
    LAMBDA_RUNTIME,
    REQUIRE_BYTECODE_ENV,
    ROOT,
    BytecodeUnavailable,
    check_bytecode,
    compile_layer,
    pyc_flags,
    stage_service_code,
    zip_layer,
)
from shared.topology import Service
from tests.infra.conftest import Synthesized
from tests.infra.deployments import REAL, Deployment, load

CACHES = {".mypy_cache", ".pytest_cache", ".ruff_cache"}
BYTECODE = {".pyc", ".pyo"}
RUNTIME_TAG = f"cpython-{LAMBDA_PYTHON[0]}{LAMBDA_PYTHON[1]}"  # the only bytecode an asset may hold
UNCHECKED_HASH = 0b01
FOREIGN_PLATFORMS = ("x86_64", "amd64", "i686", "darwin", "win32")
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}  # the Lambda runtime's own


@pytest.fixture(scope="session", params=REAL)
def stage(
    request: pytest.FixtureRequest, synthesized: Synthesized, tmp_path_factory: pytest.TempPathFactory
) -> Deployment:
    return load(request.param, synthesized, tmp_path_factory)


def _files(root: Path) -> set[str]:
    """The files of a staged tree, without its bytecode (checked on its own)."""
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix not in BYTECODE
    }


def _runtime_bytecode_only(root: Path) -> None:
    """No bytecode at all, or one unchecked-hash pyc per source for the runtime's Python only;
    and some whenever the deploy pipeline required it."""
    if any(root.rglob("*.pyc")) or os.environ.get(REQUIRE_BYTECODE_ENV, "0") not in {"", "0"}:
        assert check_bytecode(root, RUNTIME_TAG), root
    assert not list(root.rglob("*.pyo")), root


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


def test_no_asset_holds_caches_tests_infra_or_another_service(stage: Deployment) -> None:
    for service in stage.system.services:
        # Given every path in a service's asset
        asset = _service_asset(stage, service)
        others = {s.name for s in stage.system.services} - {service.name}
        for path in asset.rglob("*"):
            parts = set(path.relative_to(asset).parts)
            # Then none is a tool's cache, a test, the infrastructure or another service's code
            assert not parts & CACHES, path
            assert not parts & {"tests", "infra"}, path
            assert not parts & others, path
        # And its bytecode, if any, is the runtime's: one unchecked pyc per module
        _runtime_bytecode_only(asset)


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
    """The layer's properties and its asset, unpacked as Lambda unpacks it (it ships as a zip)."""
    layers = stage.resources("AWS::Lambda::LayerVersion")
    (props,) = (r["Properties"] for r in layers.values())
    return props, _unpacked(stage.asset_of(props["Content"]))


@functools.cache
def _unpacked(archive: Path) -> Path:
    assert zipfile.is_zipfile(archive), f"the layer's asset is not a zip: {archive}"
    target = Path(tempfile.mkdtemp(prefix="layer-"))
    with zipfile.ZipFile(archive) as unzipped:
        unzipped.extractall(target)
    return target


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
    # And it ships bytecode for the runtime's Python only (or none), and not the runtime's own boto3
    _runtime_bytecode_only(layer / "python")
    assert not {p.name for p in (layer / "python").iterdir()} & RUNTIME_PROVIDED


# --- bytecode: how infra.packaging compiles (no synthesis; the running Python stands in) ------


RUNNING = (sys.version_info[0], sys.version_info[1])
NO_SUCH_PYTHON = (3, 99)


@pytest.fixture
def running_python_as_lambdas(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Packaging told to compile with this interpreter, for its own version."""
    monkeypatch.setenv(INTERPRETER_ENV, sys.executable)
    monkeypatch.delenv(REQUIRE_BYTECODE_ENV, raising=False)
    return RUNNING


def test_the_runtime_version_is_the_one_the_functions_run_on() -> None:
    from infra.stacks.functions import RUNTIME

    # Then the version bytecode is compiled for is the functions' runtime (one constant)
    assert RUNTIME.name == LAMBDA_RUNTIME == f"python{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}"


def test_an_asset_compiled_for_the_running_python_holds_its_bytecode_for_every_module(
    tmp_path: Path, running_python_as_lambdas: tuple[int, int]
) -> None:
    # When a service is staged with bytecode for the running interpreter
    asset = stage_service_code("profile", bytecode_for=running_python_as_lambdas, into=tmp_path)
    # Then every module has its pyc, in __pycache__, for this interpreter only
    pycs = sorted(asset.rglob("*.pyc"))
    tag = sys.implementation.cache_tag
    assert pycs
    assert all(p.name.endswith(f".{tag}.pyc") and p.parent.name == "__pycache__" for p in pycs)
    sources = {p.relative_to(asset) for p in asset.rglob("*.py")}
    compiled = {(p.parent.parent / (p.name.split(".", 1)[0] + ".py")).relative_to(asset) for p in pycs}
    assert compiled == sources
    # And every pyc is hash-based and never checked against its source (PEP 552 flags)
    assert {pyc_flags(p) for p in pycs} == {UNCHECKED_HASH}
    assert check_bytecode(asset, tag) == pycs


def test_the_compiled_asset_imports_from_its_bytecode_without_reading_the_sources(
    tmp_path: Path, running_python_as_lambdas: tuple[int, int]
) -> None:
    # Given an asset compiled for the running interpreter, whose sources then change
    asset = stage_service_code("profile", bytecode_for=running_python_as_lambdas, into=tmp_path)
    for module in ("shared/ids.py", "shared/errors.py", "services/profile/handlers/api.py"):
        (asset / module).write_text("raise ImportError('the source was read')\n")
    # When its modules are imported from it, as Lambda would (no bytecode written)
    script = (
        f"import sys; sys.path.insert(0, {str(asset)!r}); "
        "import shared.ids, shared.errors, services.profile.handlers.api as api; "
        f"assert api.__file__.startswith({str(asset)!r}), api.__file__; "
        "print(shared.ids.new_id('cus'))"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", script], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    # Then they import (the pycs are used as they are), handler included
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("cus_")


def test_two_stagings_of_the_same_code_have_the_same_digest(
    tmp_path: Path, running_python_as_lambdas: tuple[int, int]
) -> None:
    # When the same code is staged and compiled twice, in two build folders
    first = stage_service_code("rewards", bytecode_for=running_python_as_lambdas, into=tmp_path / "a")
    second = stage_service_code("rewards", bytecode_for=running_python_as_lambdas, into=tmp_path / "b")
    # Then both are named by the same digest, byte for byte the same (the asset hash is stable)
    assert first.name == second.name
    assert {p: (first / p).read_bytes() for p in _files(first)} == {
        p: (second / p).read_bytes() for p in _files(second)
    }
    assert [p.read_bytes() for p in sorted(first.rglob("*.pyc"))] == [
        p.read_bytes() for p in sorted(second.rglob("*.pyc"))
    ]


def test_without_an_interpreter_of_the_runtime_version_nothing_is_compiled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no interpreter of the version asked for, only one of another version
    monkeypatch.setenv(INTERPRETER_ENV, sys.executable)
    monkeypatch.delenv(REQUIRE_BYTECODE_ENV, raising=False)
    monkeypatch.setattr(packaging, "_noticed", set())  # the notice is printed once per process
    # When a service is staged for that version
    asset = stage_service_code("profile", bytecode_for=NO_SUCH_PYTHON, into=tmp_path)
    # Then it ships no bytecode at all (none for the wrong version either), only its sources
    assert not list(asset.rglob("*.pyc"))
    assert not list(asset.rglob("__pycache__"))
    assert (asset / "services" / "profile" / "handlers" / "api.py").is_file()
    # And a one-line notice says why
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1
    assert "no bytecode" in notice[0]
    assert "Python 3.99" in notice[0]
    # And it is the asset of the same code staged with no bytecode asked for
    assert asset.name == stage_service_code("profile", bytecode_for=None, into=tmp_path).name


def test_when_bytecode_is_required_and_there_is_no_interpreter_staging_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the deploy pipeline's setting, and no interpreter of the version asked for
    monkeypatch.setenv(REQUIRE_BYTECODE_ENV, "1")
    monkeypatch.delenv(INTERPRETER_ENV, raising=False)
    # When a service is staged for it, then staging fails and names what is missing
    with pytest.raises(BytecodeUnavailable, match=r"Python 3\.99.*DANGOL_LAMBDA_PYTHON"):
        stage_service_code("profile", bytecode_for=NO_SUCH_PYTHON, into=tmp_path)
    # And it leaves nothing half-staged behind
    assert not [p for p in tmp_path.rglob("*") if p.is_dir() and p.name.startswith(".profile-")]


def test_a_layer_with_native_code_for_another_python_is_refused(tmp_path: Path) -> None:
    # Given a layer whose extension modules were built for another Python than the runtime's
    layer = tmp_path / "python"
    (layer / "pkg").mkdir(parents=True)
    (layer / "pkg" / "__init__.py").write_text("")
    (layer / "pkg" / "_core.cpython-313-aarch64-linux-gnu.so").write_bytes(b"")
    # Then compiling it for the runtime fails: the layer and the runtime disagree
    with pytest.raises(ValueError, match="native code"):
        compile_layer(layer)


def test_a_layer_is_compiled_like_the_assets(
    tmp_path: Path, running_python_as_lambdas: tuple[int, int]
) -> None:
    # Given a layer's python/ folder with a package, and a stale cache from the build
    layer = tmp_path / "python"
    (layer / "pkg" / "__pycache__").mkdir(parents=True)
    (layer / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (layer / "pkg" / "__pycache__" / "__init__.cpython-310.pyc").write_bytes(b"stale")
    # When it is compiled for the running interpreter
    compile_layer(layer, running_python_as_lambdas)
    # Then it holds exactly one unchecked pyc per module, for this interpreter
    (pyc,) = check_bytecode(layer, sys.implementation.cache_tag)
    assert pyc.name == f"__init__.{sys.implementation.cache_tag}.pyc"


def test_the_layer_ships_as_one_zip_and_the_assembly_holds_no_unpacked_third_party_code(
    stage: Deployment,
) -> None:
    # Given the layer's asset in the synthesized assembly
    props, _ = _layer(stage)
    archive = stage.asset_of(props["Content"])
    # Then it is one zip file, and no staged directory of the assembly holds pydantic or Powertools
    assert archive.is_file()
    assert zipfile.is_zipfile(archive)
    staged = [p for p in stage.asset_paths.values() if p.is_dir()]
    assert staged
    assert not [p for p in staged if (p / "python" / "pydantic").exists() or (p / "pydantic").exists()]


def test_a_layer_zipped_twice_is_the_same_bytes(tmp_path: Path) -> None:
    # Given a built layer folder
    folder = tmp_path / "layer"
    (folder / "python" / "pkg").mkdir(parents=True)
    (folder / "python" / "pkg" / "__init__.py").write_text("X = 1\n")
    (folder / "python" / "pkg" / "native.so").write_bytes(b"\0ELF")
    (folder / "python" / "pkg" / "native.so").chmod(0o755)
    # When it is zipped twice, a second apart
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    assert zip_layer(folder, first) == 2
    (folder / "python" / "pkg" / "__init__.py").touch()
    zip_layer(folder, second)
    # Then the archives are identical (a stable asset hash) and keep python/ at the root and modes
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert archive.namelist() == ["python/pkg/__init__.py", "python/pkg/native.so"]
        assert (archive.getinfo("python/pkg/native.so").external_attr >> 16) & 0o777 == 0o755
