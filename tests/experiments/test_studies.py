"""Every study of ``experiments/`` runs end to end with tiny arguments (numpyro's examples test).

The studies are discovered from the folders (``experiments/<study>/run.py``) and the benchmarks
(``experiments/benchmarks/<name>.py``); each must have tiny arguments in ``CASES``, so a new
study without them fails :func:`test_every_study_has_tiny_arguments`. Each case calls the
study's ``main(argv)`` in-process, writing into ``tmp_path``, and checks the files it must
write. Offline: cases that sample the local models are marked ``live`` and skipped unless the
model packages are installed; cases that need the shared data are skipped without it; cases
that take more than a few seconds on a loaded 2-core machine are marked ``slow``.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from slmmux_run.data.paths import data_dir
from slmmux_run.errors import UserError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


class Case(NamedTuple):
    """Tiny arguments of one study (``{out}`` is replaced by the output folder)."""

    argv: tuple
    writes: tuple = ()
    needs_data: bool = False
    live: bool = False
    slow: bool = False
    setup: str = ""


CASES = {
    "benchmarks.cli_startup": [Case(("--runs", "1"))],
    "benchmarks.exact_sweep": [Case(("--python-cells", "2", "--repeats", "1"), slow=True)],
    "benchmarks.main_job": [Case(("--steps", "search", "--baseline-ref", "HEAD"), slow=True)],
    "benchmarks.plan_k": [Case(("--ks", "2", "--files", "aime", "--draws", "2", "--svi-steps",
                                "5", "--baseline-ref", ""), needs_data=True, slow=True)],
    "benchmarks.plan_speed": [Case(("--draws", "4", "--svi-steps", "5", "--subset-sizes", "2",
                                    "--baseline-ref", ""), needs_data=True, slow=True)],
    "benchmarks.runner_overhead": [
        Case(("--requests", "20", "--rounds", "1", "--concurrency", "4"))],
    "data_summary.run": [Case(("--repeats", "1"), needs_data=True)],
    "fit_answer_model.run": [Case(("--svi-steps", "20", "--skip-nuts", "--replicates", "5",
                                   "--max-questions", "20", "--ablations", "none"),
                                  needs_data=True, slow=True)],
    "forecasts.run": [Case(("--datasets", "aime", "--seeds", "1", "--models", "1", "--out", "{out}"),
                           writes=("results_aime.json", "table.md", "log.txt"), needs_data=True,
                           slow=True)],
    "hard_regime.run": [Case(("--tasks", "aime2024", "--max-models", "3", "--max-questions", "8",
                              "--k", "3", "--draws", "4", "--caps", "4", "--out", "{out}"),
                             writes=("results.json", "table.md", "pareto.png"),
                             needs_data=True, slow=True)],
    "groupthink_phase.run": [Case(("--grid-size", "3", "--conformities", "0,0.9",
                                   "--correct-conformity-ratios", "1", "--output-dir", "{out}"),
                                  writes=("groupthink_phase.json", "groupthink_phase.png"))],
    "groupthink_real.run": [
        Case(("--steps", "family-rates", "--out-dir", "{out}"), writes=("family_rates.json",)),
        Case(("--steps", "check,confidence", "--out-dir", "{out}"),
             writes=("transfer/check/check.json", "blind_medium/check_ability/check.json",
                     "next_blind_word_seed1/check/check.json"), slow=True),
        # The reports refit the conformity model (minutes each); the step that pools the two
        # committed folds of every family stands in for them here.
        Case(("--steps", "crossfit", "--out-dir", "{out}"),
             writes=("crossfit/crossfit.json", "transfer/crossfit/crossfit.json",
                     "blind_medium/crossfit/crossfit.json")),
        Case(("--steps", "collect", "--questions", "1", "--k", "1", "--debates-per-question",
              "1", "--moa-questions", "0", "--mav-questions", "0", "--out-dir", "{out}"),
             writes=("samples.jsonl", "transcripts.jsonl"), live=True, slow=True),
    ],
    "local_run.run": [
        Case(("--summary-only", "--out-dir", "{out}"), writes=("summary.md",),
             setup="local_run/result.json"),
        Case(("--questions", "2", "--k", "2", "--out-dir", "{out}"),
             writes=("records.jsonl", "result.json", "summary.md"), live=True, slow=True),
    ],
    "local_plan.run": [
        Case(("--pilot-questions", "3", "--pilot-k", "1", "--population", "5", "--k", "2",
              "--draws", "4", "--svi-steps", "20", "--out-dir", "{out}"),
             writes=("pilot.jsonl", "full.jsonl", "plan.json", "check.json", "log.txt",
                     "result.json"), live=True, slow=True),
    ],
    "math500_regrade.run": [Case(("--count", "3", "--merges", "2", "--out", "{out}"),
                                 writes=("hand_check.md",), needs_data=True, slow=True)],
    "fault_targets.run": [Case(("--repeats", "1", "--questions", "20", "--latency", "0.1",
                                "--no-comparison", "--out", "{out}"),
                               writes=("results.json", "table.md"), slow=True)],
    "tie_breaks.run": [Case(("--datasets", "aime2024", "--ks", "2", "--models", "3",
                             "--questions", "10", "--out", "{out}"),
                            writes=("results.json", "table.md"), needs_data=True, slow=True)],
    "pilot_eval.run": [Case(("--datasets", "routerdc7", "--designs", "10%: all q x 1",
                             "--predictors", "plug-in", "--seeds", "1", "--draws", "4",
                             "--floor-seeds", "2", "--floor-datasets", "routerdc7",
                             "--out", "{out}"),
                            writes=("results.json", "table.md", "floor.txt"),
                            needs_data=True, slow=True),
                       Case(("--steps", "hard", "--hard-datasets", "aime",
                             "--hard-designs", "N/3 q x 3",
                             "--hard-predictors", "plug-in,eb/bootstrap", "--hard-k", "3",
                             "--seeds", "1", "--draws", "4", "--out", "{out}"),
                            writes=("hard_results.json", "hard_table.md"), needs_data=True,
                            slow=True)],
}


def discovered() -> list[str]:
    """Module names (relative to ``experiments``) of every study and benchmark."""
    studies = [f"{path.parent.name}.run" for path in EXPERIMENTS.glob("*/run.py")]
    benchmarks = [f"benchmarks.{path.stem}" for path in (EXPERIMENTS / "benchmarks").glob("*.py")
                  if not path.stem.startswith("_")]
    return sorted(studies + benchmarks)


def _has_data() -> bool:
    try:
        data_dir()
        return True
    except UserError:
        return False


def _has_local_models() -> bool:
    from slmmux_run.sampling.serve import check_available

    try:
        for name in ("smollm2", "gemma3"):
            check_available(name)
        return True
    except UserError:
        return False


def _params():
    for module, cases in CASES.items():
        for index, case in enumerate(cases):
            marks = []
            if case.slow:
                marks.append(pytest.mark.slow)
            if case.live:
                marks += [pytest.mark.live, pytest.mark.skipif(
                    not _has_local_models(), reason="local model packages not installed")]
            if case.needs_data:
                marks.append(pytest.mark.skipif(not _has_data(), reason="shared data absent"))
            yield pytest.param(module, case, marks=marks, id=f"{module}-{index}")


def test_every_study_has_tiny_arguments():
    assert discovered() == sorted(CASES), "add tiny arguments for the new study to CASES"


@pytest.mark.parametrize(("module", "case"), list(_params()))
def test_study_runs_with_tiny_arguments(module, case, tmp_path, monkeypatch):
    from slmmux_run.sampling import serve

    monkeypatch.setenv(serve.CACHE_DIR_ENV, str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    if case.setup:
        shutil.copy(EXPERIMENTS / case.setup, out)
    study = importlib.import_module(f"experiments.{module}")
    assert study.main([arg.replace("{out}", str(out)) for arg in case.argv]) == 0
    for name in case.writes:
        assert (out / name).is_file(), f"{module} did not write {name}"


@pytest.mark.parametrize("module", sorted(CASES))
def test_study_has_help_and_a_usage_line(module, capsys):
    study = importlib.import_module(f"experiments.{module}")
    with pytest.raises(SystemExit) as stop:
        study.main(["--help"])
    assert stop.value.code == 0
    assert "usage:" in capsys.readouterr().out
    assert f"python -m experiments.{module.removesuffix('.run')}" in study.__doc__
