"""``dangol rewards``: the earn rules and the tier program kept as YAML (show, diff, apply), point
grants and coupon issues to a CSV list of customers with a live bar, gifts and their draws."""

from __future__ import annotations

import csv
import difflib
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from console import files, output
from console.client import Client, quote
from console.context import STATE, OutputOption, example, fmt
from console.errors import ConsoleError

app = typer.Typer(help="Rewards: earn rules, tiers, point grants, coupons, gifts.", no_args_is_help=True)
SpecFile = Annotated[Path, typer.Option("--file", "-f", help="The YAML file", show_default=False)]
CustomerList = Annotated[
    Path,
    typer.Option(
        "--customers", help="A CSV with a customer_id column (or one id a line)", show_default=False
    ),
]
PROGRAMS = {"rules": "/admin/earn-rules", "tiers": "/admin/tiers"}
HELD = ("version", "updated_at")  # what the stage adds to a program: not in the file
ISSUE_BATCH = 100
POLL_S = 0.5


def _bar(description: str) -> Progress:
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=output.err(),
        transient=True,
    )


def customer_ids(path: Path) -> list[str]:
    """The customer ids of a CSV (a ``customer_id`` column, or the first column), each once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConsoleError(f"{path}: no such file", code="file_not_found") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ConsoleError(f"{path}: no customers", code="invalid_document")
    column = rows[0].index("customer_id") if "customer_id" in rows[0] else 0
    body = rows[1:] if rows[0][column] == "customer_id" else rows
    return list(dict.fromkeys(r[column].strip() for r in body if r and r[column].strip()))


# -- programs: earn rules and tiers ------------------------------------------------------------


def program_changes(
    client: Client, which: str, path: Path
) -> tuple[files.Document, dict[str, Any], list[str]]:
    """The file's program, what the stage holds, and the difference as unified-diff lines."""
    document = files.read(path)
    wanted = files.mapping(document)
    held = {k: v for k, v in client.get(PROGRAMS[which]).items() if k not in HELD}
    merged = {**held, **wanted}  # a field the file leaves out keeps what the stage holds
    before = json.dumps(held, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    after = json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    diff = list(difflib.unified_diff(before, after, f"{which} (stage)", f"{which} ({path})", lineterm=""))
    return document, merged, diff


def apply_program(client: Client, which: str, path: Path) -> tuple[str, dict[str, Any]]:
    document, merged, diff = program_changes(client, which, path)
    if not diff:
        return "unchanged", client.get(PROGRAMS[which])
    try:
        return "updated", client.versioned("PUT", PROGRAMS[which], merged)
    except ConsoleError as exc:
        raise document.mistake(exc) from None


def _program_commands(which: str, noun: str) -> typer.Typer:
    group = typer.Typer(help=f"The {noun}: show, diff against a file, apply a file.", no_args_is_help=True)

    @group.command(epilog=example(f"dangol rewards {which} show", f"dangol rewards {which} show -o json"))
    def show(output_format: OutputOption = None) -> None:
        """What is in force now."""
        found = STATE.client().get(PROGRAMS[which])
        chosen = fmt(output_format)
        if chosen is output.Format.table:
            output.out().print(f"[bold]{noun}[/bold], version {found.get('version')}")
            output.out().print_json(json.dumps(found, ensure_ascii=False))
        else:
            output.record(found, tuple(found), chosen)

    @group.command(epilog=example(f"dangol rewards {which} diff -f programme/{which}.yaml"))
    def diff(file: SpecFile) -> None:
        """What applying the file would change (exit 0 either way)."""
        _, _, lines = program_changes(STATE.client(), which, file)
        if not lines:
            output.out().print(f"{noun}: no change")
            return
        for line in lines:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            output.out().print(f"[{style}]{line}[/{style}]", markup=True, highlight=False)

    @group.command(epilog=example(f"dangol rewards {which} apply -f programme/{which}.yaml"))
    def apply(file: SpecFile) -> None:
        """Make the stage's program what the file says (fields it leaves out stay); nothing if it is."""
        what, found = apply_program(STATE.client(), which, file)
        output.done(f"{noun}: {what} (version {found.get('version')})", fmt(None), {"result": what, **found})

    return group


app.add_typer(_program_commands("rules", "earn rules"), name="rules")
app.add_typer(_program_commands("tiers", "tier program"), name="tiers")


# -- point grants --------------------------------------------------------------------------------


@app.command(
    epilog=example(
        'dangol rewards grant --customers winners.csv --points 500 --reason "Spring draw"',
        "dangol rewards grant --customers lapsed.csv --points 300 --pregrant --valid-days 14"
        ' --reason "Come back"',
    )
)
def grant(  # noqa: PLR0917 - a command's arguments and options
    customers: CustomerList,
    points: Annotated[int, typer.Option(help="Points per customer", min=1, show_default=False)],
    reason: Annotated[str, typer.Option(help="Why (shown to staff)", show_default=False)],
    pregrant: Annotated[
        bool, typer.Option("--pregrant", help="Predicted points: a short expiry, clawed back if unused")
    ] = False,
    valid_days: Annotated[
        int | None, typer.Option(help="Days the points stay valid (pre-grants: 1 to 30)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to follow the job")] = 300.0,
    output_format: OutputOption = None,
) -> None:
    """Grant points to the customers of a CSV (up to 10,000), live; those rejected listed."""
    client, ids = STATE.client(), customer_ids(customers)
    body = {
        "kind": "pregrant" if pregrant else "award",
        "customer_ids": ids,
        "points": points,
        "reason": reason,
    }
    if valid_days is not None:
        body["valid_days"] = valid_days
    job = client.post("/admin/point-grants", body)
    deadline = time.monotonic() + timeout
    with _bar("granting") as progress:
        task = progress.add_task("granting", total=len(ids))
        while job["status"] != "completed" and time.monotonic() < deadline:
            time.sleep(POLL_S)
            job = client.get(f"/admin/point-grants/{quote(job['job_id'])}")
            progress.update(task, completed=job["granted"] + job["rejected"])
    chosen = fmt(output_format)
    output.record(
        job, ("job_id", "status", "kind", "points", "customers", "granted", "rejected", "expires_at"), chosen
    )
    if chosen is output.Format.table and job["rejected_ids"]:
        output.rows(
            [{"customer_id": c} for c in job["rejected_ids"]], ("customer_id",), chosen, title="rejected"
        )


@app.command("grant-report", epilog=example("dangol rewards grant-report pgj_01JD..."))
def grant_report(
    job_id: Annotated[str, typer.Argument(help="The grant job")], output_format: OutputOption = None
) -> None:
    """A grant's figures: issued, used, clawed back, and the purchases made while it was open."""
    found = STATE.client().get(f"/admin/point-grants/{quote(job_id)}/report")
    output.record(found, tuple(found), fmt(output_format), title=job_id)


# -- coupons ---------------------------------------------------------------------------------------


@app.command("coupon-templates", epilog=example("dangol rewards coupon-templates"))
def coupon_templates(output_format: OutputOption = None) -> None:
    """The coupon templates."""
    output.rows(
        STATE.client().pages("/admin/coupon-templates"),
        ("id", "name", "status", "discount", "issued", "max_issued", "valid_days"),
        fmt(output_format),
        title="coupon templates",
    )


@app.command(epilog=example("dangol rewards issue cpt_01JD... --customers vip.csv"))
def issue(
    template_id: Annotated[str, typer.Argument(help="The coupon template")],
    customers: CustomerList,
    output_format: OutputOption = None,
) -> None:
    """Issue a template's coupon to each customer of a CSV, live; those not issued, with why."""
    client, ids = STATE.client(), customer_ids(customers)
    results: list[dict[str, Any]] = []
    with _bar("issuing") as progress:
        task = progress.add_task("issuing", total=len(ids))
        for start in range(0, len(ids), ISSUE_BATCH):
            batch = ids[start : start + ISSUE_BATCH]
            answer = client.post(
                f"/admin/coupon-templates/{quote(template_id)}/issuances", {"customer_ids": batch}
            )
            results += answer["results"]
            progress.update(task, advance=len(batch))
    issued = [r for r in results if r["status"] == "issued"]
    chosen = fmt(output_format)
    if chosen is output.Format.table:
        output.out().print(f"{len(issued)} of {len(results)} issued")
        output.rows(
            [r for r in results if r["status"] != "issued"],
            ("customer_id", "status"),
            chosen,
            title="not issued",
        )
    else:
        output.rows(results, ("customer_id", "status", "coupon_id"), chosen)


# -- created from files: coupon templates and gifts (by name; neither changes once made) -----------


def create_once(client: Client, path: Path, collection: str) -> tuple[str, dict[str, Any]]:
    """Create what the file defines unless one of that name exists: ``created`` or ``exists``."""
    document = files.read(path)
    body = files.mapping(document, "name")
    found = next((x for x in client.pages(collection) if x.get("name") == body["name"]), None)
    if found is not None:
        return "exists", found
    try:
        return "created", client.post(collection, body)
    except ConsoleError as exc:
        raise document.mistake(exc) from None


@app.command("coupon-template", epilog=example("dangol rewards coupon-template -f coupons/cake.yaml"))
def coupon_template(file: SpecFile) -> None:
    """Define a coupon template from a YAML file (name, discount, validity, limits), once by name."""
    what, found = create_once(STATE.client(), file, "/admin/coupon-templates")
    output.done(f"{found['name']}: {what} ({found['id']})", fmt(None), {"result": what, **found})


@app.command("gift", epilog=example("dangol rewards gift -f gifts/tumbler.yaml"))
def gift(file: SpecFile) -> None:
    """Define a limited-stock gift from a YAML file (stock, instant or draw, window), once by name."""
    what, found = create_once(STATE.client(), file, "/admin/gifts")
    output.done(
        f"{found['name']}: {what} ({found['id']}, {found['stock']} in stock)",
        fmt(None),
        {"result": what, **found},
    )


# -- gifts and draws -------------------------------------------------------------------------------


@app.command(epilog=example("dangol rewards gifts"))
def gifts(output_format: OutputOption = None) -> None:
    """The limited-stock gifts."""
    output.rows(
        STATE.client().pages("/admin/gifts"),
        ("id", "name", "mode", "stock", "remaining", "entrants", "winners", "ends_at"),
        fmt(output_format),
        title="gifts",
    )


@app.command(epilog=example("dangol rewards draw gft_01JD... --winners 3"))
def draw(
    gift_id: Annotated[str, typer.Argument(help="The gift")],
    winners: Annotated[int, typer.Option(help="How many to draw", min=1)] = 1,
    output_format: OutputOption = None,
) -> None:
    """Draw winners among a gift's entrants (never beyond the stock)."""
    found = STATE.client().post(f"/admin/gifts/{quote(gift_id)}/draws", {"winners": winners})
    output.record(found, ("gift_id", "winners", "remaining"), fmt(output_format), title=f"draw of {gift_id}")


# -- scheduled draws: committed before they close, verifiable by anyone after ----------------------

DRAW_COLUMNS = ("draw", "closes_at", "winners", "status", "commitment", "winners_drawn", "verification")


def _gift_id(client: Client, named: str) -> str | None:
    """A gift by its id (``gft_...``) or its name."""
    if named.startswith("gft_"):
        return named
    return next((g["id"] for g in client.pages("/admin/gifts") if g.get("name") == named), None)


@app.command("schedule-draws", epilog=example("dangol rewards schedule-draws -f draws/hamper.yaml"))
def schedule_draws(file: SpecFile) -> None:
    """Schedule a draw gift's draws from a YAML file (``gift``: its name or id; ``draws``: each
    ``closes_at`` and ``winners``), once: each draw's seed is committed to before its entries close."""
    client = STATE.client()
    document = files.read(file)
    body = files.mapping(document, "gift", "draws")
    gift_id = _gift_id(client, str(body["gift"]))
    if gift_id is None:
        line = document.line_of(["gift"])
        raise ConsoleError(f"{file}:{line}: no gift named {body['gift']!r}", code="gift_not_found")
    try:
        found = client.get(f"/admin/draw-schedules/{quote(gift_id)}")
        what = "exists"
    except ConsoleError as exc:
        if exc.code != "draw_schedule_not_found":
            raise
        try:
            found = client.post("/admin/draw-schedules", {"gift_id": gift_id, "draws": body["draws"]})
        except ConsoleError as refused:
            raise document.mistake(refused) from None
        what = "scheduled"
    output.done(f"{gift_id}: {what}, {len(found['draws'])} draws", fmt(None), {"result": what, **found})


@app.command(
    "draws", epilog=example("dangol rewards draws gft_01JD...", "dangol rewards draws gft_01JD... -o json")
)
def draws(
    gift_id: Annotated[str, typer.Argument(help="The gift (its id)")], output_format: OutputOption = None
) -> None:
    """A gift's scheduled draws: each close, its published commitment and, once drawn, its seed."""
    found = STATE.client().get(f"/admin/draw-schedules/{quote(gift_id)}")
    output.rows(found["draws"], DRAW_COLUMNS, fmt(output_format), title=f"draws of {gift_id}")


@app.command(epilog=example("dangol rewards verify gft_01JD... 1"))
def verify(
    gift_id: Annotated[str, typer.Argument(help="The gift")],
    draw: Annotated[int, typer.Argument(help="The draw's number", min=1)],
    output_format: OutputOption = None,
) -> None:
    """Recompute a draw from what it published (its revealed seed against the commitment, the winners
    from the seed and the entries), as anyone may: exit 1 when it does not verify."""
    path = f"/draws/{quote(gift_id)}/{draw}/verification"
    found = STATE.client().request("GET", path, auth=False).json()
    output.record(
        found, ("gift_id", "draw", "commitment_matches", "recomputed_winners", "matches"), fmt(output_format)
    )
    if not found["matches"]:
        raise ConsoleError(f"draw {draw} of {gift_id} does not verify", code="draw_not_verified")
