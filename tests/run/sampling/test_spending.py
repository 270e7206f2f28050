"""Tests of slmmux_run.sampling.spending: prices, dry-run estimate, caps under threads, progress line."""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np
import pytest

from slmmux_run.sampling.spending import (
    Budget,
    BudgetExhausted,
    PlannedRequest,
    Price,
    ProgressReporter,
    Reservation,
    UsageMeans,
    estimate_spend,
    format_estimate,
    prompt_token_bound,
)


def test_price_cost_by_hand():
    price = Price(prompt_per_1k=0.5, completion_per_1k=2.0, per_call=0.01)
    # 2000 * 0.5/1000 + 500 * 2/1000 + 3 * 0.01 = 1 + 1 + 0.03
    assert price.cost(2000, 500, calls=3) == pytest.approx(2.03)


def test_estimate_counts_calls_tokens_and_cost():
    price = Price(prompt_per_1k=1.0, completion_per_1k=1.0, per_call=0.5)
    plan = [
        PlannedRequest("x" * 40, samples=5, max_tokens=20, max_choices_per_call=2, price=price),
        PlannedRequest((("user", "y" * 8),), samples=1, max_tokens=10, max_choices_per_call=4,
                       price=price),
    ]
    estimate = estimate_spend(plan)
    # First: ceil(5/2) = 3 calls, 3 * 10 prompt tokens, 5 * 20 completion tokens.
    # Second: 1 call, 8/4 + 8/2 = 6 prompt tokens, 10 completion tokens.
    assert estimate.requests == 4
    assert estimate.prompt_tokens == 36
    assert estimate.completion_tokens == 110
    assert estimate.cost == pytest.approx((36 + 110) / 1000 + 4 * 0.5)
    assert format_estimate(estimate).startswith("dry run: 4 requests")


def test_prompt_bound_is_at_least_bytes():
    text = "héllo wörld"
    assert prompt_token_bound(text) >= len(text.encode())
    assert prompt_token_bound((("system", "a"), ("user", "b"))) == 2 + 16 + 16


def test_caps_hold_under_threads():
    budget = Budget(max_requests=50, max_cost=30.0)
    granted = []
    lock = threading.Lock()

    def worker():
        for _ in range(40):
            try:
                held = budget.reserve(1.0)
            except BudgetExhausted:
                continue
            with lock:
                granted.append(held)
            budget.settle(held, 0.5)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert budget.requests == len(granted) <= 50
    assert budget.cost == pytest.approx(0.5 * len(granted)) and budget.cost <= 30.0
    assert budget.committed_cost == pytest.approx(budget.cost)


def test_reservation_blocks_before_settling():
    budget = Budget(max_cost=10.0)
    first = budget.reserve(6.0)
    with pytest.raises(BudgetExhausted, match="max_cost"):
        budget.reserve(6.0)  # 6 reserved + 6 > 10 even though nothing is spent yet
    budget.settle(first, 1.0)
    budget.reserve(6.0)
    assert budget.committed_cost == pytest.approx(7.0)


def test_spent_carries_over():
    budget = Budget(max_requests=3, spent_requests=3)
    with pytest.raises(BudgetExhausted, match="max_requests=3"):
        budget.reserve(0.0)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_quiet_off_a_terminal():
    stream = io.StringIO()
    progress = ProgressReporter(total=2, stream=stream)
    progress.update(tokens=3, cost=0.1)
    progress.update(failed=True)
    progress.close()
    assert stream.getvalue() == ""
    assert progress.line() == "2/2 samples, 1 failed, 3 tokens, cost 0.1000"


def test_progress_draws_on_a_terminal():
    stream = FakeTTY()
    progress = ProgressReporter(total=2, stream=stream)
    progress.update(tokens=3)
    progress.close()
    assert stream.getvalue() == "\r1/2 samples, 0 failed, 3 tokens, cost 0.0000\n"


# --- Expected-cost reservations: wait while requests are in flight, refuse only for good --------


