"""Tests of slmmux_run.sampling.collect and ``slmmux collect`` against the fault-injecting test server.

The fault server answers "The answer is N." with N fixed by (prompt, seed, choice index)
(:func:`tests.run.faultserver.answer_text`), so the expected answer and grade of every record
are computed here from the server's rule and the problem's own expression, not by the collector.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from slmmux_run.cli import main
from slmmux_run.sampling.collect import build_task, plan_requests, question_seed
from slmmux_run.errors import UserError
from slmmux_run.data.record_samples import load_records
from slmmux_run.data.records import RecordStore
from tests.run.faultserver import FaultPlan, answer_text, running_server


def write_config(path, base_url, max_attempts=6, second_url=None):
    path.write_text(f"""
[runner]
max_attempts = {max_attempts}
backoff_initial_seconds = 0.001
backoff_max_seconds = 0.01
timeout_seconds = 5

[models.chatty]
base_url = "{base_url}"
model = "chatty"
api = "chat"
max_choices_per_call = 2

[models.plain]
base_url = "{second_url or base_url}"
model = "plain"
api = "completions"
max_choices_per_call = 4
""")
    return path


def collect_args(config, out, *extra):
    return ["collect", "--config", str(config), "--models", "chatty,plain", "--task",
            "arithmetic", "--questions", "4", "--k", "3", "--seed", "11",
            "--out", str(out), *extra]  # fmt: skip


def lines(path):
    """The record lines of a record file, after its format header (checked)."""
    header, *rows = path.read_text().splitlines()
    assert json.loads(header) == {"format": "slmmux-records/1"}
    return [json.loads(line) for line in rows]


def test_collect_stores_graded_samples_and_a_rerun_pays_nothing(tmp_path, capsys):
    plan = FaultPlan(seed=3, rate_limit=0.2, server_error=0.2, fewer_choices=0.5)
    with running_server(plan) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        out = tmp_path / "r.jsonl"
        assert main(collect_args(config, out)) == 0
        first_requests = server.stats.requests
        assert server.stats.faults  # the schedule really injected faults
        assert main(collect_args(config, out)) == 0
        assert server.stats.requests == first_requests  # resume: nothing sent twice
    captured = capsys.readouterr()
    printed = captured.out
    # a real run states what it will send, and is not called a dry run
    assert "to send (at most): 0 requests" in printed and "24 already stored, 0 new" in printed
    assert "dry run" not in printed
    # progress (done/total, failures, tokens, money) goes to stderr only, never into the output
    assert "collect 24/24 samples (100 %) · failed 0 · " in captured.err
    assert "collect 0/0 samples (100 %)" in captured.err  # the rerun: nothing left to send
    assert "samples (" not in printed
    records = lines(out)
    assert len(records) == 24  # 4 questions x 2 models x 3 samples, all successful
    task = build_task("arithmetic", "chat", {"n_questions": 4})
    items = {item.question_id: item for item in task.items}
    for record in records:
        item = items[record["question_id"]]
        prompt = (item.inputs["question"] if record["model"] == "chatty"
                  else build_task("arithmetic", "completion", {"n_questions": 4})
                  .render(item).prompt)  # fmt: skip
        expected = answer_text(prompt, record["request"]["seed"], _choice_offset(record, records))
        number = re.search(r"\d+", expected).group()
        gold = str(eval(item.inputs["expression"]))
        assert record["text"] == expected
        assert record["answer"] == number
        assert record["extra"]["correct"] == (number == gold)
        assert record["extra"]["gold"] == gold
        assert record["extra"]["extraction_rule"] and record["extra"]["extractor_version"]
        assert record["prompt_version"] == (
            "arithmetic-chat/1" if record["model"] == "chatty" else "arithmetic-completion/1")
        assert record["extra"]["base_seed"] == question_seed(11, record["model"],
                                                             record["question_id"])
        assert record["usage"]["completion_tokens"] >= 1
        assert record["timing"]["latency_seconds"] >= 0


def _choice_offset(record, records):
    """Which choice of its HTTP request a sample was: requests start at the first index sent
    with that seed."""
    same = [r["sample_index"] for r in records
            if (r["question_id"], r["model"], r["request"]["seed"])
            == (record["question_id"], record["model"], record["request"]["seed"])]
    return record["sample_index"] - min(same)


def test_failures_are_stored_reported_and_retried(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan(seed=5, server_error=0.5)) as faulty:
        config = write_config(tmp_path / "m.toml", faulty.base_url, max_attempts=1)
        assert main(collect_args(config, out)) == 3  # some samples failed
    store = RecordStore(out)
    failed = [r for r in store.records if r.error is not None]
    assert failed and all(r.text is None and r.answer is None for r in failed)
    assert all(r.extra["error_kind"] == "http" for r in failed)
    loaded = load_records(store.latest().values())
    assert int(loaded.failed.sum()) == len(failed)
    assert (loaded.sample_set.samples[loaded.failed] == loaded.sample_set.abstain_slot).all()
    with running_server(FaultPlan()) as clean:
        config = write_config(tmp_path / "m.toml", clean.base_url)
        assert main(collect_args(config, out)) == 0
        # Only the failed samples are asked again (one request per failed run of indices).
        assert 0 < clean.stats.requests <= len(failed)
    assert len(RecordStore(out).done_keys()) == 24
    assert "failed" in capsys.readouterr().out


def test_budget_refusals_are_not_stored(tmp_path):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        assert main(collect_args(config, out, "--max-requests", "3")) == 3
        assert server.stats.requests == 3
    records = lines(out)
    assert records and all(r["error"] is None for r in records)
    assert all(r["extra"]["error_kind"] is None for r in records)


def test_dry_run_sends_nothing(tmp_path, capsys):
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        assert main(collect_args(config, tmp_path / "r.jsonl", "--dry-run")) == 0
        assert server.stats.requests == 0
    # chatty: ceil(3 / 2) = 2 requests per question, plain: 1; 4 questions.
    assert "dry run: 12 requests" in capsys.readouterr().out
    assert not (tmp_path / "r.jsonl").exists()


def test_plan_orders_questions_outer_and_seeds_per_question():
    tasks = {"a": build_task("arithmetic", "chat", {"n_questions": 2}),
             "b": build_task("arithmetic", "completion", {"n_questions": 2})}  # fmt: skip
    plan = plan_requests(tasks, 2, 0.5, seed=1)
    assert [(q.item.question_id[-5:], q.request.model) for q in plan] == [
        ("q0000", "a"), ("q0000", "b"), ("q0001", "a"), ("q0001", "b")]
    assert len({q.request.seed for q in plan}) == 4
    assert plan[1].request.stop == ("\n",) and isinstance(plan[1].request.prompt, str)
    assert plan[0].request.prompt[-1][0] == "user"


def test_build_task_errors_name_the_missing_option():
    with pytest.raises(UserError, match="--file"):
        build_task("gpqa", "chat", {})
    with pytest.raises(UserError, match="chat prompt"):
        build_task("math-500", "completion", {})
    with pytest.raises(UserError, match="unknown task"):
        build_task("nope", "chat", {})


def test_live_model_switch_really_saves_calls(tmp_path, capsys):
    # With one sample per model every model is unanimous, so ModelSwitch always stops at the
    # first model: the second is never called.
    out, summary = tmp_path / "r.jsonl", tmp_path / "live.json"
    args = ["mux", "--live", "--config", None, "--models", "chatty,plain", "--task",
            "arithmetic", "--questions", "5", "--k", "1", "--records", str(out)]
    with running_server(FaultPlan()) as server:
        args[3] = str(write_config(tmp_path / "m.toml", server.base_url))
        assert main([*args, "--rule", "model-switch", "--json", str(summary)]) == 0
        assert server.stats.requests == 5
        result = json.loads(summary.read_text())
        assert result["requests_sent"] == 5 and result["requests_max"] == 10
        assert result["samples_used"] == 5 and result["models_used"] == [1] * 5
        assert {r.model for r in RecordStore(out).records} == {"chatty"}
        # SLM-MUX needs every model: the cached first model costs nothing, the second 5 calls.
        assert main([*args, "--rule", "slm-mux", "--validation-split", "0"]) == 0
        assert server.stats.requests == 10
    assert "slm-mux" in capsys.readouterr().out


# --- Never destroy a file we did not write; one writer; checked before paying ------------------


def test_out_that_is_not_a_record_file_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"accuracy": 0.71, "runs": 3}))  # json.dump: one line, no newline
    before = out.read_bytes()
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        assert main(collect_args(config, out)) == 2
        assert server.stats.requests == 0
    assert out.read_bytes() == before
    assert "results.json is not a slmmux record file" in capsys.readouterr().err


def test_a_second_collect_on_the_same_out_fails_at_once(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        with RecordStore(out).exclusive():  # another collect is writing it
            assert main(collect_args(config, out)) == 2
        assert server.stats.requests == 0
        err = capsys.readouterr().err
        assert str(out) in err and f"pid {os.getpid()}" in err
        assert main(collect_args(config, out)) == 0  # free again once the holder is done


def test_unwritable_out_fails_before_any_request(tmp_path, capsys):
    (tmp_path / "plain").write_text("a file, not a folder")
    out = tmp_path / "plain" / "r.jsonl"
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        assert main(collect_args(config, out)) == 2
        assert server.stats.requests == 0
    assert f"cannot write record file {out}" in capsys.readouterr().err


def test_resume_asks_only_the_missing_sample_indices(tmp_path):
    out = tmp_path / "r.jsonl"
    with running_server(FaultPlan()) as server:
        config = write_config(tmp_path / "m.toml", server.base_url)
        assert main(collect_args(config, out)) == 0
        complete = lines(out)
        # Keep everything but sample 2 of "plain" (one request of n=3 at the first run).
        kept = [r for r in complete if not (r["model"] == "plain" and r["sample_index"] == 2)]
        partial = tmp_path / "partial.jsonl"
        header = out.read_text().splitlines()[0]
        partial.write_text("\n".join([header] + [json.dumps(r) for r in kept]) + "\n")
        sent = server.stats.requests
        assert main(collect_args(config, partial)) == 0
        assert server.stats.requests - sent == 4  # one n=1 request per question, nothing else
    new = lines(partial)[len(kept):]
    assert sorted((r["question_id"], r["model"], r["sample_index"]) for r in new) == sorted(
        (r["question_id"], "plain", 2) for r in complete if r["model"] == "plain"
        and r["sample_index"] == 2)
    assert all(r["request"]["n"] == 1 for r in new)


# --- What a kill or a full disk can lose: the requests in flight, at most in_flight_limit -------


class _CountingTransport:
    """An async httpx handler answering every chat request after a short sleep, counting the
    requests in flight at once."""

    def __init__(self) -> None:
        self.in_flight = self.most = self.sent = 0

    async def __call__(self, request):
        import asyncio

        import httpx

        self.sent += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.005)
        self.in_flight -= 1
        return httpx.Response(200, json={"choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"content": "It is 7."}}],
                                         "usage": {"prompt_tokens": 9, "completion_tokens": 3}})


def _collect_into(store, transport, questions=80, k=5):
    import asyncio

    import httpx

    from slmmux_run.sampling.client import Client
    from slmmux_run.sampling.collect import collect
    from slmmux_run.sampling.config import parse_config

    config = parse_config({"runner": {"max_concurrency": 64}, "models": {"m": {
        "base_url": "http://127.0.0.1:1", "model": "m", "api": "chat", "max_concurrency": 64,
        "max_choices_per_call": 1}}})  # fmt: skip
    plan = plan_requests({"m": build_task("arithmetic", "chat", {"n_questions": questions})},
                         k, 0.7, 1)  # fmt: skip

    async def run():
        async with Client(config, transport=httpx.MockTransport(transport)) as client:
            return await collect(client, store, plan)

    return asyncio.run(run())


def test_a_collection_keeps_at_most_in_flight_limit_requests_in_flight(tmp_path):
    from slmmux_run.sampling.collect import in_flight_limit

    transport = _CountingTransport()
    summary = _collect_into(RecordStore(tmp_path / "r.jsonl"), transport)
    assert summary.stored == 400 and transport.sent == 400
    # 64 slots configured, 80 questions ready at once: the bound (12), reached and never passed.
    assert transport.most == in_flight_limit(400, 1) == 12


class _FullDisk(RecordStore):
    """A store whose disk fills after ``room`` appends: each later write fails with ENOSPC."""

    def __init__(self, path, room: int) -> None:
        super().__init__(path)
        self.room = room

    def append_many(self, records) -> None:
        import errno

        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= 1
        super().append_many(records)


def test_a_full_disk_stops_the_collection_with_one_line(tmp_path):
    transport = _CountingTransport()
    store = _FullDisk(tmp_path / "r.jsonl", room=30)
    with pytest.raises(UserError) as error:
        _collect_into(store, transport)
    message = str(error.value)
    assert "\n" not in message and message.startswith(
        f"cannot write record file {tmp_path / 'r.jsonl'} (No space left on device);")
    assert "rerun the same command" in message
    # Paid and not stored: the failed write's request and those in flight, at most the bound
    # (without it: 75 here, more than the 64 slots, as questions waiting for a slot sent too).
    stored = len(RecordStore(tmp_path / "r.jsonl").records)
    assert stored == 30 and 0 < transport.sent - stored <= 12


def test_a_full_disk_loses_at_most_the_slots_when_the_bound_is_above_them(tmp_path,
                                                                         monkeypatch):
    import slmmux_run.sampling.collect as collect_module

    monkeypatch.setattr(collect_module, "KILL_LOSS_SHARE", 1)  # bound 400, above the 64 slots
    transport = _CountingTransport()
    with pytest.raises(UserError):
        _collect_into(_FullDisk(tmp_path / "r.jsonl", room=30), transport)
    assert transport.sent - len(RecordStore(tmp_path / "r.jsonl").records) <= 64
