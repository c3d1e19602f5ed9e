"""``dangol campaigns``: campaigns kept as YAML files (the segment and the template by name),
dry-run (what a launch would decide, sending nothing), launched with a live count, paused,
cancelled, reported, and their result against the control group drawn in the terminal."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from console import files, output
from console.client import Client, quote
from console.commands import segments, templates
from console.context import STATE, OutputOption, example, fmt
from console.errors import ConsoleError

app = typer.Typer(help="Campaigns: from YAML files, launched, reported.", no_args_is_help=True)
CampaignId = Annotated[str, typer.Argument(help="The campaign (cmp_...)", show_default=False)]
CampaignFile = Annotated[
    Path, typer.Option("--file", "-f", help="The campaign's YAML file", show_default=False)
]
COLUMNS = ("id", "name", "status", "channel", "segment_id", "template_id", "control_percent", "updated_at")
KEYS = (
    "name",
    "segment",
    "segment_id",
    "template",
    "template_id",
    "channel",
    "priority",
    "control_percent",
    "schedule",
    "offer",
    "attribution_days",
)
SUPPRESSED = ("no_consent", "capped", "no_address", "erased", "failed", "excluded", "exited")
POLL_S = 0.5


def _campaign(campaign_id: str) -> str:
    return f"/admin/campaigns/{quote(campaign_id)}"


def definition(
    client: Client, path: Path, *, coming: dict[str, set[str]] | None = None
) -> tuple[files.Document, dict[str, Any]]:
    """A campaign file as the API takes it: ``segment`` and ``template`` named are looked up
    (``coming``: names a plan will create first, by kind: they stand as ``<name>`` until then)."""
    document = files.read(path)
    found = files.mapping(document, "name", "channel", "schedule")
    unknown = sorted(set(found) - set(KEYS))
    if unknown:
        line = document.line_of([unknown[0]])
        raise ConsoleError(f"{path}:{line}: unknown key `{unknown[0]}`", code="invalid_document")
    body = {k: v for k, v in found.items() if k not in ("segment", "template")}
    for key, lookup in (("segment", segments.by_name), ("template", templates.by_name)):
        if key in found:
            named = lookup(client, str(found[key]))
            if named is None and str(found[key]) in (coming or {}).get(key, set()):
                body[f"{key}_id"] = f"<{found[key]}>"
                continue
            if named is None:
                line = document.line_of([key])
                raise ConsoleError(f"{path}:{line}: no {key} named {found[key]!r}", code=f"{key}_not_found")
            body[f"{key}_id"] = named["id"]
    return document, body


def by_name(client: Client, name: str) -> dict[str, Any] | None:
    return next((c for c in client.pages("/admin/campaigns") if c.get("name") == name), None)


def _same(found: dict[str, Any], body: dict[str, Any]) -> bool:
    defaults = {"priority": 5, "control_percent": 10, "attribution_days": 7, "offer": None}
    return all(found.get(k) == body.get(k, defaults.get(k)) for k in (*body, *defaults) if k in found)


def plan_file(client: Client, path: Path, *, coming: dict[str, set[str]] | None = None) -> tuple[str, str]:
    """What applying the file would do: ``create``, ``update``, ``unchanged`` or ``launched`` (a
    campaign past its draft is not changed), and its name."""
    _, body = definition(client, path, coming=coming)
    found = by_name(client, body["name"])
    if found is None:
        return "create", body["name"]
    if found.get("status") != "draft":
        return "launched", body["name"]
    return ("unchanged" if _same(found, body) else "update"), body["name"]


def apply_file(client: Client, path: Path) -> tuple[str, dict[str, Any]]:
    """Create the draft a file defines, or change the draft to match (by name). A campaign already
    launched is left as it is: ``launched`` (it cannot change)."""
    document, body = definition(client, path)
    found = by_name(client, body["name"])
    try:
        if found is None:
            return "created", client.post("/admin/campaigns", body)
        if found.get("status") != "draft":
            return "launched", found
        if _same(found, body):
            return "unchanged", found
        return "updated", client.versioned("PUT", _campaign(found["id"]), body)
    except ConsoleError as exc:
        raise document.mistake(exc) from None


@app.command("list", epilog=example("dangol campaigns list", "dangol campaigns list -o csv"))
def list_campaigns(output_format: OutputOption = None) -> None:
    """The campaigns, newest first."""
    output.rows(STATE.client().pages("/admin/campaigns"), COLUMNS, fmt(output_format), title="campaigns")


@app.command(epilog=example("dangol campaigns show cmp_01JD..."))
def show(campaign_id: CampaignId, output_format: OutputOption = None) -> None:
    """A campaign: its definition and status."""
    found = STATE.client().get(_campaign(campaign_id))
    output.record(
        found,
        (*COLUMNS, "priority", "schedule", "offer", "runs", "launched_at"),
        fmt(output_format),
        title=found["name"],
    )


@app.command(epilog=example("dangol campaigns apply -f campaigns/winback.yaml"))
def apply(file: CampaignFile) -> None:
    """Create the campaign the file defines as a draft, or change the draft to match (by name)."""
    what, campaign = apply_file(STATE.client(), file)
    output.done(
        f"{campaign['name']}: {what} ({campaign['status']}, {campaign['id']})",
        fmt(None),
        {"result": what, **campaign},
    )


def _report(client: Client, campaign_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get(f"{_campaign(campaign_id)}/report")
    return found


def _follow(client: Client, campaign_id: str, timeout: float) -> dict[str, Any]:
    """The report, polled with a live bar (sent, deferred, suppressed) until every recipient of
    the run is decided, or ``timeout``."""
    report = _report(client, campaign_id)
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "sent {task.fields[sent]} · deferred {task.fields[deferred]}"
            " · suppressed {task.fields[suppressed]}"
        ),
        TimeElapsedColumn(),
        console=output.err(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("deciding", total=None, sent=0, deferred=0, suppressed=0)
        while time.monotonic() < deadline:
            counts = report["counts"]
            target = max(counts["audience"] - counts["control"], 0)
            progress.update(
                task,
                total=target or None,
                completed=counts["decided"],
                sent=counts["sent"],
                deferred=counts["deferred"],
                suppressed=sum(report["suppressed"].values()),
            )
            if report["planned"] and counts["decided"] >= target and report["status"] != "launching":
                break
            time.sleep(POLL_S)
            report = _report(client, campaign_id)
    return report


def _show_report(report: dict[str, Any], chosen: output.Format) -> None:
    if chosen is not output.Format.table:
        output.record(report, tuple(report), chosen)
        return
    counts = report["counts"]
    output.record(
        {**counts, "status": report["status"], "runs": report["runs"]},
        ("status", "runs", "audience", "control", "sent", "delivered", "bounced", "deferred", "decided"),
        chosen,
        title=f"{report['campaign_id']}",
    )
    output.rows(
        [{"reason": r, "count": n} for r, n in sorted(report["suppressed"].items()) if n],
        ("reason", "count"),
        chosen,
        title="suppressed",
    )


@app.command(
    epilog=example("dangol campaigns launch cmp_01JD...", "dangol campaigns launch cmp_01JD... --no-wait")
)
def launch(
    campaign_id: CampaignId,
    wait: Annotated[
        bool, typer.Option(help="Follow the sending live until every recipient is decided")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow it")] = 300.0,
    output_format: OutputOption = None,
) -> None:
    """Launch a draft now (or at its schedule), and follow it: sent, deferred, suppressed by reason."""
    client, chosen = STATE.client(), fmt(output_format)
    launched = client.post(f"{_campaign(campaign_id)}/launch", {})
    if not wait or launched.get("schedule", {}).get("kind") not in (None, "now"):
        output.done(f"{campaign_id}: {launched['status']}", chosen, launched)
        return
    _show_report(_follow(client, campaign_id, timeout), chosen)


DRY_RUN_COLUMNS = ("customer_id", "decision", "reason", "until", "address", "preview")


def _show_dry_run(found: dict[str, Any], chosen: output.Format) -> None:
    """The audience and control lines, then the sample as a table (CSV: the sample's rows)."""
    if chosen is not output.Format.table:
        if chosen is output.Format.json:
            output.record(found, tuple(found), chosen)
        else:
            output.rows(found["sample"], DRY_RUN_COLUMNS, chosen)
        return
    audience, console = found["audience"], output.out()
    console.print(
        f"[bold]{found['campaign_id']}[/bold] ({found['status']}, {found['channel']}, {found['purpose']}): "
        f"a dry run at {found['at']}, nothing sent or written"
    )
    if audience["kind"] == "trigger":
        console.print(f"audience  whoever the {audience['trigger']} trigger finds, when it comes")
    else:
        console.print(f"audience  {audience['count']} (segment {audience['segment_id']})")
        about = "" if found["control_exact"] else "about "
        console.print(f"control   {about}{found['control']} held out ({found['control_percent']}%)")
    output.rows(found["sample"], DRY_RUN_COLUMNS, chosen, title="sample")
    if found["summary"]:
        console.print(" · ".join(f"{d} {n}" for d, n in sorted(found["summary"].items())))


@app.command(
    "dry-run",
    epilog=example(
        "dangol campaigns dry-run cmp_01JD...",
        "dangol campaigns dry-run cmp_01JD... --sample 50 -o csv > sample.csv",
    ),
)
def dry_run(
    campaign_id: CampaignId,
    sample: Annotated[
        int, typer.Option(min=1, max=50, help="Customers of the audience to show the decision for")
    ] = 10,
    output_format: OutputOption = None,
) -> None:
    """What launching it now would do, sending nothing: the audience, the control group, and the
    sender's decision for a sample (send, control, deferred, or why not), addresses masked."""
    path = f"{_campaign(campaign_id)}/dry-run"
    found = STATE.client().post(path, {"sample": sample}, idempotency_key=None)  # it writes nothing
    _show_dry_run(found, fmt(output_format))


def _control(action: str, doc: str) -> Any:
    def command(campaign_id: CampaignId) -> None:
        answer = STATE.client().post(f"{_campaign(campaign_id)}/{action}", {})
        output.done(f"{campaign_id}: {answer['status']}", fmt(None), answer)

    command.__doc__ = doc
    return command


for _action, _doc in (
    ("pause", "Hold a campaign's sending."),
    ("resume", "Go on with a paused campaign."),
    ("cancel", "Stop a campaign: nothing more is sent."),
):
    app.command(_action, epilog=example(f"dangol campaigns {_action} cmp_01JD..."))(_control(_action, _doc))


@app.command(
    epilog=example("dangol campaigns report cmp_01JD...", "dangol campaigns report cmp_01JD... -o json")
)
def report(campaign_id: CampaignId, output_format: OutputOption = None) -> None:
    """A campaign's figures so far: audience, control, sent, deferred, suppressed by reason."""
    _show_report(_report(STATE.client(), campaign_id), fmt(output_format))


def _bar(value: float | None, top: float, width: int = 30) -> str:
    if value is None or top <= 0:
        return ""
    return "█" * max(1, round(width * value / top)) if value > 0 else "·"


@app.command(
    epilog=example(
        "dangol campaigns results cmp_01JD...", "dangol campaigns results cmp_01JD... --csv > winback.csv"
    )
)
def results(
    campaign_id: CampaignId,
    csv: Annotated[bool, typer.Option("--csv", help="The API's CSV export, as it is")] = False,
    output_format: OutputOption = None,
) -> None:
    """The result against the control group: conversion rates side by side, the lift, the verdict."""
    client, chosen = STATE.client(), fmt(output_format)
    if csv:
        sys.stdout.write(
            client.request(
                "GET", f"{_campaign(campaign_id)}/results.csv", headers={"Accept": "text/csv"}
            ).body.decode()
        )
        return
    found = client.get(f"{_campaign(campaign_id)}/results")
    if chosen is not output.Format.table:
        output.record(found, tuple(found), chosen)
        return
    overall = found["overall"]
    rates = [overall.get("conversion_rate"), overall.get("control_rate")]
    top = max((r for r in rates if r is not None), default=0.0)
    chart = Table(
        title=f"{found['name']}: conversion within {found['attribution_days']} days",
        title_justify="left",
        box=None,
    )
    for column in ("group", "customers", "converted", "rate", ""):
        chart.add_column(column)
    for label, people, converted, rate in (
        ("messaged", overall["recipients"], overall["conversions"], rates[0]),
        ("control", overall["control"], overall["control_conversions"], rates[1]),
    ):
        shown = f"{rate:.1%}" if rate is not None else "-"
        chart.add_row(label, str(people), str(converted), shown, f"[green]{_bar(rate, top)}[/green]")
    output.out().print(chart)
    lift = overall.get("lift")
    if lift:
        relative = f", relative {lift['relative']:+.0%}" if lift.get("relative") is not None else ""
        output.out().print(
            f"lift {lift['absolute']:+.1%} (95% {lift['low']:+.1%} to {lift['high']:+.1%}){relative}; "
            f"verdict: [bold]{overall['verdict']}[/bold]"
        )
    else:
        output.out().print(f"verdict: [bold]{overall['verdict']}[/bold] {overall.get('reason') or ''}")
