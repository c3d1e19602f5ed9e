"""``make demo`` (``dangol demo``) plays its five stories against a running local system of its own,
through the console: each story's steps come true or the demo stops with the one it expected. The
winback pilot is kept to four members here (the demo's 80 take a minute of two cores), so its
result says "too small to tell" where the demo's shows the lift."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from console import demo
from tests.e2e.conftest import LocalSystem, start_system, stop_system

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    started = start_system(tmp_path_factory.mktemp("demo"), seed=False, retry_after_s=5)
    yield started
    stop_system(started)


def test_the_demo_plays_every_story_through_the_console(
    system: LocalSystem, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the local system running (the demo finds it, as `make demo` finds `make run`'s)
    monkeypatch.setenv("DANGOL_STATE_DIR", str(system.state_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(demo, "PILOT", 4)
    # When the demo plays
    took = demo.play()
    shown = capsys.readouterr().out
    # Then each story came true, told as it went
    assert "using the local system" in shown
    assert "서준님, 결혼 10주년 축하드려요" in shown  # the anniversary push, personal
    assert "케이크 쿠폰 · waiting" in shown  # the offer at login
    (usual,) = [line for line in shown.splitlines() if line.startswith("usual ")]  # at the counter
    assert usual.split()[1] == "morning:", usual
    assert {"카페라떼", "초코 케이크"} <= {item.strip() for item in usual.split(":", 1)[1].split(",")}, usual
    assert "won: 단골 텀블러" in shown  # points at once and the limited gift
    assert "verdict: too_small" in shown  # four members: too few to tell a lift
    assert "closed" in shown  # the complaint, confirmed by the customer
    assert shown.count("$ dangol ") >= 20  # staff worked through the console
    assert took > 0
    # And the simulated clock runs again, as the demo found it
    assert system.request("GET", "/_local/clock").json()["frozen_at"] is None
