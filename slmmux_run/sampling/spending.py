"""Spending control for real runs: prices, a dry-run estimate, hard caps and a progress line.

Floor 1 of the runner. Nothing here sends a request: :class:`Budget` is asked *before* each HTTP
request with the request's expected cost (:class:`UsageMeans`: the running means of the model's
tokens, the worst case before its first answer), which it reserves, and is settled with the real
cost afterwards; a request that does not fit waits for the requests in flight and is refused
only when nothing in flight could free budget. Because reservation happens before sending and
no ``await`` separates the check from the update, ``max_requests`` holds exactly and
``max_cost`` up to the deviation of one in-flight batch (see :class:`Budget`), even with many
concurrent requests. The caps are for a records file: a run starts from what the file already
spent (:mod:`slmmux_run.sampling.spent`). :class:`ProgressReporter` prints one live
line on a terminal and stays silent otherwise (logs and CI stay clean).
"""

from __future__ import annotations

import asyncio
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
    "UsageMeans",
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
    """A request was not sent because it would break ``max_requests`` or ``max_cost``.

    Attributes:
      final: True when waiting cannot help (the request cap is reached, or nothing is in flight
        whose settlement could free budget); False when requests in flight may still settle
        below their reservation, so the refused request should wait and ask again.
    """

    def __init__(self, message: str, final: bool = True) -> None:
        super().__init__(message)
        self.final = final


class Reservation(NamedTuple):
    """Budget held for one request in flight.

    Attributes:
      cost: the expected cost reserved (see :class:`UsageMeans`).
      bound: the worst-case cost (``max_tokens`` per choice), charged when the real bill is
        unknown (a timeout: the server may have answered and billed).
    """

    cost: float
    bound: float


def _check_cap(name: str, value: float | None, integer: bool) -> None:
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value) or (
        value < 0
    ):
        kind = "an integer" if integer else "a finite number"
        raise ValueError(f"{name} must be {kind} >= 0 or None, got {value!r}")


