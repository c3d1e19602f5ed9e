"""``dangol-local``: start the whole system on 127.0.0.1, mint tokens, sign up, move the clock.

dangol-local up [--port 8080]          start everything with demo data; Ctrl-C or SIGTERM stops it,
                                       and so does the end of the process that started it
dangol-local token [ROLE] [--user U]   a fresh ID token of a demo user (--access: its access
                                       token); ROLE machine: the tills' client-credentials token
dangol-local signup EMAIL              sign up and confirm a new customer through the local
                                       Cognito endpoint (the trigger runs), print their ID token
dangol-local clock show|set|advance|freeze|unfreeze|reset
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import string
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shared.auth import Role

EXIT_PORT_IN_USE = 3
EXIT_NOT_RUNNING = 4
EXIT_SEEDING_FAILED = 5
PARENT_CHECK_S = 1.0
SIGNAL_POLL_S = 0.25

cli = typer.Typer(add_completion=False, no_args_is_help=True, help="The dangol local runtime.")
console = Console(highlight=False, soft_wrap=True, width=max(120, Console().width))

StateDir = Annotated[Path, typer.Option(help="Where the running system keeps its state and logs.")]


class _Stopped(Exception):
    """SIGINT, SIGTERM or the parent's end while the system was starting."""


def _say(*objects: Any) -> None:
    """Print, unless nobody reads any more (the terminal or the parent that started us is gone)."""
    with contextlib.suppress(OSError, ValueError):
        console.print(*objects)


def _watch_parent(stop: Callable[[], None], every_s: float = PARENT_CHECK_S) -> None:
    """Stop when the process that started us ends: a killed ``make`` or test run leaves nothing.
    Linux re-parents an orphan (to init or a subreaper), so the parent's pid changes."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        stop()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def wait_for_signal(stop: threading.Event) -> None:
    """Block the main thread until a signal handler sets ``stop``.

    Waits in short slices: the kernel may hand a process's signal to any of its threads, and then
    only a flag is tripped; Python runs the handler when the main thread next wakes. A wait on a
    lock without a timeout may never wake (seen under load: Ctrl-C ignored until SIGKILL)."""
    while not stop.wait(timeout=SIGNAL_POLL_S):
        pass


@cli.command()
def up(  # noqa: PLR0917 - typer maps each parameter to an option
    port: Annotated[int, typer.Option(envvar="DANGOL_PORT", help="Gateway port on 127.0.0.1.")] = 8080,
    moto_port: Annotated[
        int, typer.Option(envvar="DANGOL_MOTO_PORT", help="moto's port (0: any free one).")
    ] = 0,
    seed: Annotated[
        bool,
        typer.Option(help="Create the demo data: profiles, their rewards, a coupon, a gift, a purchase."),
    ] = True,
    quiet: Annotated[bool, typer.Option(help="No access log.")] = False,
    retry_after: Annotated[
        int | None,
        typer.Option(
            help="Seconds before a failed SQS message comes back (default: its visibility timeout, as AWS)."
        ),
    ] = None,
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Start moto, the topology's resources, Cognito, the functions, the backbone and the gateway.
    Ctrl-C or SIGTERM stops everything, and so does the end of the process that started it."""
    from infra.local.runtime import Config, LocalRuntime  # noqa: PLC0415 - keep `token` fast
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
    starting = True

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if starting:  # interrupt the start where it is; `finally` stops what was started
            raise _Stopped(signal.Signals(signum).name)

    for stopping in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: its terminal closed
        signal.signal(stopping, on_signal)
    _watch_parent(lambda: os.kill(os.getpid(), signal.SIGTERM))
    code = 0
    try:
        started = runtime.start()
        tokens, till, customers = _demo(runtime, started, seed=seed)
        took = time.perf_counter() - started_at
        _banner(started, tokens=tokens, till=till, customers=customers, took=took, state=state_dir)
        starting = False
        wait_for_signal(stop)
    except _Stopped:
        pass
    except RuntimeError as exc:  # seeding gave up after its retries: say why, no traceback
        _say(f"[red]dangol-local: {exc}[/red]")
        code = EXIT_SEEDING_FAILED
    finally:
        starting = False
        _say("\nStopping dangol-local ...")
        runtime.stop()
        _say("Stopped.")
    if code:
        raise typer.Exit(code)