def test_a_refusal_waits_while_requests_are_in_flight():
    async def main():
        budget = Budget(max_cost=10.0)
        first = budget.reserve(6.0, 20.0)
        waiter = asyncio.ensure_future(budget.wait_reserve(6.0, 20.0))
        await asyncio.sleep(0)
        assert not waiter.done()  # 6 + 6 > 10, but the first may settle below its reservation
        budget.settle(first, 1.0)
        second = await waiter
        assert second == Reservation(6.0, 20.0) and budget.committed_cost == pytest.approx(7.0)
        budget.settle(second, 5.0)
        with pytest.raises(BudgetExhausted) as refused:
            await budget.wait_reserve(6.0)  # 6 + 6 > 10 and nothing in flight: final
        assert refused.value.final and budget.requests == 2

    asyncio.run(main())


def test_the_request_cap_is_final_at_once():
    budget = Budget(max_requests=1)
    budget.reserve(0.0)
    with pytest.raises(BudgetExhausted) as refused:
        budget.reserve(0.0)
    assert refused.value.final  # requests are never given back: waiting cannot help


def test_a_first_request_may_go_alone_below_its_worst_case():
    budget = Budget(max_cost=1.0)
    with pytest.raises(BudgetExhausted):
        budget.reserve(5.0)  # a known expected cost of 5 never fits a cap of 1
    held = budget.reserve(5.0, probe=True)  # unknown cost (worst case 5), nothing in flight
    with pytest.raises(BudgetExhausted) as refused:
        budget.reserve(0.1, probe=True)  # not alone any more
    assert not refused.value.final
    budget.settle(held, 0.3)
    assert budget.reserve(0.1).cost == 0.1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_bad_caps_are_refused(bad):
    with pytest.raises(ValueError, match="max_cost"):
        Budget(max_cost=bad)
    with pytest.raises(ValueError, match="max_requests"):
        Budget(max_requests=-1)


@pytest.mark.parametrize("seed", range(6))
def test_overshoot_is_at_most_one_batch_and_nothing_is_stranded(seed):
    """Workers reserve expected costs and settle random real ones: the cap holds up to the
    in-flight batch's excess over expected, and a final refusal leaves less than one expected
    request of budget."""
    rng = np.random.default_rng(seed)
    concurrency = int(rng.integers(1, 9))
    cap = float(rng.uniform(5.0, 50.0))
    expected, bound = 1.0, 3.0  # real costs are uniform on [0, bound]: mean 1.5 > expected
    budget = Budget(max_cost=cap)
    refused = []

    async def worker():
        while True:
            try:
                held = await budget.wait_reserve(expected, bound)
            except BudgetExhausted as error:
                refused.append((error.final, budget.cost))
                return
            for _ in range(int(rng.integers(0, 4))):
                await asyncio.sleep(0)
            budget.settle(held, float(rng.uniform(0.0, bound)))

    async def main():
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    asyncio.run(main())
    assert budget.in_flight == 0
    assert budget.cost <= cap + concurrency * (bound - expected) + 1e-9
    assert all(final for final, _ in refused) and len(refused) == concurrency
    # The first final refusal happened with less than one expected request of budget left.
    assert refused[0][1] + expected > cap - 1e-9


def test_usage_means_by_hand():
    means = UsageMeans()
    price = Price(prompt_per_1k=1000.0, completion_per_1k=1000.0)  # 1 per token
    assert not means.seen("m")
    # Worst case first: prompt bound 40 + 2 choices * 100 tokens.
    assert means.expected_cost("m", price, 40, 2, 100) == 240.0
    means.observe("m", completion_tokens=30, choices=3, prompt_tokens=10, prompt_bound=40)
    means.observe("m", completion_tokens=50, choices=1, prompt_tokens=None, prompt_bound=40)
    # Completion: 80 tokens over 4 choices = 20 each; prompt: 10/40 of the bound = 10.
    assert means.seen("m") and means.expected_cost("m", price, 40, 2, 100) == 50.0
    assert means.expected_cost("m", price, 40, 1, 8) == 18.0  # the mean never exceeds max_tokens
