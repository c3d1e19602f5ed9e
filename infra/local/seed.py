"""Demo data, created through the public API as a client would create it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
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


def _wait_for_accounts(url: str, tokens: dict[str, str], usernames: list[str], timeout_s: float = 20) -> None:
    """The rewards accounts open when CustomerRegistered reaches the rewards service (a moment)."""
    deadline = time.monotonic() + timeout_s
    for username in usernames:
        while call(url, "GET", "/me/points", tokens[username])[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the rewards account of {username} did not open in {timeout_s:.0f} s")
            time.sleep(0.1)


def seed_rewards(url: str, tokens: dict[str, str], customers: dict[str, str]) -> None:
    """A welcome coupon in every demo wallet, a limited gift event running, and one purchase for
    minji (her points, her gift). Idempotent: every call carries its own Idempotency-Key or id."""
    _wait_for_accounts(url, tokens, list(customers))
    marketer, till = tokens["marketer"], tokens["pos-gangnam"]
    now = datetime.now(UTC).replace(microsecond=0)
    status, template = call(
        url,
        "POST",
        "/admin/coupon-templates",
        marketer,
        body={
            "name": "웰컴 3,000원 할인",
            "discount": {"kind": "amount", "amount": 3000, "currency": "KRW"},
            "min_spend": {"amount": 10000, "currency": "KRW"},
            "valid_days": 30,
        },
        headers={"Idempotency-Key": "seed-welcome-template"},
    )
    _expect("the welcome coupon template", status, template, 201)
    status, body = call(
        url,
        "POST",
        f"/admin/coupon-templates/{template['id']}/issuances",
        marketer,
        body={"customer_ids": sorted(customers.values())},
        headers={"Idempotency-Key": "seed-welcome-issue"},
    )
    _expect("the welcome coupons", status, body, 200)
    gift = {
        "name": "단골 텀블러",
        "stock": 20,
        "mode": "instant",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "min_total": 30000,
        "currency": "KRW",
    }
    status, body = call(
        url, "POST", "/admin/gifts", marketer, body=gift, headers={"Idempotency-Key": "seed-gift"}
    )
    _expect("the tumbler gift", status, body, 201)
    purchase = {
        "external_id": "seed-minji-0001",
        "customer_id": customers["minji"],
        "store_id": "gangnam-01",
        "channel": "store",
        "currency": "KRW",
        "purchased_at": (now - timedelta(minutes=5)).isoformat(),
        "lines": [
            {"sku": "LATTE", "name": "카페라떼", "category": "coffee", "quantity": 2, "unit_price": 5000},
            {
                "sku": "CAKE-CHOCO",
                "name": "초코 케이크",
                "category": "cake",
                "quantity": 1,
                "unit_price": 28000,
            },
        ],
    }
    status, body = call(url, "POST", "/purchases", till, body=purchase)
    _expect("minji's purchase", status, body, 201, 200)


def _expect(what: str, status: int, body: Any, *ok: int) -> None:
    if status not in ok:
        raise RuntimeError(f"seeding {what} failed: {status} {body}")
