"""The simulated clock: set, advance, freeze, persisted so other processes (the Lambda
workers, through ``shared.clock.utc_now``) read the same time."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.local.clock import SimulatedClock, parse_duration, parse_local_time, read_clock_file
from shared import clock as shared_clock
from shared.clock import CLOCK_FILE_ENV, ClockState, load_clock_state, utc_now

REAL = datetime(2026, 1, 1, 12, 0, 0, 250_000, tzinfo=UTC)


class FakeReal:
    """Real time that only moves when told."""

    def __init__(self, start: datetime = REAL) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# ------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d", timedelta(days=1)),
        ("90m", timedelta(minutes=90)),
        ("2h30m", timedelta(hours=2, minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("-1d", timedelta(days=-1)),
        (" 2H 30M ", timedelta(hours=2, minutes=30)),
        ("0s", timedelta(0)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    # Given a duration text / When it is parsed / Then it is that long
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "d", "1x", "30m2h", "1d1d", "1.5h", "--1d", "1 day", "h1"])
def test_bad_durations_are_refused(text: str) -> None:
    # Given text that is not a duration / When it is parsed / Then ValueError
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@given(
    parts=st.tuples(*(st.integers(0, 500) for _ in range(5))),
    negative=st.booleans(),
)
def test_any_duration_round_trips(parts: tuple[int, int, int, int, int], negative: bool) -> None:
    # Given any weeks, days, hours, minutes and seconds written in that order
    weeks, days, hours, minutes, seconds = parts
    text = ("-" if negative else "") + f"{weeks}w{days}d{hours}h{minutes}m{seconds}s"
    # When parsed
    # Then the total is theirs
    total = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    assert parse_duration(text) == (-total if negative else total)


# ------------------------------------------------------------------------ local times


def test_local_times_in_a_zone() -> None:
    # Given wall times in Seoul, Los Angeles (winter and summer) and with an explicit offset
    # When they are read
    # Then they are the right UTC instants
    assert parse_local_time("2026-12-24T09:00", "Asia/Seoul") == utc(2026, 12, 24)
    assert parse_local_time("2026-01-15T09:00:00", "America/Los_Angeles") == utc(2026, 1, 15, 17)
    assert parse_local_time("2026-07-15 09:00", "America/Los_Angeles") == utc(2026, 7, 15, 16)
    assert parse_local_time("2026-12-24T09:00+09:00", "Europe/Berlin") == utc(2026, 12, 24)
    assert parse_local_time("2026-12-24T00:00Z") == utc(2026, 12, 24)


def test_missing_local_times_are_refused_and_ambiguous_ones_are_the_first() -> None:
    # Given 02:30 on the night Los Angeles skips 02:00-03:00, and 01:30 on the night it repeats
    # When they are read
    # Then the first is refused and the second is its first occurrence (PDT)
    with pytest.raises(ValueError, match="does not exist"):
        parse_local_time("2026-03-08T02:30", "America/Los_Angeles")
    assert parse_local_time("2026-11-01T01:30", "America/Los_Angeles") == utc(2026, 11, 1, 8, 30)


def test_bad_local_times_are_refused() -> None:
    # Given text that is not a time, or an unknown zone / When read / Then ValueError
    with pytest.raises(ValueError, match="not a date and time"):
        parse_local_time("christmas", "UTC")
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_local_time("2026-12-24T09:00", "Asia/Atlantis")


# ---------------------------------------------------------------------- the clock


def test_an_untouched_clock_is_real_time_to_the_second() -> None:
    # Given a clock nobody has set
    real = FakeReal()
    clock = SimulatedClock(real=real)
    # When asked
    # Then it is real time without microseconds, and it runs
    assert clock() == clock.now() == utc(2026, 1, 1, 12)
    real.now += timedelta(seconds=5)
    assert clock.now() == utc(2026, 1, 1, 12, 0, 5)
    assert not clock.frozen
    assert clock.offset == timedelta(0)


def test_set_jumps_to_a_wall_time_and_keeps_running() -> None:
    # Given a running clock
    real = FakeReal()
    clock = SimulatedClock(real=real)
    # When it is set to 09:00 on Christmas Eve in Seoul
    now = clock.set("2026-12-24T09:00", "Asia/Seoul")
    # Then it is 00:00 UTC that day, and it runs on with real time
    assert now == clock.now() == utc(2026, 12, 24)
    real.now += timedelta(minutes=90)
    assert clock.now() == utc(2026, 12, 24, 1, 30)


def test_advance_moves_a_running_clock() -> None:
    # Given a running clock set to midnight UTC
    real = FakeReal()
    clock = SimulatedClock(real=real)
    clock.set("2026-06-01T00:00")
    # When it advances a day, then 2h30m, then 45s, then back 90 minutes
    assert clock.advance("1d") == utc(2026, 6, 2)
    assert clock.advance("2h30m") == utc(2026, 6, 2, 2, 30)
    assert clock.advance("45s") == utc(2026, 6, 2, 2, 30, 45)
    assert clock.advance(timedelta(minutes=-90)) == utc(2026, 6, 2, 1, 0, 45)
    # Then real time keeps adding to it
    real.now += timedelta(hours=1)
    assert clock.now() == utc(2026, 6, 2, 2, 0, 45)


def test_a_frozen_clock_stands_still_until_moved() -> None:
    # Given a clock frozen at a set time
    real = FakeReal()
    clock = SimulatedClock(real=real)
    clock.freeze()
    clock.set("2026-12-24T09:00", "Asia/Seoul")
    # When real time passes
    real.now += timedelta(hours=5)
    # Then the clock has not moved; set and advance move it and it stays frozen
    assert clock.now() == utc(2026, 12, 24)
    assert clock.advance("1d") == utc(2026, 12, 25)
    real.now += timedelta(hours=5)
    assert clock.now() == utc(2026, 12, 25)
    assert clock.frozen


def test_unfreeze_runs_on_from_where_it_stood_and_reset_returns_to_real_time() -> None:
    # Given a frozen clock
    real = FakeReal()
    clock = SimulatedClock(real=real)
    clock.set("2026-12-24T00:00")
    clock.freeze()
    real.now += timedelta(hours=3)
    # When it is unfrozen and real time passes
    assert clock.unfreeze() == utc(2026, 12, 24)
    real.now += timedelta(minutes=10)
    # Then it runs on from where it stood
    assert clock.now() == utc(2026, 12, 24, 0, 10)
    assert not clock.frozen
    # And reset brings it back to real time
    assert clock.reset() == real.now.replace(microsecond=0)
    assert clock.offset == timedelta(0)


# -------------------------------------------------------------------- persistence


def test_the_file_is_shared_between_clocks(tmp_path: Path) -> None:
    # Given two clocks on the same file (the runtime, and the CLI in another process)
    path = tmp_path / "state" / "clock.json"
    runtime = SimulatedClock(path)
    cli = SimulatedClock(path)
    assert not path.exists()  # constructing writes nothing
    # When the CLI freezes it and sets it, then the runtime advances it
    cli.freeze()
    cli.set("2026-12-24T09:00", "Asia/Seoul")
    runtime.advance("1h")
    # Then both read the same time, and so does the plain file reader
    assert runtime.now() == cli.now() == utc(2026, 12, 24, 1)
    assert read_clock_file(path) == utc(2026, 12, 24, 1)
    assert json.loads(path.read_text()) == {"frozen_at": "2026-12-24T01:00:00Z"}


def test_a_running_offset_round_trips_through_the_file(tmp_path: Path) -> None:
    # Given a running clock set a year ahead
    path = tmp_path / "clock.json"
    clock = SimulatedClock(path)
    target = datetime.now(UTC) + timedelta(days=365)
    clock.set(target)
    # When another clock and the plain reader read the file
    again = SimulatedClock(path)
    # Then they agree (to within the time the test takes)
    assert abs(again.now_precise() - target) < timedelta(seconds=5)
    assert abs(read_clock_file(path) - target) < timedelta(seconds=5)
    assert set(json.loads(path.read_text())) == {"offset_s"}
    assert not list(tmp_path.glob(".clock.json.*.tmp"))  # the temporary file was renamed


def test_missing_or_broken_files_mean_real_time(tmp_path: Path) -> None:
    # Given no file, a broken one, one of the wrong shape, and an oversized one
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"offset_s": "soon"}))
    naive = tmp_path / "naive.json"
    naive.write_text(json.dumps({"frozen_at": "2026-12-24T00:00:00"}))
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"offset_s": 1.0, "pad": "x" * 10_000}))
    far = tmp_path / "far.json"
    far.write_text(json.dumps({"offset_s": 1e15}))
    # When each is read
    # Then each is real time, and none is loaded as a state
    for path in (tmp_path / "missing.json", broken, wrong, naive, huge, far):
        before = datetime.now(UTC)
        assert before <= read_clock_file(path) <= datetime.now(UTC)
    assert [load_clock_state(p) for p in (broken, wrong, naive, huge, far)] == [None] * 5
    # And a clock on a broken file runs from real time and repairs it when changed
    clock = SimulatedClock(broken)
    clock.advance("1h")
    assert load_clock_state(broken) is not None


@given(
    state=st.one_of(
        st.floats(-1e9, 1e9, allow_nan=False).map(lambda s: ClockState(offset_s=s)),
        st.integers(0, 10**10).map(lambda s: ClockState(frozen_at=utc(1970, 1, 1) + timedelta(seconds=s))),
    )
)
def test_any_state_round_trips_through_json(state: ClockState) -> None:
    # Given any clock state / When written and read back / Then it is the same state
    assert ClockState.from_json(state.to_json()) == state


def test_concurrent_advances_are_not_lost(tmp_path: Path) -> None:
    # Given clocks on one file in several threads (as the runtime and CLI processes would be)
    path = tmp_path / "clock.json"
    clocks = [SimulatedClock(path) for _ in range(4)]
    clocks[0].freeze()
    clocks[0].set("2026-01-01T00:00")
    shared = SimulatedClock(path)

    def work(clock: SimulatedClock) -> None:
        for _ in range(25):
            clock.advance("1s")
            shared.advance("1s")

    # When each thread advances its clock and a shared one, many times at once
    threads = [threading.Thread(target=work, args=(c,)) for c in clocks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every advance counted
    assert SimulatedClock(path).now() == utc(2026, 1, 1) + timedelta(seconds=4 * 25 * 2)


# ----------------------------------------------------------- shared.clock.utc_now


def test_utc_now_is_real_time_without_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a frozen clock file that nobody names
    clock = SimulatedClock(tmp_path / "clock.json")
    clock.freeze()
    clock.set("2030-01-01T00:00")
    monkeypatch.delenv(CLOCK_FILE_ENV, raising=False)
    # When utc_now is asked
    before = datetime.now(UTC).replace(microsecond=0)
    now = utc_now()
    # Then it is real time to the second, and the file was never opened
    assert before <= now <= datetime.now(UTC)
    assert now.microsecond == 0
    monkeypatch.setattr(shared_clock, "read_clock_file", lambda _path: pytest.fail("read the file"))
    utc_now()


def test_utc_now_follows_the_clock_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given the runtime's clock file named in DANGOL_CLOCK_FILE, frozen on Christmas Eve in Seoul
    path = tmp_path / "clock.json"
    clock = SimulatedClock(path)
    clock.freeze()
    clock.set("2026-12-24T09:00:00.75", "Asia/Seoul")
    monkeypatch.setenv(CLOCK_FILE_ENV, str(path))
    # When a worker asks for the time
    # Then it is the simulated time, to the second
    assert utc_now() == utc(2026, 12, 24)
    # And it follows the clock as the runtime moves it
    clock.advance("1d")
    assert utc_now() == utc(2026, 12, 25)
    clock.unfreeze()
    clock.set("2031-05-05T05:05")
    assert abs(utc_now() - utc(2031, 5, 5, 5, 5)) <= timedelta(seconds=2)


def test_utc_now_falls_back_to_real_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given DANGOL_CLOCK_FILE naming a file that does not exist, or an empty value
    for value in (str(tmp_path / "nope.json"), ""):
        monkeypatch.setenv(CLOCK_FILE_ENV, value)
        # When utc_now is asked / Then it is real time
        before = datetime.now(UTC).replace(microsecond=0)
        assert before <= utc_now() <= datetime.now(UTC)
