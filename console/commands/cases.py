"""``dangol cases``: the complaint desk: the queue, a case, and moving it to its end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from console import output
from console.client import quote
from console.context import STATE, OutputOption, example, fmt

app = typer.Typer(help="Complaint cases: the queue, a case, its moves.", no_args_is_help=True)
CaseId = Annotated[str, typer.Argument(help="The case (case_...)", show_default=False)]
QUEUE_COLUMNS = ("case_id", "priority", "status", "team", "subject", "customer_id", "assignee", "opened_at")
CASE_FIELDS = (
    "case_id",
    "status",
    "team",
    "priority",
    "subject",
    "description",
    "customer_id",
    "assignee",
    "store_id",
    "origin",
    "escalated_by",
    "one_stop",
    "opened_at",
    "first_response.due_at",
    "first_response.met_at",
    "first_response.breached_at",
    "resolution_sla.due_at",
    "resolution_sla.breached_at",
    "resolution",
    "confirmed_by",
    "csat",
)


def _case(case_id: str) -> str:
    return f"/cases/{quote(case_id)}"


@app.command(
    epilog=example("dangol cases queue", "dangol cases queue --team follow_up --status acknowledged -o csv")
)
def queue(
    team: Annotated[str, typer.Option(help="frontline or follow_up")] = "frontline",
    status: Annotated[
        str, typer.Option(help="new, acknowledged, in_progress, waiting, resolved, reopened")
    ] = "new",
    limit: Annotated[int, typer.Option(help="At most this many", min=1)] = 100,
    output_format: OutputOption = None,
) -> None:
    """A team's cases in one status, oldest first."""
    items = STATE.client().pages("/cases", team=team, status=status, limit=limit)
    output.rows(items, QUEUE_COLUMNS, fmt(output_format), title=f"{team} · {status}")


@app.command(epilog=example("dangol cases show case_01JF...", "dangol cases show case_01JF... -o json"))
def show(case_id: CaseId, output_format: OutputOption = None) -> None:
    """A case: its state, SLA, grants and timeline."""
    case = STATE.client().get(_case(case_id))
    chosen = fmt(output_format)
    output.record(case, CASE_FIELDS, chosen, title=case["case_id"])
    if chosen is output.Format.table:
        output.rows(
            case.get("grants", []),
            ("grant_id", "points", "status", "reason", "agent_id"),
            chosen,
            title="grants",
        )
        output.rows(
            case.get("timeline", []), ("at", "kind", "by", "visibility", "text"), chosen, title="timeline"
        )


def _move(case_id: str, to: str, **extra: Any) -> dict[str, Any]:
    body = {"to": to, **{k: v for k, v in extra.items() if v is not None}}
    answer: dict[str, Any] = STATE.client().post(f"{_case(case_id)}/transitions", body)
    return answer


@app.command(epilog=example("dangol cases ack case_01JF..."))
def ack(case_id: CaseId) -> None:
    """Acknowledge a case (its first response is met)."""
    answer = _move(case_id, "acknowledged")
    output.done(f"{case_id}: {answer['status']}", fmt(None), answer)


@app.command(epilog=example("dangol cases start case_01JF..."))
def start(case_id: CaseId) -> None:
    """Start working on a case."""
    answer = _move(case_id, "in_progress")
    output.done(f"{case_id}: {answer['status']}", fmt(None), answer)


@app.command(epilog=example('dangol cases reply case_01JF... "We are sorry: a new latte is on us."'))
def reply(
    case_id: CaseId,
    text: Annotated[str, typer.Argument(help="What the customer reads")],
    internal: Annotated[
        bool, typer.Option("--internal", help="An internal note instead, never shown")
    ] = False,
) -> None:
    """Write to the customer on the case (or an internal note)."""
    body = {"text": text, "visibility": "internal" if internal else "customer"}
    answer = STATE.client().post(f"{_case(case_id)}/notes", body)
    output.done(f"{case_id}: {'note' if internal else 'reply'} added", fmt(None), answer)


