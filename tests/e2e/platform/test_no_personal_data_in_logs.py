"""Personal data never reaches the logs: after customers and staff have used the system with
e-mails and phone numbers (the seeded ones and new ones), every log the local runtime wrote
(the gateway's access log and each function's output) is searched for them."""

from __future__ import annotations

import time
from pathlib import Path

from infra.local.seed import DEMO_PROFILES
from tests.e2e.conftest import LocalSystem

NEW_PHONE = "+821077770123"
NOTE_EMAIL, NOTE_PHONE = "call.me.back@example.org", "+821066660987"
IMPORT_EMAIL, IMPORT_PHONE = "imported.person@example.net", "+821055554321"


def every_log(local: LocalSystem) -> str:
    texts = [local.log.read_text(encoding="utf-8", errors="replace")]
    texts += [
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(Path(local.state_dir).rglob("*.log"))
    ]
    return "\n".join(texts)


def test_no_seeded_or_new_email_or_phone_appears_in_any_log(local: LocalSystem) -> None:
    # Given staff and customers who look up, change, note, import and export personal data
    agent, admin = local.token("agent"), local.token("admin")
    minji = DEMO_PROFILES["minji"]
    for query in (f"email={minji['email']}", f"phone=%2B{minji['phone'][1:]}"):
        assert local.request("GET", f"/customers?{query}", token=agent).status == 200
    jisoo = local.request("GET", "/me", token=local.token("customer", user="jisoo")).json()
    changed = local.request(
        "PATCH", f"/customers/{jisoo['customer_id']}", token=agent, body={"phone": NEW_PHONE}
    )
    assert changed.status == 200, changed.body
    assert local.request("GET", "/me/export", token=local.token("customer")).status == 200
    assert local.request("GET", f"/customers/{jisoo['customer_id']}/export", token=admin).status == 200
    bad = local.request("PATCH", "/me", token=local.token("customer"), body={"email": "not an e-mail"})
    assert bad.status == 422
    restored = local.request("PATCH", f"/customers/{jisoo['customer_id']}", token=agent, body={"phone": None})
    assert restored.status == 200
    note = f"Asked to be called back on {NOTE_PHONE} or written to at {NOTE_EMAIL}"
    contact = {"channel": "call", "direction": "inbound", "outcome": "reached", "note": note}
    recorded = local.request("POST", f"/customers/{jisoo['customer_id']}/contacts", token=agent, body=contact)
    assert recorded.status == 201, recorded.body
    csv = (
        "external_ref,display_name,email,phone\n"
        f"pii-log-1,임포트,{IMPORT_EMAIL},{IMPORT_PHONE}\n"
        f"pii-log-2,잘못된,{IMPORT_EMAIL}x@,{IMPORT_PHONE}9999999\n"  # rejected: bad e-mail and phone
    )
    imported = local.request(
        "POST",
        "/imports",
        token=local.token("marketing"),
        raw=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported.status == 202, imported.body
    job = imported.json()["job_id"]
    deadline = time.monotonic() + 30
    while local.request("GET", f"/imports/{job}", token=local.token("marketing")).json()["status"] not in (
        "completed",
        "failed",
    ):
        assert time.monotonic() < deadline, "the import never finished"
        time.sleep(0.3)
    time.sleep(0.5)  # the workers' output is line-buffered; let the last lines land
    # When every log is searched
    logs = every_log(local)
    # Then it holds none of the e-mails and phone numbers (the logs are not empty)
    assert "profile created" in logs or len(logs) > 1000
    secrets = [p[k] for p in DEMO_PROFILES.values() for k in ("email", "phone") if k in p]
    secrets += [NEW_PHONE, "not an e-mail", NOTE_EMAIL, NOTE_PHONE, IMPORT_EMAIL, IMPORT_PHONE]
    leaked = [s for s in secrets if s in logs or s.replace("+", "%2B") in logs]
    assert leaked == []
