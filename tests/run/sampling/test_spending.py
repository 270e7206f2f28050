"""Tests of slmmux_run.sampling.spending: prices, dry-run estimate, caps under threads, progress line."""

from __future__ import annotations

import io
import threading

import pytest

from slmmux_run.sampling.spending import (
    Budget,
    BudgetExhausted,
    PlannedRequest,
    Price,
    ProgressReporter,
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
