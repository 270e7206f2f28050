"""Reproduce steps on the shared 13-model GSM8K samples: replay, ModelSwitch, the paper's search.

Runner layer: each step reads the sample set once (through the context), makes one call to the
theory (:mod:`slmmux_theory.engines.pair_curves`, the paper's search), and writes a JSON table,
a figure beside the papers' values (from ``papers/``) and its summary rows.
"""

from __future__ import annotations

import itertools
import json

import numpy as np

from slmmux_run.reproduce.context import (
    Context,
    StepResult,
    SummaryRow,
    format_value,
    paper_value,
)

__all__ = ["step_model_switch", "step_replay", "step_search"]


#: Columns of the replay table: rule label -> field of :class:`PairCurves`.
_CURVES = {"slm-mux": "slm_mux", "agent-forest": "agent_forest",
           "best-single-sc": "best_single_self_consistency"}


def step_replay(context: Context) -> StepResult:
    """SLM-MUX vs Agent Forest vs self-consistency on the real 13-model samples, k = 1..5."""
    from slmmux_run.data.papers import load_table, select
    from slmmux_run.figures import save
    from slmmux_run.plots import replay_figure
    from slmmux_theory.engines.pair_curves import cross_fitted_pair_curves
    from slmmux_theory.engines.replay_table import evaluation_folds

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("replay", note=context.cache.get("samples_error", "data missing"))
    counts = sample_set.counts
    # SLM-MUX tie ranks from a validation split, never from the questions scored: two
    # cross-fitted halves, each scored with ranks from the other (the paper's rule).
    folds = evaluation_folds(sample_set.num_questions, 0.5, seed=0, cross_fit=True)
    ks = range(1, 6)
    # Real: exact replay of k of the recorded samples; theory: the plug-in law, k i.i.d.
    curves = {label: cross_fitted_pair_curves(counts, ks, folds, hypergeometric=hypergeometric)
              for label, hypergeometric in (("real", True), ("theory", False))}
    table = {
        label: {str(k): {rule: float(100 * getattr(c, field)[i].mean())
                         for rule, field in _CURVES.items()}
                for i, k in enumerate(c.ks.tolist())}
        for label, c in curves.items()
    }
    real = curves["real"]
    out = context.step_dir("replay")
    (out / "replay_pairs.json").write_text(json.dumps({
        "models": list(sample_set.models), "pairs": real.pairs.tolist(),
        "tie_ranks": "cross-fitted validation split: 2 halves, each ranked on the other",
        "mean_over_pairs_percent": table,
        "per_pair_percent": {str(k): {rule: (100 * getattr(real, field)[i]).round(3).tolist()
                                      for rule, field in _CURVES.items()}
                             for i, k in enumerate(real.ks.tolist())},
    }, indent=1))
    rows = select(load_table("A10-samples_per_model"), benchmark="GSM8K", setting="Group 2",
                  quantity="accuracy")
    paper = {f"paper: {series}, GSM8K Group 2": [(float(r.x), float(r.value)) for r in rows
                                                 if r.series == series]
             for series in ("SLM-MUX", "Agent Forest")}
    fig = replay_figure(list(ks), *({rule: [table[label][str(k)][rule] for k in ks]
                                     for rule in _CURVES} for label in ("real", "theory")),
                        paper, models=sample_set.num_models,
                        questions=sample_set.num_questions, pairs=len(real.pairs))
    figure_path = save(fig, out / "replay_vs_paper.png")
    gap = lambda label, k: table[label][str(k)]["slm-mux"] - table[label][str(k)]["agent-forest"]  # noqa: E731
    paper_k2 = paper_value("A11-SLM-Mux_vs_af_comparison", benchmark="GSM8K", quantity="delta", x="2")
    paper_best = paper_value("A11-SLM-Mux_vs_af_comparison", benchmark="GSM8K", quantity="delta", x="best")
    summary = [
        SummaryRow("SLM-MUX − Agent Forest at k = 2 (pairs; tie ranks cross-fitted on the other half)",
                   f"+{format_value(paper_k2)} pp (GSM8K test, Group 2)",
                   f"{gap('theory', 2):+.2f} pp (plug-in π)", f"{gap('real', 2):+.2f} pp (mean of 78 pairs)"),
        SummaryRow("SLM-MUX − Agent Forest at larger k", f"+{format_value(paper_best)} pp (best k)",
                   f"{gap('theory', 5):+.2f} pp at k=5", f"{gap('real', 5):+.2f} pp at k=5"),
    ]
    return StepResult("replay", figures=[figure_path], tables=[out / "replay_pairs.json"], summary=summary)


