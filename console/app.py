"""``dangol``: the console. ``dangol --help`` lists the commands; each has an example.

Exit codes: 0 done, 1 error, 2 usage, 3 not found, 4 conflict, 5 authentication (``console.errors``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from console import auth, config, output
from console.commands import campaigns, cases, customers, programme, rewards, segments, templates
from console.context import STATE, OutputOption, example, fmt
from console.errors import AUTH, ERROR, USAGE, ConsoleError
from console.output import Format

HELP = "The dangol CRM from a terminal: customers, segments, campaigns, rewards and cases."
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_enable=False)


@app.callback()
def root(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", "-p", help="The stage to talk to (default: local)", envvar="DANGOL_PROFILE"
        ),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--output", "-o", help="How reads print", envvar="DANGOL_OUTPUT")
    ] = Format.table,
) -> None:
    STATE.profile_name, STATE.fmt, STATE._client = profile, output_format, None


# -- login -------------------------------------------------------------------------------------


def _ask(prompt: str, hidden: bool) -> str:
    if not sys.stdin.isatty() and os.environ.get("CI"):
        raise ConsoleError(f"the pool asks: {prompt}, and there is no terminal to ask", exit_code=AUTH)
    return str(typer.prompt(prompt, hide_input=hidden))


@app.command(epilog=example("dangol login --as marketing", "dangol -p prod login -u sooyeon@dangol.dev"))
def login(
    username: Annotated[str | None, typer.Option("--username", "-u", help="Your login (e-mail)")] = None,
    role: Annotated[
        str | None, typer.Option("--as", help="local only: log in as the demo user of this role")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Log in to the profile's user pool; the tokens are kept (0600) and refreshed by themselves."""
    profile = STATE.profile()
    password: str | None = None
    if profile.is_local and username is None:
        username, password = profile.demo_user(role or "admin")
    elif role is not None and not profile.is_local:
        raise ConsoleError("--as picks a demo user of the local system; give --username", exit_code=USAGE)
    if username is None:
        username = str(typer.prompt("Username"))
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else _ask("Password", True)
    tokens = auth.login(profile, username, password, _ask)
    groups = auth.claims(tokens["id_token"]).get("cognito:groups", [])
    output.err().print(
        f"logged in to [bold]{profile.name}[/bold] as {username} ({', '.join(groups) or 'no role'})"
    )


@app.command(epilog=example("dangol logout"))
def logout() -> None:
    """Forget the profile's tokens."""
    profile_name = config.chosen(STATE.profile_name)
    forgotten = auth.TokenStore(profile_name).forget()
    output.err().print(f"logged out of {profile_name}" if forgotten else f"not logged in to {profile_name}")


@app.command(epilog=example("dangol whoami", "dangol whoami -o json"))
def whoami(output_format: OutputOption = None) -> None:
    """Who the console is logged in as, where, and until when."""
    profile = STATE.profile()
    token = auth.id_token(profile)
    found = auth.claims(token)
    output.record(
        {
            "profile": profile.name,
            "api": profile.api_url,
            "username": found.get("cognito:username") or found.get("email"),
            "email": found.get("email"),
            "sub": found.get("sub"),
            "roles": found.get("cognito:groups", []),
            "expires_at": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(int(found.get("exp", 0)))),
        },
        ("profile", "api", "username", "email", "sub", "roles", "expires_at"),
        fmt(output_format),
    )


@app.command(epilog=example("dangol demo", "make demo"))
def demo() -> None:
    """local only: play the product's stories on the simulated clock, through the console
    (starts the local system if none is running, and stops it after)."""
    from console import demo as stories  # noqa: PLC0415 - it runs the app's commands itself

    took = stories.play()
    output.out().print(f"\n[bold green]The five stories came true in {took:.0f} s.[/bold green]")


app.command(epilog=example("dangol plan -f examples/programme"))(programme.plan)
app.command("apply", epilog=example("dangol apply -f examples/programme"))(programme.apply_programme)
app.add_typer(customers.app, name="customers")
app.add_typer(segments.app, name="segments")
app.add_typer(templates.app, name="templates")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(rewards.app, name="rewards")
app.add_typer(cases.app, name="cases")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the console; returns the exit code (``console.errors``), one line on stderr if it failed."""
    try:
        result = app(args=list(argv) if argv is not None else None, prog_name="dangol", standalone_mode=False)
    except ConsoleError as exc:
        sys.stderr.write(exc.line() + "\n")  # one line, never wrapped
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        output.err().print("aborted")
        return ERROR
    except typer.TyperException as exc:  # typer's click: a usage mistake (exit 2) or a bad file (1)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return int(getattr(exc, "exit_code", ERROR))
    except KeyboardInterrupt:
        return 130
    return int(result) if isinstance(result, int) else 0


def run() -> Any:  # the ``dangol`` script
    raise SystemExit(main())
