"""Opt-out links: signed tokens that withdraw one consent with one click, with no login.

Every marketing message carries a link (``<public API URL>/unsubscribe/<token>``; for e-mail also
RFC 8058's ``List-Unsubscribe`` headers) that must work for free, at any time, from any device
(정보통신망법 제50조: every advertisement says how to refuse it, free of charge). The token names
the customer, the channel, the purpose and when it was issued, and is signed with HMAC-SHA256
under the platform secret ``unsubscribe-key``, which only the profile service reads:

    token = b64url("1|<customer id>|<channel>|<purpose>|<issued, epoch seconds>") "." b64url(mac)
    mac   = HMAC-SHA256(key, "dangol-unsubscribe|" + payload)[:16]

A token never expires (an old message's link must still work); it can be forged by nobody without
the key, and a token signed under another key, or whose payload changed by one byte, is invalid.
The secret may hold several keys, one per line, newest first: the first signs, any verifies, so
the key can be replaced without breaking the links already sent. No boto3 here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.profile.logic.consent import ConsentStore, change_once
from services.profile.models.consent import KINDS, Channel, ConsentChange, Purpose
from shared.clock import Clock
from shared.errors import NotFound

VERSION = "1"
MAC_BYTES = 16  # HMAC-SHA256 truncated to 128 bits (RFC 2104 allows at least half the output)
MIN_KEY_CHARS = 32
MAX_TOKEN_CHARS = 256  # what a token of ours can be at most; anything longer is refused unread
_DOMAIN = b"dangol-unsubscribe|"
MARKETING_CHANNELS: tuple[Channel, ...] = ("email", "sms", "push")


@dataclass(frozen=True)
class OptOut:
    """What a link withdraws: one consent (channel, purpose) of one customer."""

    customer_id: str
    channel: Channel
    purpose: Purpose
    issued_at: datetime


class LinkInvalid(NotFound):
    """A token that is not one of ours (malformed, tampered with, or signed under another key). Said
    the same way whatever is wrong with it."""

    default_code = "unsubscribe_link_invalid"

    def __init__(self) -> None:
        super().__init__("This opt-out link is not valid.", code="unsubscribe_link_invalid")


def signing_keys(secret: str) -> tuple[bytes, ...]:
    """The keys in the secret's value, one per line, newest first (each at least 32 characters)."""
    keys = tuple(line.strip().encode() for line in secret.splitlines() if line.strip())
    if not keys or any(len(k) < MIN_KEY_CHARS for k in keys):
        raise ValueError(f"the opt-out key secret holds no key, or a key under {MIN_KEY_CHARS} characters")
    return keys


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(opt_out: OptOut, keys: tuple[bytes, ...]) -> str:
    """The token of ``opt_out``, signed with the newest key."""
    if "|" in opt_out.customer_id or (opt_out.channel, opt_out.purpose) not in KINDS:
        raise ValueError("not a consent of ours")
    issued = int(opt_out.issued_at.timestamp())
    payload = f"{VERSION}|{opt_out.customer_id}|{opt_out.channel}|{opt_out.purpose}|{issued}".encode()
    return f"{_b64(payload)}.{_b64(_mac(keys[0], payload))}"


def verify(token: str, keys: tuple[bytes, ...]) -> OptOut:
    """The opt-out a token of ours names; LinkInvalid for anything else."""
    if not token.isascii() or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise LinkInvalid
    encoded, _, signature = token.partition(".")
    try:
        payload, mac = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        raise LinkInvalid from None
    if _b64(payload) != encoded or _b64(mac) != signature:  # one token per payload: no padding games
        raise LinkInvalid
    if not any(hmac.compare_digest(mac, _mac(key, payload)) for key in keys):
        raise LinkInvalid
    return _parse(payload)


