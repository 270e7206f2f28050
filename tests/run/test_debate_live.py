"""Caps of ``slmmux debate run`` (:mod:`slmmux_run.debate_live`), against the fault server: they
are for the transcript file (the turns it holds count), a discussion a cap cuts keeps its paid
turns, nothing more is started, and a rerun with room finishes the job."""

from __future__ import annotations

from slmmux_run.cli import main
from slmmux_run.sampling.config import load_config
from slmmux_run.sampling.discussion_files import TranscriptStore, spent_in_turns
from tests.run.faultserver import FaultPlan, running_server
from tests.run.sampling.test_collect_caps import write_config

QUESTIONS, AGENTS, ROUNDS = 6, 2, 2
CALLS = AGENTS * ROUNDS  # requests of one debate without retries


def debate_args(config, transcripts, *caps):
    return ["debate", "run", "--config", str(config), "--agents", "fault,fault", "--rounds",
            str(ROUNDS), "--task", "arithmetic", "--questions", str(QUESTIONS), "--max-tokens",
            "16", "--transcripts", str(transcripts), *caps]  # fmt: skip


def discussions(transcripts) -> dict[str, list]:
    turns: dict[str, list] = {}
    for turn in TranscriptStore(transcripts).turns():
        turns.setdefault(turn.discussion_id, []).append(turn)
    return turns


def test_a_request_cap_is_for_the_transcript_file(tmp_path, capsys):
    transcripts = tmp_path / "t.jsonl"
    with running_server(FaultPlan(seed=3)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        # 10 requests: two whole debates (8), then the third's first round (2); its second round
        # is refused, so the run stops there.
        assert main(debate_args(config, transcripts, "--max-requests", "10")) == 3
        assert server.stats.requests == 10
        stored = discussions(transcripts)
        assert len(stored) == 3
        cut = [turns for turns in stored.values() if any(t.error for t in turns)]
        assert len(cut) == 1 and sum(t.calls == 0 for t in cut[0]) == AGENTS  # round 2 not sent
        assert all(t.error.startswith("not sent:") for t in cut[0] if t.calls == 0)
        # A rerun with the same cap: the file has spent it all, nothing is sent or stored.
        assert main(debate_args(config, transcripts, "--max-requests", "10")) == 3
        assert server.stats.requests == 10 and len(discussions(transcripts)) == 3
        # With room, the rest (three debates) is run and the job ends.
        assert main(debate_args(config, transcripts, "--max-requests", "30")) == 0
        assert server.stats.requests == 10 + 3 * CALLS
    assert len(discussions(transcripts)) == QUESTIONS
    assert spent_in_turns(TranscriptStore(transcripts).turns()).requests == 10 + 3 * CALLS
    out = capsys.readouterr().out
    assert "stopped by the cap (not sent: max_requests=10 reached)" in out
    assert "(the file in all: 22 requests" in out


def test_a_cost_cap_at_half_the_job_runs_about_half_of_it(tmp_path, capsys):
    with running_server(FaultPlan(seed=4)) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        full = tmp_path / "full.jsonl"
        assert main(debate_args(config, full)) == 0
        prices = load_config(config)
        job = spent_in_turns(TranscriptStore(full).turns(), prices).cost
        capped = tmp_path / "capped.jsonl"
        assert main(debate_args(config, capped, "--max-cost", f"{job / 2}")) == 3
        cost = spent_in_turns(TranscriptStore(capped).turns(), prices).cost
        whole = [turns for turns in discussions(capped).values()
                 if not any(t.error for t in turns)]  # fmt: skip
        # The rerun with the same cap sends at most one more request (what was left < a turn).
        before = server.stats.requests
        assert main(debate_args(config, capped, "--max-cost", f"{job / 2}")) == 3
        assert server.stats.requests - before <= 1
    print(f"job {job:.4f}, cap {job / 2:.4f}: spent {cost:.4f}, {len(whole)} whole debates")
    assert len(whole) >= QUESTIONS // 2 - 1  # the budget was spent, not stranded
    turn_costs = [spent_in_turns([t], prices).cost for t in TranscriptStore(full).turns()]
    assert cost <= job / 2 + AGENTS * max(turn_costs) * 8  # the turns in flight, worst case
