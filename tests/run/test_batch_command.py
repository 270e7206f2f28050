"""``slmmux batch export`` / ``batch import`` as a person runs them: a planned run to a batch
file, the batch output back to records that every samples command reads; exit codes and
one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.cli import main
from slmmux_run.data.sample_files import load_record_set

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "imports"
CONFIG = str(FIXTURES / "batch_models.toml")
TASK = ["--task", "arithmetic", "--questions", "2"]


def test_export_then_import_gives_records(tmp_path, capsys):
    batch = tmp_path / "batch.jsonl"
    code = main(["batch", "export", "--config", CONFIG, "--models", "tiny-chat,tiny-base",
                 "--k", "3", "--out", str(batch), *TASK])  # fmt: skip
    assert code == 0
    chat, base = tmp_path / "batch.tiny-chat.jsonl", tmp_path / "batch.tiny-base.jsonl"
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"batch export: tiny-chat: 4 requests, 6 samples -> {chat}"
    assert printed[2] == f"batch export: tiny-base: 6 requests, 6 samples -> {base}"
    assert printed[1].startswith("note: custom_ids up to 102 characters")  # longer than 64
    first = json.loads(chat.read_text().splitlines()[0])
    assert sorted(first) == ["body", "custom_id", "method", "url"]
    assert {json.loads(line)["url"] for line in base.open()} == {"/v1/completions"}

    records = tmp_path / "records.jsonl"
    code = main(["batch", "import", "--config", CONFIG, "--input", str(chat), "--input",
                 str(base), "--output", str(FIXTURES / "openai_batch_output.jsonl"), "--out",
                 str(records), *TASK])  # fmt: skip
    assert code == 3  # two samples failed and one never came back
    assert capsys.readouterr().out.strip() == (
        f"batch import: 10 requests; 9 samples stored, 2 failed, 0 already stored, 1 not "
        f"returned -> {records}")
    loaded = load_record_set(records)
    assert loaded.sample_set.samples.shape == (2, 2, 3)
    assert int(loaded.failed.sum()) == 2

    # A second export with the records leaves out the 9 stored samples.
    code = main(["batch", "export", "--config", CONFIG, "--models", "tiny-chat,tiny-base",
                 "--k", "3", "--records", str(records), "--out", str(batch), *TASK])  # fmt: skip
    assert code == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if "export" in line]
    assert printed == [f"batch export: tiny-chat: 1 requests, 2 samples -> {chat}",
                       f"batch export: tiny-base: 1 requests, 1 samples -> {base}"]  # fmt: skip


def test_an_input_line_given_twice_is_refused(tmp_path, capsys):
    batch = tmp_path / "b.jsonl"
    main(["batch", "export", "--config", CONFIG, "--models", "tiny-base", "--k", "1",
          "--out", str(batch), *TASK])  # fmt: skip
    code = main(["batch", "import", "--config", CONFIG, "--input", str(batch), "--input",
                 str(batch), "--output", str(FIXTURES / "openai_batch_output.jsonl"), "--out",
                 str(tmp_path / "r.jsonl"), *TASK])  # fmt: skip
    assert code == 2
    assert "b.jsonl:1: custom_id" in capsys.readouterr().err


def test_question_ids_choose_the_questions(tmp_path, capsys):
    ids = tmp_path / "ids.txt"
    ids.write_text("arith-d1-s1-x0-a-bare-seed0-q0003\n")
    code = main(["batch", "export", "--config", CONFIG, "--models", "tiny-base", "--k", "2",
                 "--question-ids", str(ids), "--out", str(tmp_path / "b.jsonl"),
                 "--task", "arithmetic"])  # fmt: skip
    assert code == 0
    lines = [json.loads(line) for line in (tmp_path / "b.jsonl").open()]
    assert {line["custom_id"].split("|")[4] for line in lines} == {
        "arith-d1-s1-x0-a-bare-seed0-q0003"}
    ids.write_text("nope\n")
    code = main(["batch", "export", "--config", CONFIG, "--models", "tiny-base", "--k", "2",
                 "--question-ids", str(ids), "--out", str(tmp_path / "b.jsonl"),
                 "--task", "arithmetic"])  # fmt: skip
    assert code == 2
    assert "question id 'nope' is not in task" in capsys.readouterr().err


def test_a_bad_output_file_is_one_line_and_exit_2(tmp_path, capsys):
    batch = tmp_path / "batch.jsonl"
    main(["batch", "export", "--config", CONFIG, "--models", "tiny-base", "--k", "1",
          "--out", str(batch), *TASK])  # fmt: skip
    broken = tmp_path / "out.jsonl"
    broken.write_text('{"custom_id": "x", "response": {"status_code": 200, "body": {}}}\n')
    code = main(["batch", "import", "--config", CONFIG, "--input", str(batch), "--output",
                 str(broken), "--out", str(tmp_path / "r.jsonl"), *TASK])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.endswith("out.jsonl:1: field 'response.body.choices' must be a non-empty list")


def test_batch_without_an_action_prints_help(capsys):
    assert main(["batch"]) == 2
    assert "export" in capsys.readouterr().out
