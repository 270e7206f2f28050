"""The forecasts study's diagnosis script (``experiments/forecasts/diagnose.py``) runs end to end
on one model and prints its table with one row per p_correct law."""

from __future__ import annotations

import pytest

from slmmux_run.data.paths import data_dir
from slmmux_run.errors import UserError


def _has_data() -> bool:
    try:
        data_dir()
        return True
    except UserError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _has_data(), reason="shared data absent")
def test_diagnosis_runs_on_one_model_and_prints_every_law(capsys):
    from experiments.forecasts import diagnose

    assert diagnose.main(["--seeds", "1", "--models", "1"]) == 0
    printed = capsys.readouterr().out
    assert "1 seeds x 1 models" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == [
        "categorical G=1", "Beta-binomial", "scaled Beta-binomial"]
