"""``dangol templates`` and ``dangol campaigns`` against the running local system, with the example
programme's files (``examples/programme``): applied by name, unchanged when applied again,
previewed in each locale, launched and followed to the report, its result shown and exported; a
campaign dry-run before its launch (the sender's decisions for a sample, nothing sent)."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from console.client import Client
from tests.e2e.conftest import LocalSystem
from tests.e2e.console.conftest import Run

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "programme"


def programme(tmp_path: Path) -> Path:
    """The example programme under names of this test's own, its segment matching nobody (so the
    shared local system's customers get no mail from it)."""
    tag = uuid.uuid4().hex[:8]
    copy = tmp_path / "programme"
    shutil.copytree(EXAMPLES, copy)
    segment = copy / "segments" / "lapsed-mailable.yaml"
    segment.write_text(
        segment.read_text(encoding="utf-8")
        .replace("name: Lapsed, mailable", f"name: Lapsed {tag}")
        .replace(
            "value: email.marketing",
            f"value: email.marketing\n    - field: groups\n      op: contains\n      value: nobody-{tag}",
        ),
        encoding="utf-8",
    )
    template = copy / "templates" / "we-miss-you.yaml"
    template.write_text(
        template.read_text(encoding="utf-8").replace("name: We miss you", f"name: Miss {tag}")
    )
    campaign = copy / "campaigns" / "winback.yaml"
    campaign.write_text(
        campaign.read_text(encoding="utf-8")
        .replace('name: "Winback: 60 days without a purchase"', f"name: Winback {tag}")
        .replace("segment: Lapsed, mailable", f"segment: Lapsed {tag}")
        .replace("template: We miss you", f"template: Miss {tag}"),
        encoding="utf-8",
    )
    return copy


