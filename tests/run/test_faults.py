"""Integration tests against a real fault-injecting HTTP server on 127.0.0.1.

The client must survive every fault kind, keep retries bounded, never break a cap under
concurrency, keep the planted API key out of every output, and a collection process killed with
SIGKILL at random moments and resumed must end with exactly the records of an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from slmmux_run.sampling.client import Client, SampleRequest, derive_seed
from slmmux_run.sampling.collect import in_flight_limit
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.errors import UserError
from slmmux_run.data.records import RECORD_HEADER, RecordStore
from slmmux_run.sampling.spending import Budget, Price
from slmmux_run.sampling.spent import spent_in_records
from tests.run import _collect_child
from tests.run.fault_runs import (
    child_env, collect_command, disk_full_run, paid_versus_stored, write_collect_config,
)
from tests.run.faultserver import FAULT_KINDS, FaultPlan, answer_text, running_server

CHILD = Path(__file__).resolve().parent / "_collect_child.py"
PLANTED_KEY = "sk-planted-4f1c9e7a2b6d8053"


def config_for(base_url, *, concurrency=4, max_attempts=5, timeout=0.3, price=Price(),
               max_choices=3, api_key_env=None) -> RunnerConfig:
    model = ModelConfig(name="fault", base_urls=(base_url,), model="fault-model",
                        max_concurrency=concurrency, max_choices_per_call=max_choices,
                        price=price, api_key_env=api_key_env)
    return RunnerConfig(models={"fault": model}, max_concurrency=concurrency,
                        max_attempts=max_attempts, timeout_seconds=timeout,
                        backoff_initial_seconds=0.01, backoff_max_seconds=0.05)


def prompt(question: int) -> str:
    return f"What is {question} + 1?"


async def sample_all(config, questions, samples=3, budget=None, seed=100):
    async with Client(config, budget=budget) as client:
        requests = [SampleRequest("fault", prompt(q), samples=samples, seed=seed + q,
                                  max_tokens=8) for q in range(questions)]
        return await asyncio.gather(*(client.sample(r) for r in requests))


@pytest.mark.parametrize("kind", FAULT_KINDS + ("fewer_choices",))
def test_client_survives_every_fault(kind):
    plan = FaultPlan(seed=3, slow_seconds=0.6, **{kind: 1.0})  # every body faults twice
    with running_server(plan) as server:
        results = asyncio.run(sample_all(config_for(server.base_url), questions=6))
        stats = server.stats
    for question, samples in enumerate(results):
        assert [r.sample_index for r in samples] == [0, 1, 2]
        assert all(r.error is None for r in samples)
        if kind == "fewer_choices":
            # n=3 -> 1 choice, n=2 at index 1 -> 1 choice, n=1 at index 2.
            seeds = [100 + question, derive_seed(100 + question, 1), derive_seed(100 + question, 2)]
            assert [r.text for r in samples] == [answer_text(prompt(question), s, 0) for s in seeds]
        else:
            assert [r.text for r in samples] == [
                answer_text(prompt(question), 100 + question, i) for i in range(3)
            ]
            assert all(r.attempts == 3 for r in samples)
    if kind == "fewer_choices":
        assert stats.fewer == 12 and stats.requests == 18
    else:
        assert stats.faults == {kind: 12} and stats.requests == 18


def test_retries_are_bounded():
    plan = FaultPlan(seed=1, unavailable=1.0, max_consecutive_faults=10_000)
    with running_server(plan) as server:
        results = asyncio.run(sample_all(config_for(server.base_url, max_attempts=4), questions=5))
        assert server.stats.requests == 5 * 4
    assert all(r.error_kind == "http" and r.attempts == 4 for rs in results for r in rs)


MIXED = FaultPlan(seed=11, rate_limit=0.1, server_error=0.05, unavailable=0.05, slow=0.03,
                  malformed=0.05, drop=0.05, fewer_choices=0.3, slow_seconds=0.6)


def test_request_cap_holds_under_concurrency():
    budget = Budget(max_requests=25)
    with running_server(MIXED) as server:
        results = asyncio.run(sample_all(config_for(server.base_url, concurrency=16),
                                         questions=40, budget=budget))
        sent = server.stats.requests
    assert sent <= 25 and budget.requests == 25
    not_sent = sum(r.error_kind == "budget" for rs in results for r in rs)
    assert not_sent > 0


def test_cost_cap_holds_under_concurrency():
    budget = Budget(max_cost=7.0)
    with running_server(MIXED) as server:
        asyncio.run(sample_all(config_for(server.base_url, concurrency=16,
                                          price=Price(per_call=1.0)),
                               questions=40, budget=budget))
        sent = server.stats.requests
    # Each request costs exactly 1 whatever happens, so the server must have seen at most 7.
    assert sent <= 7 and budget.cost <= 7.0


def test_planted_key_never_leaks(tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("SLMMUX_PLANTED_KEY", PLANTED_KEY)
    caplog.set_level(logging.DEBUG)
    store = tmp_path / "records.jsonl"
    common = ["--store", str(store), "--questions", "8", "--timeout", "0.3",
              "--api-key-env", "SLMMUX_PLANTED_KEY"]
    with running_server(MIXED) as server:
        assert _collect_child.main(["--base-url", server.base_url, *common]) == 0
        assert server.stats.authorization == {f"Bearer {PLANTED_KEY}"}  # the key was used
    # A server that echoes the key back in its error body (as some real APIs do).
    with running_server(FaultPlan(echo_authorization_on_401=True)) as server:
        assert _collect_child.main(["--base-url", server.base_url, *common,
                                    "--questions", "10"]) == 3
        config = config_for(server.base_url, api_key_env="SLMMUX_PLANTED_KEY")
        (failed, *_), *_ = asyncio.run(sample_all(config, questions=1))
    assert "[REDACTED]" in failed.error
    text = store.read_text()
    assert "[REDACTED]" in text and len(RecordStore(store).records) == 8 * 3 + 2 * 3
    captured = capsys.readouterr()
    outputs = {
        "records": text,
        "log": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "result repr": repr(failed),
        "config repr": repr(config),
        "client repr": repr(Client(config)),
    }
    assert caplog.text  # retries were logged, so the log check is not vacuous
    monkeypatch.delenv("SLMMUX_PLANTED_KEY")
    with pytest.raises(UserError) as missing:
        asyncio.run(sample_all(config, questions=1))
    outputs["exception"] = str(missing.value)
    leaks = [name for name, output in outputs.items() if PLANTED_KEY in output]
    assert leaks == []


def child_args(store: Path, base_url: str, run_id: str, questions: int, cap: int) -> list[str]:
    return [sys.executable, str(CHILD), "--store", str(store), "--base-url", base_url,
            "--run-id", run_id, "--questions", str(questions), "--concurrency", "2",
            "--timeout", "0.3", "--max-requests", str(cap)]


def comparable(store: Path) -> list[dict]:
    """Records without timing (latency, attempts), in a canonical order."""
    header, *lines = store.read_text().splitlines()
    assert json.loads(header) == {"format": "slmmux-records/1"}
    rows = []
    for line in lines:
        row = json.loads(line)
        row.pop("timing")
        rows.append(row)
    return sorted(rows, key=lambda r: (r["question_id"], r["sample_index"]))


def kill_resume_loop(tmp_path: Path, kills: int, questions: int, seed: int) -> None:
    plan = FaultPlan(seed=seed, rate_limit=0.05, server_error=0.03, unavailable=0.03, slow=0.02,
                     malformed=0.03, drop=0.03, fewer_choices=0.3, slow_seconds=0.5,
                     latency_seconds=0.02)
    cap = 3 * questions  # generous: a cap that binds is tested separately
    env = child_env()
    reference = tmp_path / "reference.jsonl"
    reference_log = tmp_path / "reference.log"
    # The uninterrupted reference run has its own server (faults are drawn per server, from the
    # request body and how often that server has seen it), so it runs beside the kill loop
    # instead of before it. Its output goes to a file: a pipe nobody reads could fill and block it.
    with running_server(plan) as reference_server, reference_log.open("wb") as log:
        reference_process = subprocess.Popen(
            child_args(reference, reference_server.base_url, "reference", questions, cap),
            env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            per_run = resumed_run(tmp_path, plan, kills, questions, cap, seed)
            reference_process.wait(timeout=120)
        finally:
            if reference_process.poll() is None:
                reference_process.kill()
                reference_process.wait()
    assert reference_process.returncode == 0, reference_log.read_text()[-2000:]

    assert all(count <= cap for count in per_run.values()), per_run
    store = tmp_path / "resumed.jsonl"
    lines = store.read_text().splitlines()[1:]  # after the format header
    keys = [(json.loads(x)["question_id"], json.loads(x)["sample_index"]) for x in lines]
    assert len(keys) == len(set(keys)) == questions * 3  # none lost, none duplicated
    assert all(json.loads(x)["error"] is None for x in lines)
    assert comparable(store) == comparable(reference)


def resumed_run(tmp_path: Path, plan: FaultPlan, kills: int, questions: int, cap: int,
                seed: int) -> dict[str, int]:
    """Kill the collection ``kills`` times at random moments, then let a final run finish it.

    Returns the number of requests the server saw from each run.
    """
    env = child_env()
    rng = np.random.default_rng(seed)
    store = tmp_path / "resumed.jsonl"
    killed = torn = 0
    with running_server(plan) as server:
        runs = 0
        while killed < kills:
            run_id = f"run{runs}"
            runs += 1
            # (a new store's header is written before any request: it is not "something")
            before = store.stat().st_size if store.exists() else len(RECORD_HEADER)
            process = subprocess.Popen(child_args(store, server.base_url, run_id, questions, cap),
                                       env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            # Kill only once the child has stored something, at a random moment after that.
            while process.poll() is None and (
                    store.stat().st_size if store.exists() else len(RECORD_HEADER)) <= before:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.3))
            if process.poll() is not None:
                break  # finished before the kill: nothing left to interrupt
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed += 1
            if rng.random() < 0.3:
                # Also simulate a write torn by a crash (not possible from SIGKILL alone).
                with store.open("ab") as handle:
                    handle.write(b'{"task": "fault-arithmetic", "question_id": "q9')
                torn += 1
        final = subprocess.run(child_args(store, server.base_url, "final", questions, cap),
                               env=env, capture_output=True, timeout=120)
        assert final.returncode == 0, final.stderr.decode()[-2000:]
        per_run = dict(server.stats.by_run)

    assert killed == kills, f"only {killed} kills landed mid-run"
    print(f"kills={killed} torn={torn} runs={len(per_run)} requests={sum(per_run.values())}")
    return per_run


@pytest.mark.slow  # 27 s on a loaded 2-core machine (--durations); the client faults stay quick
def test_kill_and_resume_quick(tmp_path):
    # Sized so the kills cannot run out of work: the server's latency caps the child at
    # 2 / 0.02 s = 100 requests/s, and each kill lands at most ~0.3 s after a first append.
    kill_resume_loop(tmp_path, kills=3, questions=120, seed=5)


@pytest.mark.slow
def test_kill_and_resume_twenty_times(tmp_path):
    kill_resume_loop(tmp_path, kills=20, questions=600, seed=6)


def test_binding_cap_then_resume(tmp_path):
    store = tmp_path / "capped.jsonl"
    env = child_env()
    with running_server(MIXED) as server:
        first = subprocess.run(child_args(store, server.base_url, "capped", 30, 10), env=env,
                               capture_output=True, timeout=120)
        assert first.returncode == 3  # stopped by the cap, samples missing
        assert server.stats.by_run["capped"] <= 10
        second = subprocess.run(child_args(store, server.base_url, "rest", 30, 200), env=env,
                                capture_output=True, timeout=120)
        assert second.returncode == 0
    rows = [json.loads(x) for x in store.read_text().splitlines()[1:]]
    keys = [(row["question_id"], row["sample_index"]) for row in rows if row["error"] is None]
    assert len(keys) == len(set(keys)) == 90
    # A request whose retry the cap refused was still sent: its failure is on file (and counts).
    assert all(row["timing"]["sent_at"] for row in rows)


# --- Paid work survives kills: the real ``slmmux collect``, SIGKILLed mid-run ------------------


@pytest.mark.slow  # about 50 s on a loaded 2-core machine
def test_three_kills_pay_only_for_responses_in_flight(tmp_path):
    run = paid_versus_stored(tmp_path, kills=3, questions=80, k=5, seed=7)
    wanted, paid, landed = run.wanted, run.paid, run.landed
    assert len(run.keys) == len(set(run.keys)) == wanted  # nothing lost, nothing duplicated
    extra = paid - wanted
    print(f"kills={landed} wanted={wanted} paid={paid} extra={extra} ({extra / wanted:.1%})")
    assert landed == 3
    # A SIGKILL can only lose what is in flight: at most in_flight_limit requests of one sample
    # (12 of this 400-sample job, below the 64 concurrency slots): three kills under 10 %.
    assert 0 <= extra <= landed * in_flight_limit(wanted, 1) <= 0.1 * wanted


@pytest.mark.slow  # two collect runs: 17 s alone, 50 s on a loaded machine
def test_a_full_disk_loses_at_most_the_requests_in_flight(tmp_path):
    """The file may not grow past 40 kB (RLIMIT_FSIZE: writes fail with EFBIG, as on a full
    disk) during a 400-sample collection at concurrency 64: the run stops with one line naming
    the file, every paid response but those in flight is on file, the file loads, and a rerun
    with space pays for exactly the missing samples."""
    run = disk_full_run(tmp_path, questions=80, k=5, limit_bytes=40_000)
    lines = run.stderr.strip().splitlines()
    print(f"paid={run.paid} stored={run.stored} lost={run.paid - run.stored} "
          f"rerun paid={run.rerun_paid}; {lines[-1]}")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert lines[-1].startswith(f"slmmux collect: error: cannot write record file "
                                f"{tmp_path / 'records.jsonl'} (")
    assert 0 < run.stored < 400 and run.duplicates == 0
    assert 0 <= run.paid - run.stored <= in_flight_limit(400, 1)  # 12, below the 64 slots
    assert run.rerun_returncode == 0 and run.complete
    assert run.rerun_paid == 400 - run.stored  # nothing paid twice


@pytest.mark.slow
def test_a_kill_while_retries_are_in_flight_loses_at_most_max_attempts_per_slot(tmp_path):
    """The bound with retries in flight. Every request's first two attempts are answered after
    the client's timeout (billed, the answer never read), the third in time. A kill can leave
    paid but not on file, per request in flight (at most ``in_flight_limit``), its answer in
    flight plus its earlier billed attempts (stored only when the call ends): at most
    ``in_flight_limit x max_attempts`` responses. The failed attempts were lost to the fault,
    not the kill; what the kill loses is the answer in flight and the file's count of them."""
    questions, k, attempts = 64, 2, 3
    limit = in_flight_limit(questions * k, 1)  # 4 requests in flight
    out = tmp_path / "records.jsonl"
    plan = FaultPlan(seed=8, slow=1.0, slow_seconds=0.45, max_consecutive_faults=attempts - 1)
    with running_server(plan) as server:
        config = write_collect_config(tmp_path / "m.toml", server.base_url,
                                      max_attempts=attempts, timeout=0.3)  # fmt: skip
        process = subprocess.Popen(collect_command(config, out, questions, k), env=child_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while process.poll() is None and len(RecordStore(out).done_keys() if out.exists()
                                              else ()) < 2 * limit:
            time.sleep(0.02)
        time.sleep(0.37)  # mid-way through the calls in flight (each takes >= 2 x 0.3 s)
        assert process.poll() is None, "the run ended before the kill"
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(2 * plan.slow_seconds)  # the server finishes (and bills) what was in flight
        paid = server.stats.paid
    records = RecordStore(out).records
    on_file = spent_in_records(records).requests  # attempts the file knows were sent
    calls = {r.timing["call"] for r in records}
    print(f"paid {paid}, attempts on file {on_file} ({len(calls)} calls), "
          f"paid but not on file {paid - on_file}, bound {limit} x {attempts}")
    assert on_file == attempts * len(calls)  # every stored call: 2 billed timeouts + the answer
    assert 0 <= paid - on_file <= limit * attempts


@pytest.mark.slow  # five kills: 21 s on a loaded 2-core machine (--durations)
def test_a_request_cap_holds_across_kills(tmp_path):
    """Five SIGKILLs of a collection with ``--max-requests 25`` on one file: the file's cap holds
    up to the requests in flight at each kill (sent, never stored: at most the concurrency, as
    no call retries here; a call's failed attempts are stored when the call ends, so with retries
    a kill can lose up to concurrency x max_attempts); before, every run had its own 25 (65
    sent by ``slmmux collect`` in this setting)."""
    cap, concurrency, kills = 25, 2, 5
    rng = np.random.default_rng(11)
    store = tmp_path / "records.jsonl"
    env = child_env()
    landed = 0
    with running_server(FaultPlan(seed=11, latency_seconds=0.1)) as server:
        command = child_args(store, server.base_url, "capped", 40, cap)
        for _ in range(kills):
            before = store.stat().st_size if store.exists() else len(RECORD_HEADER)
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            while process.poll() is None and (
                    store.stat().st_size if store.exists() else len(RECORD_HEADER)) <= before:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.3))
            if process.poll() is not None:
                break  # the cap was reached before the kill
            process.send_signal(signal.SIGKILL)
            process.wait()
            landed += 1
        final = subprocess.run(command, env=env, capture_output=True, timeout=120)
        sent = server.stats.requests
    on_file = spent_in_records(RecordStore(store).records).requests
    print(f"kills={landed} cap={cap} server saw {sent} requests, the file holds {on_file}")
    assert final.returncode == 3 and landed >= 2
    assert on_file <= cap
    assert sent <= cap + landed * concurrency
