"""Tests of slmmux_run.data.sample_files: one loader for records and shared samples files.

The reference is the shared-schema loader on the hand-checked fixture ``samples_good.jsonl``
(its slots are worked by hand in test_datasets.py); the same samples written as ``collect``
writes them must give the same sample set.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_run.data.records import Record, RecordStore
from slmmux_run.data.sample_files import (
    GREEDY,
    RECORDS,
    SAMPLES,
    load_record_set,
    load_sample_set,
    sniff_schema,
)
from slmmux_run.data.shared_samples import load_samples
from slmmux_run.errors import UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHARED = FIXTURES / "samples_good.jsonl"


def write_records(path: Path, *, graded: bool = True, correct_as=bool) -> Path:
    """``samples_good.jsonl`` as ``slmmux collect`` stores it: one Record per sample."""
    store = RecordStore(path)
    for line in SHARED.read_text().splitlines():
        row = json.loads(line)
        records = []
        for i, (answer, flag) in enumerate(zip(row["answers"], row["is_correct"])):
            answer = None if answer is None else answer.strip()
            extra = {"gold": row["gold"]} | ({"correct": correct_as(flag)} if graded else {})
            records.append(Record(row["task"], row["question_id"], row["model"], "v1", i,
                                  text=answer, answer=answer, extra=extra))  # fmt: skip
        store.append_many(records)
    return path


def gzip_copy(path: Path, folder: Path) -> Path:
    # Into the test's own folder: never write beside a committed fixture.
    target = folder / (path.name + ".gz")
    with open(path, "rb") as source, gzip.open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    return target


def assert_same(first, second):
    assert first.task == second.task and first.models == second.models
    assert first.question_ids == second.question_ids
    assert first.slot_labels == second.slot_labels and first.num_answers == second.num_answers
    np.testing.assert_array_equal(first.samples, second.samples)


@pytest.mark.parametrize("graded", [True, False])
def test_collect_records_load_as_the_same_sample_set_as_the_shared_file(tmp_path, graded):
    records = write_records(tmp_path / "records.jsonl", graded=graded)
    reference = load_samples(SHARED)
    assert_same(load_sample_set(records), reference)
    assert_same(load_sample_set(SHARED), reference)
    # Compressed copies of both read the same.
    assert_same(load_sample_set(gzip_copy(records, tmp_path)), reference)
    assert_same(load_sample_set(gzip_copy(SHARED, tmp_path)), reference)


def test_record_set_of_a_shared_file_has_no_failures(tmp_path):
    loaded = load_record_set(SHARED, models=["m-a"])
    assert loaded.sample_set.models == ("m-a",) and not loaded.failed.any()
    with pytest.raises(UserError, match=r"holds task 'toy', not 'other'"):
        load_record_set(SHARED, task="other")


def test_sniff_schema(tmp_path):
    assert sniff_schema(SHARED) == SAMPLES
    assert sniff_schema(write_records(tmp_path / "r.jsonl")) == RECORDS
    assert sniff_schema(FIXTURES / "greedy_numbers.jsonl") == GREEDY
    odd = tmp_path / "odd.jsonl"
    odd.write_text('\n{"task": "t", "n_correct": 3}\n')
    with pytest.raises(UserError, match=r"odd\.jsonl:2: neither a record file .* fields found: "
                                        r"n_correct, task"):
        sniff_schema(odd)
    with pytest.raises(UserError, match="does not exist"):
        sniff_schema(tmp_path / "absent.jsonl")


def test_a_string_verdict_is_an_error_naming_file_line_and_field(tmp_path):
    records = write_records(tmp_path / "r.jsonl", correct_as=lambda flag: str(flag).lower())
    with pytest.raises(UserError, match=r"r\.jsonl:2: field 'extra\.correct' must be a boolean "
                                        r"\(true or false\), got \"true\""):
        load_sample_set(records)


def test_a_compressed_store_is_read_and_refuses_appends(tmp_path):
    compressed = gzip_copy(write_records(tmp_path / "r.jsonl"), tmp_path)
    store = RecordStore(compressed)
    assert len(store.records) == 24
    with pytest.raises(UserError, match=r"compressed \(\.gz\) and read-only"):
        store.append(Record("toy", "99", "m-a", "v1", 0, text="1", answer="1"))


# --------------------------------------------------------------------------- commands


def test_mux_reads_records_and_shared_files_alike(tmp_path, capsys):
    records = write_records(tmp_path / "records.jsonl")
    tables = []
    for path in (records, SHARED):
        assert main(["mux", "--records", str(path), "--rule", "slm-mux,oracle", "--k", "2",
                     "--validation-split", "0"]) == 0  # fmt: skip
        tables.append(capsys.readouterr().out)
    assert tables[0] == tables[1] and "slm-mux" in tables[0]


@pytest.mark.slow  # 16 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_fit_reads_records_and_shared_files_alike(tmp_path, capsys):
    records = write_records(tmp_path / "records.jsonl")
    for flag, path in (("--records", records), ("--samples", SHARED)):  # --samples: the old name
        assert main(["fit", flag, str(path), "--svi-steps", "2", "--draws", "2"]) == 0
        assert "fit of 2 models x 3 questions x 4 samples" in capsys.readouterr().out
