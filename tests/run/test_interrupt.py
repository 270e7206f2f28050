"""Ctrl-C: any ``slmmux`` command ends with one line on stderr and exit code 130, no traceback;
a command appending records names its file, and every record stored before the interruption
is kept, loadable, and not asked for again (run as subprocesses sent a real SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.run._signals import default_sigint

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ('[runner]\nmax_attempts = 1\ntimeout_seconds = 100\n\n'
          '[models.a]\nbase_url = "http://127.0.0.1:{port}"\nmodel = "a"\napi = "chat"\n')


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


INTERRUPTED = """
import sys, time
import slmmux_run.cli as cli
from slmmux_run.cli import main
{patch}
sys.exit(main({argv!r}))
"""


def _interrupt(script: str, cwd: Path, wait_for: str) -> subprocess.CompletedProcess:
    process = subprocess.Popen([sys.executable, "-c", script], env=_env(), cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    marker = cwd / wait_for
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the child never got going"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_exits_130_in_one_line(tmp_path):
    # A command interrupted mid-work: the handler is replaced by one that announces it runs
    # (a marker file) and then waits, as a long fit would.
    patch = ("import slmmux_run.commands.theory as theory\n"
             "def slow(args):\n"
             "    open('started', 'w').close()\n"
             "    time.sleep(60)\n"
             "theory.run = slow\n")
    script = INTERRUPTED.format(patch=patch, argv=["theory", "--out", str(tmp_path / "th")])
    result = _interrupt(script, tmp_path, "started")
    assert result.returncode == 130, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["slmmux theory: interrupted"]


@pytest.mark.slow
def test_ctrl_c_during_collect_keeps_the_records(tmp_path):
    # A server that never answers: collect is waiting on its requests when Ctrl-C comes.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    (tmp_path / "m.toml").write_text(CONFIG.format(port=port))
    out = tmp_path / "c.jsonl"
    argv = ["collect", "--config", str(tmp_path / "m.toml"), "--models", "a", "--out", str(out),
            "--task", "arithmetic", "--questions", "2", "--k", "1"]
    try:
        process = subprocess.Popen([sys.executable, "-m", "slmmux_run.cli", *argv], env=_env(),
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)  # fmt: skip
        listener.settimeout(120)
        connection, _ = listener.accept()  # the first request is on its way
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
        connection.close()
    finally:
        listener.close()
    assert process.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        f"slmmux collect: interrupted; records so far are kept in {out}")
    assert out.read_bytes().startswith(b'{"format": "slmmux-records/')
    from slmmux_run.data.records import RecordStore

    assert RecordStore(out).records == []  # consistent: loads, nothing half-written
    assert not out.with_name(out.name + ".lock").exists()  # the lock was released


@pytest.mark.slow
def test_ctrl_c_keeps_every_stored_record_and_the_rerun_completes(tmp_path):
    # Answers arrive one at a time (0.2 s each); Ctrl-C after some are stored. What is stored
    # stays loadable, and a rerun asks only for the rest: no sample stored twice.
    from tests.run.faultserver import FaultPlan, running_server

    from slmmux_run.data.records import RecordStore

    out = tmp_path / "c.jsonl"
    with running_server(FaultPlan(latency_seconds=0.2)) as server:
        (tmp_path / "m.toml").write_text(
            f'[runner]\nmax_concurrency = 1\n\n[models.fault]\nbase_url = "{server.base_url}"\n'
            f'model = "fault-model"\napi = "chat"\nmax_choices_per_call = 1\n')
        argv = [sys.executable, "-m", "slmmux_run.cli", "collect", "--config",
                str(tmp_path / "m.toml"), "--models", "fault", "--task", "arithmetic",
                "--questions", "30", "--k", "1", "--out", str(out)]  # fmt: skip
        process = subprocess.Popen(argv, env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 120
        while not (out.exists() and out.read_bytes().count(b"\n") >= 4):  # header + 3 records
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr[-2000:]
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1] == (
            f"slmmux collect: interrupted; records so far are kept in {out}")
        kept = len(RecordStore(out).records)
        assert 3 <= kept < 30
        rerun = subprocess.run(argv, env=_env(), cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"30 planned, {kept} already stored, {30 - kept} new" in rerun.stdout
    keys = [record.key for record in RecordStore(out).records]
    assert len(keys) == len(set(keys)) == 30
