"""``slmmux reproduce`` end to end on its cheapest step, and its flag errors."""

import json

import pytest

from slmmux_run.cli import main
from slmmux_run.errors import UserError
from slmmux_run.data.paths import data_file


def _has_data() -> bool:
    try:
        data_file("samples/gsm8k_train_250x10_13models.jsonl")
        return True
    except UserError:
        return False


@pytest.mark.skipif(not _has_data(), reason="shared data directory absent")
def test_search_step_writes_figure_table_and_summary(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--steps", "search", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"] and summary["rows"][0]["claim"].startswith("search score peaks")
    assert (tmp_path / "search" / "search_vs_paper.png").stat().st_size > 10_000
    table = json.loads((tmp_path / "search" / "search_real.json").read_text())
    assert [row["K"] for row in table] == [1, 2, 3]
    assert "claim" in capsys.readouterr().out


def test_unknown_step_is_a_one_line_error(tmp_path, capsys):
    assert main(["reproduce", "--steps", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown step" in capsys.readouterr().err
