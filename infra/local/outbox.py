"""The channels a campaign sends on, locally, and the outbox a developer reads.

At start the runtime makes on moto what a stage has on AWS (``create_channels``): the sender's
domain identity and a configuration set in SES (moto refuses mail from an unverified source),
and SNS platform applications for iOS (APNS) and Android (GCM). The sender function then makes
the same calls as on AWS, and moto keeps what it "sent" in its backends:

- SES: ``sent_messages`` (raw MIME; each mail carries ``X-Dangol-Ref: campaign/customer/run``);
- SNS: ``sms_messages`` (message id -> phone, text: an SMS carries no reference, so its customer
  and campaign come from the campaigns' message log, which records the message id);
- SNS platform endpoints' ``messages`` (the platform's JSON carries ``data.ref``).

``Outbox`` reads them back, rendered (``GET /_local/messages``), and ``OutboxWatcher`` prints a
line per message as it is sent. moto's backends are read under the lock that serializes requests
into moto (``moto_server.SerializedApp``): never while a request changes them.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import RawMessage, ses_backends
from moto.sns.models import sns_backends

from infra.environment import messaging_environment

LOCAL_DOMAIN = "dangol.local"
LOCAL_SENDER = f"dangol@{LOCAL_DOMAIN}"
REF_HEADER = "X-Dangol-Ref"
# moto's platform applications take any credentials; APNs and FCM are never called.
PLATFORM_APPLICATIONS = {
    "ios": ("APNS", {"PlatformCredential": "local-key", "PlatformPrincipal": "local-certificate"}),
    "android": ("GCM", {"PlatformCredential": "local-server-key"}),
}
Lock = Callable[[], contextlib.AbstractContextManager[Any]]


def create_channels(sesv2: Any, sns: Any, *, prefix: str) -> dict[str, str]:
    """The channels on moto; returns the sending functions' variables (``messaging_environment``).
    moto's SES v2 keeps configuration sets (it does not apply them to a send), so the sender
    gets one as on AWS, with the same suppression reasons."""
    sesv2.create_email_identity(EmailIdentity=LOCAL_DOMAIN)  # the domain: any address on it may send
    configuration_set = prefix
    sesv2.create_configuration_set(
        ConfigurationSetName=configuration_set,
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        ReputationOptions={"ReputationMetricsEnabled": True},
        SuppressionOptions={"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
    )
    applications = {
        platform: sns.create_platform_application(
            Name=f"{prefix}-{platform}", Platform=kind, Attributes=attributes
        )["PlatformApplicationArn"]
        for platform, (kind, attributes) in PLATFORM_APPLICATIONS.items()
    }
    return messaging_environment(
        sender=LOCAL_SENDER, configuration_set=configuration_set, push_applications=applications
    )


@dataclass(frozen=True)
class LogLine:
    """What the campaigns' message log says of a message id."""

    customer_id: str
    campaign_id: str
    run: int | None
    decided_at: str | None


def campaign_log(dynamodb: Any, table: str) -> dict[str, LogLine]:
    """message id -> its log line, for every line with one (a Scan: fine on a laptop's table)."""
    found: dict[str, LogLine] = {}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="attribute_exists(message_id) AND decision = :sent",
        ExpressionAttributeValues={":sent": {"S": "sent"}},
    )
    for page in pages:
        for item in page.get("Items", []):
            pk = item.get("pk", {}).get("S", "")
            campaign = pk.split("#")[1] if pk.startswith("LOG#") and pk.count("#") >= 2 else ""
            found[item["message_id"]["S"]] = LogLine(
                customer_id=item.get("customer_id", {}).get("S", ""),
                campaign_id=campaign,
                run=int(item["run"]["N"]) if "run" in item else None,
                decided_at=item.get("decided_at", {}).get("S"),
            )
    return found


@dataclass
class _Raw:
    """One sent message as moto holds it, copied out under the lock."""

    message_id: str
    channel: str
    to: str
    payload: str  # MIME for e-mail, the text for SMS, the publish's JSON for push
    platform: str = ""  # push: APNS, APNS_SANDBOX or GCM


