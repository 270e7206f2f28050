"""Spending control for real runs: prices, a dry-run estimate, hard caps and a progress line.

Floor 1 of the runner. Nothing here sends a request: :class:`Budget` is asked *before* each HTTP
request with a pessimistic bound on its cost (prompt bytes + ``max_tokens`` per choice), which
reserves that amount, and is settled with the real cost afterwards. Because reservation happens
before sending and no ``await`` separates the check from the update, ``max_requests`` and
``max_cost`` hold even with many concurrent requests. :class:`ProgressReporter` prints one live
line on a terminal and stays silent otherwise (logs and CI stay clean).
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass
from typing import IO, Iterable, NamedTuple

__all__ = [
    "Budget",
    "BudgetExhausted",
    "PlannedRequest",
    "Price",
    "ProgressReporter",
    "Reservation",
    "SpendEstimate",
    "estimate_spend",
    "format_estimate",
    "prompt_token_bound",
    "prompt_token_guess",
]

# Chat templates add role markers around each message; this bounds them from above.
_TEMPLATE_TOKENS_PER_MESSAGE = 8
_TEMPLATE_TOKENS_PER_REQUEST = 16


@dataclass(frozen=True)
class Price:
    """What one endpoint charges.

    Attributes:
      prompt_per_1k: currency per 1000 prompt tokens.
      completion_per_1k: currency per 1000 completion tokens.
      per_call: currency per HTTP request, whatever its size.

    >>> Price(prompt_per_1k=1.0, completion_per_1k=2.0).cost(500, 250)
    1.0
    """

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0
    per_call: float = 0.0

    def cost(self, prompt_tokens: float, completion_tokens: float, calls: int = 1) -> float:
        """Cost of ``calls`` requests using the given token totals."""
        return (
            prompt_tokens * self.prompt_per_1k / 1000.0
            + completion_tokens * self.completion_per_1k / 1000.0
            + calls * self.per_call
        )


def _text_of(prompt: str | Iterable[tuple[str, str]]) -> tuple[str, int]:
    if isinstance(prompt, str):
        return prompt, 0
    messages = list(prompt)
    return "".join(content for _, content in messages), len(messages)


def prompt_token_bound(prompt: str | Iterable[tuple[str, str]]) -> int:
    """An upper bound on the prompt tokens of a request (used to reserve budget).

    Byte-level tokenizers never emit more tokens than UTF-8 bytes, so bytes plus a template
    allowance per message bound the count from above.

    >>> prompt_token_bound("2+2=")
    28
    """
    text, messages = _text_of(prompt)
    messages = max(messages, 1)  # a string prompt becomes one user message on a chat endpoint
    return (
        len(text.encode("utf-8"))
        + _TEMPLATE_TOKENS_PER_MESSAGE * messages
        + _TEMPLATE_TOKENS_PER_REQUEST
    )


def prompt_token_guess(prompt: str | Iterable[tuple[str, str]]) -> int:
    """A typical prompt-token count (about four characters per token) for the dry-run estimate.

    >>> prompt_token_guess("What is 3 + 4?")
    4
    """
    text, messages = _text_of(prompt)
    return math.ceil(len(text) / 4) + _TEMPLATE_TOKENS_PER_MESSAGE * messages // 2


class PlannedRequest(NamedTuple):
    """One sampling request a run intends to make, for the dry-run estimate.

    Attributes:
      prompt: the prompt text, or chat messages as (role, content) pairs.
      samples: samples wanted (k).
      max_tokens: completion limit per sample.
      max_choices_per_call: how many samples one HTTP request may return (the endpoint's n limit).
      price: the endpoint's price.
    """

    prompt: str | tuple[tuple[str, str], ...]
    samples: int
    max_tokens: int
    max_choices_per_call: int
    price: Price


class SpendEstimate(NamedTuple):
    """What a run would send and cost before anything is sent.

    Attributes:
      requests: HTTP requests, without retries or top-ups.
      prompt_tokens: estimated prompt tokens (about 4 characters per token).
      completion_tokens: completion tokens if every sample uses ``max_tokens`` (an upper bound).
      cost: cost at those token counts.
    """

    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float


def estimate_spend(planned: Iterable[PlannedRequest]) -> SpendEstimate:
    """Add up requests, tokens and cost over a plan.

    >>> plan = [PlannedRequest("What is 3 + 4?", 3, 10, 2, Price(completion_per_1k=1.0))]
    >>> estimate_spend(plan)
    SpendEstimate(requests=2, prompt_tokens=8, completion_tokens=30, cost=0.03)
    """
    requests = prompt_tokens = completion_tokens = 0
    cost = 0.0
    for item in planned:
        calls = math.ceil(item.samples / max(1, item.max_choices_per_call))
        prompt = prompt_token_guess(item.prompt) * calls
        completion = item.max_tokens * item.samples
        requests += calls
        prompt_tokens += prompt
        completion_tokens += completion
        cost += item.price.cost(prompt, completion, calls)
    return SpendEstimate(requests, prompt_tokens, completion_tokens, round(cost, 12))


def format_estimate(estimate: SpendEstimate, label: str = "dry run") -> str:
    """One line for the estimate: ``label`` says whether it is a dry run or what a run will send.

    >>> format_estimate(SpendEstimate(2, 8, 30, 0.03))
    'dry run: 2 requests, ~8 prompt tokens, <=30 completion tokens, cost <=0.0300'
    """
    return (
        f"{label}: {estimate.requests} requests, ~{estimate.prompt_tokens} prompt tokens, "
        f"<={estimate.completion_tokens} completion tokens, cost <={estimate.cost:.4f}"
    )


class BudgetExhausted(Exception):
    """A request was not sent because it could break ``max_requests`` or ``max_cost``."""


class Reservation(NamedTuple):
    """Budget held for one request in flight.

    Attributes:
      cost: the pessimistic cost reserved.
    """

    cost: float


class Budget:
    """Hard caps on requests and cost, enforced by reserving before sending.

    Every HTTP request (retries included) takes one request slot and reserves its worst-case
    cost; :meth:`settle` replaces the reservation by the real cost. Requests are never given
    back: a request that reached the network may have been billed.

    Args:
      max_requests: most HTTP requests to send, or None for no cap.
      max_cost: most currency to spend, or None for no cap.
      spent_requests: requests already spent (e.g. by an earlier, interrupted run).
      spent_cost: cost already spent.

    >>> budget = Budget(max_requests=1)
    >>> held = budget.reserve(0.0)
    >>> budget.settle(held, 0.0)
    >>> budget.reserve(0.0)
    Traceback (most recent call last):
    ...
    slmmux_run.sampling.spending.BudgetExhausted: max_requests=1 reached
    """

    def __init__(
        self,
        max_requests: int | None = None,
        max_cost: float | None = None,
        spent_requests: int = 0,
        spent_cost: float = 0.0,
    ) -> None:
        self.max_requests = max_requests
        self.max_cost = max_cost
        self.requests = spent_requests
        self.cost = spent_cost
        self._reserved = 0.0
        # Clients run in one event loop, but a lock keeps the check-and-update atomic for threads too.
        self._lock = threading.Lock()

    def reserve(self, cost_bound: float) -> Reservation:
        """Take one request slot and ``cost_bound`` of budget, or raise without taking anything.

        Raises:
          BudgetExhausted: if either cap would be exceeded.
        """
        with self._lock:
            if self.max_requests is not None and self.requests + 1 > self.max_requests:
                raise BudgetExhausted(f"max_requests={self.max_requests} reached")
            if self.max_cost is not None and (
                self.cost + self._reserved + cost_bound > self.max_cost + 1e-12
            ):
                raise BudgetExhausted(f"max_cost={self.max_cost} would be exceeded")
            self.requests += 1
            self._reserved += cost_bound
            return Reservation(cost_bound)

    def settle(self, reservation: Reservation, actual_cost: float) -> None:
        """Replace a reservation by the cost actually charged."""
        with self._lock:
            self._reserved -= reservation.cost
            self.cost += actual_cost

    @property
    def committed_cost(self) -> float:
        """Spent plus reserved cost: never above ``max_cost`` unless a server ignored max_tokens."""
        with self._lock:
            return self.cost + self._reserved

    def __repr__(self) -> str:
        return (
            f"Budget(requests={self.requests}/{self.max_requests}, "
            f"cost={self.cost:.6g}/{self.max_cost})"
        )


class ProgressReporter:
    """Counts done / failed samples, tokens and cost; draws a live line only on a terminal.

    Args:
      total: samples expected, for the "done/total" display.
      stream: where to draw; defaults to ``sys.stderr``. Nothing is written unless it is a TTY.
    """

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.tokens = 0
        self.cost = 0.0
        self._stream = stream if stream is not None else sys.stderr
        isatty = getattr(self._stream, "isatty", None)
        self._live = bool(isatty and isatty())

    def update(self, *, failed: bool = False, tokens: int = 0, cost: float = 0.0) -> None:
        """Count one finished sample."""
        self.done += 1
        self.failed += int(failed)
        self.tokens += tokens
        self.cost += cost
        if self._live:
            self._stream.write("\r" + self.line())
            self._stream.flush()

    def line(self) -> str:
        """The current progress text."""
        return (
            f"{self.done}/{self.total} samples, {self.failed} failed, "
            f"{self.tokens} tokens, cost {self.cost:.4f}"
        )

    def close(self) -> None:
        """End the live line with a newline (only on a terminal)."""
        if self._live:
            self._stream.write("\n")
            self._stream.flush()
