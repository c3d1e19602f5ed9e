"""Demo data, created through the public API as a client would create it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

DEMO_PROFILES: dict[str, dict[str, Any]] = {
    "minji": {"display_name": "김민지", "email": "minji@demo.dangol.dev", "phone": "+821012345678"},
    "jisoo": {"display_name": "정지수", "email": "jisoo@demo.dangol.dev", "locale": "ko-KR"},
    "junho": {
        "display_name": "Junho Han",
        "email": "junho@demo.dangol.dev",
        "locale": "en-US",
        "time_zone": "America/Los_Angeles",
    },
}


def call(
    url: str, method: str, path: str, token: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - our own gateway on loopback
        url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def seed_profiles(url: str, tokens: dict[str, str]) -> dict[str, str]:
    """Create each demo customer's profile (idempotently); returns username -> customer id."""
    created = {}
    for username, profile in DEMO_PROFILES.items():
        status, body = call(
            url,
            "POST",
            "/me",
            tokens[username],
            body=profile,
            headers={"Idempotency-Key": f"seed-{username}"},
        )
        if status not in (201, 409):
            raise RuntimeError(f"seeding {username} failed: {status} {body}")
        if status == 409:
            status, body = call(url, "GET", "/me", tokens[username])
        created[username] = body["customer_id"]
    return created
