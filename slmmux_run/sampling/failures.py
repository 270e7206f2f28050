"""Why requests failed, in one line: the commonest error (its HTTP status) and what to do about it.

Runner layer, no computation. A live run (``mux --live``, ``debate run``, ``collect``) whose
samples all failed has nothing to score: an accuracy over them would be 0 by construction, not a
result. The commands summarise the stored errors with :func:`summarize_failures`, and when
:attr:`FailureSummary.all_failed` holds they print :func:`failure_line` on stderr and exit 3
instead of printing an accuracy.

Example:
  >>> summary = summarize_failures(["HTTP 401: bad key", "HTTP 401: bad key", None])
  >>> summary.failed, summary.samples, summary.all_failed
  (2, 3, False)
  >>> summary.status
  401
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["FailureSummary", "failure_hint", "failure_line", "summarize_failures"]

_STATUS_HINTS = {
    400: "the server rejected the request: check the model name and the settings in the config",
    401: "the API key was refused: check that the variable named by api_key_env in the config "
         "is exported and holds a valid key",
    403: "the API key lacks access to this model: check the key's permissions and the model name",
    404: "nothing answers at that address: check base_url and the model name in the config",
    408: "the server timed out: raise timeout_seconds or lower max_tokens",
    413: "the request is too large: lower max_tokens or shorten the prompt",
    422: "the server rejected the request: check the model name and the settings in the config",
    429: "rate limited: lower rpm or concurrency in the config, or retry later",
}
_KIND_HINTS = {
    "connection": "no server answered: check base_url in the config and that the server is up",
    "timeout": "the server did not answer in time: raise timeout_seconds or check the server",
    "malformed": "the answers were not OpenAI-shaped JSON: check base_url and the api setting",
}


class FailureSummary(NamedTuple):
    """The failed samples of a run.

    Attributes:
      samples: samples looked at (stored successes and failures).
      failed: how many of them failed.
      error: the commonest error text ("" when none failed).
      count: how many samples had that error.
      status: its HTTP status, or None when it was not an HTTP error.
    """

    samples: int
    failed: int
    error: str
    count: int
    status: int | None

    @property
    def all_failed(self) -> bool:
        """Whether there were samples and every one failed (nothing can be scored)."""
        return self.samples > 0 and self.failed == self.samples


def summarize_failures(errors: Iterable[str | None]) -> FailureSummary:
    """Summarise one error text per sample (None for a success).

    Args:
      errors: per sample, its stored error (``Record.error``, ``Turn.error``) or None.
    """
    errors = list(errors)
    failed = Counter(error for error in errors if error is not None)
    if not failed:
        return FailureSummary(len(errors), 0, "", 0, None)
    error, count = failed.most_common(1)[0]
    match = re.match(r"HTTP (\d{3})\b", error)
    status = int(match.group(1)) if match else None
    return FailureSummary(len(errors), sum(failed.values()), error, count, status)


def failure_hint(summary: FailureSummary) -> str:
    """What to do about the commonest error.

    >>> failure_hint(summarize_failures(["connection failed: ConnectError"]))[:16]
    'no server answer'
    """
    if summary.status is not None:
        if summary.status in _STATUS_HINTS:
            return _STATUS_HINTS[summary.status]
        if summary.status >= 500:
            return "the server failed: retry later, or check its logs"
        return "check the config's base_url, model and api_key_env"
    for prefix, kind in (("connection", "connection"), ("timeout", "timeout"),
                         ("malformed", "malformed")):  # fmt: skip
        if summary.error.startswith(prefix):
            return _KIND_HINTS[kind]
    return "check the config's base_url, model and api_key_env"


def failure_line(summary: FailureSummary, what: str = "samples") -> str:
    """One line saying how many failed, the commonest error and the hint.

    >>> print(failure_line(summarize_failures(["HTTP 401: no"] * 2)))
    all 2 samples failed, nothing to score: HTTP 401: no (2 of 2); the API key was refused: \
check that the variable named by api_key_env in the config is exported and holds a valid key
    """
    share = "all" if summary.all_failed else f"{summary.failed} of"
    return (f"{share} {summary.samples} {what} failed"
            f"{', nothing to score' if summary.all_failed else ''}: {summary.error} "
            f"({summary.count} of {summary.failed}); {failure_hint(summary)}")
