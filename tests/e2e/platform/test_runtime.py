"""`dangol-local up` as a newcomer meets it: docs, spec, port clashes and Ctrl-C."""

from __future__ import annotations

import socket
import subprocess
import sys

from infra.topology import SYSTEM
from tests.e2e.conftest import ROOT, LocalSystem, free_port, start_system, stop_system


def test_openapi_lists_every_declared_route_with_the_bearer_scheme(local: LocalSystem) -> None:
    # Given the running system
    # When the spec is fetched without a token
    spec = local.request("GET", "/openapi.json").json()
    # Then it lists every route of the topology, and says how to authenticate
    listed = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert listed == {(r.method, r.path) for r in SYSTEM.routes}
    assert spec["components"]["securitySchemes"]["cognito"]["scheme"] == "bearer"
    assert spec["servers"][0]["url"] == local.url


def test_docs_page_works_offline(local: LocalSystem) -> None:
    # Given the running system
    # When the docs page and its assets are fetched
    page = local.request("GET", "/docs")
    script = local.request("GET", "/docs/swagger-ui-bundle.min.js")
    css = local.request("GET", "/docs/swagger-ui.min.css")
    # Then the page loads Swagger UI from this server, not a CDN
    assert page.status == 200
    assert b"/docs/swagger-ui-bundle.min.js" in page.body
    assert b"https://" not in page.body
    assert script.status == 200
    assert len(script.body) > 100_000
    assert css.status == 200


def test_a_taken_port_gives_a_clear_message_and_exit_code(tmp_path) -> None:
    # Given something already listening on the port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port()))
        busy.listen()
        port = busy.getsockname()[1]
        # When dangol-local is started on it
        result = subprocess.run(
            [sys.executable, "-m", "infra.local", "up", "--port", str(port), "--state-dir", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # Then it says so and exits with its documented code
    assert result.returncode == 3
    assert f"port {port}" in result.stdout
    assert "already in use" in result.stdout


def test_ctrl_c_stops_everything_cleanly(tmp_path) -> None:
    # Given a running system
    system = start_system(tmp_path)
    assert system.request("GET", "/health").status == 200
    # When it gets Ctrl-C
    code = stop_system(system)
    # Then it exits 0, says it stopped, and leaves no state behind
    assert code == 0
    assert "Stopped." in system.log.read_text()
    assert not (system.state_dir / "local.json").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(system.url.rsplit(":", 1)[1]))) != 0


def test_make_token_mints_a_fresh_token_for_a_role(local: LocalSystem) -> None:
    # Given the running system
    # When a developer asks the CLI for a marketing token (what `make token ROLE=marketing` runs)
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "token", "marketing", "--state-dir", str(local.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.strip()
    # Then that token is accepted and carries the marketing role (staff may read by id)
    customer_id = local.request("GET", "/me", token=local.token("customer")).json()["customer_id"]
    assert local.request("GET", f"/customers/{customer_id}", token=token).status == 200


def test_token_for_an_unknown_role_is_refused(local: LocalSystem) -> None:
    # Given the running system
    # When a token is asked for a role that does not exist
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "token", "wizard", "--state-dir", str(local.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    # Then it fails with a message listing the roles
    assert result.returncode == 2
    assert "marketing" in result.stderr
