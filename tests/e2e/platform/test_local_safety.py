"""What the local runtime keeps from web pages and strangers: ``/_local/*`` takes the run's
secret and never answers a browser; moto (every table, queue and secret of the system) never
answers a browser either; none of them sends CORS headers."""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from infra.local.gateway import LOCAL_SECRET_HEADER
from tests.e2e.conftest import HttpResponse, LocalSystem

LOCAL_PATHS = [
    ("GET", "/_local/events"),
    ("GET", "/_local/clock"),
    ("GET", "/_local/schedules"),
    ("GET", "/_local/queues"),
]
EVIL = "https://example.com"


def no_cors(response: HttpResponse) -> bool:
    return not any(h.lower().startswith("access-control-") for h in response.headers)


def moto_request(local: LocalSystem, headers: dict[str, str], method: str = "POST") -> HttpResponse:
    """DynamoDB ListTables straight to moto, as a page's fetch() would send it."""
    request = urllib.request.Request(
        local.state["moto_url"] + "/",
        data=b"{}" if method == "POST" else None,
        method=method,
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 "
            "Credential=local/20260101/ap-northeast-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as err:
        return HttpResponse(err.code, dict(err.headers), err.read())


@pytest.mark.parametrize(("method", "path"), LOCAL_PATHS)
def test_local_endpoints_refuse_a_request_without_the_runs_secret(
    local: LocalSystem, method: str, path: str
) -> None:
    # Given no secret, then a wrong one
    # When a local endpoint is called
    without = local.request(method, path, secret=False)
    wrong = local.request(method, path, secret=False, headers={LOCAL_SECRET_HEADER: "guess"})
    # Then both are 401 with the gateway's error body, and no CORS header
    for response in (without, wrong):
        assert (response.status, response.json()["error"]["code"]) == (401, "unauthorized")
        assert no_cors(response)
    # And with the secret it answers, still without CORS headers
    allowed = local.request(method, path)
    assert allowed.status == 200, allowed.body
    assert no_cors(allowed)


def test_a_cross_site_text_plain_post_cannot_move_the_clock(local: LocalSystem) -> None:
    # Given the clock as it is
    before = local.request("GET", "/_local/clock").json()
    # When a web page posts a "simple" text/plain request to it (no preflight), secret or not
    for secret in (False, True):
        moved = local.request(
            "POST",
            "/_local/clock",
            raw=json.dumps({"advance": "365d"}).encode(),
            secret=secret,
            headers={"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        )
        # Then it is refused without CORS headers
        assert (moved.status, moved.json()["error"]["code"]) == (403, "origin_refused")
        assert no_cors(moved)
    # And the clock did not move
    after = local.request("GET", "/_local/clock").json()
    assert after["offset_s"] == before["offset_s"]


def test_a_preflight_to_local_endpoints_gets_no_cors_answer(local: LocalSystem) -> None:
    # Given a browser's preflight for a local endpoint
    # When it is sent
    response = local.request(
        "OPTIONS",
        "/_local/events",
        secret=False,
        headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"},
    )
    # Then it is refused and allows nothing
    assert response.status == 403
    assert no_cors(response)


def test_moto_refuses_a_request_from_a_web_page(local: LocalSystem) -> None:
    # Given moto, which the runtime's own clients reach without an Origin (a control)
    assert moto_request(local, {}).status == 200
    # When a page's request (Origin), its preflight, or a DNS-rebound request (a foreign Host) comes
    page = moto_request(local, {"Origin": EVIL})
    preflight = moto_request(
        local, {"Origin": EVIL, "Access-Control-Request-Method": "POST"}, method="OPTIONS"
    )
    fetch_metadata = moto_request(local, {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})
    rebound = moto_request(local, {"Host": "attacker.example:80"})
    # Then each is refused, with no CORS header
    for response in (page, preflight, fetch_metadata, rebound):
        assert response.status == 403
        assert no_cors(response)
        assert b"TableNames" not in response.body


def test_cognitos_endpoint_refuses_a_request_from_a_web_page(local: LocalSystem) -> None:
    # Given a page that tries to sign in a demo user through the runtime's Cognito endpoint
    response = local.request(
        "POST",
        "/cognito",
        raw=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Origin": EVIL,
        },
    )
    # Then it is refused, with no CORS header
    assert response.status == 403
    assert no_cors(response)


def test_the_state_file_with_the_secret_is_readable_by_its_owner_only(local: LocalSystem) -> None:
    # Given the running system's state file
    path = Path(local.state_dir) / "local.json"
    # Then only its owner may read or write it, and it holds the run's secret
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(local.state["local_secret"]) >= 32
