"""Failures are failures: a live run whose requests all failed exits 3 and says why.

Against the fault server answering HTTP 401 to every request (as an API does for a wrong key),
``mux --live`` (both rules), ``debate run`` and ``collect`` exit 3 with the status and a hint on
stderr, and print no accuracy; a run where only some requests failed keeps its exit code.
"""

from __future__ import annotations

import re

import pytest

from slmmux_run.cli import main
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.failures import failure_hint, failure_line, summarize_failures
from tests.run.faultserver import FaultPlan, running_server
from tests.run.sampling.test_collect import collect_args, write_config

REFUSED = FaultPlan(echo_authorization_on_401=True)  # every request: HTTP 401


def live_args(config, out, rule):
    return ["mux", "--live", "--rule", rule, "--config", str(config), "--models", "chatty,plain",
            "--task", "arithmetic", "--questions", "3", "--k", "2", "--records", str(out),
            "--validation-split", "0"]  # fmt: skip


def assert_says_why(err, command, what):
    (line,) = [line for line in err.splitlines() if line.startswith(f"slmmux {command}: ")]
    assert re.match(rf"slmmux {command}: all \d+ {what} failed, nothing to score: HTTP 401", line)
    assert "api_key_env" in line  # the hint names the setting to check


@pytest.mark.parametrize("rule", ["model-switch", "slm-mux"])
def test_mux_live_with_every_request_refused_exits_3_and_says_why(tmp_path, capsys, rule):
    out, summary = tmp_path / "r.jsonl", tmp_path / "live.json"
    with running_server(REFUSED) as server:
        config = write_config(tmp_path / "m.toml", server.base_url, max_attempts=1)
        assert main([*live_args(config, out, rule), "--json", str(summary)]) == 3
        assert server.stats.requests > 0
    captured = capsys.readouterr()
    assert "accuracy" not in captured.out and "literal" not in captured.out
    assert_says_why(captured.err, "mux", "samples")
    assert not summary.exists()  # no result file that reads like a result
    stored = RecordStore(out).records
    assert stored and all(r.error and r.error.startswith("HTTP 401") for r in stored)


def test_mux_live_with_some_failures_still_scores_and_exits_0(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan(seed=5, server_error=0.5)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url, max_attempts=1)
        assert main(live_args(config, out, "model-switch")) == 0
    stored = RecordStore(out).records
    assert any(r.error for r in stored) and not all(r.error for r in stored)
    captured = capsys.readouterr()
    assert "model-switch live: accuracy" in captured.out
    assert "mux --live model-switch " in captured.err and "samples (at most)" in captured.err
    assert "samples (at most)" not in captured.out


def test_debate_run_with_every_turn_refused_exits_3_and_says_why(tmp_path, capsys):
    transcripts = tmp_path / "t.jsonl"
    args = ["debate", "run", "--config", None, "--agents", "chatty,chatty", "--rounds", "2",
            "--task", "arithmetic", "--questions", "2", "--transcripts", str(transcripts)]
    with running_server(REFUSED) as server:
        args[3] = str(write_config(tmp_path / "m.toml", server.base_url, max_attempts=1))
        assert main(args) == 3
        assert server.stats.requests == 2 * 2 * 2  # questions x agents x rounds
    captured = capsys.readouterr()
    assert_says_why(captured.err, "debate", "turns")
    # progress on stderr: discussions done of those to run, failed turns, tokens
    assert "debate run (debate) 2/2 discussions (100 %) · failed 8 · 0 tokens" in captured.err
    assert "discussions (" not in captured.out
    with running_server(FaultPlan()) as server:  # the same command against a working server
        args[3] = str(write_config(tmp_path / "m.toml", server.base_url, max_attempts=1))
        assert main([*args[:-1], str(tmp_path / "t2.jsonl")]) == 0


def test_collect_with_every_request_refused_says_why(tmp_path, capsys):
    with running_server(REFUSED) as server:
        config = write_config(tmp_path / "m.toml", server.base_url, max_attempts=1)
        assert main(collect_args(config, tmp_path / "r.jsonl")) == 3
        assert server.stats.requests > 0
    assert_says_why(capsys.readouterr().err, "collect", "samples")


def test_summary_names_the_commonest_error_and_a_hint_per_kind():
    summary = summarize_failures(["HTTP 429: slow down"] * 3 + ["HTTP 500: boom", None])
    assert (summary.samples, summary.failed, summary.count, summary.status) == (5, 4, 3, 429)
    assert not summary.all_failed and "rpm" in failure_hint(summary)
    assert failure_line(summary).startswith("4 of 5 samples failed: HTTP 429: slow down (3 of 4)")
    assert not summarize_failures([]).all_failed  # nothing asked is not "all failed"
    assert not summarize_failures([None, None]).failed
    hints = {error: failure_hint(summarize_failures([error])) for error in (
        "HTTP 404: no", "HTTP 503: busy", "connection failed: ConnectError",
        "timeout (ReadTimeout)", "malformed response: ValueError")}
    assert "base_url" in hints["HTTP 404: no"] and "retry later" in hints["HTTP 503: busy"]
    assert "server is up" in hints["connection failed: ConnectError"]
    assert "timeout_seconds" in hints["timeout (ReadTimeout)"]
    assert "OpenAI-shaped" in hints["malformed response: ValueError"]


def test_mux_live_refuses_a_second_writer_before_any_request(tmp_path, capsys):
    """One writer per record file for mux --live too (as for collect): the second is told so."""
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan(seed=5)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url, max_attempts=1)
        with RecordStore(out).exclusive():  # another run holds the file
            assert main(live_args(config, out, "model-switch")) == 2
        assert server.stats.requests == 0
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert line.startswith("slmmux mux: error:") and "r.jsonl" in line
