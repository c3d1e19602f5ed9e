"""`dangol-local`'s help says what the commands do, and `make token` passes USER only when it
was given on make's command line (every shell has a USER: the login name); a stop signal the kernel
hands to another thread still stops it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.local.cli import cli, wait_for_signal

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


def test_a_signal_delivered_to_another_thread_still_ends_the_wait() -> None:
    # Given `up`'s wait in the main thread, with a handler that sets its stop event (as `up` has)
    stop = threading.Event()
    guard = threading.Timer(10, stop.set)
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: stop.set())

    def from_another_thread() -> None:  # the kernel may pick any thread of the process
        time.sleep(0.1)
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)

    sender = threading.Thread(target=from_another_thread)
    guard.start()
    try:
        started = time.monotonic()
        sender.start()
        # When the signal lands on that other thread
        wait_for_signal(stop)
        took = time.monotonic() - started
    finally:
        guard.cancel()
        sender.join()
        signal.signal(signal.SIGUSR1, previous)
    # Then the main thread runs the handler within a slice, long before the guard's 10 s
    assert took < 2, f"the wait ended after {took:.1f} s: only the guard ended it"
