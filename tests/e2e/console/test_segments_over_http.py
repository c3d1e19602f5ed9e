"""``dangol segments`` against the running local system: a segment kept as a YAML file is created,
left alone when unchanged and changed when the file is, previewed with a live count; a broken file
or a rule the API refuses is exit 1 with the file's line."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.e2e.console.conftest import Run

RULE = """\
name: {name}
description: No purchase for 60 days, and e-mail consented
rule:
  all:
    - field: last_purchase_at
      op: not_within_days
      value: {days}
    - field: consent
      op: granted
      value: email.marketing
"""


def segment_file(tmp_path: Path, name: str, days: int = 60) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(RULE.format(name=name, days=days), encoding="utf-8")
    return path


def test_a_segment_file_is_created_left_alone_then_changed(dangol: Run, tmp_path: Path) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    name = f"lapsed-{uuid.uuid4().hex[:8]}"
    path = segment_file(tmp_path, name)
    # When the file is applied: the segment is created
    first = dangol("-o", "json", "segments", "apply", "-f", str(path))
    assert first.code == 0, first.err
    assert (first.json()["result"], first.json()["version"]) == ("created", 1)
    # and applied again unchanged: nothing changes
    again = dangol("-o", "json", "segments", "apply", "-f", str(path))
    assert (again.json()["result"], again.json()["version"]) == ("unchanged", 1)
    # and applied after the file changed: a new version
    segment_file(tmp_path, name, days=90)
    changed = dangol("-o", "json", "segments", "apply", "-f", str(path))
    assert (changed.json()["result"], changed.json()["version"]) == ("updated", 2)
    # Then the list has it, with the rule of the file
    listed = dangol("segments", "list", "-o", "json").json()
    [mine] = [s for s in listed if s["name"] == name]
    assert mine["rule"]["all"][0]["value"] == 90


def test_a_preview_counts_the_rule_over_every_customer(dangol: Run, tmp_path: Path) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    shown = dangol("segments", "preview", "-f", str(segment_file(tmp_path, "preview")), "-o", "json")
    assert shown.code == 0, shown.err
    found = shown.json()
    assert found["count"] == len(found["sample"]) or len(found["sample"]) == 20
    assert found["looked_at"] >= found["count"]


def test_a_broken_file_is_exit_1_with_its_line(dangol: Run, tmp_path: Path) -> None:
    assert dangol("login", "--as", "marketing").code == 0
    # a missing file
    missing = dangol("segments", "apply", "-f", str(tmp_path / "nope.yaml"))
    assert (missing.code, missing.err.strip()) == (
        1,
        f"error [file_not_found]: {tmp_path / 'nope.yaml'}: no such file",
    )
    # YAML that does not parse: the line and column
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nrule:\n  all: [\n    - field\n", encoding="utf-8")
    parsed = dangol("segments", "apply", "-f", str(broken))
    assert parsed.code == 1
    assert parsed.err.startswith(f"error [invalid_yaml]: {broken}:")
    # a rule the API refuses: the line of the value it refuses
    wrong = segment_file(tmp_path, f"wrong-{uuid.uuid4().hex[:6]}")
    wrong.write_text(wrong.read_text().replace("op: granted", "op: sort_of"), encoding="utf-8")
    refused = dangol("segments", "validate", "-f", str(wrong))
    assert refused.code == 1, refused.err
    assert refused.err.startswith(f"error [validation_error]: {wrong}:9: "), refused.err  # op: sort_of
