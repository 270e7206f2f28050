"""Tests of slmmux_run.data.records: durable appends, torn-line recovery, resume keys."""

from __future__ import annotations

import asyncio
import json

import pytest

from slmmux_run.errors import UserError
from slmmux_run.data.records import Record, RecordKey, RecordStore


def record(question="q1", index=0, text="7", error=None):
    return Record("add", question, "smollm2", "v1", index, request={"seed": 1}, text=text,
                  usage={"completion_tokens": 2}, timing={"latency_seconds": 0.1}, error=error)


def test_round_trip_and_missing(tmp_path):
    path = tmp_path / "r.jsonl"
    store = RecordStore(path)
    store.append_many([record(index=0), record(index=2, text="8")])
    reloaded = RecordStore(path)
    assert reloaded.records == [record(index=0), record(index=2, text="8")]
    keys = [RecordKey("add", "q1", "smollm2", "v1", i) for i in range(3)]
    assert reloaded.missing(keys) == [keys[1]]
    assert reloaded.done_keys() == {keys[0], keys[2]}
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["text"] == "8"


def test_torn_tail_is_ignored_then_truncated(tmp_path):
    path = tmp_path / "r.jsonl"
    RecordStore(path).append(record(index=0))
    whole = path.read_bytes()
    path.write_bytes(whole + record(index=1).to_line()[:25])  # killed mid-write
    store = RecordStore(path)
    assert [r.sample_index for r in store.records] == [0]
    store.append(record(index=1))
    assert path.read_bytes() == whole + record(index=1).to_line()
    assert [r.sample_index for r in RecordStore(path).records] == [0, 1]


def test_invalid_last_line_with_newline_is_torn(tmp_path):
    path = tmp_path / "r.jsonl"
    RecordStore(path).append(record(index=0))
    with path.open("ab") as handle:
        handle.write(b'{"task": "add", "quest\n')
    store = RecordStore(path)
    assert len(store.records) == 1
    store.append(record(index=1))
    assert [json.loads(line)["sample_index"] for line in path.read_text().splitlines()] == [0, 1]


def test_malformed_middle_line_names_file_and_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(record(index=0).to_line() + b"not json\n" + record(index=1).to_line())
    with pytest.raises(UserError, match=r"r\.jsonl, line 2: not a valid record"):
        RecordStore(path)


def test_wrong_fields_in_middle_line_is_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(record(index=0).to_line() + b'{"colour": 1}\n' + record(index=1).to_line())
    with pytest.raises(UserError, match="line 2"):
        RecordStore(path)


def test_duplicate_success_is_refused(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    store.append(record(index=0))
    with pytest.raises(ValueError, match="duplicate"):
        store.append(record(index=0, text="other"))
    with pytest.raises(ValueError, match="duplicate"):
        store.append_many([record(index=5), record(index=5)])
    assert len(RecordStore(tmp_path / "r.jsonl").records) == 1


def test_failures_are_not_done_and_are_superseded(tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    key = RecordKey("add", "q1", "smollm2", "v1", 0)
    store.append(record(index=0, text=None, error="HTTP 503"))
    assert store.missing([key]) == [key]
    store.append(record(index=0, text="7"))
    store.append(record(index=0, text=None, error="HTTP 503"))  # a later failure does not win
    assert RecordStore(tmp_path / "r.jsonl").latest()[key].text == "7"


def test_concurrent_async_appends(tmp_path):
    path = tmp_path / "r.jsonl"
    store = RecordStore(path)

    async def main():
        await asyncio.gather(*(
            store.append_many_async([record(question=f"q{q}", index=i) for i in range(3)])
            for q in range(60)
        ))

    asyncio.run(main())
    lines = path.read_text().splitlines()
    assert len(lines) == 180
    keys = {(json.loads(x)["question_id"], json.loads(x)["sample_index"]) for x in lines}
    assert keys == {(f"q{q}", i) for q in range(60) for i in range(3)}


def test_two_writers_never_truncate_each_other(tmp_path):
    path = tmp_path / "r.jsonl"
    first, second = RecordStore(path), RecordStore(path)
    first.append(record(index=0))
    second.append(record(index=1))  # must index first's line, not cut it as a torn tail
    with pytest.raises(ValueError, match="duplicate"):
        second.append(record(index=0))
    assert [r.sample_index for r in RecordStore(path).records] == [0, 1]