def test_the_example_programme_applies_once_previews_launches_and_reports(
    dangol: Run, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    files = programme(tmp_path)
    # When the segment, the template and the campaign are applied, in that order
    applied = {}
    for kind, path in (
        ("segments", files / "segments" / "lapsed-mailable.yaml"),
        ("templates", files / "templates" / "we-miss-you.yaml"),
        ("campaigns", files / "campaigns" / "winback.yaml"),
    ):
        ran = dangol("-o", "json", kind, "apply", "-f", str(path))
        assert ran.code == 0, (kind, ran.err)
        applied[kind] = ran.json()
        assert applied[kind]["result"] == "created"
        # Then applying a file again changes nothing
        again = dangol("-o", "json", kind, "apply", "-f", str(path))
        assert again.json()["result"] == "unchanged", (kind, again.out)
    campaign, template = applied["campaigns"], applied["templates"]
    assert campaign["template_id"] == template["id"]
    assert campaign["segment_id"] == applied["segments"]["id"]
    # And the template (its HTML read from the files beside it) renders in each of its locales
    shown = dangol("templates", "preview", template["id"], "-o", "json")
    assert shown.code == 0, shown.err
    subjects = {m["locale"]: m["subject"] for m in shown.json()}
    assert set(subjects) == {"ko-KR", "en-US"}
    assert "We miss you" in subjects["en-US"]
    assert "보고 싶었어요" in subjects["ko-KR"]
    # When it is launched and followed: nobody matches, so it is decided at once
    launched = dangol("campaigns", "launch", campaign["id"], "-o", "json", "--timeout", "60")
    assert launched.code == 0, launched.err
    report = launched.json()
    assert report["counts"]["audience"] == 0
    assert report["planned"] is True
    # Then its report and result read as tables, and the result exports as CSV
    assert campaign["id"] in dangol("campaigns", "report", campaign["id"]).out
    table = dangol("campaigns", "results", campaign["id"])
    assert table.code == 0, table.err
    assert "verdict" in table.out
    csv = dangol("campaigns", "results", campaign["id"], "--csv")
    assert csv.code == 0, csv.err
    assert csv.out.splitlines()[0].count(",") >= 3
    # And a launched campaign is not changed by its file any more
    assert (
        dangol("-o", "json", "campaigns", "apply", "-f", str(files / "campaigns" / "winback.yaml")).json()[
            "result"
        ]
        == "launched"
    )


def test_a_campaign_naming_a_segment_that_does_not_exist_is_exit_1_at_its_line(
    dangol: Run, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    path = tmp_path / "orphan.yaml"
    path.write_text(
        "name: Orphan\nsegment: No such segment\ntemplate: x\nchannel: email\nschedule:\n  kind: now\n",
        encoding="utf-8",
    )
    ran = dangol("campaigns", "apply", "-f", str(path))
    assert ran.code == 1
    assert ran.err.strip() == f"error [segment_not_found]: {path}:2: no segment named 'No such segment'"


def test_plan_and_apply_a_programme_folder_once_and_a_manual_change_shows_in_the_plan(
    dangol: Run, local: LocalSystem, tmp_path: Path
) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    folder = programme(tmp_path)
    # When the programme is planned: everything is to create
    plan = dangol("-o", "json", "plan", "-f", str(folder))
    assert plan.code == 0, plan.err
    assert [(r["kind"], r["action"]) for r in plan.json()] == [
        ("segment", "create"),
        ("template", "create"),
        ("campaign", "create"),
    ]
    # and applied, twice: the second changes nothing
    first = dangol("-o", "json", "apply", "-f", str(folder))
    assert [r["action"] for r in first.json()] == ["created", "created", "created"], first.err
    second = dangol("-o", "json", "apply", "-f", str(folder))
    assert [r["action"] for r in second.json()] == ["unchanged", "unchanged", "unchanged"]
    assert {r["action"] for r in dangol("-o", "json", "plan", "-f", str(folder)).json()} == {"unchanged"}
    # When someone changes the segment by hand, the plan shows it is to update again
    staff = Client(local.url, token=lambda: local.token("marketing"))
    segment = next(s for s in staff.pages("/admin/segments") if s["name"] == first.json()[0]["name"])
    current = staff.request("GET", f"/admin/segments/{segment['id']}")
    staff.put(
        f"/admin/segments/{segment['id']}",
        {"name": segment["name"], "rule": {"field": "consent", "op": "granted", "value": "email.marketing"}},
        headers={"If-Match": current.header("ETag") or ""},
    )
    again = dangol("-o", "json", "plan", "-f", str(folder)).json()
    assert [(r["kind"], r["action"]) for r in again] == [
        ("segment", "update"),
        ("template", "unchanged"),
        ("campaign", "unchanged"),
    ]


def _customer(local: LocalSystem, zone: str, *, consent: bool) -> tuple[str, str]:
    """A customer signed up in the app, in ``zone``; (customer id, e-mail)."""
    signed = local.sign_up()
    app = Client(local.url, token=lambda: signed["id"])
    body = {"display_name": "Dry Run", "email": signed["username"], "time_zone": zone, "locale": "en-US"}
    created = app.post("/me", body)
    if consent:
        app.post("/me/consents", {"channel": "email", "purpose": "marketing", "granted": True})
    return str(created["customer_id"]), signed["username"]


def _until(what: Any, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := what()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return found


def _welcome_decision(staff: Client, customer_id: str) -> str | None:
    """What the seeded welcome (a campaign triggered by every registration) decided for the
    customer, once it has (None: no welcome on this system)."""
    welcome = next((c for c in staff.pages("/admin/campaigns") if c["name"] == "Welcome"), None)
    if welcome is None:
        return None
    path = f"/admin/campaigns/{welcome['id']}/messages"
    items = _until(lambda: staff.get(path, customer_id=customer_id)["items"])
    assert items, f"the welcome never decided for {customer_id}"
    return str(items[0]["decision"])


def test_a_dry_run_shows_the_audience_control_and_decisions_and_sends_nothing(
    dangol: Run, local: LocalSystem
) -> None:
    # Given two customers of this test's own (a zone nobody else uses): one consented to marketing
    # e-mail, one not; a segment of that zone, counted; and a draft e-mail campaign to it
    zone = "Antarctica/Troll"
    mailable, address = _customer(local, zone, consent=True)
    silent, _ = _customer(local, zone, consent=False)
    staff = Client(local.url, token=lambda: local.token("marketing"))
    tag = uuid.uuid4().hex[:8]
    segment = staff.post(
        "/admin/segments", {"name": f"Troll {tag}", "rule": {"field": "time_zone", "op": "eq", "value": zone}}
    )
    counted = _until(lambda: staff.get(f"/admin/segments/{segment['id']}")["count"] == 2)
    assert counted, staff.get(f"/admin/segments/{segment['id']}")
    template = staff.post(
        "/admin/templates",
        {
            "name": f"Dry {tag}",
            "channel": "email",
            "purpose": "marketing",
            "sender": "Dangol Bakery",
            "locales": {
                "en-US": {"subject": "Fresh bread, {{ customer.name }}", "html": "<p>Hi</p>", "text": "Hi"}
            },
            "default_locale": "en-US",
        },
    )
    campaign = staff.post(
        "/admin/campaigns",
        {
            "name": f"Dry {tag}",
            "segment_id": segment["id"],
            "template_id": template["id"],
            "channel": "email",
            "control_percent": 0,
            "schedule": {"kind": "now"},
        },
    )
    assert dangol("login", "--as", "marketing").code == 0
    # When it is dry-run from the console, as JSON
    started = time.perf_counter()
    ran = dangol("-o", "json", "campaigns", "dry-run", campaign["id"], "--sample", "5")
    took = time.perf_counter() - started
    # Then it exits 0 with the audience, the control group and a decision for each
    assert ran.code == 0, ran.err
    found = ran.json()
    assert found["audience"] == {"kind": "segment", "count": 2, "segment_id": segment["id"], "trigger": None}
    assert (found["control"], found["control_percent"], found["control_exact"]) == (0, 0, True)
    lines = {line["customer_id"]: line for line in found["sample"]}
    assert set(lines) == {mailable, silent}
    assert (lines[silent]["decision"], lines[silent]["reason"]) == ("no_consent", "email.marketing")
    # And the consenting one is decided as the sender would now: capped if the seeded welcome
    # (every registration gets it) took today's e-mail, else sent (or deferred, at night)
    line = lines[mailable]
    if _welcome_decision(staff, mailable) == "sent":
        assert (line["decision"], line["reason"], line["preview"]) == ("capped", "frequency_cap", None)
    else:
        assert line["decision"] in {"send", "deferred"}
        assert line["preview"] == "Fresh bread, Dry Run"
    # And the address shows masked, never whole
    assert lines[mailable]["address"] == f"{address[0]}***@{address.split('@')[1]}"
    assert address not in ran.out
    assert sum(found["summary"].values()) == 2
    assert took < 10, f"the dry run took {took:.1f} s (the API function's timeout is 10 s)"
    # And nothing was sent or logged: the campaign is still a draft with an empty message log
    assert staff.get(f"/admin/campaigns/{campaign['id']}")["status"] == "draft"
    assert staff.get(f"/admin/campaigns/{campaign['id']}/messages")["items"] == []
    # And the table a person reads has the audience and control lines and the sample
    table = dangol("campaigns", "dry-run", campaign["id"])
    assert table.code == 0, table.err
    assert "audience  2 (segment" in table.out
    assert "control   0 held out (0%)" in table.out
    assert "no_consent" in table.out
    # And CSV is the sample's rows
    csv = dangol("-o", "csv", "campaigns", "dry-run", campaign["id"])
    assert csv.out.splitlines()[0] == "customer_id,decision,reason,until,address,preview"
    assert len(csv.out.splitlines()) == 3
    # When the campaign does not exist, or is cancelled, or the sample is out of range: the exit codes say so
    unknown = dangol("campaigns", "dry-run", "cmp_01JD6Y8A4D1N9V2Q7Y3G5K8M0P")
    assert (unknown.code, unknown.err.strip()) == (3, "error [campaign_not_found]: No such campaign.")
    assert dangol("campaigns", "dry-run", campaign["id"], "--sample", "51").code == 2
    staff.post(f"/admin/campaigns/{campaign['id']}/cancel", {})
    ended = dangol("campaigns", "dry-run", campaign["id"])
    assert ended.code == 4
    assert ended.err.startswith("error [campaign_ended]: A cancelled campaign sends nothing more")
