"""``dangol customers``: find a customer, see everything about them, note a contact, give them a
manager; export or erase (admin)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from console import output
from console.client import Client, quote
from console.context import STATE, OutputOption, example, fmt
from console.errors import NOT_FOUND, USAGE, ConsoleError

app = typer.Typer(
    help="Customers: find, show, contact notes, managers, export and erasure.", no_args_is_help=True
)
POLL_S = 0.5
CustomerId = Annotated[str, typer.Argument(help="The customer (cus_...)", show_default=False)]
FOUND_COLUMNS = ("customer_id", "display_name", "email", "phone", "locale", "manager_id")
PROFILE_FIELDS = (
    "customer_id",
    "display_name",
    "email",
    "phone",
    "locale",
    "time_zone",
    "birthday",
    "groups",
    "manager_id",
    "social_handles",
    "created_at",
)


def _customer(customer_id: str) -> str:
    return f"/customers/{quote(customer_id)}"


@app.command(
    epilog=example(
        "dangol customers find --email minji@example.com", "dangol customers find --phone +821012345678"
    )
)
def find(
    email: Annotated[str | None, typer.Option(help="Exact e-mail")] = None,
    phone: Annotated[str | None, typer.Option(help="Exact phone, E.164")] = None,
    output_format: OutputOption = None,
) -> None:
    """Find customers by exact e-mail or phone."""
    if not email and not phone:
        raise ConsoleError("give --email or --phone", exit_code=USAGE)
    found = list(STATE.client().pages("/customers", email=email, phone=phone))
    output.rows(found, FOUND_COLUMNS, fmt(output_format), title="customers")
    if not found:
        raise typer.Exit(NOT_FOUND)


def _optional(client: Client, path: str) -> Any:
    """A part of the picture a service may not hold (404): None, and the rest goes on."""
    try:
        return client.get(path)
    except ConsoleError as exc:
        if exc.exit_code == NOT_FOUND:
            return None
        raise


def _usual(found: dict[str, Any] | None) -> str:
    """The usual items by time of day: ``morning: Latte, Croissant; evening: ...``."""
    if not found:
        return ""
    parts = []
    for daypart in ("morning", "midday", "evening"):
        names = [str(i.get("name") or i.get("sku")) for i in found.get(daypart) or [] if isinstance(i, dict)]
        if names:
            parts.append(f"{daypart}: {', '.join(names[:3])}")
    return "; ".join(parts)


@app.command(epilog=example("dangol customers show cus_01JF...", "dangol customers show cus_01JF... -o json"))
def show(customer_id: CustomerId, output_format: OutputOption = None) -> None:
    """A customer: profile, points and tier, the usual, value, groups, consents and contact log."""
    client, chosen = STATE.client(), fmt(output_format)
    picture: dict[str, Any] = {"profile": client.get(_customer(customer_id))}
    picture["points"] = _optional(client, f"{_customer(customer_id)}/points")
    picture["value"] = _optional(client, f"{_customer(customer_id)}/value")
    picture["usual"] = _optional(client, f"{_customer(customer_id)}/usual")
    picture["consents"] = _optional(client, f"{_customer(customer_id)}/consents")
    picture["contacts"] = list(client.pages(f"{_customer(customer_id)}/contacts", limit=10))
    if chosen is not output.Format.table:
        output.record(picture, tuple(picture), chosen)
        return
    summary = {
        **picture["profile"],
        "points": (picture["points"] or {}).get("balance"),
        "tier": (picture["points"] or {}).get("tier"),
        "value": (picture["value"] or {}).get("segment"),
        "usual": _usual(picture["usual"]),
    }
    output.record(summary, (*PROFILE_FIELDS, "points", "tier", "value", "usual"), chosen, title=customer_id)
    consents = (picture["consents"] or {}).get("consents") or {}
    granted = [{"consent": key, "granted": value} for key, value in sorted(consents.items())]
    output.rows(granted, ("consent", "granted"), chosen, title="consents")
    output.rows(
        picture["contacts"],
        ("occurred_at", "channel", "direction", "outcome", "note"),
        chosen,
        title="contacts",
    )


@app.command(
    epilog=example(
        'dangol customers note cus_01JF... --channel call --outcome reached "Asked about her points"'
    )
)
def note(
    customer_id: CustomerId,
    text: Annotated[str | None, typer.Argument(help="What was said")] = None,
    channel: Annotated[str, typer.Option(help="call, email, visit or post")] = "call",
    direction: Annotated[str, typer.Option(help="inbound or outbound")] = "outbound",
    outcome: Annotated[
        str, typer.Option(help="reached, no_answer, left_message, resolved, follow_up, declined, bounced")
    ] = "reached",
) -> None:
    """Record a contact with the customer in their contact log."""
    body = {"channel": channel, "direction": direction, "outcome": outcome, "note": text}
    answer = STATE.client().post(f"{_customer(customer_id)}/contacts", {k: v for k, v in body.items() if v})
    output.done(f"{customer_id}: contact {answer['contact_id']} recorded", fmt(None), answer)


@app.command(
    epilog=example(
        "dangol customers manager cus_01JF... 8f14e45f-ceea-467f-a0e6-1f2a3b4c5d6e",
        "dangol customers manager cus_01JF... --remove",
    )
)
def manager(
    customer_id: CustomerId,
    manager_id: Annotated[str | None, typer.Argument(help="The staff member's subject")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the dedicated manager")] = False,
) -> None:
    """Assign (or remove) a customer's dedicated manager."""
    client = STATE.client()
    if remove:
        client.delete(f"{_customer(customer_id)}/manager")
        output.done(
            f"{customer_id}: no dedicated manager",
            fmt(None),
            {"customer_id": customer_id, "manager_id": None},
        )
        return
    if not manager_id:
        raise ConsoleError("give the manager's subject, or --remove", exit_code=USAGE)
    answer = client.put(f"{_customer(customer_id)}/manager", {"manager_id": manager_id})
    output.done(f"{customer_id}: managed by {answer['manager_id']}", fmt(None), answer)


