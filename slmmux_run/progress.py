"""Progress of long steps on stderr: a live bar on a terminal, a status line every few seconds
in a log (CI), nothing with ``--quiet``.

Runner layer, presentation only. One helper for every step that can take more than a few
seconds (sampling, fits, sweeps, the main job's steps). It never writes to stdout, so tables and
result files stay clean. The theory never imports it: a theory function that loops in Python
takes a plain callback, and the runner passes :meth:`Progress.advance`.

A progress opened while another is open is shown as its child: its line starts with the
parent's position (``reproduce 7/9 groupthink · fit ...``) and the parent stays silent until the
child closes. While open, a heartbeat thread redraws the line at least every ``interval``
seconds, so even one long call without updates shows its elapsed time.

In a log the first line comes after ``interval`` seconds (a step that ends sooner prints only
its final line), and a step that ends with an error prints no final line: the error is the last
word, on a line of its own.

In a worker process (the main job's ``--jobs``), :func:`configure` with a ``sink`` sends every
line and note to the parent process instead of drawing it: the parent shows them inside its own
line (``reproduce 3/9 steps · groupthink 1:02 [debates · fit ...]``), so two processes never
write over each other's line. A ``status`` may be a function, read at each draw (a parent's
running steps and their elapsed times).

Example (a log, not a terminal):
  >>> import io
  >>> stream = io.StringIO()
  >>> with Progress("demo", total=2, stream=stream, heartbeat=False, clock=iter([0, 0, 1, 2]).__next__) as bar:
  ...     bar.advance(2, failed=1)
  >>> print(stream.getvalue().strip())
  demo 2/2 (100 %) · failed 1 · 2 s
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import IO, Callable

__all__ = ["Progress", "configure", "eta_seconds", "format_duration", "is_quiet"]

_quiet = False
_sink: Callable[[str, str], None] | None = None
_stack: list["Progress"] = []
_lock = threading.RLock()
_SINK_INTERVAL = 1.0
"""Seconds between the lines a worker sends its parent (the parent draws at its own pace)."""


def configure(*, quiet: bool, sink: Callable[[str, str], None] | None = None) -> None:
    """Turn every progress display of this process off (``--quiet``) or on.

    Args:
      quiet: draw nothing.
      sink: in a worker process, ``sink(kind, text)`` receives every line (``kind`` ``"line"``:
        the current status, replacing the previous one) and note (``"note"``: a line that
        stays) instead of a stream; None (default): draw on the stream.
    """
    global _quiet, _sink
    _quiet = bool(quiet)
    _sink = sink


def is_quiet() -> bool:
    """Whether progress displays are off."""
    return _quiet


def eta_seconds(elapsed: float, done: float, total: float | None) -> float | None:
    """Seconds left at the rate so far (None before the first unit or without a total).

    >>> eta_seconds(30.0, 10, 40)
    90.0
    >>> eta_seconds(5.0, 0, 40) is None
    True
    """
    if not total or done <= 0:
        return None
    return max(elapsed / done * (total - done), 0.0)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3:07`` or ``1:02:03``.

    >>> format_duration(42.4), format_duration(187), format_duration(3723)
    ('42 s', '3:07', '1:02:03')
    """
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _field(name: str, value) -> str:
    if name == "cost":
        return f"cost {value:.4f}"
    if name == "tokens":
        return f"{int(value):,} tokens"
    return f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"


