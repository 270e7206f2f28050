"""Tests of slmmux_run.data.records: durable appends, torn-line recovery, resume keys, the format
header, refusing files that are not ours, and the one-writer lock."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys

import pytest

from slmmux_run.errors import UserError
from slmmux_run.data.records import RECORD_HEADER, Record, RecordKey, RecordStore


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
    assert len(lines) == 3 and json.loads(lines[2])["text"] == "8"
    assert lines[0] == '{"format": "slmmux-records/1"}'


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
    header, *rows = path.read_text().splitlines()
    assert header.encode() + b"\n" == RECORD_HEADER
    assert [json.loads(line)["sample_index"] for line in rows] == [0, 1]


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
    header, *lines = path.read_text().splitlines()
    assert header.encode() + b"\n" == RECORD_HEADER and len(lines) == 180
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


# --- Ours or not: never destroy a file we did not write ---------------------------------------


@pytest.mark.parametrize("content", [
    b'{"accuracy": 0.5, "runs": 3}',  # json.dump: one line, no newline
    b'{"accuracy": 0.5, "runs": 3}\n',  # the same with a newline
    b"model,accuracy\nm,0.5\n",  # a CSV
    b"{\n  \"accuracy\": 0.5\n}",  # json.dump(indent=2)
])
def test_a_file_that_is_not_ours_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "results.json"
    path.write_bytes(content)
    with pytest.raises(UserError, match=r"results\.json is not a slmmux record file"):
        RecordStore(path)
    assert path.read_bytes() == content


def test_a_stale_store_does_not_truncate_a_file_that_became_foreign(tmp_path):
    path = tmp_path / "r.jsonl"
    store = RecordStore(path)  # absent when loaded
    path.write_bytes(b'{"accuracy": 0.5}')
    with pytest.raises(UserError, match="not a slmmux record file"):
        store.append(record())
    assert path.read_bytes() == b'{"accuracy": 0.5}'


def test_headerless_record_files_remain_ours(tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_bytes(record(index=0).to_line() + record(index=1).to_line()[:30])  # torn tail
    store = RecordStore(path)
    assert [r.sample_index for r in store.records] == [0]
    store.append(record(index=1))  # repaired, and no header inserted in an old file
    assert path.read_bytes() == record(index=0).to_line() + record(index=1).to_line()


def test_a_torn_header_is_ours(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(RECORD_HEADER[:9])  # killed while creating the file
    RecordStore(path).append(record())
    assert path.read_bytes() == RECORD_HEADER + record().to_line()


def test_header_then_torn_first_record_is_repaired(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(RECORD_HEADER + record().to_line()[:20])
    store = RecordStore(path)
    assert store.records == [] and store.first_record_line == 2
    store.append(record())
    assert path.read_bytes() == RECORD_HEADER + record().to_line()


def test_bad_line_after_header_is_numbered_in_the_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(RECORD_HEADER + record(index=0).to_line() + b"not json\n"
                     + record(index=1).to_line())
    with pytest.raises(UserError, match=r"r\.jsonl, line 3: not a valid record"):
        RecordStore(path)


def test_unknown_format_version_is_refused(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"format": "slmmux-records/9"}\n')
    with pytest.raises(UserError, match="slmmux-records/9"):
        RecordStore(path)


def test_compressed_store_with_header_reads(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress(RECORD_HEADER + record(index=0).to_line()))
    assert [r.sample_index for r in RecordStore(path).records] == [0]


# --- One writer ----------------------------------------------------------------------------


def test_exclusive_creates_the_header_and_refuses_a_second_writer(tmp_path):
    path = tmp_path / "r.jsonl"
    store = RecordStore(path)
    with store.exclusive():
        assert path.read_bytes() == RECORD_HEADER  # checked writable before anything is paid for
        lock = tmp_path / "r.jsonl.lock"
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(UserError) as error:
            with RecordStore(path).exclusive():
                pass
        assert str(path) in str(error.value) and f"pid {os.getpid()}" in str(error.value)
        store.append(record())  # the holder still appends
    assert not lock.exists()
    with RecordStore(path).exclusive() as again:  # released on exit
        assert again.done_keys() == {record().key}


def test_the_lock_dies_with_its_process(tmp_path):
    path = tmp_path / "r.jsonl"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from slmmux_run.data.records import RecordStore\n"
         "with RecordStore(sys.argv[1]).exclusive():\n"
         "    print('locked', flush=True); time.sleep(60)\n", str(path)],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(UserError, match=f"pid {holder.pid}"):
            with RecordStore(path).exclusive():
                pass
    finally:
        holder.kill()
        holder.wait()
    with RecordStore(path).exclusive():  # a stale sidecar from a killed holder does not block
        pass


@pytest.mark.parametrize("make", ["directory", "under_a_file"])
def test_unwritable_out_fails_before_anything_is_sent(tmp_path, make):
    if make == "directory":
        path = tmp_path / "out"
        path.mkdir()
    else:
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "r.jsonl"
    with pytest.raises(UserError, match=str(path).replace(".", r"\.")):
        with RecordStore(path).exclusive():
            pass


def test_exclusive_refuses_a_compressed_store(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    path.write_bytes(gzip.compress(RECORD_HEADER))
    with pytest.raises(UserError, match="compressed"):
        with RecordStore(path).exclusive():
            pass
