"""Runs of the real ``slmmux collect`` (a subprocess) against the fault server: SIGKILLed at
random moments, or on a "full disk", with what the server was paid for and what the records file
kept. Shared by the fault tests (``tests/run/test_faults.py``) and the measurement of the issue's
targets (``experiments/fault_targets``).

A full disk is simulated with ``RLIMIT_FSIZE`` set in the child before it starts: a write that
would grow a file past the limit writes what fits (a short write), and the next fails with
``EFBIG`` ("File too large"), as ``ENOSPC`` does on a full disk (Python ignores ``SIGXFSZ``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from slmmux_run.data.records import RecordStore
from tests.run.faultserver import FaultPlan, running_server

__all__ = [
    "CONCURRENCY", "DiskFullRun", "KillRun", "child_env", "collect_command", "disk_full_run",
    "launcher",
    "paid_versus_stored", "stored_sample_lines", "stored_texts", "write_collect_config",
]

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 64


def child_env() -> dict[str, str]:
    """The environment of a child process: this checkout first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def launcher(file_size_limit: int | None = None, kill_loss_share: int | None = None) -> list[str]:
    """The command starting ``slmmux`` in a child process: ``python -m slmmux_run.cli``, or a
    ``python -c`` that first limits the size of the files it writes (``RLIMIT_FSIZE``) or sets
    :data:`slmmux_run.sampling.collect.KILL_LOSS_SHARE` (1: no bound but the concurrency).

    >>> launcher()[1:]
    ['-m', 'slmmux_run.cli']
    """
    if file_size_limit is None and kill_loss_share is None:
        return [sys.executable, "-m", "slmmux_run.cli"]
    code = ["import resource, runpy, sys"]
    if file_size_limit is not None:
        limit = int(file_size_limit)
        code.append(f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))")
    if kill_loss_share is not None:
        code += ["import slmmux_run.sampling.collect as collect",
                 f"collect.KILL_LOSS_SHARE = {int(kill_loss_share)}"]
    code += ["sys.argv = ['slmmux', *sys.argv[1:]]",
             "runpy.run_module('slmmux_run.cli', run_name='__main__')"]
    return [sys.executable, "-c", "\n".join(code)]


def collect_command(config: Path, out: Path, questions: int, k: int,
                    start: list[str] | None = None) -> list[str]:  # fmt: skip
    """``slmmux collect`` of ``questions`` arithmetic questions x ``k`` samples into ``out``
    (started by ``start``, default :func:`launcher`)."""
    return [*(start or launcher()), "collect", "--config", str(config),
            "--models", "fault", "--task", "arithmetic", "--questions", str(questions),
            "--k", str(k), "--seed", "3", "--max-tokens", "16", "--out", str(out)]


def write_collect_config(path: Path, base_url: str, max_attempts: int = 5,
                         timeout: float = 10.0) -> Path:  # fmt: skip
    """One model on the fault server, concurrency :data:`CONCURRENCY`, one sample per request."""
    path.write_text(f"""
[runner]
max_concurrency = {CONCURRENCY}
max_attempts = {max_attempts}
backoff_initial_seconds = 0.01
backoff_max_seconds = 0.05
timeout_seconds = {timeout}

[models.fault]
base_url = "{base_url}"
model = "fault-model"
api = "chat"
max_concurrency = {CONCURRENCY}
max_choices_per_call = 1
""")
    return path


def stored_sample_lines(out: Path) -> list[tuple[str, int]]:
    """(question_id, sample_index) of every record line (the format header skipped)."""
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return [(r["question_id"], r["sample_index"]) for r in rows if "sample_index" in r]


def stored_texts(out: Path) -> dict[tuple[str, int], str | None]:
    """(question_id, sample_index) -> text of each successful record: what a run kept, without
    the path-dependent timing."""
    return {(key.question_id, key.sample_index): record.text
            for key, record in RecordStore(out).latest().items() if record.error is None}


