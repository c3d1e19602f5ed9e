"""``dangol templates`` and ``dangol campaigns`` against the running local system, with the example
programme's files (``examples/programme``): applied by name, unchanged when applied again,
previewed in each locale, launched and followed to the report, its result shown and exported."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

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
