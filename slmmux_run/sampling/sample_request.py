"""What the sampling client is asked and what it returns: the request and result values.

Runner layer, no I/O. :class:`SampleRequest` ("k samples of this prompt from this model"), the
:class:`SampleResult` of each sample index with its :class:`Usage`, the seed of a request that
starts at a later sample index (:func:`derive_seed`: top-ups and resumed gaps draw fresh samples)
and the dry-run estimate of a list of requests (:func:`estimate_requests`). The retrying HTTP
client that fills them is :mod:`slmmux_run.sampling.client` (which re-exports these names);
collect, batch, the debate runs and the record files use them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from slmmux_run.sampling.config import RunnerConfig
from slmmux_run.sampling.spending import PlannedRequest, SpendEstimate, estimate_spend

__all__ = ["SampleRequest", "SampleResult", "Usage", "derive_seed", "estimate_requests"]


@dataclass(frozen=True)
class SampleRequest:
    """k samples of one prompt from one model.

    Attributes:
      model: model name in the :class:`~slmmux_run.sampling.config.RunnerConfig`.
      prompt: a string (a plain completion prompt, or one user message for a chat model) or
        chat messages as ``(role, content)`` pairs.
      samples: samples wanted (k), indices ``0..k-1``.
      temperature: sampling temperature.
      max_tokens: completion limit per sample.
      seed: base seed, or None to let the server choose (then samples are not reproducible).
      stop: stop strings.
    """

    model: str
    prompt: str | tuple[tuple[str, str], ...]
    samples: int = 1
    temperature: float = 0.7
    max_tokens: int = 256
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """Tokens behind one sample.

    Attributes:
      prompt_tokens: prompt tokens of the HTTP request that produced the sample (shared by its
        ``call_choices`` samples), or None when the server did not say.
      completion_tokens: completion tokens of this sample.
      completion_estimated: True when ``completion_tokens`` is ``ceil(len(text) / 4)`` because the
        server gave no per-choice count (xllamacpp's usage covers one choice when ``n > 1``).
      call_choices: how many samples the producing request returned.
    """

    prompt_tokens: int | None
    completion_tokens: int
    completion_estimated: bool
    call_choices: int


@dataclass(frozen=True)
class SampleResult:
    """One sample (or its failure).

    Attributes:
      sample_index: index of this sample in ``0..k-1``.
      text: raw completion text, or None when the request failed.
      usage: token counts, or None when the request failed.
      latency_seconds: wall time of the HTTP request that produced it (last attempt).
      seed: the seed sent in that request (see :func:`derive_seed`), or None.
      choices_requested: the ``n`` sent in that request.
      finish_reason: the server's finish reason, e.g. ``"stop"`` or ``"length"``.
      system_fingerprint: the server's fingerprint, if any.
      attempts: HTTP attempts made for the producing request.
      cost: this sample's share of the bill of the response that produced it.
      retry_cost: its share of what the request's failed attempts were charged (a per-call
        price, or the worst case when a timeout left the bill unknown); path-dependent, unlike
        ``cost``.
      error: None, or a short error text with secrets redacted.
      error_kind: None, ``"http"``, ``"timeout"``, ``"connection"``, ``"malformed"`` or
        ``"budget"`` (not sent: a cap would be exceeded).
      call_id: an id shared by the samples of one request (None when nothing was sent).
      sent_at: wall-clock time (``time.time()``) of each attempt of that request that was sent.
      replica: index of the replica URL the last attempt went to.
    """

    sample_index: int
    text: str | None
    usage: Usage | None
    latency_seconds: float
    seed: int | None
    choices_requested: int
    finish_reason: str | None = None
    system_fingerprint: str | None = None
    attempts: int = 1
    cost: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    retry_cost: float = 0.0
    call_id: str | None = None
    sent_at: tuple[float, ...] = ()
    replica: int | None = None


def derive_seed(seed: int | None, first_index: int) -> int | None:
    """The seed of the request whose first sample has index ``first_index``.

    Index 0 keeps the base seed; later starts (top-ups, resumed gaps) get a hashed seed so they
    draw fresh samples instead of repeating choice 0.

    >>> derive_seed(7, 0), derive_seed(None, 2)
    (7, None)
    >>> derive_seed(7, 2) == derive_seed(7, 2) != derive_seed(7, 3)
    True
    """
    if seed is None or first_index == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:{first_index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def estimate_requests(config: RunnerConfig, requests: Sequence[SampleRequest]) -> SpendEstimate:
    """Dry-run estimate of a list of requests under a config (nothing is sent).

    Print it with :func:`slmmux_run.sampling.spending.format_estimate` before a run starts.

    Raises:
      UserError: if a request names a model missing from the config.
    """
    planned = []
    for request in requests:
        model = config.model(request.model)
        planned.append(
            PlannedRequest(
                request.prompt,
                request.samples,
                request.max_tokens,
                model.max_choices_per_call,
                model.price,
            )
        )
    return estimate_spend(planned)