def _demo(runtime: Any, started: Any, *, seed: bool) -> tuple[dict[str, Any], str, dict[str, str]]:
    """The demo users' tokens, the till's and (with ``seed``) the demo data: customer ids by user."""
    from infra.local import cognito  # noqa: PLC0415
    from infra.local import seed as seeding  # noqa: PLC0415

    idp = runtime.client("cognito-idp")
    tokens = {n: cognito.login(idp, started.pool, n, u.password) for n, u in started.users.items()}
    pool = started.pool
    till = seeding.client_credentials(started.token_url, pool.machine_client_id, pool.machine_client_secret)
    ids = {n: t["IdToken"] for n, t in tokens.items()}
    if seed:
        seeding.seed_welcome(started.url, ids)
    customers = seeding.seed_profiles(started.url, ids) if seed else {}
    if seed:
        seeding.seed_rewards(started.url, ids, customers, till)
    return tokens, till, customers


def _banner(
    started: Any, *, tokens: dict[str, Any], till: str, customers: dict[str, str], took: float, state: Path
) -> None:
    say = _say
    say(f"\n[bold green]dangol is serving on {started.url}[/bold green]  (ready in {took:.1f} s)")
    say(f"  API docs     {started.url}/docs")
    say(f"  OpenAPI      {started.url}/openapi.json")
    table = Table(title="Demo users (Cognito user pool on moto)", title_justify="left")
    for column in ("role", "username", "password", "customer id"):
        table.add_column(column, no_wrap=True, min_width=30 if column == "customer id" else None)
    for name, user in started.users.items():
        table.add_row(user.role.value, name, user.password, customers.get(name, ""))
    say(table)
    pool = started.pool
    machines = Table(title="The tills' machine app client (client credentials)", title_justify="left")
    for column in ("client id", "client secret", "scope"):
        machines.add_column(column, no_wrap=True)
    machines.add_row(pool.machine_client_id, pool.machine_client_secret, "dangol/machine")
    say(machines)
    say("Fresh tokens (valid 1 h; `make token ROLE=<role>` or `make token USER=<username>` mints another):")
    shown: set[str] = set()
    for name, user in started.users.items():
        if user.role.value in shown:
            continue
        shown.add(user.role.value)
        say(f"  [bold]{user.role.value}[/bold] ({name}) ID token:\n{tokens[name]['IdToken']}")
    say(f"  [bold]machine[/bold] (the tills' client) access token:\n{till}")
    say("\nPeople call the API with ID tokens; tills with the machine client's access token:")
    say(f'  curl -H "Authorization: Bearer $(make -s token ROLE=customer)" {started.url}/me')
    say(
        f'  curl -u "{pool.machine_client_id}:{pool.machine_client_secret}" '
        f"-d grant_type=client_credentials -d scope=dangol/machine {started.token_url}"
    )
    say(
        f"Sign up a new customer: dangol-local signup you@example.com   "
        f"(Cognito's API for boto3/Amplify: {started.cognito_url})"
    )
    say(f"moto (AWS endpoint for the aws CLI/boto3, no browsers): {started.moto_url}   logs: {state}/logs/")
    say(
        f"Local endpoints, with the header X-Dangol-Local-Secret: {started.local_secret} (in "
        f"{state}/local.json): {started.url}/_local/events (and {state}/events.jsonl), "
        "/_local/schedules, /_local/queues, /_local/clock, /_local/messages (what campaigns sent)"
    )
    say("Simulated clock: dangol-local clock set 2026-12-24T09:00 --tz Asia/Seoul | clock advance 1d")
    say("Ctrl-C stops everything.\n")


def _state(state_dir: Path) -> dict[str, Any]:
    from infra.local.runtime import load_state  # noqa: PLC0415

    try:
        return load_state(state_dir)
    except FileNotFoundError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None


def _idp(endpoint: str, region: str) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto's fake credentials
    )


