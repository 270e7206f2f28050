"""Reproduce step ``groupthink``: debates of real local models, the fitted conformity model, the
held-out check and the frozen predictions for new questions checked against their debates.

Runner layer: the fit and the check are :func:`slmmux_run.debate_study.report` and
:func:`slmmux_run.debate_study.check` (the library behind ``slmmux debate report`` / ``check``),
written as those commands write them (:mod:`slmmux_run.debate_report`); the transcripts, samples
and frozen predictions are the committed files of ``experiments/groupthink_real/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from slmmux_run.reproduce.context import Context, StepResult, SummaryRow, stored_jsonl

__all__ = ["GROUPTHINK", "frozen_check_rows", "step_groupthink"]

#: The groupthink study inside the experiments folder.
GROUPTHINK = "groupthink_real"


def step_groupthink(context: Context) -> StepResult:
    """Debates of real local models: fitted conformity model, held-out check, comparison."""
    folder, source = context.experiments_path(GROUPTHINK)
    if folder is None:
        return StepResult("groupthink", note=source)
    transcripts = stored_jsonl(folder, "transcripts")
    if not transcripts.is_file():
        return StepResult("groupthink", note=f"{transcripts} is missing")
    out = context.out / "groupthink"
    # The fit half chooses among the variants; reproduce refits the two finalists of the
    # committed report (largest fit-half miss 4.6 and 4.8 points with 16 samples per model; in
    # the six-variant report on 4 samples 3.6 and 3.9, the next 6.8) to stay within its time;
    # the six-variant table is `slmmux debate report` without --variants.
    from slmmux_run.debate_report import write_report
    from slmmux_run.debate_study import report
    from slmmux_run.progress import Progress

    # The fit has no natural count (two variants, their draws, the main draws, simulations):
    # the child line shows the phase running and its draws done.
    with Progress("debates") as progress:
        def on_phase(status: str) -> None:
            progress.advance(0, status=status)

        result, _ = write_report(
            report(transcripts, stored_jsonl(folder, "samples"), folder / "config.toml",
                   variant_names="state_law,state_law_by_model", on_phase=on_phase), out)
        on_phase("frozen checks")
        rows, checked_tables = frozen_check_rows(folder, out, on_phase)
    measured, predicted = result["measured_held_out"], result["model"]["at_posterior_mean"]
    labels = result["failure_labels_all"]
    summary = [
        SummaryRow("debate of small models loses to independent selection",
                   f"Debate {result['paper'].get('A.1 SLMs MATH LLM-Debate')} vs SLM-MUX "
                   f"{result['paper'].get('A.2 SLM-MUX MATH')} % (MATH)",
                   f"debate {100 * predicted['debate_accuracy']:.1f} % (fitted conformity model)",
                   f"debate {100 * measured['debate_accuracy']:.1f} % on held-out questions"),
        SummaryRow("groupthink share of failed debates",
                   f"{result['paper'].get('A.13 groupthink share of failed debates')} % (LLM labeller)",
                   "—",
                   f"{100 * labels['groupthink_share_of_failures']:.1f} % (operational, {labels['failed']} failures)"),
    ]
    tables = [out / "result.json"]
    return StepResult("groupthink", figures=[out / "figure.png"], tables=tables + checked_tables,
                      summary=summary + rows)


def frozen_check_rows(folder: Path, out: Path, on_phase: Callable[[str], None] | None = None
                      ) -> tuple[list[SummaryRow], list[Path]]:  # fmt: skip
    """Each committed FROZEN prediction for debates on new questions, checked against their
    transcripts (no refit; seconds each): the `easy-word` sibling family (session 4), the blind
    `medium` family and new `easy-word` questions (session 5). Returns the summary rows and the
    ``check.json`` paths written under ``out`` (``on_phase``: told which check runs)."""
    from slmmux_run.debate_report import write_check
    from slmmux_run.debate_study import check

    summary, tables = [], []
    names = ("transfer", "blind_medium", "next_blind_word_seed1")
    for number, name in enumerate(names, 1):
        if on_phase is not None:
            on_phase(f"frozen check {name} ({number}/{len(names)})")
        study = folder / name
        prediction = study / "prediction" / "prediction.json"
        if not (prediction.is_file() and stored_jsonl(study, "transcripts").is_file()):
            continue
        frozen, checked = check(prediction, stored_jsonl(study, "transcripts"), stored_jsonl(study, "samples"))
        checked, _ = write_check(frozen, checked, out / name)
        rows = checked["rows"]
        summary.append(SummaryRow(
            f"debate on {checked['questions']} NEW questions ({name}, {checked['debates']} "
            "debates), predicted before they were read",
            "—",
            f"debate {100 * rows['debate_accuracy']['predicted']:.1f} %, wrong→correct "
            f"{100 * rows['flip_wrong_to_correct']['predicted']:.1f} %, correct→wrong "
            f"{100 * rows['flip_correct_to_wrong']['predicted']:.1f} % (frozen)",
            f"{100 * rows['debate_accuracy']['measured']:.1f} / "
            f"{100 * rows['flip_wrong_to_correct']['measured']:.1f} / "
            f"{100 * rows['flip_correct_to_wrong']['measured']:.1f} % measured"))
        tables.append(out / name / "check.json")
    return summary, tables
