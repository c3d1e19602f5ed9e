"""Demo data, created through the public API as a client would create it (the project's one
client, ``console.client``), and retried as a client retries: a connection that fails, 429 and
502/503/504 are tried again with exponential backoff and jitter (every call carries an
Idempotency-Key, the same on each try, or its own id, so a retry changes nothing twice), so
``make run`` starts on a slow machine too."""

from __future__ import annotations

import base64
import random
import time
import urllib.error
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from console.client import Client
from console.errors import ConsoleError

RETRIED_STATUSES = frozenset({429, 502, 503, 504})
ATTEMPTS = 6
BACKOFF_S = 0.5  # then 1, 2, 4, 8 (at most), each with jitter

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


def with_retries(
    send: Callable[[], tuple[int, Any]],
    *,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, Any]:
    """``send()`` until it answers something a client would not retry, at most ``attempts`` times."""
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            status, body = send()
        except (urllib.error.URLError, ConnectionError, TimeoutError, ConsoleError) as exc:
            if isinstance(exc, ConsoleError) and exc.code != "unreachable":
                raise
            if last:  # refused, reset, timed out: every time
                raise
        else:
            if status not in RETRIED_STATUSES or last:
                return status, body
        sleep(min(BACKOFF_S * 2**attempt, 8.0) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
    raise AssertionError("unreachable")  # pragma: no cover


def _send(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    answer = client.request(method, path, check=False, **kwargs)
    try:
        return answer.status, answer.json()
    except ValueError:
        return answer.status, answer.body.decode("utf-8", "replace")


def call(
    url: str, method: str, path: str, token: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> Any:
    sending = dict(headers or {})
    key = sending.pop("Idempotency-Key", None) or uuid.uuid4().hex  # the same on every try
    client = Client(url, token=lambda: token, user_agent="dangol-seed")
    return with_retries(lambda: _send(client, method, path, body=body, headers=sending, idempotency_key=key))


def client_credentials(token_url: str, client_id: str, secret: str, scope: str | None = None) -> str:
    """An access token for a machine app client, from the pool's ``/oauth2/token`` (as a till
    gets one: HTTP Basic, ``grant_type=client_credentials``)."""
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body = with_retries(
        lambda: _send(
            Client(token_url, user_agent="dangol-seed"),
            "POST",
            "",
            raw=urllib.parse.urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"Authorization": f"Basic {basic}"},
            idempotency_key=None,
            auth=False,
        )
    )
    if status != 200:
        raise RuntimeError(f"{token_url} refused the client credentials: {status} {body}")
    return str(body["access_token"])


WELCOME_TEMPLATE = {
    "name": "Welcome",
    "channel": "email",
    "purpose": "marketing",
    "sender": "Dangol Bakery",
    "locales": {
        "ko-KR": {
            "subject": "{{ customer.first_name }}님, 단골이 되어 주셔서 고마워요",
            "html": "<p>{{ offer.title }}: {{ offer.expires_on }}까지 앱에서 확인하세요.</p>",
            "text": "{{ offer.title }}: {{ offer.expires_on }}까지 앱에서 확인하세요.",
        },
        "en-US": {
            "subject": "Welcome, {{ customer.first_name }}",
            "html": "<p>{{ offer.title }}: in the app until {{ offer.expires_on }}.</p>",
            "text": "{{ offer.title }}: in the app until {{ offer.expires_on }}.",
        },
    },
    "default_locale": "ko-KR",
}


def seed_welcome(url: str, tokens: dict[str, str]) -> None:
    """The welcome, as product behaviour: a coupon template, and a live campaign triggered by every
    registration that offers it (the rewards service issues it to the new customer's wallet, with
    or without consent to marketing e-mail). Before the demo profiles, so they are welcomed too."""
    marketer = tokens["marketer"]
    status, coupon = call(
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
    _expect("the welcome coupon template", status, coupon, 201)
    status, template = call(
        url,
        "POST",
        "/admin/templates",
        marketer,
        body=WELCOME_TEMPLATE,
        headers={"Idempotency-Key": "seed-welcome-message"},
    )
    _expect("the welcome message", status, template, 201)
    campaign = {
        "name": "Welcome",
        "template_id": template["id"],
        "channel": "email",
        "control_percent": 0,
        "schedule": {"kind": "trigger", "trigger": {"event": "registration"}},
        "offer": {
            "kind": "coupon",
            "coupon_template_id": coupon["id"],
            "title": "웰컴 3,000원 할인",
            "valid_days": 30,
        },
    }
    status, created = call(
        url,
        "POST",
        "/admin/campaigns",
        marketer,
        body=campaign,
        headers={"Idempotency-Key": "seed-welcome-campaign"},
    )
    _expect("the welcome campaign", status, created, 201)
    status, launched = call(url, "POST", f"/admin/campaigns/{created['id']}/launch", marketer)
    _expect("the welcome campaign's launch", status, launched, 200)


def _wait_for_welcome(url: str, tokens: dict[str, str], usernames: list[str], timeout_s: float = 60) -> None:
    """Until each demo wallet holds its welcome coupon (the campaign's offer, issued by rewards)."""
    deadline = time.monotonic() + timeout_s
    for username in usernames:
        while not (call(url, "GET", "/me/coupons", tokens[username])[1] or {}).get("items"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the welcome coupon of {username} did not come in {timeout_s:.0f} s")
            time.sleep(0.2)


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


def _wait_for_accounts(url: str, tokens: dict[str, str], usernames: list[str], timeout_s: float = 60) -> None:
    """The rewards accounts open when CustomerRegistered reaches the rewards service (a moment)."""
    deadline = time.monotonic() + timeout_s
    for username in usernames:
        while call(url, "GET", "/me/points", tokens[username])[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the rewards account of {username} did not open in {timeout_s:.0f} s")
            time.sleep(0.1)


def seed_rewards(url: str, tokens: dict[str, str], customers: dict[str, str], till: str) -> None:
    """A limited gift event running, and one purchase for minji (her points, her gift) by the till
    (``till``: the machine client's access token), once every demo wallet holds the welcome coupon
    (``seed_welcome``). Idempotent: every call carries its own Idempotency-Key or id."""
    _wait_for_accounts(url, tokens, list(customers))
    _wait_for_welcome(url, tokens, list(customers))
    marketer = tokens["marketer"]
    now = datetime.now(UTC).replace(microsecond=0)
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
