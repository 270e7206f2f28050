"""A real OpenAI-shaped HTTP server on 127.0.0.1 that injects faults on a seeded schedule.

Used by the runner's integration tests and the overhead benchmark. It answers
``/v1/chat/completions`` and ``/v1/completions`` with texts that depend only on
(prompt, seed, choice index), so a run is reproducible whatever faults happen on the way.

Faults (each with its own probability in :class:`FaultPlan`): 429 with ``Retry-After``, 500,
503, a response slower than the client's timeout, malformed JSON, a dropped connection, and
fewer choices than ``n``. Transient faults are drawn from (plan seed, request body, how many
times this body was seen), and never more than ``max_consecutive_faults`` times in a row for one
body, so a client with enough attempts always gets through. "Fewer choices" is drawn from
(plan seed, body) alone: the same request always gets the same number of choices, which keeps
top-ups identical between an interrupted and an uninterrupted run.

Run standalone: ``python tests/run/faultserver.py --port 8999`` (no faults unless asked).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FaultPlan", "FaultServer", "answer_text", "running_server"]

FAULT_KINDS = ("rate_limit", "server_error", "unavailable", "slow", "malformed", "drop")


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities of each fault per request, and its parameters.

    Attributes:
      seed: seed of the schedule.
      rate_limit: probability of 429 with ``Retry-After: retry_after``.
      server_error: probability of 500.
      unavailable: probability of 503.
      slow: probability of sleeping ``slow_seconds`` before answering.
      malformed: probability of a 200 with a broken JSON body.
      drop: probability of closing the connection without a response.
      fewer_choices: probability that a request with ``n > 1`` gets fewer choices.
      retry_after: the Retry-After value in seconds (a string, as sent).
      slow_seconds: delay of a slow response.
      latency_seconds: delay added to every response (to make runs last long enough to kill).
      max_consecutive_faults: at most this many transient faults in a row for one request body.
      echo_authorization_on_401: answer 401 echoing the Authorization header (as some real APIs
        do), to test that the client redacts it.
    """

    seed: int = 0
    rate_limit: float = 0.0
    server_error: float = 0.0
    unavailable: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    drop: float = 0.0
    fewer_choices: float = 0.0
    retry_after: str = "0"
    slow_seconds: float = 1.0
    latency_seconds: float = 0.0
    max_consecutive_faults: int = 2
    echo_authorization_on_401: bool = False


