"""Tests of slmmux_run.sampling.rate: the rpm limit holds over any window, and across restarts.

Time is virtual (:class:`VirtualTime`): sleeping advances a clock instead of waiting, so minutes
of sending take milliseconds. Windows are checked from the receiving side
(:func:`most_in_window` over the times a fake server saw the requests).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

import httpx
import numpy as np
import pytest

from slmmux_run.data.records import Record
from slmmux_run.sampling.client import Client, SampleRequest
from slmmux_run.sampling.collect import timing_of
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.sampling.rate import RateLimiter, most_in_window
from slmmux_run.sampling.spent import spent_in_records


class VirtualTime:
    """A clock that jumps to the next sleeper's wake-up time once every task is waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), future))
        await future

    async def run(self, *coroutines):
        """Run the coroutines to the end, advancing time whenever all of them sleep."""
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(task.done() for task in tasks):
            for _ in range(200):  # let every ready task run until it blocks on a sleep
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        return [task.result() for task in tasks]


def test_waits_until_the_oldest_send_leaves_the_window():
    now = [100.0]
    waits = []

    async def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, clock=lambda: now[0], sleep=sleep)

    async def main():
        await limiter.acquire()
        now[0] += 10.0
        await limiter.acquire()
        await limiter.acquire()  # third in the minute: waits until the first send is 60 s old

    asyncio.run(main())
    assert waits == [50.0]


@pytest.mark.parametrize("seed", range(5))
def test_no_window_anywhere_holds_more_than_rpm(seed):
    rng = np.random.default_rng(seed)
    time = VirtualTime()
    rpm = int(rng.integers(2, 12))
    limiter = RateLimiter(rpm, clock=time.clock, sleep=time.sleep)
    sent = []

    async def sender(start):
        await time.sleep(start)
        await limiter.acquire()
        sent.append(time.clock())

    # Bursts and gaps: arrival times clumped at a few instants over five minutes.
    starts = rng.choice([0.0, 0.5, 59.0, 61.0, 119.9, 200.0], size=60) + rng.uniform(0, 1, 60)
    asyncio.run(time.run(*(sender(s) for s in starts)))
    assert len(sent) == 60
    assert most_in_window(sent) == rpm  # the limit binds, and holds for every window
    # Never slower than needed: the i-th send waits for nothing but the (i - rpm)-th.
    ordered = sorted(sent)
    assert all(b - a >= 60.0 - 1e-9 for a, b in zip(ordered, ordered[rpm:]))


def test_seeded_sends_count():
    time = VirtualTime(start=500.0)
    limiter = RateLimiter(3, clock=time.clock, sleep=time.sleep, sent=[450.0, 451.0, 452.0])

    async def one():
        await limiter.acquire()

    asyncio.run(time.run(one()))
    assert time.now == 510.0  # the window of the seeded sends ends 60 s after the first


def most_in_window_by_brute_force(times, window=60.0):
    return max(sum(t <= x < t + window for x in times) for t in times)


@pytest.mark.parametrize("seed", range(3))
def test_most_in_window_matches_brute_force(seed):
    times = list(np.random.default_rng(seed).uniform(0, 300, 80))
    assert most_in_window(times) == most_in_window_by_brute_force(times)


# --- The client: rpm per replica, over any window, across a restart -----------------------------

RPM = 5


def config() -> RunnerConfig:
    model = ModelConfig(name="m", base_urls=("http://a.test",), model="x", rpm=RPM,
                        max_concurrency=8)
    return RunnerConfig(models={"m": model}, max_concurrency=8, backoff_initial_seconds=0.0)


async def burst(time: VirtualTime, arrivals: list, count: int, spent=None, offset: int = 0):
    def handler(request):
        arrivals.append(time.clock())
        return httpx.Response(200, json={"choices": [{"message": {"content": "4"}}]})

    async with Client(config(), transport=httpx.MockTransport(handler), sleep=time.sleep,
                      clock=time.clock, wall_clock=time.clock, spent=spent) as client:
        results = await time.run(*(client.sample(SampleRequest("m", f"p{offset + i}"))
                                   for i in range(count)))
    return [result for (result,) in results]


def records_of(results) -> list[Record]:
    return [Record("t", f"q{i}", "m", "v", 0, timing=timing_of(result))
            for i, result in enumerate(results)]


@pytest.mark.parametrize("restart_after", [0.0, 30.0])
def test_client_keeps_rpm_in_any_window_across_a_restart(restart_after):
    time = VirtualTime()
    arrivals: list[float] = []
    first = asyncio.run(burst(time, arrivals, RPM))  # a full minute's worth, at once
    assert [r.sent_at for r in first] == [(arrivals[0],)] * RPM
    time.now += restart_after  # killed and restarted on the same records file
    spent = spent_in_records(records_of(first))
    assert spent.requests == RPM and len(spent.send_times[("m", 0)]) == RPM
    asyncio.run(burst(time, arrivals, 2 * RPM, spent=spent, offset=RPM))
    assert len(arrivals) == 3 * RPM
    assert most_in_window(arrivals) == RPM
    # Without the records the restarted client would have sent a second minute's worth at once.
    fresh: list[float] = []
    time = VirtualTime()
    asyncio.run(burst(time, fresh, RPM))
    asyncio.run(burst(time, fresh, RPM, offset=RPM))
    assert most_in_window(fresh) == 2 * RPM
