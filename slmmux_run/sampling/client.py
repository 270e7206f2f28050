"""Async client for OpenAI-compatible endpoints: limits, retries, budget and ``n`` top-up.

Floor 1 of the runner (see ARCHITECTURE.md). It turns one :class:`SampleRequest` ("k samples of
this prompt from this model") into k :class:`SampleResult` values, one per sample index, and
never computes anything about answers. What it guarantees:

* **Independent samples (METHODS §1.2).** A request may ask for several choices with ``n``, but
  a server may return fewer (or ignore ``n``); the client then tops up with further requests
  until every sample index has a result. The request that starts at sample index ``j`` sends the
  seed :func:`derive_seed` ``(seed, j)``, so a top-up is a fresh draw, not a cached copy, and a
  resumed run sends exactly the requests an uninterrupted run would have sent.
* **Limits.** One global concurrency cap, and per replica a concurrency cap and a requests-per-
  minute limiter (:mod:`~slmmux_run.sampling.rate`: any 60-s window, seeded with the sends a
  records file already holds); a model with several replica URLs sends each request to the least
  busy one (round-robin among equals).
* **Retries** (tenacity) on 408/409/429/5xx, timeouts, connection errors and malformed JSON, with
  exponential backoff and full jitter; a ``Retry-After`` header (seconds) is honoured. Other 4xx
  fail at once. Attempts are bounded (``RunnerConfig.max_attempts``).
* **Spending.** Each HTTP request reserves its expected cost in a
  :class:`~slmmux_run.sampling.spending.Budget` before it is sent (the model's running token
  means, :class:`~slmmux_run.sampling.spending.UsageMeans`; the worst case before its first
  answer), waits while a reservation does not fit but requests in flight may free budget, and
  settles the real cost; every sample says which call produced it, when that call's attempts
  were sent and what the call cost, so a records file knows what it spent
  (:mod:`~slmmux_run.sampling.spent`).
* **Secrets.** The API key is read from ``os.environ[api_key_env]`` at request time, only put in
  the ``Authorization`` header, and replaced by ``[REDACTED]`` in every error string and log line;
  ``api_key_env`` itself is only ever printed when it looks like a variable name (a key pasted
  there is refused by the config without being echoed).
* **Durable as it arrives.** :meth:`Client.sample` hands each HTTP response's samples to an
  ``on_response`` callback and awaits it before that request's next top-up is paid for, and a
  request keeps its global concurrency slot until then, so a caller that stores them there
  loses at most ``max_concurrency`` requests when killed (each with up to ``max_attempts``
  billed attempts when it was retrying; see :mod:`~slmmux_run.sampling.spent`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from slmmux_run.sampling._wire import (
    choice_text,
    completion_token_counts,
    request_body,
    retry_after_seconds,
)
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.errors import UserError
from slmmux_run.sampling.rate import WINDOW_SECONDS, RateLimiter
from slmmux_run.sampling.spending import (
    Budget,
    BudgetExhausted,
    ProgressReporter,
    Reservation,
    UsageMeans,
    prompt_token_bound,
)
from slmmux_run.sampling.sample_request import (
    SampleRequest,
    SampleResult,
    Usage,
    derive_seed,
    estimate_requests,
)
from slmmux_run.sampling.spent import Spent

__all__ = [
    "Client",
    "SampleRequest",
    "SampleResult",
    "Usage",
    "derive_seed",
    "endpoint_url",
    "estimate_requests",
    "redact",
]

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
REDACTED = "[REDACTED]"
_ERROR_SNIPPET = 160


def endpoint_url(base_url: str, api: str) -> str:
    """Full URL of the chat or completions endpoint.

    >>> endpoint_url("http://127.0.0.1:8003", "chat")
    'http://127.0.0.1:8003/v1/chat/completions'
    >>> endpoint_url("https://x.example/v1/", "completions")
    'https://x.example/v1/completions'
    """
    base = base_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + ("/chat/completions" if api == "chat" else "/completions")


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret in ``text`` by ``[REDACTED]``.

    >>> redact("bad key sk-123456", ["sk-123456"])
    'bad key [REDACTED]'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


@dataclass
class _Replica:
    url: str
    semaphore: asyncio.Semaphore
    limiter: RateLimiter
    busy: int = 0


@dataclass
class _Model:
    config: ModelConfig
    replicas: list[_Replica]
    turn: int = 0


class _AttemptError(Exception):
    """One failed HTTP attempt. ``str()`` is already redacted."""

    def __init__(
        self, message: str, kind: str, retry_after: float | None = None, retryable: bool = True
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.retryable = retryable


class _Retryable(_AttemptError):
    pass


@dataclass
class _CallOutcome:
    choices: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    latency: float = 0.0
    fingerprint: str | None = None
    attempts: int = 0
    cost: float = 0.0  # the answer's bill
    retry_cost: float = 0.0  # what the failed attempts were charged
    error: _AttemptError | None = None
    sent_at: list[float] = field(default_factory=list)
    replica: int | None = None
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])


def _contiguous_runs(indices: Sequence[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for index in sorted(set(indices)):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


class Client:
    """Send sampling requests to the models of a :class:`RunnerConfig`.

    Use as ``async with Client(config) as client: results = await client.sample(request)``.

    Args:
      config: models, limits, retry settings.
      budget: caps on requests and cost; unlimited when None.
      progress: optional progress reporter, updated once per sample.
      transport: an httpx transport (``httpx.MockTransport`` in unit tests).
      sleep: async sleep used between retries and by the rate limiters (injectable for tests).
      spent: what the records file written to already spent
        (:func:`~slmmux_run.sampling.spent.spent_in_records`): its sends of the last minute seed
        the rate limiters and its token counts the expected costs.
      clock: monotonic clock of the rate limiters (injectable for tests).
      wall_clock: wall clock of the send times kept in results (injectable for tests).
    """

    def __init__(
        self,
        config: RunnerConfig,
        *,
        budget: Budget | None = None,
        progress: ProgressReporter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        spent: Spent | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.budget = budget if budget is not None else Budget()
        self.progress = progress
        self.means = UsageMeans()
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._global = asyncio.Semaphore(config.max_concurrency)
        sends = spent.send_times if spent is not None else {}
        # Wall-clock send times of the records file, moved onto the limiters' monotonic clock.
        offset = clock() - wall_clock()

        def limiter(name: str, index: int, rpm: int | None) -> RateLimiter:
            past = sends.get((name, index), []) + sends.get((name, None), [])
            recent = [t + offset for t in past if t > wall_clock() - WINDOW_SECONDS]
            return RateLimiter(rpm, clock=clock, sleep=sleep, sent=recent)

        self._models = {
            name: _Model(model, [
                _Replica(url, asyncio.Semaphore(model.max_concurrency),
                         limiter(name, index, model.rpm))
                for index, url in enumerate(model.base_urls)
            ])
            for name, model in config.models.items()
        }  # fmt: skip
        for name, (tokens, samples) in (spent.completion if spent is not None else {}).items():
            self.means.observe(name, tokens, samples, None, None)
        connections = config.max_concurrency + 4
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(config.timeout_seconds),
            limits=httpx.Limits(
                max_connections=connections, max_keepalive_connections=connections
            ),
        )

    def __repr__(self) -> str:
        return f"Client(models={sorted(self._models)!r}, budget={self.budget!r})"

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    def _secrets(self) -> list[str]:
        names = {m.api_key_env for m in self.config.models.values() if m.api_key_env}
        return [os.environ[name] for name in names if os.environ.get(name)]

    def _headers(self, model: ModelConfig) -> dict[str, str]:
        headers = dict(model.headers)
        if model.api_key_env:
            key = os.environ.get(model.api_key_env)
            if not key:
                raise UserError(
                    f"environment variable {model.api_key_env} (api_key_env of model "
                    f"{model.name!r}) is not set"
                )
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _pick(self, model: _Model) -> tuple[int, _Replica]:
        # Least busy replica; among equals, rotate so idle replicas share the load.
        count = len(model.replicas)
        order = [(model.turn + i) % count for i in range(count)]
        model.turn = (model.turn + 1) % count
        index = min(order, key=lambda i: model.replicas[i].busy)
        return index, model.replicas[index]

    def _body(self, request: SampleRequest, model: ModelConfig, n: int, seed: int | None) -> dict:
        return request_body(model.model, model.api, request.prompt, request.temperature,
                            request.max_tokens, n, seed, request.stop)  # fmt: skip

    def _charge(self, call: _CallOutcome, reservation: Reservation, cost: float,
                answer: bool = False) -> None:  # fmt: skip
        self.budget.settle(reservation, cost)
        if answer:
            call.cost += cost
        else:
            call.retry_cost += cost

    async def _attempt(
        self, model: _Model, body: dict, headers: dict[str, str], call: _CallOutcome,
        prompt_bound: int,
    ) -> Reservation:
        """One HTTP attempt; fills ``call`` (choices, usage, sends, cost so far) on success."""
        config = model.config
        n = body.get("n", 1)
        expected = self.means.expected_cost(config.name, config.price, prompt_bound, n,
                                            body["max_tokens"])  # fmt: skip
        bound = config.price.cost(prompt_bound, n * body["max_tokens"])
        index, replica = self._pick(model)
        replica.busy += 1
        try:
            async with replica.semaphore:
                try:
                    reservation = await self.budget.wait_reserve(
                        expected, bound, probe=not self.means.seen(config.name))
                except BudgetExhausted as error:
                    raise _AttemptError(f"not sent: {error}", "budget", retryable=False) from None
                await replica.limiter.acquire()
                call.sent_at.append(self._wall_clock())
                call.replica = index
                started = time.perf_counter()
                try:
                    response = await self._http.post(
                        endpoint_url(replica.url, config.api), json=body, headers=headers
                    )
                    payload_bytes = response.content
                except httpx.ConnectError as error:
                    self._charge(call, reservation, 0.0)  # never reached the server
                    message = f"connection failed: {type(error).__name__}"
                    raise _Retryable(message, "connection") from None
                except httpx.TimeoutException as error:
                    self._charge(call, reservation, bound)  # may have been billed: worst case
                    raise _Retryable(f"timeout ({type(error).__name__})", "timeout") from None
                except httpx.TransportError as error:
                    self._charge(call, reservation, bound)
                    message = f"connection error: {type(error).__name__}"
                    raise _Retryable(message, "connection") from None
                call.latency = time.perf_counter() - started
        finally:
            replica.busy -= 1

        status = response.status_code
        if status != 200:
            # Error responses carry no tokens, but a per-call price may still apply.
            self._charge(call, reservation, config.price.per_call)
            snippet = redact(response.text, self._secrets())[:_ERROR_SNIPPET].replace("\n", " ")
            message = f"HTTP {status}: {snippet}"
            if status in RETRYABLE_STATUS:
                raise _Retryable(message, "http", retry_after_seconds(response))
            raise _AttemptError(message, "http", retryable=False)
        try:
            payload = json.loads(payload_bytes)
            choices = payload["choices"]
            if not isinstance(choices, list) or not choices:
                raise ValueError("no choices")
            for choice in choices:
                choice_text(choice, config.api)
        except (ValueError, KeyError, TypeError) as error:
            self._charge(call, reservation, bound)  # answered, so billed: tokens unknown
            raise _Retryable(f"malformed response: {type(error).__name__}", "malformed") from None
        usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
        fingerprint = payload.get("system_fingerprint")
        call.choices = sorted(
            choices, key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0
        )
        call.usage = usage
        call.fingerprint = fingerprint if isinstance(fingerprint, str) else None
        return reservation

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(
            multiplier=self.config.backoff_initial_seconds, max=self.config.backoff_max_seconds
        )(state)
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _AttemptError) and error.retry_after is not None:
            return min(error.retry_after, self.config.backoff_max_seconds)
        return backoff

    def _failed(self, call: _CallOutcome, error: _AttemptError,
                last: _AttemptError | None) -> _CallOutcome:  # fmt: skip
        if error.kind == "budget" and last is not None:
            # Earlier attempts were sent (and charged): the call failed with their error.
            error = _AttemptError(f"{last}; retry {error}", last.kind, retryable=False)
        call.error, call.attempts = error, len(call.sent_at)
        return call

    async def _call(
        self, model: _Model, body: dict, headers: dict[str, str], prompt_bound: int
    ) -> _CallOutcome:
        call = _CallOutcome()
        # Fast path: most requests succeed at once, so tenacity is entered only after a failure.
        try:
            reservation = await self._attempt(model, body, headers, call, prompt_bound)
        except _Retryable as error:
            first_error: _Retryable | None = error
        except _AttemptError as error:
            return self._failed(call, error, None)
        else:
            self._settle(model.config, body, call, reservation, prompt_bound)
            return call

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning(
                "%s: attempt %d failed (%s); retrying in %.2fs",
                model.config.name,
                state.attempt_number,
                error,
                state.next_action.sleep if state.next_action else 0.0,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        last: _AttemptError | None = first_error
        try:
            async for attempt in retrying:
                with attempt:
                    if first_error is not None:
                        # Replay the fast path's failure as tenacity's attempt 1, so backoff,
                        # Retry-After and the attempt bound work exactly as without the fast path.
                        error, first_error = first_error, None
                        raise error
                    try:
                        reservation = await self._attempt(model, body, headers, call,
                                                          prompt_bound)  # fmt: skip
                    except _Retryable as error:
                        last = error
                        raise
        except _AttemptError as error:
            return self._failed(call, error, last if error is not last else None)
        self._settle(model.config, body, call, reservation, prompt_bound)
        return call

    def _settle(self, model: ModelConfig, body: dict, call: _CallOutcome,
                reservation: Reservation, prompt_bound: int) -> None:  # fmt: skip
        call.attempts = len(call.sent_at)
        per_choice = completion_token_counts(call.choices, call.usage, body.get("max_tokens"),
                                             model.api)  # fmt: skip
        reported = call.usage.get("completion_tokens")
        completion = sum(tokens for tokens, _ in per_choice)
        if isinstance(reported, int):
            completion = max(completion, reported)
        prompt = call.usage.get("prompt_tokens")
        reported_prompt = prompt if isinstance(prompt, int) else None
        if reported_prompt is None:
            prompt = prompt_bound  # the server did not say: charge the pessimistic count
        self._charge(call, reservation, model.price.cost(prompt, completion), answer=True)
        self.means.observe(model.name, completion, len(call.choices), reported_prompt,
                           prompt_bound)  # fmt: skip

    def _failure(
        self, index: int, seed: int | None, n: int, outcome: _CallOutcome
    ) -> SampleResult:
        assert outcome.error is not None
        sent = bool(outcome.sent_at)
        return SampleResult(
            sample_index=index,
            text=None,
            usage=None,
            latency_seconds=outcome.latency,
            seed=seed,
            choices_requested=n,
            attempts=outcome.attempts,
            retry_cost=outcome.retry_cost / n,
            error=redact(str(outcome.error), self._secrets())[:200],
            error_kind=outcome.error.kind,
            call_id=outcome.call_id if sent else None,
            sent_at=tuple(outcome.sent_at),
            replica=outcome.replica,
        )

    async def sample(
        self,
        request: SampleRequest,
        indices: Sequence[int] | None = None,
        on_response: Callable[[list[SampleResult]], Awaitable[None]] | None = None,
    ) -> list[SampleResult]:
        """Draw the samples of ``request`` with the given indices (default: all k).

        Failed samples come back with ``error`` set rather than raising, so one bad request
        never loses the others. Results are sorted by sample index.

        Args:
          request: what to sample.
          indices: the sample indices wanted (default ``0..k-1``).
          on_response: awaited with the samples of each HTTP request as it completes (or fails,
            or is refused by the budget), before the next request for ``request`` is sent; a
            caller stores them there so a kill loses only what is in flight.

        Raises:
          UserError: if the model is unknown or its API key variable is unset.
        """
        model = self._models.get(request.model)
        if model is None:
            self.config.model(request.model)  # raises the UserError naming known models
        assert model is not None
        headers = self._headers(model.config)
        wanted = list(range(request.samples)) if indices is None else list(indices)

        async def deliver(results: list[SampleResult]) -> None:
            if self.progress is not None:
                for result in results:
                    tokens = result.usage.completion_tokens if result.usage else 0
                    self.progress.update(failed=result.error is not None, tokens=tokens,
                                         cost=result.cost + result.retry_cost)  # fmt: skip
            if on_response is not None:
                await on_response(results)

        results: list[SampleResult] = []
        for run in _contiguous_runs(wanted):
            results.extend(await self._sample_run(request, model, headers, run, deliver))
        return results

    async def _sample_run(
        self,
        request: SampleRequest,
        model: _Model,
        headers: dict[str, str],
        run: list[int],
        deliver: Callable[[list[SampleResult]], Awaitable[None]],
    ) -> list[SampleResult]:
        config = model.config
        results: list[SampleResult] = []
        remaining = run
        while remaining:
            n = min(len(remaining), config.max_choices_per_call)
            seed = derive_seed(request.seed, remaining[0])
            body = self._body(request, config, n, seed)
            # The global slot is held from the first send until the caller has stored the
            # samples: at most max_concurrency requests are ever sent and not yet stored (what a
            # kill can lose, and what a records file's caps cannot see).
            async with self._global:
                outcome = await self._call(model, body, headers,
                                           prompt_token_bound(request.prompt))  # fmt: skip
                arrived = self._results(request, config, remaining, n, seed, outcome)
                await deliver(arrived)
            results.extend(arrived)
            remaining = remaining[len(arrived):]
        return results

    def _results(self, request: SampleRequest, config: ModelConfig, remaining: list[int], n: int,
                 seed: int | None, outcome: _CallOutcome) -> list[SampleResult]:  # fmt: skip
        """The samples of one finished call: its choices, or its failure for n indices."""
        if outcome.error is not None:
            return [self._failure(i, seed, n, outcome) for i in remaining[:n]]
        choices = outcome.choices[:n]
        arrived: list[SampleResult] = []
        counts = completion_token_counts(choices, outcome.usage, request.max_tokens, config.api)
        shared = {"call_id": outcome.call_id, "sent_at": tuple(outcome.sent_at),
                  "replica": outcome.replica, "attempts": outcome.attempts,
                  "cost": outcome.cost / len(choices),
                  "retry_cost": outcome.retry_cost / len(choices)}  # fmt: skip
        prompt_tokens = outcome.usage.get("prompt_tokens")
        for offset, (choice, (tokens, estimated)) in enumerate(zip(choices, counts)):
            arrived.append(
                SampleResult(
                    sample_index=remaining[offset],
                    text=choice_text(choice, config.api),
                    usage=Usage(
                        prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
                        completion_tokens=tokens,
                        completion_estimated=estimated,
                        call_choices=len(choices),
                    ),
                    latency_seconds=outcome.latency,
                    seed=seed,
                    choices_requested=n,
                    finish_reason=choice.get("finish_reason"),
                    system_fingerprint=outcome.fingerprint,
                    **shared,
                )
            )
        return arrived