def step_model_switch(context: Context) -> StepResult:
    """ModelSwitch's early-stopping saving and accuracy on real pairs (4 + 4 samples)."""
    from slmmux_run.figures import save
    from slmmux_run.plots import model_switch_figure
    from slmmux_theory.engines.pair_curves import model_switch_pair_savings, weakest_models

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("model-switch", note=context.cache.get("samples_error", "data missing"))
    counts = sample_set.counts
    pairs = list(itertools.combinations(weakest_models(counts, 4 if context.quick else 6), 2))
    budget = 4
    # Real: exact replay of the recorded samples; theory: the plug-in law (plain vote).
    results = {label: model_switch_pair_savings(counts, pairs, budget,
                                                hypergeometric=hypergeometric)
               for label, hypergeometric in (("real", True), ("theory", False))}
    rows = []
    for p, (a, b) in enumerate(pairs):
        record = {"models": [sample_set.models[a], sample_set.models[b]]}
        for label, result in results.items():
            record[label] = {
                "switch_accuracy": float(result.switch_accuracy[p]),
                "expected_samples": float(result.expected_samples[p]),
                "saving": float(result.saving[p]),
                "slm_mux_accuracy": float(result.slm_mux_accuracy[p]),
            }
        rows.append(record)
    out = context.step_dir("model_switch")
    (out / "model_switch_pairs.json").write_text(json.dumps(rows, indent=1))
    figure_path = save(model_switch_figure(rows, budget, questions=sample_set.num_questions),
                       out / "model_switch_pairs.png")
    paper_saving = paper_value("B05-close_source_efficiency", benchmark="mean", setting="Closed-source",
                          quantity="sample saving")
    mean = lambda label, key: float(np.mean([r[label][key] for r in rows]))  # noqa: E731
    summary = [SummaryRow(
        "ModelSwitch sample saving (2 models)",
        f"{format_value(paper_saving, 2)} % (closed-source mean, 2 x 16)",
        f"{100 * mean('theory', 'saving'):.1f} % (plug-in π, 2 x {budget})",
        f"{100 * mean('real', 'saving'):.1f} % (replay, {len(rows)} pairs, 2 x {budget})",
    )]
    return StepResult("model-switch", figures=[figure_path], tables=[out / "model_switch_pairs.json"],
                      summary=summary)


def step_search(context: Context) -> StepResult:
    """The paper's search objective on the real 13-model samples beside the paper's A.7."""
    from slmmux_run.data.papers import load_table, select
    from slmmux_run.figures import save
    from slmmux_run.plots import search_figure
    from slmmux_theory.planning.search import SearchConfig, search_subsets

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("search", note=context.cache.get("samples_error", "data missing"))
    validation = sample_set.select(samples=slice(0, 3)).counts
    config = SearchConfig(contradiction_normalization="per_union_correct", contradiction_weight=1.0)
    result = search_subsets(validation, min_size=1, max_size=3 if context.quick else 5, config=config)
    table = [{"K": len(c.subset), "models": [sample_set.models[m] for m in c.subset],
              "union": c.union_accuracy, "score": c.objective, "penalty": c.penalty} for c in result.best]
    out = context.step_dir("search")
    (out / "search_real.json").write_text(json.dumps(table, indent=1))
    paper = select(load_table("A07-search_objectives"), benchmark="GSM8K")
    paper_points = {quantity: [(float(r.x), float(r.value)) for r in paper
                               if r.quantity == quantity] for quantity in ("union", "score")}
    fig = search_figure(table, {q: points for q, points in paper_points.items() if points},
                        models=sample_set.num_models, questions=validation.shape[1])
    figure_path = save(fig, out / "search_vs_paper.png")
    peak = max(table, key=lambda row: row["score"])["K"]
    summary = [SummaryRow("search score peaks at K = 2", "K = 2 on all three benchmarks", "—",
                          f"K = {peak} on the 13 real models")]
    return StepResult("search", figures=[figure_path], tables=[out / "search_real.json"], summary=summary)