class Progress:
    """Done/total of one long step, with counters (failures, tokens, cost), elapsed and ETA.

    Args:
      label: what is running, e.g. ``"collect"``.
      total: units expected (None: unknown; elapsed time only).
      unit: the unit's name shown after the count, e.g. ``"samples"``.
      stream: where to draw (default ``sys.stderr``; never stdout).
      interval: seconds between status lines when ``stream`` is not a terminal.
      heartbeat: redraw from a background thread while open (off in tests).
      clock: monotonic seconds (injected in tests).
      quiet: draw nothing (default: :func:`configure`'s setting).
      eta: show the time left at the rate so far (off when units differ widely in length, as
        the main job's steps do).
    """

    def __init__(self, label: str, total: int | None = None, *, unit: str = "",
                 stream: IO[str] | None = None, interval: float = 5.0, heartbeat: bool = True,
                 clock: Callable[[], float] = time.monotonic, quiet: bool | None = None,
                 eta: bool = True):
        self.label, self.total, self.unit = label, total, unit
        self._eta = eta
        self.done = 0
        self.counters: dict[str, float] = {}
        self.status: str | Callable[[], str] = ""
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._quiet = _quiet if quiet is None else quiet
        # A stream given explicitly (tests) is drawn on even in a worker.
        self._sink = _sink if stream is None else None
        isatty = getattr(self._stream, "isatty", None)
        self.terminal = bool(isatty and isatty()) and self._sink is None
        if self._sink is not None:
            interval = min(interval, _SINK_INTERVAL)
        self._interval = 0.1 if self.terminal else interval
        self._start = clock()
        self._last_draw = None if self.terminal else self._start  # a log's first line waits
        self._closed = False
        self._stop = threading.Event()
        with _lock:
            self._parent = _stack[-1] if _stack else None
            _stack.append(self)
        self._draw()
        if heartbeat and not self._quiet:
            beat = min(interval, 1.0) if self.terminal else interval
            self._thread = threading.Thread(target=self._beat, args=(beat,), daemon=True)
            self._thread.start()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.close(error=exc_type is not None)

    def advance(self, n: int = 1, status: str | Callable[[], str] | None = None,
                **counters: float) -> None:
        """Count ``n`` more units done and add to the named counters (e.g. ``failed=1``);
        a new ``status`` (what runs now: a text, or a function giving it at each draw) is drawn
        at once."""
        with _lock:
            self.done += n
            for name, value in counters.items():
                self.counters[name] = self.counters.get(name, 0) + value
            changed = status is not None and status != self.status
            if status is not None:
                self.status = status
        self._draw(force=changed)

    def refresh(self) -> None:
        """Draw the line now (e.g. when a function ``status`` has news)."""
        self._draw(force=True)

    def note(self, text: str) -> None:
        """A line that stays (e.g. a finished step's time), drawn above a terminal's bar (in a
        log the status line keeps its pace: a worker's notes would repeat it line after line)."""
        with _lock:
            if self._quiet:
                return
            if self._sink is not None:
                self._sink("note", text)
                return
            if self.terminal:
                width = shutil.get_terminal_size((100, 20)).columns - 1
                self._stream.write("\r" + " " * width + "\r")
            self._stream.write(text + "\n")
            self._stream.flush()
            if not self.terminal:
                return
            self._last_draw = None
        self._draw()

    def update(self, *, failed: bool = False, tokens: int = 0, cost: float = 0.0) -> None:
        """One finished sample (the sampling client's hook)."""
        self.advance(1, failed=int(failed), tokens=tokens, cost=cost)

    def elapsed(self) -> float:
        """Seconds since the progress opened."""
        return self._clock() - self._start

    def line(self, now: float | None = None) -> str:
        """The current status text (``now``: the clock's reading, read when not given)."""
        parts = []
        if self.total is not None:
            share = 100 * self.done / self.total if self.total else 100.0
            unit = f" {self.unit}" if self.unit else ""
            parts.append(f"{self.label} {self.done}/{self.total}{unit} ({share:.0f} %)")
        else:
            parts.append(self.label)
        status = self._status_text()
        if status:
            parts.append(status)
        parts += [_field(name, value) for name, value in self.counters.items()]
        elapsed = (self._clock() if now is None else now) - self._start
        parts.append(format_duration(elapsed))
        eta = eta_seconds(elapsed, self.done, self.total) if self._eta else None
        if eta is not None and self.done < (self.total or 0):
            parts.append(f"ETA {format_duration(eta)}")
        text = " · ".join(parts)
        return f"{self._parent.prefix()} · {text}" if self._parent is not None else text

    def prefix(self) -> str:
        """This progress's position, as its children show it."""
        position = self.label if self.total is None else f"{self.label} {self.done + 1}/{self.total}"
        status = self._status_text()
        if status:
            position += f" {status}"
        return f"{self._parent.prefix()} · {position}" if self._parent is not None else position

    def _status_text(self) -> str:
        return self.status() if callable(self.status) else self.status

    def _bar(self, text: str) -> str:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if self.total:
            filled = int(20 * min(self.done / self.total, 1.0))
            text = f"[{'#' * filled}{'.' * (20 - filled)}] {text}"
        return text[:width].ljust(width)

    def _draw(self, force: bool = False) -> None:
        with _lock:
            if self._quiet or self._closed or (_stack and _stack[-1] is not self):
                return  # a child is drawing
            now = self._clock()
            if not force and self._last_draw is not None and now - self._last_draw < self._interval:
                return
            self._last_draw = now
            if self._sink is not None:
                self._sink("line", self.line(now))
                return
            if self.terminal:
                self._stream.write("\r" + self._bar(self.line(now)))
            else:
                self._stream.write(self.line(now) + "\n")
            self._stream.flush()

    def _beat(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self._draw()

    def close(self, error: bool = False) -> None:
        """Draw the final line (a terminal's bar ends with a newline) and hand back to the parent;
        after an ``error``, clear a terminal's bar and draw nothing (the error is the last word)."""
        if self._closed:
            return
        self._stop.set()
        with _lock:
            if not error:
                self._draw(force=True)
            self._closed = True
            if not self._quiet and self.terminal:
                width = shutil.get_terminal_size((100, 20)).columns - 1
                self._stream.write("\r" + " " * width + "\r" if error else "\n")
                self._stream.flush()
            if self in _stack:
                _stack.remove(self)