@app.command("import", epilog=example("dangol customers import members.csv"))
def import_csv(
    file: Annotated[Path, typer.Argument(help="A CSV: external_ref, display_name, then email, phone, ...")],
    timeout: Annotated[float, typer.Option(help="Seconds to follow the job")] = 600.0,
    output_format: OutputOption = None,
) -> None:
    """Import customers from a CSV, live; the rejected rows shown with the column and the problem."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConsoleError(f"{file}: no such file", code="file_not_found") from None
    client, chosen = STATE.client(), fmt(output_format)
    job = client.post("/imports", raw=data, content_type="text/csv")
    deadline = time.monotonic() + timeout
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=output.err(),
        transient=True,
    ) as progress:
        task = progress.add_task("importing", total=100)
        while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(POLL_S)
            job = client.get(f"/imports/{quote(job['job_id'])}")
            progress.update(task, completed=job["percent"])
    output.record(
        job, ("job_id", "status", "total", "valid", "imported", "skipped", "rejected", "failed"), chosen
    )
    if job["rejected"] and chosen is output.Format.table:
        rejected = [
            {"row": r["row"], "column": p.get("column"), "problem": p.get("code"), "why": p.get("message")}
            for r in client.pages(f"/imports/{quote(job['job_id'])}/rejections")
            for p in r.get("problems", [])
        ]
        output.rows(rejected, ("row", "column", "problem", "why"), chosen, title="rejected rows")


@app.command(
    epilog=example(
        "dangol customers export cus_01JF... > minji.json",
        "dangol customers export cus_01JF... --to minji.json",
    )
)
def export(
    customer_id: CustomerId,
    to: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout)")] = None,
) -> None:
    """Everything the system holds about a customer, as JSON (admin)."""
    found = STATE.client().get(f"{_customer(customer_id)}/export")
    text = json.dumps(found, ensure_ascii=False, indent=2) + "\n"
    if to is None:
        sys.stdout.write(text)
    else:
        to.write_text(text, encoding="utf-8")
        output.err().print(f"{customer_id}: exported to {to}")


@app.command(epilog=example("dangol customers erase cus_01JF...", "dangol customers erase cus_01JF... --yes"))
def erase(
    customer_id: CustomerId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Erase a customer everywhere: profile, history, login (admin). It cannot be undone."""
    if not yes and not typer.confirm(f"Erase {customer_id} everywhere? This cannot be undone", default=False):
        raise typer.Abort
    STATE.client().delete(_customer(customer_id))
    output.done(f"{customer_id}: erased", fmt(None), {"customer_id": customer_id, "erased": True})
