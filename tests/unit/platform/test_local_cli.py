"""`dangol-local`'s help says what the commands do, and `make token` passes USER only when it
was given on make's command line (every shell has a USER: the login name)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.local.cli import cli

ROOT = Path(__file__).resolve().parents[3]


def help_of(*command: str) -> str:
    result = CliRunner().invoke(cli, [*command, "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_clock_set_says_it_fires_nothing_on_the_way_and_advance_that_it_does() -> None:
    # Given the clock commands (`set` jumps without firing what lies between, `advance` fires it)
    # When their help is read
    jump, advance = help_of("clock", "set"), help_of("clock", "advance")
    # Then each says what the code does
    assert "WITHOUT firing the schedules due in between" in jump
    assert "every schedule due on the way fires" in advance


def test_token_help_names_the_machine_token_and_the_user_option() -> None:
    # Given the token command
    text = help_of("token")
    # Then its help says what a till gets and how to pick a user
    assert "client credentials" in text
    assert "--user" in text
    assert "--access" in text


def test_up_help_says_sigterm_stops_it() -> None:
    assert "SIGTERM" in help_of("up")


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["ROLE=machine"], "dangol-local token machine"),
        (["USER=jisoo"], "dangol-local token --user jisoo"),
        (["USER=jisoo", "ACCESS=1"], "dangol-local token --user jisoo --access"),
        ([], "dangol-local token"),
    ],
)
def test_make_token_passes_role_and_user_from_its_command_line_only(
    arguments: list[str], expected: str
) -> None:
    # Given a shell whose environment names its login (USER=someone), as every shell's does
    env = {**os.environ, "USER": "someone"}
    # When `make token` is dry-run with the arguments
    result = subprocess.run(
        ["make", "-s", "-n", "token", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # Then it runs dangol-local with them, and never with the login name
    command = " ".join(result.stdout.split("\n")[-2].split())
    assert command.endswith(expected)
    assert "someone" not in result.stdout
