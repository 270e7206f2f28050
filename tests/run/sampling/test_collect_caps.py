"""Caps of ``slmmux collect`` that mean what they say, against the fault-injecting test server.

A cost cap is spent (not stranded behind worst-case reservations), passed by at most one
in-flight batch, and, like the request cap, is for the record file: a rerun on the same file
starts from what the file already spent. Bad cap values are refused by every command that takes
them (exit 2, the flag named).
"""

from __future__ import annotations

import json

import pytest

from slmmux_run.cli import main
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.config import load_config
from slmmux_run.sampling.spent import spent_in_records
from tests.run.faultserver import FaultPlan, running_server

CONCURRENCY = 8
MAX_TOKENS = 64
PRICE = {"prompt_per_1k": 1.0, "completion_per_1k": 20.0}


def write_config(path, base_url):
    path.write_text(f"""
[runner]
max_concurrency = {CONCURRENCY}
backoff_initial_seconds = 0.001
backoff_max_seconds = 0.01
timeout_seconds = 5

[models.fault]
base_url = "{base_url}"
model = "fault-model"
api = "chat"
max_concurrency = {CONCURRENCY}
price = {{ prompt_per_1k = {PRICE["prompt_per_1k"]}, completion_per_1k = {PRICE["completion_per_1k"]} }}
""")
    return path


def collect_args(config, out, *extra, questions=16, k=5):
    return ["collect", "--config", str(config), "--models", "fault", "--task", "arithmetic",
            "--questions", str(questions), "--k", str(k), "--seed", "3",
            "--max-tokens", str(MAX_TOKENS), "--out", str(out), *extra]  # fmt: skip


def successes(out) -> int:
    return len(RecordStore(out).done_keys())


def spent(out, config):
    return spent_in_records(RecordStore(out).records, load_config(config))


def worst_request(out, config) -> float:
    """The worst-case cost of the most expensive request of the file (prompt byte bound and
    max_tokens), from the prices: what one in-flight request can overshoot by."""
    rows = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    prompt = max(r["usage"]["prompt_tokens"] for r in rows if r["usage"]) * 4 + 40  # >= bound
    return (prompt * PRICE["prompt_per_1k"] + MAX_TOKENS * PRICE["completion_per_1k"]) / 1000


def test_a_cost_cap_at_half_the_job_does_half_the_job(tmp_path, capsys):
    with running_server(FaultPlan(seed=1)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        full = tmp_path / "full.jsonl"
        assert main(collect_args(config, full)) == 0
        job = spent(full, config).cost
        capped = tmp_path / "capped.jsonl"
        assert main(collect_args(config, capped, "--max-cost", f"{job / 2}")) == 3
    done = successes(capped) / 80
    cost = spent(capped, config).cost
    print(f"job {job:.4f}, cap {job / 2:.4f}: spent {cost:.4f}, done {done:.1%}")
    # Worst-case reservations (max_tokens x price, about 12x the real cost here) stopped this
    # at 14 % before; the expected cost lets the cap be spent.
    assert done >= 0.45
    assert cost <= job / 2 + CONCURRENCY * worst_request(capped, config)
    # What is left is less than one request's (largest) real cost: nothing stranded.
    assert job / 2 - cost < max(r.extra["cost"] for r in RecordStore(full).records)


def test_caps_are_for_the_record_file_across_reruns(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan(seed=2, server_error=0.2)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        for _ in range(3):
            assert main(collect_args(config, out, "--max-requests", "10")) == 3
        # Three runs of a 10-request cap on one file send 10, not 30; failed ones count.
        assert server.stats.requests == 10
        assert spent(out, config).requests == 10
        assert main(collect_args(config, out, "--max-requests", "12")) == 3
        assert server.stats.requests == 12
    printed = capsys.readouterr().out
    assert "0 requests, cost 0.0000" in printed and "the file in all: 10 requests" in printed


def test_a_cost_cap_holds_across_reruns(tmp_path):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan(seed=4)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        first = main(collect_args(config, out, "--max-cost", "0.02"))
        after_first = server.stats.requests
        assert first == 3 and after_first > 0
        assert main(collect_args(config, out, "--max-cost", "0.02")) == 3
        # The file had spent (nearly) all of it: the rerun sends at most one more request.
        assert server.stats.requests <= after_first + 1
    assert spent(out, config).cost <= 0.02 + CONCURRENCY * worst_request(out, config)


BAD_VALUES = [
    ("--max-cost", "nan"), ("--max-cost", "inf"), ("--max-cost", "-1"), ("--max-cost", "x"),
    ("--max-requests", "-1"), ("--max-requests", "2.5"), ("--max-tokens", "-5"),
    ("--max-tokens", "0"),
]


def command_args(command, tmp_path, flag, value):
    config = tmp_path / "m.toml"
    write_config(config, "http://127.0.0.1:9")
    common = ["--config", str(config), "--task", "arithmetic", "--questions", "2"]
    if command == "collect":
        return ["collect", *common, "--models", "fault", "--out", str(tmp_path / "o"), flag, value]
    if command == "mux":
        return ["mux", "--live", *common, "--models", "fault", "--records",
                str(tmp_path / "o"), flag, value]  # fmt: skip
    if command == "batch":
        return ["batch", "export", *common, "--models", "fault", "--out", str(tmp_path / "o"),
                flag, value]  # fmt: skip
    return ["debate", "run", *common, "--agents", "fault,fault", "--transcripts",
            str(tmp_path / "t"), flag, value]  # fmt: skip


@pytest.mark.parametrize(
    "command, flag, value",
    [(command, flag, value) for command in ("collect", "mux", "debate")
     for flag, value in BAD_VALUES]
    + [("batch", flag, value) for flag, value in BAD_VALUES if flag == "--max-tokens"],
)  # (batch export sends nothing through a budget: no caps)
def test_bad_cap_values_are_refused_naming_the_flag(command, flag, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command_args(command, tmp_path, flag, value))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}: must be" in error and "Traceback" not in error
    assert not (tmp_path / "o").exists() and not (tmp_path / "t").exists()