class Budget:
    """Caps on requests and cost for one records file, enforced by reserving before sending.

    Every HTTP request (retries included) takes one request slot and reserves its *expected*
    cost (:class:`UsageMeans`); :meth:`settle` replaces the reservation by the real cost. A
    request whose reservation does not fit waits (:meth:`wait_reserve`) while other requests are
    in flight, since they may settle below their reservation, and is refused for good only when
    nothing is in flight and it still does not fit: no work is left unsent while budget
    remains. Requests are never given back: a request that reached the network may have been
    billed.

    The cost cap holds up to the deviation of the requests in flight: each admitted request fit
    (spent + reserved + its expected cost <= ``max_cost``) when it was admitted, so the final
    cost is at most ``max_cost`` plus, over the requests in flight at the last admission, their
    real cost minus their expected cost: at most one in-flight batch (``max_concurrency``
    requests) of worst-case minus expected cost. A model's first request may also go alone
    (``probe``) while budget remains, passing the cap by at most its worst-case cost.
    ``max_requests`` holds exactly.

    Args:
      max_requests: most HTTP requests, or None for no cap.
      max_cost: most currency, or None for no cap.
      spent_requests: requests already spent on the same records file (an earlier run).
      spent_cost: cost already spent on it.

    Raises:
      ValueError: if a cap is negative, NaN or infinite.

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
        _check_cap("max_requests", max_requests, integer=True)
        _check_cap("max_cost", max_cost, integer=False)
        self.max_requests = max_requests
        self.max_cost = max_cost
        self.requests = spent_requests
        self.cost = spent_cost
        self._reserved = 0.0
        self._in_flight = 0
        self._wake: asyncio.Event | None = None
        # Clients run in one event loop, but a lock keeps the check-and-update atomic for threads too.
        self._lock = threading.Lock()

    def reserve(self, expected_cost: float, cost_bound: float | None = None,
                probe: bool = False) -> Reservation:  # fmt: skip
        """Take one request slot and ``expected_cost`` of budget, or raise without taking anything.

        Args:
          expected_cost: the cost reserved.
          cost_bound: the request's worst-case cost (default ``expected_cost``).
          probe: the expected cost is only the worst case (the model has not answered yet): then
            the request is also admitted alone (nothing in flight) while spent < ``max_cost``,
            so a cap below one worst-case request still lets the first answer tell what a
            request really costs.

        Raises:
          BudgetExhausted: if either cap would be exceeded (``final`` says whether waiting for
            the requests in flight could help).
        """
        bound = expected_cost if cost_bound is None else max(cost_bound, expected_cost)
        with self._lock:
            if self.max_requests is not None and self.requests + 1 > self.max_requests:
                raise BudgetExhausted(f"max_requests={self.max_requests} reached")
            alone = (probe and self.max_cost is not None and self._in_flight == 0
                     and self.cost < self.max_cost)
            if self.max_cost is not None and not alone and (
                self.cost + self._reserved + expected_cost > self.max_cost + 1e-12
            ):
                raise BudgetExhausted(
                    f"max_cost={self.max_cost} would be exceeded (spent {self.cost:.6g}, "
                    f"next request about {expected_cost:.6g})", final=self._in_flight == 0)
            self.requests += 1
            self._reserved += expected_cost
            self._in_flight += 1
            return Reservation(expected_cost, bound)

    async def wait_reserve(self, expected_cost: float, cost_bound: float | None = None,
                           probe: bool = False) -> Reservation:  # fmt: skip
        """:meth:`reserve`, waiting while a refusal is not final (requests in flight may settle
        below their reservation); for requests of one event loop.

        Raises:
          BudgetExhausted: once the refusal is final.
        """
        while True:
            try:
                return self.reserve(expected_cost, cost_bound, probe)
            except BudgetExhausted as error:
                if error.final:
                    raise
                # No await between the refusal and taking the event: no settle can slip between.
                if self._wake is None:
                    self._wake = asyncio.Event()
                wake = self._wake
            await wake.wait()

    def settle(self, reservation: Reservation, actual_cost: float) -> None:
        """Replace a reservation by the cost actually charged, and wake requests waiting for
        budget."""
        with self._lock:
            self._reserved -= reservation.cost
            self._in_flight -= 1
            if self._in_flight == 0:
                self._reserved = 0.0  # no float residue once nothing is reserved
            self.cost += actual_cost
            wake, self._wake = self._wake, None
        if wake is not None:
            wake.set()

    @property
    def committed_cost(self) -> float:
        """Spent plus reserved (expected) cost."""
        with self._lock:
            return self.cost + self._reserved

    @property
    def in_flight(self) -> int:
        """Requests reserved and not yet settled."""
        with self._lock:
            return self._in_flight

    def __repr__(self) -> str:
        return (
            f"Budget(requests={self.requests}/{self.max_requests}, "
            f"cost={self.cost:.6g}/{self.max_cost})"
        )


class UsageMeans:
    """Running means of what each model's requests used, to reserve a request's expected cost.

    Before a model's first answer the expectation is the worst case (``max_tokens`` per choice,
    the prompt's byte bound); after it, the mean completion tokens per choice seen so far (at
    most ``max_tokens``) and the mean ratio of reported prompt tokens to the byte bound. A run
    on an existing records file starts from the means of its stored samples.

    >>> means = UsageMeans()
    >>> price = Price(completion_per_1k=1000.0)  # 1 per completion token
    >>> means.expected_cost("m", price, prompt_bound=30, choices=2, max_tokens=100)
    200.0
    >>> means.observe("m", completion_tokens=10, choices=1, prompt_tokens=None, prompt_bound=30)
    >>> means.expected_cost("m", price, prompt_bound=30, choices=2, max_tokens=100)
    20.0
    """

    def __init__(self) -> None:
        self._completion: dict[str, list[float]] = {}  # model -> [tokens, choices]
        self._prompt: dict[str, list[float]] = {}  # model -> [sum of tokens / bound, count]
        self._lock = threading.Lock()

    def observe(self, model: str, completion_tokens: float, choices: int,
                prompt_tokens: int | None, prompt_bound: int | None) -> None:  # fmt: skip
        """Count one response: its completion tokens over ``choices`` choices and, when the
        server reported it, its prompt tokens against the byte bound of its prompt."""
        with self._lock:
            if choices > 0:
                total = self._completion.setdefault(model, [0.0, 0])
                total[0] += completion_tokens
                total[1] += choices
            if prompt_tokens is not None and prompt_bound:
                ratio = self._prompt.setdefault(model, [0.0, 0])
                ratio[0] += min(prompt_tokens / prompt_bound, 1.0)
                ratio[1] += 1

    def seen(self, model: str) -> bool:
        """Whether ``model`` has answered (else its expected cost is the worst case)."""
        with self._lock:
            return model in self._completion

    def expected_cost(self, model: str, price: Price, prompt_bound: int, choices: int,
                      max_tokens: int) -> float:  # fmt: skip
        """The expected cost of one request asking ``choices`` choices."""
        with self._lock:
            tokens, seen = self._completion.get(model, (0.0, 0))
            ratio, reported = self._prompt.get(model, (0.0, 0))
        per_choice = min(tokens / seen, max_tokens) if seen else max_tokens
        prompt = prompt_bound * (ratio / reported if reported else 1.0)
        return price.cost(prompt, choices * per_choice)


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
