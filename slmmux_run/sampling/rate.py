"""Requests-per-minute limiting: at most ``rpm`` sends in ANY window of ``window`` seconds.

Floor 1 of the runner, used by :class:`~slmmux_run.sampling.client.Client` (one limiter per
replica). A token bucket lets a full bucket burst on top of its refill (up to ``2 * rpm`` in one
minute); this limiter keeps the send times of the last window instead and admits a send only
when fewer than ``rpm`` of them are younger than ``window`` seconds, so every window, wherever it
starts, holds at most ``rpm`` sends. A restarted run seeds the window with the sends its records
file holds (:func:`slmmux_run.sampling.spent.spent_in_records`), so a kill and resume cannot
double the rate either.

What the limiter controls is when the client *sends*; a server counts arrivals, which trail the
sends by the network delay, so the server's window holds at most ``rpm`` plus the sends whose
delay differs by more than the spacing between sends (none on a steady connection).

Example (an injected clock: nothing sleeps for real):
  >>> import asyncio
  >>> now = [0.0]
  >>> async def advance(seconds):
  ...     now[0] += seconds
  >>> limiter = RateLimiter(2, clock=lambda: now[0], sleep=advance, sent=[-50.0])
  >>> async def three():
  ...     for _ in range(3):
  ...         await limiter.acquire()
  >>> asyncio.run(three())
  >>> now[0], limiter.sent_times()
  (60.0, (10.0, 60.0))
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any, Callable, Iterable

__all__ = ["WINDOW_SECONDS", "RateLimiter", "most_in_window"]

WINDOW_SECONDS = 60.0
"""The window of an ``rpm`` limit."""


class RateLimiter:
    """At most ``rpm`` sends in any ``window``-second window (a sliding window of send times).

    Args:
      rpm: sends per window, or None for no limit.
      clock: monotonic clock in seconds (injectable for tests).
      sleep: async sleep (injectable for tests).
      sent: earlier send times on ``clock``'s scale (e.g. a previous process's sends read from
        the records), counted as if this limiter had made them.
      window: the window length in seconds (60 for requests per minute).
    """

    def __init__(
        self,
        rpm: int | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        sent: Iterable[float] = (),
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.rpm = rpm
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque(sorted(sent))
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm}, window={self.window}, recent={len(self._sent)})"

    def sent_times(self) -> tuple[float, ...]:
        """The send times still inside the window (on the limiter's clock)."""
        self._forget(self._clock())
        return tuple(self._sent)

    def _forget(self, now: float) -> None:
        # Written as the wake-up time of acquire()'s sleep, so waking at it always frees a slot.
        while self._sent and self._sent[0] + self.window <= now:
            self._sent.popleft()

    async def acquire(self) -> None:
        """Wait until one more send fits in every window, then count it (call right before
        sending)."""
        if self.rpm is None:
            return
        async with self._lock:
            while True:
                now = self._clock()
                self._forget(now)
                if len(self._sent) < self.rpm:
                    self._sent.append(now)
                    return
                # The oldest of the last rpm sends must leave the window first.
                await self._sleep(self._sent[-self.rpm] + self.window - now)


def most_in_window(times: Iterable[float], window: float = WINDOW_SECONDS) -> int:
    """The largest number of ``times`` inside one half-open window ``[t, t + window)``.

    Used by tests and measurements to check a limit from the receiving side.

    >>> most_in_window([0.0, 10.0, 60.0, 65.0, 70.0])  # [10, 70) holds three
    3
    """
    ordered = sorted(times)
    best = start = 0
    for end, value in enumerate(ordered):
        while ordered[start] + window <= value:
            start += 1
        best = max(best, end - start + 1)
    return best
