"""What a records file has already spent: requests, money, recent sends and token means.

Floor 1 of the runner. Caps (``--max-requests``, ``--max-cost``) and rpm limits are for a
records file, not for one process: a run starts from :func:`spent_in_records` of the file it
appends to, so kill-and-resume cycles cannot add up past a cap, and the sends of the last minute
before a restart still count against the rate.

What a record holds (written by :func:`slmmux_run.sampling.collect.to_records`): the samples of
one HTTP call (a response, or a failure after its retries) share ``timing.call`` (an id), and
each holds ``timing.sent_at`` (wall-clock time of every attempt actually sent, retries
included), ``timing.replica`` (index of the replica URL), ``extra.cost`` (the sample's share of
the bill of the response) and ``timing.retry_cost`` (its share of what the call's failed
attempts were charged).

* **Requests** = the number of attempts sent, over distinct calls: ``len(timing.sent_at)`` per
  call id. A failed request counts like any other. Records without a call id (written before it
  existed) count ``timing.attempts / samples of their call`` each (``usage.call_choices``, or
  the ``n`` sent for a failure), rounded up at the end.
* **Money** = the sum of ``extra.cost + timing.retry_cost``. Each was computed when the call
  ended from the usage the server reported and the config's prices: ``prompt_per_1k *
  prompt_tokens / 1000 + completion_per_1k * completion_tokens / 1000 + per_call`` for the
  answer (with the prompt's byte bound when the server gave no prompt count), ``per_call`` for
  an error response, and the worst case (prompt bound and ``max_tokens`` per choice) for an
  attempt whose bill is unknown (a timeout, a dropped connection or a malformed body after
  sending). A record without ``extra.cost`` is
  priced from its stored usage with the current config's prices (its share of the call's prompt
  tokens, its completion tokens, its share of a per-call price per attempt).
* **Sends** (for the rate limiter): ``timing.sent_at``. Records without it (written before it
  existed, or imported from a batch API, whose requests this client never sent) seed nothing.

What is never in the file is a request in flight when the process was killed. A call holds its
concurrency slot from its first send until its samples are stored, and its attempts are stored
together when it ends, so each kill can add to what the file says at most one request per call
in flight, or ``max_attempts`` per call when the calls in flight were retrying (earlier attempts
that timed out may have been billed, for ``n`` answers each). Calls in flight are at most
``max_concurrency``, and for a collection at most
:func:`~slmmux_run.sampling.collect.in_flight_limit` (1/32 of the job's samples): a kill leaves
at most ``in_flight_limit x max_attempts x n`` paid answers off the file
(``tests/run/test_faults.py`` measures it with every first two attempts timing out).

Example:
  >>> from slmmux_run.data.records import Record
  >>> rows = [Record("t", "q", "m", "v", i, timing={"call": "c1", "sent_at": [5.0, 6.0]},
  ...                extra={"cost": 0.25}) for i in range(2)]
  >>> spent = spent_in_records(rows)
  >>> spent.requests, spent.cost, spent.send_times
  (2, 0.5, {('m', None): [5.0, 6.0]})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from slmmux_run.data.records import Record

__all__ = ["Spent", "record_cost", "spent_in_records"]


class Spent(NamedTuple):
    """What a records file has spent.

    Attributes:
      requests: HTTP requests sent (attempts, failed ones included).
      cost: money charged.
      send_times: wall-clock send times (``time.time()``) by (model, replica index), the index
        None when the record does not say.
      completion: per model, (completion tokens, samples) of its successful samples, to start
        the expected-cost means (:class:`~slmmux_run.sampling.spending.UsageMeans`).
    """

    requests: int
    cost: float
    send_times: dict[tuple[str, int | None], list[float]]
    completion: dict[str, tuple[int, int]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _call_size(record: Record) -> int:
    usage = record.usage or {}
    size = usage.get("call_choices") if record.error is None else record.request.get("n")
    return size if isinstance(size, int) and size > 0 else 1


def record_cost(record: Record, prices: Mapping[str, Any] | None = None) -> float:
    """One record's share of its call's cost (see the module docstring).

    Args:
      record: the stored sample.
      prices: :class:`~slmmux_run.sampling.spending.Price` by model name, for records without
        ``extra.cost``; a model without a price costs 0.
    """
    stored = _number(record.extra.get("cost")) if isinstance(record.extra, dict) else None
    if stored is not None:
        retry = _number(record.timing.get("retry_cost")) if isinstance(record.timing, dict) else 0
        return stored + (retry or 0.0)
    price = (prices or {}).get(record.model)
    if price is None:
        return 0.0
    usage = record.usage or {}
    size = _call_size(record)
    attempts = _number(record.timing.get("attempts")) or 1.0
    prompt = _number(usage.get("prompt_tokens")) or 0.0
    completion = _number(usage.get("completion_tokens")) or 0.0
    return price.cost(prompt / size, completion, calls=0) + price.per_call * attempts / size


def spent_in_records(records: Iterable[Record], config: Any = None) -> Spent:
    """Requests, money, send times and token means of a records file's records.

    Args:
      records: every stored record (failed ones included), e.g. ``RecordStore.records``.
      config: the :class:`~slmmux_run.sampling.config.RunnerConfig`, whose prices price records
        without a stored cost (None: such records cost 0).
    """
    prices = {name: model.price for name, model in config.models.items()} if config else {}
    calls: dict[str, int] = {}
    shares = 0.0
    cost = 0.0
    send_times: dict[tuple[str, int | None], list[float]] = {}
    completion: dict[str, list[int]] = {}
    for record in records:
        timing = record.timing if isinstance(record.timing, dict) else {}
        cost += record_cost(record, prices)
        call, sent_at = timing.get("call"), timing.get("sent_at")
        if isinstance(call, str) and isinstance(sent_at, list):
            if call not in calls:  # a call's sends are counted once, with its first record
                calls[call] = len(sent_at)
                replica = timing.get("replica")
                replica = replica if isinstance(replica, int) else None
                send_times.setdefault((record.model, replica), []).extend(
                    float(t) for t in sent_at if _number(t) is not None)
        else:
            shares += (_number(timing.get("attempts")) or 1.0) / _call_size(record)
        tokens = (record.usage or {}).get("completion_tokens")
        if record.error is None and isinstance(tokens, int) and not isinstance(tokens, bool):
            total = completion.setdefault(record.model, [0, 0])
            total[0] += tokens
            total[1] += 1
    # Fractional shares of calls without an id add up to whole calls; round up a float residue.
    requests = sum(calls.values()) + math.ceil(shares - 1e-9)
    return Spent(requests, cost, send_times,
                 {model: (tokens, count) for model, (tokens, count) in completion.items()})