@dataclass
class Outbox:
    """What moto's SES and SNS sent, in the order first seen, rendered as a developer reads it.
    ``lock``: taken while moto's backends are copied (the moto server's request lock);
    ``log``: the campaigns' message log by message id (for SMS, which carries no reference)."""

    region: str
    account_id: str = DEFAULT_ACCOUNT_ID
    lock: Lock = contextlib.nullcontext
    log: Callable[[], dict[str, LogLine]] | None = None
    _seen: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def _copy(self) -> list[_Raw]:
        out: list[_Raw] = []
        with self.lock():
            ses = ses_backends[self.account_id][self.region]
            for sent in list(ses.sent_messages):
                if isinstance(sent, RawMessage):
                    out.append(_Raw(sent.id, "email", ", ".join(sent.destinations), sent.raw_data))
            sns = sns_backends[self.account_id][self.region]
            out += [_Raw(mid, "sms", phone, text) for mid, (phone, text) in list(sns.sms_messages.items())]
            for endpoint in list(sns.platform_endpoints.values()):
                platform = endpoint.application.platform
                out += [
                    _Raw(mid, "push", endpoint.token, message, platform)
                    for mid, message in list(endpoint.messages.items())
                ]
        return out

    def _look(self) -> list[tuple[int, datetime, _Raw]]:
        """Everything moto holds, each with its place in the order first seen and when that was."""
        raws = self._copy()
        with self._guard:
            now = datetime.now(UTC)
            for raw in raws:
                self._seen.setdefault(raw.message_id, (len(self._seen), now))
            return sorted(((*self._seen[r.message_id], r) for r in raws), key=lambda seen: seen[0])

    def messages(self, customer_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Every message sent (or one customer's), oldest first; ``limit``: the newest that many."""
        rendered = self.render(self._look())
        if customer_id is not None:
            rendered = [m for m in rendered if m["customer_id"] == customer_id]
        return rendered[-limit:] if limit else rendered

    def after(self, seen: int) -> tuple[list[dict[str, Any]], int]:
        """The messages first seen after the first ``seen`` ones, rendered, and how many are seen now."""
        looked = self._look()
        return self.render([x for x in looked if x[0] >= seen]), len(looked)

    def render(self, looked: list[tuple[int, datetime, _Raw]]) -> list[dict[str, Any]]:
        log = self.log() if self.log is not None and looked else {}
        out = []
        for _, seen_at, raw in looked:
            message = _render(raw, log.get(raw.message_id))
            message["sent_at"] = message["sent_at"] or seen_at.isoformat()
            out.append(message)
        return out


def _render(raw: _Raw, line: LogLine | None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "channel": raw.channel,
        "to": raw.to,
        "customer_id": None,
        "campaign_id": None,
        "run": None,
        "subject": None,
        "text": None,
        "html": None,
        "title": None,
        "body": None,
        "headers": {},
        "message_id": raw.message_id,
        "sent_at": line.decided_at if line else None,
    }
    ref: str | None = None
    if raw.channel == "email":
        ref = _email(raw.payload, message)
    elif raw.channel == "sms":
        message["body"] = raw.payload
    else:
        ref = _push(raw.payload, raw.platform, message)
    parts = (ref or "").split("/")
    if len(parts) == 3:
        message["campaign_id"], message["customer_id"] = parts[0], parts[1]
        message["run"] = int(parts[2]) if parts[2].isdigit() else parts[2]
    elif line is not None:
        message["campaign_id"], message["customer_id"], message["run"] = (
            line.campaign_id,
            line.customer_id,
            line.run,
        )
    return message


def _email(mime: str, message: dict[str, Any]) -> str | None:
    # As bytes: a part sent 8bit (UTF-8) is decoded by its charset, not escaped.
    parsed = email.message_from_bytes(mime.encode("utf-8", "surrogateescape"), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    message["subject"] = str(parsed["Subject"]) if parsed["Subject"] is not None else None
    if parsed["To"] is not None:  # moto's destinations repeat the To header's
        message["to"] = str(parsed["To"])
    message["headers"] = {
        name: str(parsed[name])
        for name in ("From", "To", "List-Unsubscribe", "List-Unsubscribe-Post", REF_HEADER)
        if parsed[name] is not None
    }
    for part in parsed.walk():
        if part.is_multipart() or not isinstance(part, EmailMessage):
            continue
        kind = part.get_content_type()
        if kind in {"text/plain", "text/html"}:
            message["text" if kind == "text/plain" else "html"] = part.get_content()
    ref = parsed[REF_HEADER]
    return str(ref) if ref is not None else None


def _push(published: str, platform: str, message: dict[str, Any]) -> str | None:
    try:
        payload = json.loads(published)
        inner = json.loads(payload[platform]) if isinstance(payload, dict) and platform in payload else {}
    except (ValueError, TypeError):
        message["body"] = published
        return None
    alert = inner.get("aps", {}).get("alert") if "aps" in inner else inner.get("notification")
    if isinstance(alert, dict):
        message["title"], message["body"] = alert.get("title"), alert.get("body")
    else:
        message["body"] = payload.get("default") if isinstance(payload, dict) else published
    data = inner.get("data") or {}
    return str(data["ref"]) if isinstance(data, dict) and "ref" in data else None


def summary(message: dict[str, Any]) -> str:
    """One line for the terminal, with the address shortened (the full message: /_local/messages)."""
    campaign = f" (campaign {message['campaign_id']})" if message.get("campaign_id") else ""
    to = str(message.get("to") or "")
    if message["channel"] == "email":
        local, _, _ = to.partition("@")
        return f'✉ email → {local}@… "{message.get("subject") or ""}"{campaign}'
    if message["channel"] == "sms":
        return f"✆ sms → {to[:3]}…{campaign}"
    return f'⇪ push → device {to[:8]}… "{message.get("title") or ""}"{campaign}'


class OutboxWatcher:
    """Prints a line per message as moto takes it (looked at every ``every_s``)."""

    def __init__(self, outbox: Outbox, say: Callable[[str], None], every_s: float = 1.0) -> None:
        self.outbox = outbox
        self.say = say
        self.every_s = every_s
        self._seen = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-watcher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            for line in self._lines():
                self.say(line)

    def _lines(self) -> Iterator[str]:
        try:
            fresh, self._seen = self.outbox.after(self._seen)
        except Exception as exc:
            yield f"  outbox: could not read moto's sent messages: {exc}"
            return
        for message in fresh:
            yield "  " + summary(message)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