def answer_text(prompt: str, seed: Any, choice: int) -> str:
    """The deterministic answer for one choice.

    >>> answer_text("2+2", 1, 0) == answer_text("2+2", 1, 0) != answer_text("2+2", 1, 1)
    True
    """
    digest = hashlib.sha256(f"{prompt}|{seed}|{choice}".encode()).digest()
    return f"The answer is {int.from_bytes(digest[:2], 'big') % 20}."


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass
class _Stats:
    requests: int = 0
    by_run: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    fewer: int = 0
    paid: int = 0
    seen: dict[str, int] = field(default_factory=dict)
    consecutive: dict[str, int] = field(default_factory=dict)
    authorization: set[str] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "FaultServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/health":
            self._send_json(200, {"status": "ok"})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        plan = self.server.plan
        fault, fewer = self.server.decide(raw, self.headers)
        if plan.latency_seconds:
            time.sleep(plan.latency_seconds)
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            self._send_json(404, {"error": {"message": "unknown path"}})
            return
        if plan.echo_authorization_on_401:
            auth = self.headers.get("Authorization", "")
            self._send_json(401, {"error": {"message": f"Incorrect API key provided: {auth}"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON"}})
            return
        if fault == "rate_limit":
            self._send_json(429, {"error": "slow down"}, {"Retry-After": plan.retry_after})
        elif fault == "server_error":
            self._send_json(500, {"error": "boom"})
        elif fault == "unavailable":
            self._send_json(503, {"error": "unavailable"})
        elif fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif fault == "malformed":
            self._send_json(200, b'{"choices": [{"text": "trunc')
        else:
            if fault == "slow":
                time.sleep(plan.slow_seconds)
            self._send_json(200, self._completion(body, fewer))

    def _completion(self, body: dict[str, Any], fewer: bool) -> dict[str, Any]:
        chat = self.path == "/v1/chat/completions"
        prompt = (
            "\n".join(m["content"] for m in body["messages"]) if chat else body["prompt"]
        )
        n = int(body.get("n", 1))
        returned = max(1, n // 2) if (fewer and n > 1) else n
        if returned < n:
            self.server.count_fewer()
        self.server.count_paid(returned)
        seed = body.get("seed")
        choices = []
        for index in range(returned):
            text = answer_text(prompt, seed, index)
            content = {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            choices.append({"index": index, "finish_reason": "stop", **content})
        completion_tokens = sum(len(c.get("text") or c["message"]["content"]) // 4 for c in choices)
        return {
            "id": "fault-1",
            "object": "chat.completion" if chat else "text_completion",
            "model": body.get("model", "fault"),
            "system_fingerprint": "faultserver",
            "choices": choices,
            # Like llama.cpp with n > 1: usage counts the first choice only.
            "usage": {
                "prompt_tokens": len(prompt) // 4 + 1,
                "completion_tokens": completion_tokens if returned == 1 else len(
                    answer_text(prompt, seed, 0)
                ) // 4,
            },
        }


class FaultServer(ThreadingHTTPServer):
    """The server; use :func:`running_server` to run it in a background thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, plan: FaultPlan, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.plan = plan
        self.stats = _Stats()
        self._lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client vanishes mid-request (the tests kill clients on purpose)."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def decide(self, raw: bytes, headers: Any) -> tuple[str | None, bool]:
        """Pick the fault for one request and count it."""
        plan = self.plan
        digest = _digest(raw)
        with self._lock:
            stats = self.stats
            stats.requests += 1
            run = headers.get("X-Run-Id", "")
            stats.by_run[run] = stats.by_run.get(run, 0) + 1
            if headers.get("Authorization"):
                stats.authorization.add(headers["Authorization"])
            seen = stats.seen.get(digest, 0)
            stats.seen[digest] = seen + 1
            rng = random.Random(f"{plan.seed}|{digest}|{seen}")
            fault = None
            if stats.consecutive.get(digest, 0) < plan.max_consecutive_faults:
                draw = rng.random()
                for kind in FAULT_KINDS:
                    probability = getattr(plan, kind)
                    if draw < probability:
                        fault = kind
                        break
                    draw -= probability
            stats.consecutive[digest] = stats.consecutive.get(digest, 0) + 1 if fault else 0
            if fault:
                stats.faults[fault] = stats.faults.get(fault, 0) + 1
            fewer = random.Random(f"{plan.seed}|{digest}|fewer").random() < plan.fewer_choices
            return fault, fewer

    def count_fewer(self) -> None:
        """Count one response that returned fewer choices than asked."""
        with self._lock:
            self.stats.fewer += 1

    def count_paid(self, choices: int) -> None:
        """Count the samples (choices) of one completed answer: what a paid API would bill,
        whether or not the client lives to read it."""
        with self._lock:
            self.stats.paid += choices


class running_server:  # noqa: N801 - used as a context manager, like open()
    """Run a :class:`FaultServer` in a daemon thread for the duration of a ``with`` block.

    >>> with running_server(FaultPlan()) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, plan: FaultPlan, port: int = 0) -> None:
        self.server = FaultServer(plan, port)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def main() -> None:
    """Serve until interrupted (no faults unless asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    for kind in FAULT_KINDS + ("fewer_choices",):
        parser.add_argument(f"--{kind.replace('_', '-')}", type=float, default=0.0)
    args = parser.parse_args()
    plan = FaultPlan(
        seed=args.seed, **{k: getattr(args, k) for k in FAULT_KINDS + ("fewer_choices",)}
    )
    server = FaultServer(plan, args.port)
    print(server.base_url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
