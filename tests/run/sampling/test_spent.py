"""Tests of slmmux_run.sampling.spent: what a records file already spent, counted by hand."""

from __future__ import annotations

import pytest

from slmmux_run.data.records import Record
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.sampling.spending import Price
from slmmux_run.sampling.spent import record_cost, spent_in_records


def row(index, *, model="m", error=None, usage=None, timing=None, extra=None, n=1):
    return Record("t", "q", model, "v", index, request={"n": n}, usage=usage, error=error,
                  timing=timing or {}, extra=extra or {})


def test_calls_count_their_sends_once_failed_ones_included():
    rows = [
        # One call, two choices, sent twice (a 500, then the answer).
        row(0, timing={"call": "a", "sent_at": [10.0, 11.0], "replica": 0},
            extra={"cost": 0.5}, usage={"completion_tokens": 4, "call_choices": 2}),
        row(1, timing={"call": "a", "sent_at": [10.0, 11.0], "replica": 0},
            extra={"cost": 0.5}, usage={"completion_tokens": 6, "call_choices": 2}),
        # A call that failed after three attempts: it counts, and so do its retries' charges.
        row(2, error="HTTP 500", n=1, extra={"cost": 0.0},
            timing={"call": "b", "sent_at": [20.0, 21.0, 22.0], "replica": 1, "retry_cost": 0.3}),
    ]
    spent = spent_in_records(rows)
    assert spent.requests == 2 + 3
    assert spent.cost == pytest.approx(1.3)
    assert spent.send_times == {("m", 0): [10.0, 11.0], ("m", 1): [20.0, 21.0, 22.0]}
    assert spent.completion == {"m": (10, 2)}  # the failure has no tokens


def test_records_without_call_ids_count_shares_of_calls():
    # Written before call ids: 3 samples of one call that took 2 attempts, one failure of an
    # n=2 call with 1 attempt (stored as its 2 samples).
    ok = {"completion_tokens": 3, "call_choices": 3, "prompt_tokens": 30}
    rows = [row(i, usage=ok, timing={"attempts": 2, "finished_at": 100.0, "latency_seconds": 1.5})
            for i in range(3)]
    rows += [row(3 + i, error="timeout", n=2, timing={"attempts": 1}) for i in range(2)]
    spent = spent_in_records(rows)
    assert spent.requests == 2 + 1
    assert spent.send_times == {}  # no send times on file: nothing to seed a rate limiter with


def test_money_without_a_stored_cost_comes_from_usage_and_prices():
    price = Price(prompt_per_1k=1.0, completion_per_1k=2.0, per_call=0.01)
    config = RunnerConfig(models={"m": ModelConfig("m", ("http://a",), "x", price=price)})
    usage = {"prompt_tokens": 300, "completion_tokens": 50, "call_choices": 3}
    record = row(0, usage=usage, timing={"attempts": 2})
    # A third of the call's 300 prompt tokens (0.1), its own 50 tokens (0.1), a third of two
    # per-call prices (0.02 / 3).
    assert record_cost(record, {"m": price}) == pytest.approx(0.1 + 0.1 + 0.02 / 3)
    assert spent_in_records([record], config).cost == pytest.approx(0.1 + 0.1 + 0.02 / 3)
    assert spent_in_records([record]).cost == 0.0  # no config: no price known
    stored = row(0, usage=usage, extra={"cost": 0.25}, timing={"retry_cost": 0.05})
    assert record_cost(stored, {"m": price}) == pytest.approx(0.3)  # what was charged wins