class KillRun(NamedTuple):
    """What :func:`paid_versus_stored` measured.

    Attributes:
      wanted: samples of the job.
      paid: samples the server answered (billed, whether or not the client read them).
      landed: kills that landed mid-run.
      keys: (question_id, sample_index) of every record line at the end, in file order.
      stored_at_kill: successful samples on file just after each kill.
      seconds: wall time of the whole loop, final run included.
    """

    wanted: int
    paid: int
    landed: int
    keys: list[tuple[str, int]]
    stored_at_kill: list[int]
    seconds: float


def paid_versus_stored(folder: Path, kills: int, questions: int, k: int, seed: int,
                       latency: float = 0.15, start: list[str] | None = None) -> KillRun:
    """Kill ``slmmux collect`` ``kills`` times at random moments (0.05-0.4 s after it first
    stores something), then let a last run finish; the records go to ``folder/records.jsonl``
    (``start``: see :func:`collect_command`).

    Raises:
      AssertionError: if the last run fails.
    """
    rng = np.random.default_rng(seed)
    out = folder / "records.jsonl"
    env = child_env()
    landed, at_kill = 0, []
    started = time.perf_counter()
    with running_server(FaultPlan(seed=seed, latency_seconds=latency)) as server:
        config = write_collect_config(folder / "models.toml", server.base_url)
        command = collect_command(config, out, questions, k, start)
        while landed < kills:
            before = len(stored_sample_lines(out)) if out.exists() else 0
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            while process.poll() is None and (
                    (len(stored_sample_lines(out)) if out.exists() else 0) == before):
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.4))
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGKILL)
            process.wait()
            landed += 1
            at_kill.append(len(RecordStore(out).done_keys()))
        final = subprocess.run(command, env=env, capture_output=True, timeout=300)
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        paid = server.stats.paid
    return KillRun(questions * k, paid, landed, stored_sample_lines(out), at_kill,
                   time.perf_counter() - started)


class DiskFullRun(NamedTuple):
    """What :func:`disk_full_run` measured.

    Attributes:
      limit_bytes: the file size limit of the first run.
      returncode / stderr: of the first run (on the "full disk").
      paid: samples the server answered during the first run.
      stored: samples the file held after it (its records load: the file is consistent).
      duplicates: repeated successful keys in the file after it.
      rerun_returncode: of the rerun with space.
      rerun_paid: samples the server answered during the rerun.
      complete: every sample of the job on file once, after the rerun.
    """

    limit_bytes: int
    returncode: int
    stderr: str
    paid: int
    stored: int
    duplicates: int
    rerun_returncode: int
    rerun_paid: int
    complete: bool


def _duplicates(out: Path) -> int:
    keys = [record.key for record in RecordStore(out).records if record.error is None]
    return len(keys) - len(set(keys))


def disk_full_run(folder: Path, questions: int, k: int, limit_bytes: int,
                  latency: float = 0.05) -> DiskFullRun:  # fmt: skip
    """``slmmux collect`` into ``folder/records.jsonl`` with the file size limited to
    ``limit_bytes`` (the disk "fills" mid-run), then a rerun without the limit."""
    out = folder / "records.jsonl"
    env = child_env()
    with running_server(FaultPlan(latency_seconds=latency)) as server:
        config = write_collect_config(folder / "models.toml", server.base_url)
        command = collect_command(config, out, questions, k)
        limited = collect_command(config, out, questions, k, launcher(limit_bytes))
        first = subprocess.run(limited, env=env, capture_output=True, text=True, timeout=300)
        paid = server.stats.paid
        stored = len(RecordStore(out).done_keys())
        duplicates = _duplicates(out)
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        rerun_paid = server.stats.paid - paid
    keys = [record.key for record in RecordStore(out).records if record.error is None]
    complete = len(keys) == len(set(keys)) == questions * k
    return DiskFullRun(limit_bytes, first.returncode, first.stderr, paid, stored, duplicates,
                       rerun.returncode, rerun_paid, complete)
