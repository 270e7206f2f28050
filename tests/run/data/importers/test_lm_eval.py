"""lm-evaluation-harness ``--log_samples`` files: every repeat of ``resps`` is a sample (not
``filtered_resps``), the target is read as GSM8K gold, lines of other filters are the same
generations, and bad lines name the file, line and field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slmmux_run.data.importers.lm_eval import load_lm_eval
from slmmux_run.data.sample_files import LM_EVAL, load_record_set, load_sample_set, sniff_schema
from slmmux_run.errors import UserError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "lm_eval"
NAME = "samples_gsm8k_cot_self_consistency_2024-06-01T10-15-30.123456.jsonl"

# Worked by hand from the fixture's resps (gold 72, 10, 5; "#### 1,000" reads 1000, "10.00"
# equals 10, a text without a number is ⊥). Wrong slots: doc 0 "96" (3 times) then "1000".
EXPECTED_SAMPLES = [
    [[0, 0, 1, 0], [0, 1, 3, 0], [0, 0, 1, 0]],  # EleutherAI__tiny-a
    [[1, 0, 1, 2], [0, 0, 0, 1], [1, 1, 0, 3]],  # EleutherAI__tiny-b
]
EXPECTED_LABELS = (("72", "96", "1000", None), ("10", "12", "", None), ("5", "50", "", None))


def test_the_output_folder_loads_every_repeat_of_every_model():
    assert sniff_schema(FIXTURE) == LM_EVAL
    samples = load_sample_set(FIXTURE)
    assert samples.task == "gsm8k_cot_self_consistency"
    assert samples.models == ("EleutherAI__tiny-a", "EleutherAI__tiny-b")
    assert samples.question_ids == ("0", "1", "2")
    assert samples.samples.tolist() == EXPECTED_SAMPLES
    assert samples.slot_labels == EXPECTED_LABELS
    assert samples.tokens is None  # the harness logs no token counts


def test_one_file_is_one_model_named_by_its_folder():
    file = FIXTURE / "EleutherAI__tiny-b" / NAME
    assert sniff_schema(file) == LM_EVAL
    samples = load_sample_set(file)
    assert samples.models == ("EleutherAI__tiny-b",)
    # Slots are rebuilt from this model alone: "96" twice, then "1000", then "50"/"12".
    assert samples.samples[0, 0].tolist() == [1, 0, 1, 2]
    assert load_lm_eval(file, model="mine").sample_set.models == ("mine",)


def test_filtered_resps_would_have_kept_one_repeat_per_document():
    """The trap the issue names: ``filtered_resps`` holds the first repeat (or a vote) only."""
    rows = [json.loads(line) for line in (FIXTURE / "EleutherAI__tiny-a" / NAME).open()]
    assert all(len(row["filtered_resps"]) == 1 for row in rows)
    assert load_sample_set(FIXTURE).num_samples == len(rows[0]["resps"][0]) == 4


def test_models_can_be_chosen_and_ordered():
    samples = load_record_set(FIXTURE, models=["EleutherAI__tiny-b", "EleutherAI__tiny-a"]).sample_set
    assert samples.models == ("EleutherAI__tiny-b", "EleutherAI__tiny-a")
    correct = samples.samples == 0
    assert correct.sum(axis=(1, 2)).tolist() == [5, 8]  # by hand: 1+3+1, 3+2+3


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "EleutherAI__tiny-a"
    target.mkdir()
    shutil.copy(FIXTURE / "EleutherAI__tiny-a" / NAME, target / NAME)
    return target / NAME


def _rewrite(path: Path, line: int, change) -> None:
    rows = path.read_text().splitlines()
    row = json.loads(rows[line - 1])
    change(row)
    rows[line - 1] = json.dumps(row)
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("change, message", [
    (lambda row: row.update(resps=[[[-1.5, False]]]), r":3: field 'resps\[0\]\[0\]' must be generated text"),
    (lambda row: row.update(resps=[["a"], ["b"]]), r":3: field 'resps' holds 2 requests"),
    (lambda row: row.pop("target"), r":3: field 'target' is missing"),
    (lambda row: row.update(doc_id=None), r":3: field 'doc_id' must be an integer"),
    (lambda row: row.update(target="no answer here"), r":3: field 'target' holds no gsm8k answer"),
])  # fmt: skip
def test_a_bad_line_names_file_line_and_field(tmp_path, change, message):
    path = _copy(tmp_path)
    _rewrite(path, 3, change)
    with pytest.raises(UserError, match=f"{NAME}{message}"):
        load_sample_set(path)


def test_two_filter_lines_must_hold_the_same_generations(tmp_path):
    path = _copy(tmp_path)
    _rewrite(path, 2, lambda row: row["resps"][0].__setitem__(0, "#### 1"))
    with pytest.raises(UserError, match=rf"{NAME}:2: field 'resps' of doc_id 0 differs from line 1"):
        load_sample_set(path)


def test_an_unknown_task_name_asks_for_the_answer_format(tmp_path):
    path = tmp_path / "m" / "samples_mystery_2024-06-01T10-15-30.123456.jsonl"
    path.parent.mkdir()
    shutil.copy(FIXTURE / "EleutherAI__tiny-a" / NAME, path)
    with pytest.raises(UserError, match="cannot tell the answer format of task 'mystery'"):
        load_sample_set(path)
    # One model alone: its only wrong answers are "96", "12", "50", so ⊥ is slot 2.
    expected = [[[0, 0, 1, 0], [0, 1, 2, 0], [0, 0, 1, 0]]]
    assert load_sample_set(path, answer_format="gsm8k").samples.tolist() == expected


def test_a_folder_of_several_tasks_needs_one_chosen(tmp_path):
    for task in ("gsm8k_a", "gsm8k_b"):
        folder = tmp_path / "m"
        folder.mkdir(exist_ok=True)
        shutil.copy(FIXTURE / "EleutherAI__tiny-a" / NAME,
                    folder / f"samples_{task}_2024-06-01T10-15-30.123456.jsonl")  # fmt: skip
    with pytest.raises(UserError, match="holds tasks gsm8k_a, gsm8k_b; choose one"):
        load_sample_set(tmp_path)
    assert load_sample_set(tmp_path, task="gsm8k_b").task == "gsm8k_b"



def test_a_folder_of_something_else_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(UserError, match="holds neither"):
        load_sample_set(tmp_path)


def test_a_gzipped_output_folder_loads_the_same(tmp_path):
    import gzip

    for model in ("EleutherAI__tiny-a", "EleutherAI__tiny-b"):
        (tmp_path / model).mkdir()
        data = (FIXTURE / model / NAME).read_bytes()
        (tmp_path / model / (NAME + ".gz")).write_bytes(gzip.compress(data))
    assert sniff_schema(tmp_path) == LM_EVAL
    assert load_sample_set(tmp_path).samples.tolist() == EXPECTED_SAMPLES