@app.command(epilog=example('dangol cases escalate case_01JF... "Needs a refund from the store"'))
def escalate(case_id: CaseId, reason: Annotated[str, typer.Argument(help="Why the follow-up team")]) -> None:
    """Hand a case to the follow-up team."""
    answer = STATE.client().post(f"{_case(case_id)}/escalation", {"reason": reason})
    output.done(f"{case_id}: with {answer['team']}", fmt(None), answer)


@app.command(epilog=example("dangol cases assign case_01JF... agent-sooyeon"))
def assign(case_id: CaseId, agent_id: Annotated[str, typer.Argument(help="The agent")]) -> None:
    """Assign a case to an agent."""
    answer = STATE.client().post(f"{_case(case_id)}/assignment", {"agent_id": agent_id})
    output.done(f"{case_id}: assigned to {answer['assignee']}", fmt(None), answer)


@app.command(epilog=example('dangol cases resolve case_01JF... "Replaced the drink" --one-stop'))
def resolve(
    case_id: CaseId,
    resolution: Annotated[str, typer.Argument(help="What was done, as the customer will read it")],
    one_stop: Annotated[bool, typer.Option("--one-stop", help="Solved at the first contact")] = False,
) -> None:
    """Resolve a case; it waits for the customer's confirmation."""
    answer = _move(case_id, "resolved", resolution=resolution, one_stop=one_stop)
    output.done(f"{case_id}: {answer['status']}, waiting for the customer's confirmation", fmt(None), answer)


@app.command(
    epilog=example(
        "dangol cases confirm case_01JF... --channel phone",
        "dangol cases confirm case_01JF... --channel email --not-solved",
    )
)
def confirm(
    case_id: CaseId,
    channel: Annotated[str, typer.Option(help="phone, email or post", show_default=False)],
    at: Annotated[datetime | None, typer.Option(help="When the customer said so (default: now)")] = None,
    not_solved: Annotated[
        bool, typer.Option("--not-solved", help="The customer says it is not solved")
    ] = False,
    note: Annotated[str | None, typer.Option(help="What was said")] = None,
) -> None:
    """Record the customer's confirmation given by phone, e-mail or post (the case closes)."""
    when = (at or datetime.now(UTC)).astimezone(UTC)  # a time without a zone is the terminal's
    body = {"channel": channel, "confirmed_at": when.isoformat(), "solved": not not_solved, "note": note}
    answer = STATE.client().post(
        f"{_case(case_id)}/confirmation", {k: v for k, v in body.items() if v is not None}
    )
    output.done(f"{case_id}: {answer['status']}", fmt(None), answer)


@app.command(epilog=example('dangol cases goodwill case_01JF... 3000 "Sorry for the wait"'))
def goodwill(
    case_id: CaseId,
    points: Annotated[int, typer.Argument(help="Points to grant", min=1)],
    reason: Annotated[str, typer.Argument(help="Why")],
) -> None:
    """Grant the customer goodwill points on the case (credited once, within your daily limit)."""
    answer = STATE.client().post(f"{_case(case_id)}/goodwill", {"points": points, "reason": reason})
    output.done(
        f"{case_id}: {points} points asked of rewards (grant {answer.get('grant_id', '?')})",
        fmt(None),
        answer,
    )


@app.command(epilog=example("dangol cases digest", "dangol cases digest 2026-W49 -o json"))
def digest(
    week: Annotated[str | None, typer.Argument(help="The ISO week (default: the latest)")] = None,
    output_format: OutputOption = None,
) -> None:
    """The weekly digest: themes, requests, stores, value segments and SLA figures."""
    client, chosen = STATE.client(), fmt(output_format)
    if week is None:
        latest = client.get("/insights/digests", limit=1).get("items", [])
        if not latest:
            output.done("no digest yet", chosen, {"items": []})
            return
        week = str(latest[0]["week"])
    found = client.get(f"/insights/digests/{quote(week)}")
    if chosen is not output.Format.table:
        output.record(found, tuple(found), chosen)
        return
    output.out().print(f"[bold]digest {found.get('week')}[/bold]")
    for section, value in found.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            output.rows(value, tuple(value[0]), chosen, title=section)
        elif isinstance(value, dict):
            output.record(value, tuple(value), chosen, title=section)
