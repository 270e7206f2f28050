"""The progress helper: a bar on a terminal, status lines in a log, silence when quiet, throttling,
ETA arithmetic, nesting, and the sampling client's hook."""

import io

import pytest

from slmmux_run import progress as progress_module
from slmmux_run.progress import Progress, configure, eta_seconds, format_duration


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    """A hand-turned clock: the test says what time it is."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def _loud():
    configure(quiet=False)
    yield
    configure(quiet=False)
    progress_module._stack.clear()


def test_eta_is_the_rate_so_far_times_what_is_left():
    # 10 units in 30 s is 3 s each; 30 units left is 90 s.
    assert eta_seconds(30.0, 10, 40) == 90.0
    assert eta_seconds(12.0, 4, 4) == 0.0
    assert eta_seconds(5.0, 0, 40) is None
    assert eta_seconds(5.0, 3, None) is None
    assert format_duration(59.4) == "59 s"
    assert format_duration(61) == "1:01"
    assert format_duration(7325) == "2:02:05"


def test_log_lines_are_throttled_to_the_interval():
    clock, stream = Clock(), io.StringIO()
    bar = Progress("fit", total=10, unit="steps", stream=stream, interval=5.0, heartbeat=False,
                   clock=clock)
    for _ in range(4):  # four updates within 4 s: no line beyond the opening one
        clock.now += 1.0
        bar.advance()
    clock.now += 1.5  # 5.5 s after the last line
    bar.advance()
    clock.now += 1.0
    bar.advance()
    bar.close()
    lines = stream.getvalue().splitlines()
    # the first line waits for the interval: 5 done in 5.5 s, 1.1 s each, 5 left -> 5.5 s
    assert lines[0] == "fit 5/10 steps (50 %) · 6 s · ETA 6 s"
    assert lines[1] == "fit 6/10 steps (60 %) · 6 s · ETA 4 s"  # the final line
    assert len(lines) == 2
    assert "\r" not in stream.getvalue()


def test_terminal_gets_one_redrawn_bar_and_a_final_newline(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    clock, stream = Clock(), FakeTerminal()
    bar = Progress("collect", total=4, unit="samples", stream=stream, heartbeat=False, clock=clock)
    clock.now += 0.5
    bar.update(tokens=120, cost=0.002)
    clock.now += 0.5
    bar.update(failed=True, tokens=0, cost=0.0)
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    last = text.split("\r")[-1]
    assert last.startswith("[##########..........] collect 2/4 samples (50 %)")
    assert "failed 1" in last and "120 tokens" in last and "cost 0.0020" in last
    assert "ETA 1 s" in last  # 2 done in 1 s, 2 left
    assert len(last.rstrip("\n")) == 199  # padded to the terminal's width, so no stale tail


def test_a_terminal_bar_never_wraps(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    stream = FakeTerminal()
    Progress("a long label " * 5, total=4, stream=stream, heartbeat=False).close()
    assert all(len(part.rstrip("\n")) == 39 for part in stream.getvalue().split("\r")[1:])


def test_terminal_redraws_are_throttled_too():
    clock, stream = Clock(), FakeTerminal()
    bar = Progress("x", total=1000, stream=stream, heartbeat=False, clock=clock)
    for _ in range(1000):
        clock.now += 0.001  # 1000 updates in 1 s: about 10 redraws, not 1000
        bar.advance()
    bar.close()
    assert 8 <= stream.getvalue().count("\r") <= 13


def test_quiet_draws_nothing():
    configure(quiet=True)
    stream = FakeTerminal()
    with Progress("x", total=3, stream=stream, heartbeat=True) as bar:
        bar.advance(3)
    assert stream.getvalue() == ""
    assert bar.done == 3


def test_unknown_total_shows_elapsed_only():
    clock, stream = Clock(), io.StringIO()
    with Progress("plan: fit and predict", stream=stream, heartbeat=False, clock=clock) as bar:
        clock.now += 65
    assert stream.getvalue().splitlines() == ["plan: fit and predict · 1:05"]
    assert bar.total is None


def test_a_child_shows_its_parents_position_and_the_parent_waits():
    clock, stream = Clock(), io.StringIO()
    with Progress("reproduce", total=3, stream=stream, heartbeat=False, clock=clock) as parent:
        parent.advance(0, status="plan")
        clock.now += 10
        with Progress("fit", total=2, stream=stream, heartbeat=False, clock=clock) as child:
            clock.now += 10
            parent.advance(0, status="ignored while the child draws")
            child.advance(2)
        parent.advance(status="plan")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "reproduce 0/3 (0 %) · plan · 0 s"  # a new status is drawn at once
    assert lines[1] == "reproduce 1/3 ignored while the child draws · fit 2/2 (100 %) · 10 s"
    assert lines[-1].startswith("reproduce 1/3 (33 %) · plan · 20 s · ETA 40 s")
    assert not progress_module._stack


def test_the_heartbeat_redraws_without_updates():
    stream = io.StringIO()
    import time

    with Progress("slow call", stream=stream, interval=0.05):
        time.sleep(0.4)
    # opening + final line + at least two heartbeats in 0.4 s at 0.05 s
    assert len(stream.getvalue().splitlines()) >= 4


def test_the_client_hook_counts_samples_failures_tokens_and_money():
    bar = Progress("collect", total=3, stream=io.StringIO(), heartbeat=False)
    bar.update(tokens=10, cost=0.5)
    bar.update(failed=True)
    bar.update(tokens=5, cost=0.25)
    assert bar.done == 3
    assert bar.counters == {"failed": 1, "tokens": 15, "cost": 0.75}


def test_a_note_stays_above_the_bar():
    clock, stream = Clock(), FakeTerminal()
    with Progress("reproduce", total=2, stream=stream, heartbeat=False, clock=clock) as bar:
        clock.now += 3
        bar.advance(status="theory")
        bar.note("theory: 3.0 s")
    text = stream.getvalue()
    assert "theory: 3.0 s\n" in text
    assert text.index("theory: 3.0 s") < text.rindex("reproduce 1/2")  # redrawn below the note
    log = io.StringIO()
    with Progress("reproduce", total=2, stream=log, heartbeat=False, clock=clock) as bar:
        bar.note("theory: 3.0 s")
    assert "theory: 3.0 s\n" in log.getvalue()


def test_a_step_that_fails_leaves_the_error_as_the_last_word():
    clock, log, terminal = Clock(), io.StringIO(), FakeTerminal()
    for stream in (log, terminal):
        with pytest.raises(ValueError):
            with Progress("plan", stream=stream, heartbeat=False, clock=clock):
                raise ValueError("bad flag")
    assert log.getvalue() == ""  # a quick failing step prints nothing in a log
    assert terminal.getvalue().endswith("\r") and "\n" not in terminal.getvalue()  # bar cleared


def test_no_eta_when_the_units_differ_in_length():
    clock, stream = Clock(), io.StringIO()
    with Progress("reproduce", total=9, unit="steps", stream=stream, heartbeat=False,
                  clock=clock, eta=False) as bar:
        clock.now += 100
        bar.advance(status="theory")
    assert "ETA" not in stream.getvalue()
    assert stream.getvalue().splitlines()[-1] == "reproduce 1/9 steps (11 %) · theory · 1:40"
