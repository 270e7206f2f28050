"""Target (c) of issue 15, measured with the real CLI against the fault server: a cost cap at
half a job, a request cap across reruns, and the overwrite, two-writer and key-echo cases.

Each function runs its case in a fresh folder and returns a plain dict of what it measured
(counts, never a verdict typed in). The caps reuse the fault tests' helpers
(``tests/run/sampling/test_collect_caps.py``), the kills and the server
``tests/run/fault_runs.py`` and ``tests/run/faultserver.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import time
from pathlib import Path

from slmmux_run.cli import main as slmmux
from slmmux_run.data.records import RecordStore
from tests.run.fault_runs import child_env, collect_command, write_collect_config
from tests.run.faultserver import FaultPlan, running_server
from tests.run.sampling.test_collect_caps import collect_args, spent, successes, write_config

__all__ = ["cost_cap_at_half", "key_echo", "overwrite", "request_cap_across_reruns",
           "two_writers"]

PASTED = ("hf_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7",
          "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
          "sk-" + "proj-4f1c9e7a2b6d80534f1c9e7a2b6d8053")  # made up, split: no scanner alarm


def _quiet(argv: list[str]) -> tuple[int, str]:
    """``slmmux argv`` in this process; (exit code, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = slmmux(argv)
    return code, out.getvalue() + err.getvalue()


def cost_cap_at_half(folder: Path, questions: int = 16, k: int = 5) -> dict:
    """A full job, then the same job on a new file with ``--max-cost`` half the job's cost."""
    with running_server(FaultPlan(seed=1)) as server:
        config = write_config(folder / "m.toml", server.base_url)
        full = folder / "full.jsonl"
        full_code, _ = _quiet(collect_args(config, full, questions=questions, k=k))
        job = spent(full, config).cost
        capped = folder / "capped.jsonl"
        code, _ = _quiet(collect_args(config, capped, "--max-cost", f"{job / 2}",
                                      questions=questions, k=k))  # fmt: skip
    cost = spent(capped, config).cost
    return {"job_cost": job, "cap": job / 2, "spent": cost, "exit_code": code,
            "full_exit_code": full_code, "done_fraction": successes(capped) / (questions * k),
            "over_cap": max(0.0, cost - job / 2)}


def request_cap_across_reruns(folder: Path, runs: int = 3, cap: int = 10) -> dict:
    """``--max-requests cap`` run ``runs`` times on one file: the server must see ``cap``."""
    out = folder / "r.jsonl"
    with running_server(FaultPlan(seed=2, server_error=0.2)) as server:
        config = write_config(folder / "m.toml", server.base_url)
        codes = [_quiet(collect_args(config, out, "--max-requests", str(cap)))[0]
                 for _ in range(runs)]
        sent = server.stats.requests
    return {"cap": cap, "runs": runs, "server_requests": sent, "file_requests":
            spent(out, config).requests, "exit_codes": codes, "over_cap": max(0, sent - cap)}


def overwrite(folder: Path) -> dict:
    """``collect --out`` and ``debate run --transcripts`` on a one-line ``json.dump`` file."""
    content = json.dumps({"accuracy": 0.5, "runs": 3}).encode()
    cases = {}
    with running_server(FaultPlan()) as server:
        config = write_collect_config(folder / "m.toml", server.base_url)
        for name, flag_args in (
            ("collect --out", ["collect", "--config", str(config), "--models", "fault",
                               "--task", "arithmetic", "--questions", "2", "--k", "1", "--out"]),
            ("debate run --transcripts", ["debate", "run", "--config", str(config), "--agents",
                                          "fault,fault", "--task", "arithmetic", "--questions",
                                          "2", "--rounds", "1", "--transcripts"]),
        ):  # fmt: skip
            target = folder / f"results_{len(cases)}.json"
            target.write_bytes(content)
            code, output = _quiet([*flag_args, str(target)])
            cases[name] = {"exit_code": code, "unchanged": target.read_bytes() == content,
                           "message": output.strip().splitlines()[-1]}
        sent = server.stats.requests
    destroyed = sum(not case["unchanged"] for case in cases.values())
    return {"cases": cases, "server_requests": sent, "occurrences": destroyed + (sent > 0)}


def _with_run_id(config: Path, run_id: str) -> Path:
    path = config.with_name(f"{run_id}.toml")
    path.write_text(config.read_text() + f'headers = {{ "X-Run-Id" = "{run_id}" }}\n')
    return path


def two_writers(folder: Path, questions: int = 40, k: int = 5) -> dict:
    """A second ``collect`` on the ``--out`` of a running one (a 1-s server keeps the first
    busy): refused before any request. The first is SIGKILLed once the second has ended."""
    out = folder / "records.jsonl"
    env = child_env()
    with running_server(FaultPlan(latency_seconds=1.0)) as server:
        base = write_collect_config(folder / "m.toml", server.base_url)
        first = subprocess.Popen(collect_command(_with_run_id(base, "first"), out, questions, k),
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lock = out.with_name(out.name + ".lock")
        deadline = time.monotonic() + 120
        while not (lock.exists() and server.stats.requests) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run(collect_command(_with_run_id(base, "second"), out, questions, k),
                                env=env, capture_output=True, text=True, timeout=120)
        first_running = first.poll() is None  # else the case measured nothing
        first.kill()
        first.wait()
        by_run = dict(server.stats.by_run)
    keys = [r.key for r in RecordStore(out).records if r.error is None]
    message = second.stderr.strip().splitlines()[-1] if second.stderr.strip() else ""
    return {"first_running_when_second_ended": first_running,
            "second_exit_code": second.returncode, "second_requests": by_run.get("second", 0),
            "first_requests": by_run.get("first", 0), "duplicates": len(keys) - len(set(keys)),
            "message": message, "occurrences": int(second.returncode != 2)
            + int(by_run.get("second", 0) > 0) + int(len(keys) != len(set(keys)))}


def key_echo(folder: Path) -> dict:
    """Tokens pasted into ``api_key_env``, and a server echoing the key in its 401 body: the
    token must appear in no output (stdout, stderr, the records file)."""
    cases = {}
    for token in PASTED:
        config = folder / f"pasted_{len(cases)}.toml"
        config.write_text(f'[models.m]\nbase_url = "http://127.0.0.1:9"\nmodel = "x"\n'
                          f'api_key_env = "{token}"\n')
        code, output = _quiet(["collect", "--config", str(config), "--models", "m", "--task",
                               "arithmetic", "--questions", "2", "--k", "1", "--out",
                               str(folder / f"pasted_{len(cases)}.jsonl")])  # fmt: skip
        cases[token[:4] + "…"] = {"exit_code": code, "leaked": token in output}
    key = PASTED[2]
    with running_server(FaultPlan(echo_authorization_on_401=True)) as server:
        config = write_collect_config(folder / "echo.toml", server.base_url)
        config.write_text(config.read_text() + 'api_key_env = "SLMMUX_FAULT_TARGETS_KEY"\n')
        out = folder / "echo.jsonl"
        os.environ["SLMMUX_FAULT_TARGETS_KEY"] = key
        try:
            code, output = _quiet(["collect", "--config", str(config), "--models", "fault",
                                   "--task", "arithmetic", "--questions", "2", "--k", "1",
                                   "--out", str(out)])  # fmt: skip
        finally:
            del os.environ["SLMMUX_FAULT_TARGETS_KEY"]
        used = f"Bearer {key}" in server.stats.authorization
    stored = out.read_text() if out.exists() else ""
    cases["401 echo"] = {"exit_code": code, "key_sent": used, "redacted": "[REDACTED]" in stored,
                         "leaked": key in output or key in stored}
    return {"cases": cases, "occurrences": sum(case["leaked"] for case in cases.values())}
