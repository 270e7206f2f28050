"""Batch export and import: the batch lines are exactly the requests a live ``collect`` sends,
and a batch output answered like the live server gives the very records' sample set; the
fixture output (any order, a failed request, a missing line) is imported as worked by hand."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from slmmux_run.data.importers.openai_batch import read_batch_input, read_batch_output
from slmmux_run.data.record_samples import load_records
from slmmux_run.data.records import RecordStore
from slmmux_run.errors import UserError
from slmmux_run.sampling.batch import (
    batch_lines,
    export_run,
    import_batch,
    request_body,
    select_questions,
    write_batch_input,
)
from slmmux_run.sampling.client import Client, SampleRequest
from slmmux_run.sampling.collect import build_task, collect, plan_requests
from slmmux_run.sampling.config import load_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
CONFIG = FIXTURES / "batch_models.toml"
TASK = "arithmetic-d1-s1-x0-a-bare"
Q0, Q1 = "arith-d1-s1-x0-a-bare-seed0-q0000", "arith-d1-s1-x0-a-bare-seed0-q0001"


def _tasks(n_questions=2):
    return {"tiny-chat": build_task("arithmetic", "chat", {"n_questions": n_questions}),
            "tiny-base": build_task("arithmetic", "completion", {"n_questions": n_questions})}  # fmt: skip


def _reply(body: dict, chat: bool) -> dict:
    """What a fake server answers: a number per choice, fixed by the seed and choice index."""
    n = body.get("n", 1)
    texts = []
    for i in range(n):
        digest = hashlib.sha256(f"{body.get('seed')}:{i}:{body['model']}".encode()).digest()
        texts.append(f"{digest[0] % 5 + 12}")
    key = "message" if chat else "text"
    choices = [{"index": i, key: {"role": "assistant", "content": t} if chat else t,
                "finish_reason": "stop"} for i, t in enumerate(texts)]  # fmt: skip
    return {"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 2 * n}}


def test_the_custom_ids_name_each_request_as_the_client_cuts_them():
    config = load_config(CONFIG)
    plan = plan_requests(_tasks(), 3, 0.7, 0)
    ids = [line["custom_id"] for line in batch_lines(plan, config)]
    # tiny-chat takes 2 choices per request (samples 0-1, then 2); tiny-base one at a time.
    chat, base = "arithmetic-chat%2F1", "arithmetic-completion%2F1"
    assert ids[:5] == [
        f"slmmux1|{TASK}|{chat}|tiny-chat|{Q0}|0|2", f"slmmux1|{TASK}|{chat}|tiny-chat|{Q0}|2|1",
        f"slmmux1|{TASK}|{base}|tiny-base|{Q0}|0|1", f"slmmux1|{TASK}|{base}|tiny-base|{Q0}|1|1",
        f"slmmux1|{TASK}|{base}|tiny-base|{Q0}|2|1",
    ]  # fmt: skip
    assert len(ids) == len(set(ids)) == 10


def test_the_lines_are_the_requests_a_live_collect_sends(tmp_path):
    config = load_config(CONFIG)
    plan = plan_requests(_tasks(), 3, 0.7, 5, 32)
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        chat = request.url.path.endswith("/chat/completions")
        sent.append((request.url.path, body))
        return httpx.Response(200, json=_reply(body, chat))

    store = RecordStore(tmp_path / "live.jsonl")

    async def run():
        async with Client(config, transport=httpx.MockTransport(handler)) as client:
            return await collect(client, store, plan)

    summary = asyncio.run(run())
    assert summary.stored == 12
    lines = batch_lines(plan, config)
    canonical = sorted(json.dumps(pair, sort_keys=True) for pair in sent)
    assert sorted(json.dumps([line["url"], line["body"]], sort_keys=True)
                  for line in lines) == canonical  # fmt: skip

    # The same answers through the batch path give the same sample set, tokens included.
    write_batch_input(lines, tmp_path / "in.jsonl")
    output = tmp_path / "out.jsonl"
    with open(output, "w") as handle:
        for i, line in enumerate(reversed(lines)):  # any order
            reply = _reply(line["body"], line["url"].endswith("/chat/completions"))
            handle.write(json.dumps({"id": f"b{i}", "custom_id": line["custom_id"], "error": None,
                                     "response": {"status_code": 200, "request_id": f"r{i}",
                                                  "body": reply}}) + "\n")  # fmt: skip
    imported = RecordStore(tmp_path / "batch.jsonl")
    done = import_batch(_tasks(), config, read_batch_input(tmp_path / "in.jsonl"),
                        read_batch_output(output), imported)  # fmt: skip
    assert (done.stored, done.failed, done.not_returned) == (12, 0, 0)
    live = load_records(store.latest().values()).sample_set
    batch = load_records(imported.latest().values()).sample_set
    assert batch.slot_labels == live.slot_labels
    np.testing.assert_array_equal(batch.samples, live.samples)
    np.testing.assert_array_equal(batch.tokens, live.tokens)
    by_key = {r.key: r for r in store.latest().values()}
    for record in imported.latest().values():
        twin = by_key[record.key]
        assert (record.text, record.answer, record.extra["correct"]) == (
            twin.text, twin.answer, twin.extra["correct"])
        assert record.request == twin.request  # model id, api, temperature, seed sent, n, stop
        assert record.usage == twin.usage
        assert record.extra["base_seed"] == twin.extra["base_seed"]
        assert record.extra["cost"] == pytest.approx(twin.extra["cost"])


def test_request_body_is_the_client_s_body():
    config = load_config(CONFIG)
    request = SampleRequest("tiny-chat", (("system", "s"), ("user", "q")), 3, 0.5, 40, 7, ("\n",))
    for name in ("tiny-chat", "tiny-base"):
        model = config.model(name)
        assert request_body(request, model, 2, 9) == Client._body(None, request, model, 2, 9)


def test_the_fixture_output_is_imported_as_worked_by_hand(tmp_path):
    config = load_config(CONFIG)
    files = export_run(config, _tasks(), 3, 0.7, 0, 64, tmp_path / "in.jsonl")
    # One file per model: a batch API takes one model per file.
    assert [Path(f.path).name for f in files] == ["in.tiny-chat.jsonl", "in.tiny-base.jsonl"]
    assert [(f.lines, f.samples) for f in files] == [(4, 6), (6, 6)]
    store = RecordStore(tmp_path / "records.jsonl")
    inputs = {**read_batch_input(files[0].path), **read_batch_input(files[1].path)}
    outputs = read_batch_output(FIXTURES / "openai_batch_output.jsonl")
    done = import_batch(_tasks(), config, inputs, outputs, store)
    # 12 samples: tiny-chat q1's first request failed (2 failures), tiny-base q1 sample 2 has
    # no output line; the other 9 came back.
    assert (done.requests, done.stored, done.failed, done.cached, done.not_returned) == (
        10, 9, 2, 0, 1)
    loaded = load_records(store.latest().values())
    samples = loaded.sample_set
    assert samples.models == ("tiny-chat", "tiny-base") and samples.question_ids == (Q0, Q1)
    # Gold 14 and 8; wrong "15" then "41" on q0, "9" on q1; ⊥ (failures) is slot 3.
    assert samples.samples.tolist() == [[[0, 1, 0], [3, 3, 0]], [[0, 0, 2], [0, 1, -1]]]
    assert loaded.failed[0, 1].tolist() == [True, True, False]
    # Tokens: two choices share one usage, so each is ceil(len / 4) (3 and 4); alone, the count.
    np.testing.assert_array_equal(samples.tokens[0, 0], [3, 4, 2])
    failure = next(r for r in store.records if r.error)
    assert failure.error == "Rate limit reached for requests"
    # Importing again stores nothing twice.
    again = import_batch(_tasks(), config, inputs, outputs, store)
    assert (again.stored, again.cached) == (0, 9)


def test_stored_samples_are_not_exported_again(tmp_path):
    config = load_config(CONFIG)
    plan = plan_requests(_tasks(), 3, 0.7, 0)
    store = RecordStore(tmp_path / "records.jsonl")
    import_batch(_tasks(), config, read_batch_input(_write(tmp_path, batch_lines(plan, config))),
                 read_batch_output(FIXTURES / "openai_batch_output.jsonl"), store)  # fmt: skip
    remaining = batch_lines(plan, config, store)
    # Missing: tiny-chat q1 samples 0-1 (failed), tiny-base q1 sample 2 (never returned).
    assert [line["custom_id"].split("|")[4:] for line in remaining] == [
        [Q1, "0", "2"], [Q1, "2", "1"]]


def _write(tmp_path, lines):
    path = tmp_path / "in.jsonl"
    write_batch_input(lines, path)
    return path


def test_an_input_line_with_another_prompt_is_refused(tmp_path):
    config = load_config(CONFIG)
    path = _write(tmp_path, batch_lines(plan_requests(_tasks(), 1, 0.7, 0), config))
    rows = [json.loads(line) for line in path.open()]
    rows[1]["body"]["prompt"] = "What is 1 + 1?"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match=r"in\.jsonl:2: field 'body' holds another prompt"):
        import_batch(_tasks(), config, read_batch_input(path), {}, RecordStore(tmp_path / "r"),
                     input_name=str(path))  # fmt: skip


def test_an_output_line_without_input_and_a_foreign_custom_id_are_refused(tmp_path):
    config = load_config(CONFIG)
    path = _write(tmp_path, batch_lines(plan_requests(_tasks(1), 1, 0.7, 0), config))
    outputs = read_batch_output(FIXTURES / "openai_batch_output.jsonl")
    # With k = 1 the output's first line (tiny-base q0, sample 2) was never asked for.
    with pytest.raises(UserError, match=r"openai_batch_output\.jsonl:1: custom_id '.*\|2\|1' "
                                        "is not in"):  # fmt: skip
        import_batch(_tasks(), config, read_batch_input(path), outputs, RecordStore(tmp_path / "r"))
    path.write_text(json.dumps({"custom_id": "request-1", "method": "POST",
                                "url": "/v1/chat/completions", "body": {}}) + "\n")  # fmt: skip
    with pytest.raises(UserError, match=r":1: custom_id 'request-1' was not written by 'slmmux"):
        import_batch(_tasks(), config, read_batch_input(path), {}, RecordStore(tmp_path / "r"),
                     input_name=str(path))  # fmt: skip


def test_questions_are_chosen_by_id():
    tasks = select_questions(_tasks(), [Q1])
    assert [item.question_id for item in tasks["tiny-base"].items] == [Q1]
    with pytest.raises(UserError, match="question id 'nope' is not in task"):
        select_questions(_tasks(), ["nope"])
