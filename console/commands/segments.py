"""``dangol segments``: marketing's segments, kept as YAML files (``name``, ``description``,
``rule``: the rule language of ``POST /admin/segments``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from console import files, output
from console.client import Client, quote
from console.context import STATE, OutputOption, example, fmt
from console.errors import ConsoleError

app = typer.Typer(help="Segments: rules over the customer view, from YAML files.", no_args_is_help=True)
SegmentFile = Annotated[
    Path, typer.Option("--file", "-f", help="The segment's YAML file", show_default=False)
]
COLUMNS = ("id", "name", "version", "count", "status", "updated_at")
POLL_S = 0.5


def _segment(segment_id: str) -> str:
    return f"/admin/segments/{quote(segment_id)}"


def definition(path: Path) -> tuple[files.Document, dict[str, Any]]:
    """A segment file: its document and the definition the API takes."""
    document = files.read(path)
    found = files.mapping(document, "name", "rule")
    body = {"name": found["name"], "rule": found["rule"]}
    if found.get("description") is not None:
        body["description"] = found["description"]
    unknown = sorted(set(found) - {"name", "description", "rule"})
    if unknown:
        line = document.line_of([unknown[0]])
        raise ConsoleError(
            f"{path}:{line}: unknown key `{unknown[0]}` (name, description, rule)", code="invalid_document"
        )
    return document, body


def by_name(client: Client, name: str) -> dict[str, Any] | None:
    return next((s for s in client.pages("/admin/segments") if s.get("name") == name), None)


def plan_file(client: Client, path: Path) -> tuple[str, str]:
    """What applying the file would do: (``create``, ``update`` or ``unchanged``, its name)."""
    _, body = definition(path)
    found = by_name(client, body["name"])
    if found is None:
        return "create", body["name"]
    same = found.get("rule") == body["rule"] and found.get("description") == body.get("description")
    return ("unchanged" if same else "update"), body["name"]


def apply_file(client: Client, path: Path) -> tuple[str, dict[str, Any]]:
    """Create or change the segment a file defines (matched by name): ``created``, ``updated`` or
    ``unchanged``, and the segment."""
    document, body = definition(path)
    found = by_name(client, body["name"])
    try:
        if found is None:
            return "created", client.post("/admin/segments", body)
        if found.get("rule") == body["rule"] and found.get("description") == body.get("description"):
            return "unchanged", found
        return "updated", client.versioned("PUT", _segment(found["id"]), body)
    except ConsoleError as exc:
        raise document.mistake(exc) from None


@app.command("list", epilog=example("dangol segments list", "dangol segments list -o csv"))
def list_segments(output_format: OutputOption = None) -> None:
    """The segments, newest first, with their members' count."""
    output.rows(STATE.client().pages("/admin/segments"), COLUMNS, fmt(output_format), title="segments")


@app.command(epilog=example("dangol segments show seg_01JD...", "dangol segments show seg_01JD... -o json"))
def show(
    segment_id: Annotated[str, typer.Argument(help="The segment (seg_...)")],
    output_format: OutputOption = None,
) -> None:
    """A segment: its rule in force, its version and count."""
    found = STATE.client().get(_segment(segment_id))
    chosen = fmt(output_format)
    output.record(found, (*COLUMNS, "description", "time_dependent"), chosen, title=found["name"])
    if chosen is output.Format.table:
        output.out().print_json(json.dumps(found["rule"], ensure_ascii=False))


@app.command(epilog=example("dangol segments apply -f segments/lapsed.yaml"))
def apply(file: SegmentFile) -> None:
    """Create the segment the file defines, or change it to match (by name); nothing if it does."""
    what, segment = apply_file(STATE.client(), file)
    output.done(
        f"{segment['name']}: {what} (version {segment['version']}, {segment['id']})",
        fmt(None),
        {"result": what, **segment},
    )


@app.command(epilog=example("dangol segments validate -f segments/lapsed.yaml"))
def validate(file: SegmentFile) -> None:
    """Check a segment file: its YAML here, its rule by the API (a preview job starts; kept a day)."""
    document, body = definition(file)
    try:
        STATE.client().post("/admin/segment-previews", {"rule": body["rule"]})
    except ConsoleError as exc:
        raise document.mistake(exc) from None
    output.done(f"{file}: valid", fmt(None), {"file": str(file), "valid": True})


@app.command(
    epilog=example(
        "dangol segments preview -f segments/lapsed.yaml",
        "dangol segments preview -f segments/lapsed.yaml -o json",
    )
)
def preview(
    file: SegmentFile,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the count to be final")] = 120.0,
    output_format: OutputOption = None,
) -> None:
    """How many customers the file's rule holds now, and a few of them (a live count as it runs)."""
    document, body = definition(file)
    client, chosen = STATE.client(), fmt(output_format)
    try:
        job = client.post("/admin/segment-previews", {"rule": body["rule"]})
    except ConsoleError as exc:
        raise document.mistake(exc) from None
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[found]} match"),
        TimeElapsedColumn(),
        console=output.err(),
        transient=True,
        disable=chosen is not output.Format.table,
    ) as progress:
        task = progress.add_task("looking at customers", total=None, found=0)
        while job["status"] != "done" and time.monotonic() < deadline:
            time.sleep(POLL_S)
            job = client.get(f"/admin/segment-previews/{quote(job['id'])}")
            progress.update(task, found=job["count"], description=f"looked at {job['looked_at']}")
    if job["status"] != "done":
        raise ConsoleError(
            f"the preview {job['id']} is still running after {timeout:.0f} s", code="preview_running"
        )
    output.record(job, ("id", "count", "looked_at", "sample"), chosen, title=f"{body['name']} (preview)")


@app.command(epilog=example("dangol segments delete seg_01JD... --yes"))
def delete(
    segment_id: Annotated[str, typer.Argument(help="The segment (seg_...)")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Delete a segment (refused while a running campaign uses it)."""
    if not yes and not typer.confirm(f"Delete {segment_id}?", default=False):
        raise typer.Abort
    STATE.client().versioned("DELETE", _segment(segment_id))
    output.done(f"{segment_id}: deleted", fmt(None), {"id": segment_id, "deleted": True})
