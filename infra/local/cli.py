"""``dangol-local``: start the whole system on 127.0.0.1, or mint a demo token.

dangol-local up [--port 8080]       start everything with demo data; Ctrl-C stops it
dangol-local token [ROLE]           a fresh ID token for the role's demo user
"""

from __future__ import annotations

import errno
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from rich.console import Console
from rich.table import Table

from shared.auth import Role

EXIT_PORT_IN_USE = 3
EXIT_NOT_RUNNING = 4

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="The dangol local runtime.")
console = Console(highlight=False, soft_wrap=True, width=max(120, Console().width))

StateDir = Annotated[Path, typer.Option(help="Where the running system keeps its state and logs.")]


@cli.command()
def up(  # noqa: PLR0917 - typer maps each parameter to an option
    port: Annotated[int, typer.Option(envvar="DANGOL_PORT", help="Gateway port on 127.0.0.1.")] = 8080,
    moto_port: Annotated[
        int, typer.Option(envvar="DANGOL_MOTO_PORT", help="moto's port (0: any free one).")
    ] = 0,
    seed: Annotated[bool, typer.Option(help="Create the demo customers' profiles.")] = True,
    quiet: Annotated[bool, typer.Option(help="No access log.")] = False,
    retry_after: Annotated[
        int | None,
        typer.Option(
            help="Seconds before a failed SQS message comes back (default: its visibility timeout, as AWS)."
        ),
    ] = None,
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Start moto, the topology's resources, Cognito, the functions, the backbone and the gateway."""
    from infra.local import cognito  # noqa: PLC0415 - keep `token` fast
    from infra.local import seed as seeding  # noqa: PLC0415
    from infra.local.runtime import Config, LocalRuntime  # noqa: PLC0415
    from infra.topology import SYSTEM  # noqa: PLC0415

    started_at = time.perf_counter()
    config = Config(
        port=port, moto_port=moto_port, state_dir=state_dir, access_log=not quiet, retry_after_s=retry_after
    )
    try:
        runtime = LocalRuntime(SYSTEM, config)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            console.print(
                f"[red]dangol-local: port {port} on 127.0.0.1 is already in use.[/red] "
                "Stop what is using it, or choose another: make run DANGOL_PORT=8081 (or --port)."
            )
            raise typer.Exit(EXIT_PORT_IN_USE) from None
        raise
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        started = runtime.start()
        idp = runtime.client("cognito-idp")
        tokens = {
            name: cognito.login(idp, started.pool, name, user.password)
            for name, user in started.users.items()
        }
        ids = {n: t["IdToken"] for n, t in tokens.items()}
        customers = seeding.seed_profiles(started.url, ids) if seed else {}
        if seed:
            seeding.seed_rewards(started.url, ids, customers)
        _banner(started, tokens, customers, time.perf_counter() - started_at, state_dir)
        stop.wait()
    finally:
        console.print("\nStopping dangol-local ...")
        runtime.stop()
        console.print("Stopped.")


def _banner(
    started: Any, tokens: dict[str, Any], customers: dict[str, str], took: float, state: Path
) -> None:
    console.print(f"\n[bold green]dangol is serving on {started.url}[/bold green]  (ready in {took:.1f} s)")
    console.print(f"  API docs     {started.url}/docs")
    console.print(f"  OpenAPI      {started.url}/openapi.json")
    table = Table(title="Demo users (Cognito user pool on moto)", title_justify="left")
    for column in ("role", "username", "password", "customer id"):
        table.add_column(column, no_wrap=True, min_width=30 if column == "customer id" else None)
    for name, user in started.users.items():
        table.add_row(user.role.value, name, user.password, customers.get(name, ""))
    console.print(table)
    console.print("Fresh tokens (valid 1 h; `make token ROLE=<role>` mints another):")
    shown: set[str] = set()
    for name, user in started.users.items():
        if user.role.value in shown:
            continue
        shown.add(user.role.value)
        console.print(f"  [bold]{user.role.value}[/bold] ({name}) ID token:\n{tokens[name]['IdToken']}")
        console.print(
            f"  [bold]{user.role.value}[/bold] ({name}) access token:\n{tokens[name]['AccessToken']}"
        )
    console.print(f'\nTry:  curl -H "Authorization: Bearer $(make -s token ROLE=customer)" {started.url}/me')
    console.print(f"moto (AWS endpoint for the aws CLI/boto3): {started.moto_url}   logs: {state}/logs/")
    console.print(
        f"Events that passed the bus: {started.url}/_local/events (and {state}/events.jsonl); "
        f"schedules: {started.url}/_local/schedules; queues: {started.url}/_local/queues"
    )
    console.print(
        "Simulated clock: dangol-local clock set 2026-12-24T09:00 --tz Asia/Seoul | clock advance 1d"
    )
    console.print("Ctrl-C stops everything.\n")


@cli.command()
def token(
    role: Annotated[str, typer.Argument(help="customer, marketing, agent, admin or machine")] = "customer",
    user: Annotated[
        str | None, typer.Option(help="A specific demo username instead of the role's first user.")
    ] = None,
    access: Annotated[
        bool, typer.Option("--access", help="Print the access token instead of the ID token.")
    ] = False,
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Print a fresh token for a demo user of the running local system."""
    from infra.local import cognito  # noqa: PLC0415
    from infra.local.runtime import load_state  # noqa: PLC0415

    try:
        state = load_state(state_dir)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    if role not in {r.value for r in Role}:
        typer.echo(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    users = state["users"]
    username = user or next((n for n, u in users.items() if u["role"] == role), None)
    if username is None or username not in users:
        typer.echo(f"no demo user {user or role!r}", err=True)
        raise typer.Exit(2)
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=state["moto_url"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto's fake credentials
    )
    pool = cognito.Pool(state["pool_id"], state["client_id"], state["region"], state["moto_url"])
    try:
        result = cognito.login(idp, pool, username, users[username]["password"])
    except Exception as exc:  # the system stopped without cleaning up
        typer.echo(f"could not reach the local system at {state['moto_url']}: {exc}", err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    typer.echo(result["AccessToken"] if access else result["IdToken"])


clock_cli = typer.Typer(
    no_args_is_help=True, help="The running system's simulated clock (schedules follow it)."
)
cli.add_typer(clock_cli, name="clock")


def _clock(order: dict[str, Any], state_dir: Path) -> None:
    import json  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from infra.local.runtime import load_state  # noqa: PLC0415

    try:
        url = load_state(state_dir)["url"]
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    data = json.dumps(order).encode() if order else None
    request = urllib.request.Request(f"{url}/_local/clock", data=data, method="POST" if order else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        typer.echo(json.load(err)["error"]["message"], err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"the local system at {url} does not answer: {exc}", err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    typer.echo(f"now {answer['now']}" + (" (frozen)" if answer.get("frozen_at") else ""))


@clock_cli.command("show")
def clock_show(state_dir: StateDir = Path(".dangol")) -> None:
    """Print the simulated time."""
    _clock({}, state_dir)


@clock_cli.command("set")
def clock_set(
    when: Annotated[str, typer.Argument(help="Local wall time, e.g. 2026-12-24T09:00")],
    tz: Annotated[str, typer.Option(help="IANA time zone of WHEN")] = "UTC",
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Jump to a time; every schedule due on the way fires, once."""
    _clock({"set": when, "tz": tz}, state_dir)


@clock_cli.command("advance")
def clock_advance(
    by: Annotated[str, typer.Argument(help="e.g. 1d, 90m, 2h30m, 45s")],
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Move forward; every schedule due on the way fires, once, in order."""
    _clock({"advance": by}, state_dir)


@clock_cli.command("freeze")
def clock_freeze(state_dir: StateDir = Path(".dangol")) -> None:
    """Stop the simulated time where it is."""
    _clock({"freeze": True}, state_dir)


@clock_cli.command("reset")
def clock_reset(state_dir: StateDir = Path(".dangol")) -> None:
    """Back to real time."""
    _clock({"reset": True}, state_dir)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
