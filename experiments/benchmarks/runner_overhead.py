"""How much request rate does slmmux's client cost compared with a bare httpx loop?

Both send the same chat-completion requests, 64 in flight, to a zero-latency stub server on
127.0.0.1 (a minimal asyncio HTTP/1.1 server in its own process that returns one fixed
completion). Rounds alternate bare / client so machine load hits both alike; the script prints
the median rate of each and the median of the per-round ratios (target >= 0.95), both per
wall-clock second and per CPU second of the client process (the latter is steadier on a busy
machine, since the stub runs in another process).

    python -m experiments.benchmarks.runner_overhead [--requests 3000] [--rounds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import httpx

from slmmux_run.sampling.client import Client, SampleRequest
from slmmux_run.sampling.config import ModelConfig, RunnerConfig

RESPONSE = json.dumps({
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "The answer is 7."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5},
}).encode()
HTTP_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(RESPONSE)).encode() + b"\r\n\r\n" + RESPONSE
)


class _Stub(asyncio.Protocol):
    """Answers every request on a keep-alive connection with the fixed completion."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            start = head.find(b"content-length:")
            length = 0
            if start >= 0:
                length = int(head[start + 15:head.find(b"\r\n", start) if head.find(b"\r\n", start) > 0 else None])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self.transport.write(HTTP_RESPONSE)


async def _serve(port_file: str) -> None:
    server = await asyncio.get_running_loop().create_server(_Stub, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()


def start_stub() -> tuple[subprocess.Popen, str]:
    """Start the stub in a child process; returns it and its base URL."""
    port_file = Path(f"/tmp/bench_stub_port_{time.monotonic_ns()}")
    process = subprocess.Popen([sys.executable, __file__, "--serve-stub", str(port_file)])
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("stub server did not start")
        time.sleep(0.02)
    port = port_file.read_text()
    port_file.unlink()
    return process, f"http://127.0.0.1:{port}"


class Rate(NamedTuple):
    """Requests per wall-clock second, and per CPU second of this (client) process."""

    wall: float
    cpu: float


async def bare_httpx(base_url: str, requests: int, concurrency: int) -> Rate:
    """Requests per second of a plain httpx worker pool doing the same POST + JSON parse."""
    body = {"model": "stub", "messages": [{"role": "user", "content": "What is 3 + 4?"}],
            "temperature": 0.7, "max_tokens": 16, "seed": 1}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        remaining = iter(range(requests))

        async def worker():
            for _ in remaining:
                response = await http.post(f"{base_url}/v1/chat/completions", json=body)
                response.raise_for_status()
                response.json()["choices"][0]["message"]["content"]

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Rate(requests / (time.perf_counter() - started),
                    requests / (time.process_time() - cpu))


async def slmmux_client(base_url: str, requests: int, concurrency: int) -> Rate:
    """Requests per second through :class:`slmmux_run.sampling.client.Client` (limits, retries, budget)."""
    model = ModelConfig(name="stub", base_urls=(base_url,), model="stub",
                        max_concurrency=concurrency)
    config = RunnerConfig(models={"stub": model}, max_concurrency=concurrency)
    async with Client(config) as client:
        remaining = iter(range(requests))

        async def worker():
            for index in remaining:
                request = SampleRequest("stub", "What is 3 + 4?", max_tokens=16, seed=index)
                (result,) = await client.sample(request)
                assert result.error is None, result.error

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return Rate(requests / (time.perf_counter() - started),
                    requests / (time.process_time() - cpu))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serve-stub", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_stub:
        asyncio.run(_serve(args.serve_stub))
        return 0
    stub, base_url = start_stub()
    try:
        asyncio.run(bare_httpx(base_url, min(200, args.requests), args.concurrency))  # warm-up
        bare, ours = [], []
        for _ in range(args.rounds):
            bare.append(asyncio.run(bare_httpx(base_url, args.requests, args.concurrency)))
            ours.append(asyncio.run(slmmux_client(base_url, args.requests, args.concurrency)))
    finally:
        stub.kill()
        stub.wait()
    print(f"concurrency {args.concurrency}, {args.requests} requests x {args.rounds} rounds")
    for field in ("wall", "cpu"):
        b = [getattr(r, field) for r in bare]
        o = [getattr(r, field) for r in ours]
        ratios = [x / y for x, y in zip(o, b)]
        unit = "requests/s" if field == "wall" else "requests per client CPU-second"
        print(f"[{field}] bare httpx:    {statistics.median(b):7.0f} {unit} "
              f"(rounds: {', '.join(f'{r:.0f}' for r in b)})")
        print(f"[{field}] slmmux client: {statistics.median(o):7.0f} {unit} "
              f"(rounds: {', '.join(f'{r:.0f}' for r in o)})")
        print(f"[{field}] ratio client/bare: median over paired rounds "
              f"{statistics.median(ratios):.3f} (target >= 0.95)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
