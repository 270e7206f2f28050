"""The OpenAI wire format: prompts into request fields, response fields out of a reply.

Private helper of :mod:`slmmux_run.sampling.client` (runner layer, HTTP): pure functions over
parsed JSON and headers, no I/O.

>>> as_messages("2+2?")
[{'role': 'user', 'content': '2+2?'}]
>>> choice_text({"message": {"content": "4"}}, "chat")
'4'
>>> own_token_count({"usage": {"completion_tokens": 3}})
3
"""

from __future__ import annotations

import math
from typing import Any

import httpx

__all__ = [
    "as_messages", "as_text", "choice_text", "completion_token_counts", "own_token_count",
    "request_body", "retry_after_seconds",
]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """A ``Retry-After`` header in seconds, or None (absent, or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def choice_text(choice: Any, api: str) -> str:
    """The text of one choice of a chat or completions response.

    Raises:
      ValueError: if the choice is not an object or its text is not a string.
      KeyError: if the text field is missing.
    """
    if not isinstance(choice, dict):
        raise ValueError("choice is not an object")
    text = choice["message"]["content"] if api == "chat" else choice["text"]
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError("choice text is not a string")
    return text


def own_token_count(choice: dict[str, Any]) -> int | None:
    """A choice's own completion-token count, when the server gives one."""
    usage = choice.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        return usage["completion_tokens"]
    logprobs = choice.get("logprobs")
    if isinstance(logprobs, dict):
        if isinstance(logprobs.get("content"), list):  # chat: one entry per token
            return len(logprobs["content"])
        if isinstance(logprobs.get("tokens"), list):  # completions: one entry per token
            return len(logprobs["tokens"])
    return None


def as_messages(prompt: str | tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """A prompt as chat messages (a string is one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": role, "content": content} for role, content in prompt]


def as_text(prompt: str | tuple[tuple[str, str], ...]) -> str:
    """A prompt as one completion text (chat contents joined by newlines)."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(content for _, content in prompt)


def completion_token_counts(choices: list[dict[str, Any]], usage: dict[str, Any],
                            max_tokens: int | None, api: str) -> list[tuple[int, bool]]:  # fmt: skip
    """(completion tokens, estimated) per choice of one response.

    A choice's own count wins; a lone choice takes the response's ``usage.completion_tokens``;
    a choice stopped by the limit used exactly ``max_tokens``; otherwise ``ceil(len(text) / 4)``,
    marked estimated (xllamacpp's usage covers one choice when ``n > 1``).

    >>> completion_token_counts([{"text": "abcdefgh"}, {"text": "x", "finish_reason": "length"}],
    ...                         {"completion_tokens": 2}, 16, "completions")
    [(2, True), (16, False)]
    """
    reported = usage.get("completion_tokens")
    counts = []
    for choice in choices:
        own = own_token_count(choice)
        if own is not None:
            counts.append((own, False))
        elif len(choices) == 1 and isinstance(reported, int):
            counts.append((reported, False))
        elif choice.get("finish_reason") == "length" and isinstance(max_tokens, int):
            counts.append((max_tokens, False))  # stopped by the limit: exactly max_tokens
        else:
            counts.append((math.ceil(len(choice_text(choice, api)) / 4), True))
    return counts


def request_body(model_id: str, api: str, prompt: Any, temperature: float, max_tokens: int,
                 n: int, seed: int | None, stop: Any = ()) -> dict[str, Any]:  # fmt: skip
    """The JSON body of one request (``n`` and ``seed`` only when they say something).

    >>> request_body("x", "completions", "2+2=", 0.7, 8, 1, None)
    {'model': 'x', 'temperature': 0.7, 'max_tokens': 8, 'prompt': '2+2='}
    """
    body: dict[str, Any] = {"model": model_id, "temperature": temperature,
                            "max_tokens": max_tokens}  # fmt: skip
    if api == "chat":
        body["messages"] = as_messages(prompt)
    else:
        body["prompt"] = as_text(prompt)
    if n > 1:
        body["n"] = n
    if seed is not None:
        body["seed"] = seed
    if stop:
        body["stop"] = list(stop)
    return body