@cli.command()
def token(
    role: Annotated[
        str | None,
        typer.Argument(help="customer, marketing, agent, admin or machine (default: customer, or USER's)"),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="A demo username (e.g. jisoo) instead of the role's first user.")
    ] = None,
    access: Annotated[
        bool, typer.Option("--access", help="Print a person's access token instead of their ID token.")
    ] = False,
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Print a fresh token of the running local system: a demo user's ID token (what the API takes
    on people's routes), or for ROLE machine the tills' access token from POST /oauth2/token
    (client credentials, scope dangol/machine: what the machine routes take)."""
    from infra.local import cognito  # noqa: PLC0415
    from infra.local import seed as seeding  # noqa: PLC0415

    state = _state(state_dir)
    if role is not None and role not in {r.value for r in Role}:
        typer.echo(f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    if role == Role.MACHINE.value:
        if user:
            typer.echo("a till is the machine app client, not a user: no --user with machine", err=True)
            raise typer.Exit(2)
        try:
            typer.echo(
                seeding.client_credentials(
                    state["token_url"], state["machine_client_id"], state["machine_client_secret"]
                )
            )
        except (OSError, RuntimeError) as exc:
            typer.echo(f"could not get a token from {state['token_url']}: {exc}", err=True)
            raise typer.Exit(EXIT_NOT_RUNNING) from None
        return
    users = state["users"]
    wanted = role or (users[user]["role"] if user in users else Role.CUSTOMER.value)
    username = user or next((n for n, u in users.items() if u["role"] == wanted), None)
    if username is None or username not in users:
        typer.echo(f"no demo user {user or wanted!r}; one of: {', '.join(users)}", err=True)
        raise typer.Exit(2)
    if users[username]["role"] != wanted:
        typer.echo(f"{username} is a {users[username]['role']}, not a {wanted}", err=True)
        raise typer.Exit(2)
    pool = cognito.Pool(state["pool_id"], state["client_id"], state["region"], state["moto_url"])
    try:
        result = cognito.login(
            _idp(state["moto_url"], state["region"]), pool, username, users[username]["password"]
        )
    except Exception as exc:  # the system stopped without cleaning up
        typer.echo(f"could not reach the local system at {state['moto_url']}: {exc}", err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    typer.echo(result["AccessToken"] if access else result["IdToken"])


def _new_password() -> str:
    """A password the pool's policy takes (12+ characters, upper, lower, digit, symbol)."""
    alphabet = string.ascii_letters + string.digits
    return "Dg-" + "".join(secrets.choice(alphabet) for _ in range(14)) + "7a!"


@cli.command()
def signup(
    email: Annotated[str, typer.Argument(help="The new customer's e-mail address (also their username).")],
    password: Annotated[
        str | None, typer.Option(help="Their password (default: a generated one, printed on stderr).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Their name (the pool's `name` attribute).")] = None,
    state_dir: StateDir = Path(".dangol"),
) -> None:
    """Sign up a new customer as the app does, through the local Cognito endpoint ({url}/cognito):
    SignUp, ConfirmSignUp (the post-confirmation trigger puts the login in `customer`, as on AWS;
    moto takes any code) and a login. Prints their ID token; then POST /me creates the profile."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    state = _state(state_dir)
    idp = _idp(state["cognito_url"], state["region"])
    secret = password or _new_password()
    attributes = [{"Name": "email", "Value": email}] + ([{"Name": "name", "Value": name}] if name else [])
    try:
        idp.sign_up(ClientId=state["client_id"], Username=email, Password=secret, UserAttributes=attributes)
        idp.confirm_sign_up(ClientId=state["client_id"], Username=email, ConfirmationCode="123456")
        result = idp.initiate_auth(
            ClientId=state["client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": secret},
        )["AuthenticationResult"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        typer.echo(f"{error.get('Code', 'error')}: {error.get('Message', '')}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"the local system at {state['cognito_url']} does not answer: {exc}", err=True)
        raise typer.Exit(EXIT_NOT_RUNNING) from None
    if password is None:
        typer.echo(f"password: {secret}", err=True)
    typer.echo(result["IdToken"])


clock_cli = typer.Typer(
    no_args_is_help=True, help="The running system's simulated clock (schedules follow it)."
)
cli.add_typer(clock_cli, name="clock")


def _clock(order: dict[str, Any], state_dir: Path) -> None:
    import json  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from infra.local.gateway import LOCAL_SECRET_HEADER  # noqa: PLC0415

    state = _state(state_dir)
    url = state["url"]
    data = json.dumps(order).encode() if order else None
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/_local/clock",
        data=data,
        method="POST" if order else "GET",
        headers={LOCAL_SECRET_HEADER: state.get("local_secret", ""), "Content-Type": "application/json"},
    )
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
    """Jump to a time, forwards or back, WITHOUT firing the schedules due in between (only what
    is due exactly at WHEN fires); `clock advance` fires everything on the way."""
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
    """Stop the simulated time where it is (`clock unfreeze` lets it run on)."""
    _clock({"freeze": True}, state_dir)


@clock_cli.command("unfreeze")
def clock_unfreeze(state_dir: StateDir = Path(".dangol")) -> None:
    """Let the simulated time run on from where it was frozen."""
    _clock({"freeze": False}, state_dir)


@clock_cli.command("reset")
def clock_reset(state_dir: StateDir = Path(".dangol")) -> None:
    """Back to real time (running, not frozen), firing nothing of the time it skips."""
    _clock({"reset": True}, state_dir)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
