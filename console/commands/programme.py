"""``dangol plan -f DIR`` and ``dangol apply -f DIR``: a marketing programme kept as files in git
(``examples/programme``), compared with the stage and made so, idempotently.

A programme folder holds ``segments/*.yaml``, ``templates/*.yaml``, ``campaigns/*.yaml`` and
optionally ``rules.yaml`` (earn rules) and ``tiers.yaml`` (the tier program), each as its own
command takes it. ``plan`` lists what ``apply`` would do to each; ``apply`` does it in that order
(a campaign names its segment and template, so they come first). Applied twice, the second
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from console import output
from console.client import Client
from console.commands import campaigns, rewards, segments, templates
from console.context import STATE, fmt
from console.errors import ConsoleError

Folder = Annotated[Path, typer.Option("--file", "-f", help="The programme's folder", show_default=False)]
COLUMNS = ("kind", "name", "action", "file")
LABEL = {
    "segments": "segment",
    "templates": "template",
    "campaigns": "campaign",
    "rules": "earn rules",
    "tiers": "tiers",
}


@dataclass(frozen=True)
class Step:
    kind: str
    path: Path


def steps(folder: Path) -> list[Step]:
    """The programme's files, in the order they apply."""
    if not folder.is_dir():
        raise ConsoleError(f"{folder}: no such folder", code="file_not_found")
    found = [
        Step(kind, path)
        for kind in ("segments", "templates", "campaigns")
        for path in sorted((folder / kind).glob("*.y*ml"))
    ]
    found += [
        Step(kind, folder / f"{kind}.yaml")
        for kind in ("rules", "tiers")
        if (folder / f"{kind}.yaml").exists()
    ]
    if not found:
        raise ConsoleError(
            f"{folder}: no segments/, templates/, campaigns/, rules.yaml or tiers.yaml",
            code="invalid_document",
        )
    return found


def _coming(plan: list[dict[str, str]], kind: str) -> set[str]:
    """The names of ``kind`` the plan creates before its campaigns."""
    return {row["name"] for row in plan if row["kind"] == kind and row["action"] == "create"}


def planned(client: Client, folder: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for step in steps(folder):
        if step.kind == "segments":
            action, name = segments.plan_file(client, step.path)
        elif step.kind == "templates":
            action, name = templates.plan_file(client, step.path)
        elif step.kind == "campaigns":
            coming = {"segment": _coming(rows, "segment"), "template": _coming(rows, "template")}
            action, name = campaigns.plan_file(client, step.path, coming=coming)
        else:
            _, _, diff = rewards.program_changes(client, step.kind, step.path)
            action, name = ("update" if diff else "unchanged"), LABEL[step.kind]
        rows.append(_row(step, name, action))
    return rows


def _row(step: Step, name: str, action: str) -> dict[str, str]:
    return {"kind": LABEL[step.kind], "name": name, "action": action, "file": str(step.path)}


def plan(folder: Folder) -> None:
    """What applying the programme would change on the stage (nothing is changed)."""
    rows = planned(STATE.client(), folder)
    chosen = fmt(None)
    output.rows(rows, COLUMNS, chosen, title=f"plan for {STATE.profile().name}")
    if chosen is output.Format.table:
        changes = sum(r["action"] in ("create", "update") for r in rows)
        output.out().print(f"{changes} to change, {len(rows) - changes} as they are")


def apply_programme(folder: Folder) -> None:
    """Make the stage what the programme says: segments, templates, campaigns, rules, tiers."""
    client, rows = STATE.client(), []
    for step in steps(folder):
        if step.kind == "segments":
            what, found = segments.apply_file(client, step.path)
        elif step.kind == "templates":
            what, found = templates.apply_file(client, step.path)
        elif step.kind == "campaigns":
            what, found = campaigns.apply_file(client, step.path)
        else:
            what, found = rewards.apply_program(client, step.kind, step.path)
            found = {**found, "name": LABEL[step.kind]}
        rows.append(_row(step, str(found.get("name")), what))
    output.rows(rows, COLUMNS, fmt(None), title=f"applied to {STATE.profile().name}")
