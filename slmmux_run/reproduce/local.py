"""Reproduce steps of the package's own local models: replay of the committed run, a fresh run.

Runner layer: ``local-run`` replays the committed records of ``experiments/local_run/`` through
:func:`slmmux_run.local_run.replay_records`; ``local-live`` runs a small new job with
:func:`slmmux_run.local_run.run_local_study` (skipped when the local model packages are not
installed). Both draw the replay rows and return summary rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.reproduce.context import Context, StepResult, SummaryRow, stored_jsonl

__all__ = ["LOCAL_RUN", "step_local_live", "step_local_run"]

#: The local-run study inside the experiments folder.
LOCAL_RUN = "local_run"
_RULES = ("slm-mux", "agent-forest", "self-consistency", "oracle")


def _replay_local(record_path: Path, ks, out: Path, title: str):
    from slmmux_run.figures import save
    from slmmux_run.local_run import replay_records
    from slmmux_run.plots import local_run_figure

    replayed = replay_records(record_path, ks, _RULES, validation_fraction=0.3, seed=0)
    rows = replayed.rows
    out.mkdir(parents=True, exist_ok=True)
    (out / "replay.json").write_text(json.dumps(
        {"rows": [row.__dict__ | {"models": list(row.models)} for row in rows]},
        indent=1, default=lambda v: None))
    figure_path = save(local_run_figure(rows, title, replayed.record_set.sample_set.num_questions),
                       out / "replay.png")
    return rows, figure_path


def _row(rows, rule, k, model=None):
    for row in rows:
        if row.rule == rule and row.k == k and (model is None or row.models[0] == model):
            return row
    return None


def step_local_run(context: Context) -> StepResult:
    """The package's own real run (SmolLM2 + Gemma-3 on arithmetic): replay of the stored records."""
    folder, source = context.experiments_path(LOCAL_RUN)
    if folder is None:
        return StepResult("local-run", note=source)
    record_path = stored_jsonl(folder, "records")
    if not record_path.is_file():
        return StepResult("local-run", note=f"{record_path} is missing")
    k = 3
    rows, figure_path = _replay_local(record_path, range(1, k + 1), context.out / "local_run",
                                      "SmolLM2-135M + Gemma-3-270M, arithmetic (stored records)")
    mux, forest = _row(rows, "slm-mux", k), _row(rows, "agent-forest", k)
    summary = [SummaryRow(
        f"SLM-MUX vs Agent Forest, two tiny local models, k = {k}",
        "SLM-MUX > Agent Forest at small k",
        f"{100 * mux.predicted:.1f} vs {100 * forest.predicted:.1f} % (plug-in, in-sample)",
        f"{100 * mux.exact:.1f} ± {100 * mux.exact_se:.1f} vs {100 * forest.exact:.1f} ± "
        f"{100 * forest.exact_se:.1f} % ({mux.questions} q)",
    )]
    return StepResult("local-run", figures=[figure_path],
                      tables=[context.out / "local_run" / "replay.json"], summary=summary)


def step_local_live(context: Context) -> StepResult:
    """A fresh, small run of the real local models (skipped when they are not installed)."""
    from slmmux_run.errors import UserError
    from slmmux_run.local_run import LocalRunSettings, run_local_study
    from slmmux_run.sampling.serve import check_available

    try:
        for name in ("smollm2", "gemma3"):
            check_available(name)
    except UserError as error:
        return StepResult("local-live", note=f"local models not available: {error}")
    folder, source = context.experiments_path(LOCAL_RUN)
    if folder is None:
        return StepResult("local-live", note=f"{source} (the study's models.toml is there)")
    out = context.out / "local_live"
    questions = 8 if context.quick else 24
    settings = LocalRunSettings(questions=questions, k=3, seed=7, task_seed=1)
    run_local_study(settings, out, folder / "models.toml")
    rows, figure_path = _replay_local(out / "records.jsonl", range(1, 4), out,
                                      "live run now: new questions x 3 samples")
    mux, forest = _row(rows, "slm-mux", 3), _row(rows, "agent-forest", 3)
    summary = [SummaryRow(
        "fresh live run of the local models (k = 3)", "—",
        f"{100 * mux.predicted:.1f} vs {100 * forest.predicted:.1f} % (plug-in, in-sample)",
        f"SLM-MUX {100 * mux.exact:.1f} vs Agent Forest {100 * forest.exact:.1f} % ({mux.questions} q)",
    )]
    return StepResult("local-live", figures=[figure_path], tables=[out / "replay.json"], summary=summary)
