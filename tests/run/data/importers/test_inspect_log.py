"""Inspect AI JSON eval logs: epochs are the sample axis, an errored sample is a failure, tokens
come from ``output.usage``, a named scorer's verdict can decide, and bad fields are named."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from slmmux_run.data.importers.inspect_log import load_inspect_log
from slmmux_run.data.sample_files import INSPECT, load_record_set, load_sample_set, sniff_schema
from slmmux_run.errors import UserError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "inspect_gsm8k_log.json"


def test_the_log_loads_with_epochs_as_samples():
    assert sniff_schema(FIXTURE) == INSPECT
    loaded = load_record_set(FIXTURE)
    samples = loaded.sample_set
    assert (samples.task, samples.models) == ("inspect_evals/gsm8k", ("openai/gpt-4o-mini",))
    assert samples.question_ids == ("1", "2")
    # By hand: id 1 answers 18 (gold), 26, then a 429 error; id 2 answers 3 (gold), 4, 3.
    assert samples.samples.tolist() == [[[0, 1, 2], [0, 1, 0]]]
    assert samples.slot_labels == (("18", "26", None), ("3", "4", None))
    assert loaded.failed.tolist() == [[[False, False, True], [False, False, False]]]
    np.testing.assert_array_equal(samples.tokens, [[[60, 55, np.nan], [40, 38, 70]]])


def test_a_scorer_verdict_decides_when_named(tmp_path):
    log = json.loads(FIXTURE.read_text())
    # The scorer calls id 2 epoch 2 ("4") correct: with scorer="match" its verdict wins.
    log["samples"][3]["scores"]["match"]["value"] = "C"
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    assert load_sample_set(path).samples[0, 1].tolist() == [0, 1, 0]
    assert load_inspect_log(path, scorer="match").sample_set.samples[0, 1].tolist() == [0, 0, 0]


@pytest.mark.parametrize("edit, message", [
    (lambda log: log["samples"][2].update(epoch="two"), r"samples\[2\]\.epoch is \"two\""),
    (lambda log: log["samples"][2].update(epoch=1), r"samples\[2\] repeats id '1', epoch 1"),
    (lambda log: log["samples"][1].update(target="three"), r"samples\[1\]\.target holds no gsm8k"),
    (lambda log: log["samples"].clear(), "field 'samples' holds no sample"),
    (lambda log: log["eval"].pop("model"), r"field eval\.model is null"),
])  # fmt: skip
def test_a_bad_field_is_named(tmp_path, edit, message):
    log = json.loads(FIXTURE.read_text())
    edit(log)
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log, indent=2))
    with pytest.raises(UserError, match=message):
        load_sample_set(path)


def test_a_verdict_that_is_not_correct_or_incorrect_is_refused(tmp_path):
    log = json.loads(FIXTURE.read_text())
    log["samples"][0]["scores"]["match"]["value"] = 0.5
    path = tmp_path / "log.json"
    path.write_text(json.dumps(log))
    with pytest.raises(UserError, match=r"samples\[0\]\.scores\.match\.value is 0\.5"):
        load_inspect_log(path, scorer="match")
    with pytest.raises(UserError, match=r"samples\[0\]\.scores has no scorer 'f1'"):
        load_inspect_log(path, scorer="f1")


@pytest.mark.parametrize("spec_member", ["start.json", "header.json", "_journal/start.json"])
def test_the_eval_zip_gives_what_the_json_log_gives(tmp_path, spec_member):
    """The .eval layout of Inspect's recorder: the spec, then samples/<id>_epoch_<epoch>.json."""
    log = json.loads(FIXTURE.read_text())
    path = tmp_path / "run.eval"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(spec_member, json.dumps({"version": 2, "eval": log["eval"],
                                                  "plan": log["plan"]}))  # fmt: skip
        for sample in log["samples"]:
            archive.writestr(f"samples/{sample['id']}_epoch_{sample['epoch']}.json",
                             json.dumps(sample, indent=2))  # fmt: skip
        archive.writestr("summaries/1.json", "[]")
    assert sniff_schema(path) == INSPECT
    from_zip, from_json = load_record_set(path), load_record_set(FIXTURE)
    np.testing.assert_array_equal(from_zip.sample_set.samples, from_json.sample_set.samples)
    np.testing.assert_array_equal(from_zip.failed, from_json.failed)
    np.testing.assert_array_equal(from_zip.sample_set.tokens, from_json.sample_set.tokens)
    assert from_zip.sample_set.slot_labels == from_json.sample_set.slot_labels


def test_a_bad_eval_zip_is_named(tmp_path):
    path = tmp_path / "run.eval"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("samples/1_epoch_1.json", "{}")
    with pytest.raises(UserError, match="needs one of header.json"):
        load_sample_set(path)
    log = json.loads(FIXTURE.read_text())
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("start.json", json.dumps({"eval": log["eval"]}))
        archive.writestr("samples/1_epoch_1.json", json.dumps({"id": 1, "epoch": "one"}))
    with pytest.raises(UserError, match=r"member samples/1_epoch_1\.json\.epoch is \"one\""):
        load_sample_set(path)


def test_the_task_and_models_are_checked():
    with pytest.raises(UserError, match="holds task 'inspect_evals/gsm8k', not 'math'"):
        load_sample_set(FIXTURE, task="math")
    with pytest.raises(UserError, match="holds model 'openai/gpt-4o-mini' only"):
        load_sample_set(FIXTURE, models=["other"])


def test_a_json_document_that_is_not_a_log_is_refused(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": {"acc": 0.5}}, indent=2))
    assert sniff_schema(path) == INSPECT  # a pretty-printed document is read as a log ...
    with pytest.raises(UserError, match="not an Inspect eval log"):
        load_sample_set(path)  # ... and its loader says it is not one