def _parse(payload: bytes) -> OptOut:
    """A payload we signed: only a key holder can get here, but it is parsed as if it were not."""
    try:
        version, customer_id, channel, purpose, issued = payload.decode("utf-8").split("|")
        at = datetime.fromtimestamp(int(issued), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError):
        raise LinkInvalid from None
    kind = next(((c, p) for c, p in KINDS if (c, p) == (channel, purpose)), None)
    if version != VERSION or not customer_id or kind is None:
        raise LinkInvalid
    return OptOut(customer_id=customer_id, channel=kind[0], purpose=kind[1], issued_at=at)


def looks_like_a_token(token: str) -> bool:
    """Cheap shape check, before any key is read: what no token of ours can be is refused at once."""
    return token.isascii() and 0 < len(token) <= MAX_TOKEN_CHARS and token.count(".") == 1


def shaped(token: str) -> str:
    """The token, if it has a token's shape (else LinkInvalid, with nothing read or built)."""
    if not looks_like_a_token(token):
        raise LinkInvalid
    return token


def link(base_url: str, token: str) -> str:
    """The opt-out URL on the public API (``base_url`` without its trailing slash)."""
    return f"{base_url.rstrip('/')}/unsubscribe/{token}"


def unsubscribe(
    store: ConsentStore, token: str, keys: Callable[[], tuple[bytes, ...]], *, clock: Clock
) -> OptOut:
    """Withdraw the consent a link names, as the customer's own change (source ``unsubscribe_link``):
    recorded and published once, however often the link is followed. A token whose customer is
    gone (erased) changes nothing and is answered the same, so a link says nothing about whether
    its customer exists. The key is read only for a token of the right shape."""
    opt_out = verify(shaped(token), keys())
    withdrawal = ConsentChange(
        channel=opt_out.channel, purpose=opt_out.purpose, granted=False, source="unsubscribe_link"
    )
    change_once(store, opt_out.customer_id, withdrawal, actor="customer", clock=clock)
    return opt_out


def checked(token: str, keys: Callable[[], tuple[bytes, ...]]) -> OptOut:
    """The opt-out a link names, changing nothing (the page a GET shows)."""
    return verify(shaped(token), keys())


# --- the page a person sees (GET shows the button; the button's POST says it is done) -------------

_CHANNEL_NAMES = {
    "email": ("이메일", "e-mail"),
    "sms": ("문자", "text messages"),
    "push": ("앱 알림", "app notifications"),
}
_PURPOSE_NAMES = {
    "marketing": ("광고성 정보", "marketing"),
    "service": ("서비스 안내", "service notices"),
    "night": ("야간 광고성 정보", "night-time marketing"),
}
_STYLE = (
    "body{font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}button{font-size:1.1rem}"
)


def page(opt_out: OptOut, *, done: bool) -> str:
    """A small HTML page, no script, every word of it escaped: before (a button that POSTs to the
    same URL, as RFC 8058's one click does) or after the withdrawal. It names only what the link
    itself says (channel and purpose), never the customer."""
    ko_channel, en_channel = _CHANNEL_NAMES[opt_out.channel]
    ko_purpose, en_purpose = _PURPOSE_NAMES[opt_out.purpose]
    if done:
        title = "수신 거부 완료 · Unsubscribed"
        body = (
            f"<p>{html.escape(ko_channel)} {html.escape(ko_purpose)} 수신을 거부했습니다.</p>"
            f"<p>You will no longer get {html.escape(en_purpose)} {html.escape(en_channel)} from us.</p>"
        )
    else:
        title = "수신 거부 · Unsubscribe"
        body = (
            f"<p>{html.escape(ko_channel)}(으)로 {html.escape(ko_purpose)}를 더 받지 않으시겠어요?</p>"
            f"<p>Stop {html.escape(en_purpose)} {html.escape(en_channel)}?</p>"
            '<form method="post">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">수신 거부 · Unsubscribe</button>'
            "</form>"
        )
    return (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


# What the page is sent with: never cached or framed, no script, the token never in a Referer.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}
