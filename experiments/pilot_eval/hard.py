"""Step ``hard`` of the pilot study: SLM-MUX predictions from a pilot on the 80-sample files.

Issue "Where orchestration matters" item 4 (ensembles) and issue "Plan before spending"'s AIME
target. Truth: SLM-MUX accuracy of every pair and triple, exact replay of k of the 80 recorded
samples (level laws by generating functions,
:func:`slmmux_theory.engines.wide_levels.hypergeometric_levels`, so any k and any number of
distinct wrong answers), tie ranks from the pilot's per-sample accuracy (what the plan uses).
Pilots: ``(name, share of the questions, samples per question)``, S of the 80 samples per
(model, question) drawn without replacement with the seed. Predicted laws come from
:mod:`experiments.pilot_eval.hard_laws` (one fit per pilot, cached, every k from it).

Scores per (design, seed, predictor, k): MAE and 90 % coverage over every pair and triple,
regret (true best minus true accuracy of the predicted best, mean over sizes 2 and 3), and the
budget regret: under token budgets per question (mean pilot tokens per sample times k, summed
over the subset), the (subset of 1-3 models, k in the study's k values) with the highest
predicted accuracy against the truly best affordable one, mean over the budgets. Imports
nothing from ``run.py``.
"""

from __future__ import annotations

import itertools
import time

import jax
import numpy as np

from experiments.pilot_eval.hard_laws import law_levels, pilot_of, predicted_laws
from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_theory.engines.levels import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.replay import subset_accuracy_draws
from slmmux_theory.engines.wide_levels import hypergeometric_levels
from slmmux_theory.planning import plan as planning
from slmmux_theory.planning.accuracy_draws import bootstrap_means

__all__ = ["BUDGET_SHARES", "HARD_DESIGNS", "HARD_FILES", "hard_floor", "hard_rows",
           "hard_table"]

HARD_FILES = {
    "aime": "samples/boinf_aime2024_30x80_11models.jsonl",
    "math500": "samples/boinf_math500_500x80_7models.jsonl",
}
HARD_DESIGNS = (
    ("all q x 1", 1.0, 1),
    ("all q x 3", 1.0, 3),
    ("all q x 4", 1.0, 4),
    ("N/3 q x 3", 1 / 3, 3),
)
# Token budgets per question as shares of the dearest candidate's pilot cost (fixed before any
# result was seen): a tight, a middle and a loose budget.
BUDGET_SHARES = (0.1, 0.3, 0.6)


def _accuracy_draws(values, hypergeometric, k, subsets, priority, num_questions):
    """Accuracy draws [subsets, draws] of predicted laws over the population.

    Laws over all N questions: the mean over questions per draw. Laws over the Q < N pilot
    questions only (the plug-in): a bootstrap over the pilot questions shrunk by ``1 - Q/N``;
    with Q = N one point draw.
    """
    draws, _, questions, _ = values.shape
    levels = law_levels(values, hypergeometric, k)
    if questions == num_questions:
        return subset_accuracy_draws(levels, subsets, priority, draws)
    per_question = np.asarray(mux_subset_accuracy(
        MuxLevels(*(np.asarray(a) for a in levels)), subsets, priority, batch_size=32))
    return bootstrap_means(per_question, num_questions, np.random.default_rng(0))


def _budget_regret(pred, truth, cost):
    """Mean over BUDGET_SHARES of (best affordable truth - truth of the predicted best)."""
    out = []
    for share in BUDGET_SHARES:
        budget = share * cost.max()
        ok = cost <= budget
        if not ok.any():
            continue
        pick = np.flatnonzero(ok)[np.argmax(pred[ok])]
        out.append(truth[ok].max() - truth[pick])
    return float(np.mean(out))


def hard_rows(dataset, designs, seeds, predictors, ks, draws, svi_steps, log, cache=None):
    """Rows of every (design, seed, predictor, k) on one 80-sample file."""
    sample_set = load_sample_set(data_file(HARD_FILES[dataset]))
    full = np.asarray(sample_set.counts)
    samples = np.asarray(sample_set.samples)
    tokens = None if sample_set.tokens is None else np.asarray(sample_set.tokens)
    models, num_questions, num_answers = full.shape
    levels = {k: hypergeometric_levels(full, k) for k in ks}
    subsets = np.array([tuple(s) + (-1,) * (3 - len(s)) for size in (1, 2, 3)
                        for s in itertools.combinations(range(models), size)])
    size = (subsets >= 0).sum(1)
    ranked = size >= 2
    rows = []
    for name, share, per_question in designs:
        q = int(round(share * num_questions))
        for seed in seeds:
            rng = np.random.default_rng([seed, 17])
            questions = planning.draw_pilot(num_questions, q, seed)
            pilot, mean_tokens = pilot_of(samples, tokens, num_answers, questions, per_question,
                                          rng)
            priority = planning.pilot_priority(pilot)
            token_of = np.where(subsets >= 0, np.append(mean_tokens, 0.0)[subsets], 0.0).sum(1)
            truth = {k: np.asarray(mux_subset_accuracy(MuxLevels(*levels[k]), subsets, priority))
                     .mean(axis=1) for k in ks}
            results = {}
            for predictor in predictors:
                if predictor.startswith("hierarchical") and q == num_questions:
                    # Nothing unseen: every unseen-question law is the same computation.
                    predictor = predictor.partition("/")[0] + "/stratified"
                if predictor in results:
                    continue
                start = time.perf_counter()
                values, hyper = predicted_laws(predictor, jax.random.PRNGKey(seed), pilot,
                                               num_questions, draws, svi_steps, cache)
                fit_seconds = time.perf_counter() - start
                results[predictor] = {}
                for k in ks:
                    start = time.perf_counter()
                    acc = _accuracy_draws(values, hyper, k, subsets, priority, num_questions)
                    results[predictor][k] = acc
                    pred = acc.mean(1)
                    low, high = np.quantile(acc, [0.05, 0.95], axis=1)
                    true = truth[k]
                    chosen = [true[np.flatnonzero(size == s)[np.argmax(pred[size == s])]]
                              for s in (2, 3)]
                    row = {
                        "dataset": dataset, "design": name, "questions": q,
                        "samples": per_question, "seed": seed, "k": k, "predictor": predictor,
                        "fit_seconds": fit_seconds, "seconds": time.perf_counter() - start,
                        "mae": float(np.abs(pred - true)[ranked].mean()),
                        "bias": float((pred - true)[ranked].mean()),
                        "coverage": float(((low <= true) & (true <= high))[ranked].mean()),
                        "width": float((high - low)[ranked].mean()),
                        "regret": float(np.mean([true[size == s].max() - c
                                                 for s, c in zip((2, 3), chosen)])),
                        "draws": draws, "svi_steps": svi_steps,
                    }
                    rows.append(row)
                    log(f"{dataset} {name:10} seed {seed} k={k} {predictor:24} MAE "
                        f"{100 * row['mae']:.2f} bias {100 * row['bias']:+.2f} cov "
                        f"{row['coverage']:.2f} width {100 * row['width']:.2f} regret "
                        f"{100 * row['regret']:.2f} fit {fit_seconds:.0f}s")
                # The (subset, k) choice under token budgets, over every k of this run.
                pred_all = np.concatenate([results[predictor][k].mean(1) for k in ks])
                true_all = np.concatenate([truth[k] for k in ks])
                cost_all = np.concatenate([k * token_of for k in ks])
                budget = _budget_regret(pred_all, true_all, cost_all)
                for row in rows[-len(ks):]:
                    row["budget_regret"] = budget
                log(f"{dataset} {name:10} seed {seed} {predictor:24} budget regret "
                    f"{100 * budget:.2f} (k in {list(ks)}, subsets of 1-3 models)")
    return rows


def hard_table(rows) -> str:
    """One line per (dataset, design, k, predictor): means over the seeds run."""
    lines = ["| dataset | pilot | k | predictor | seeds | MAE (pt) | bias (pt) | 90% cov | "
             "width (pt) | regret (pt) | budget regret (pt) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    order = [d[0] for d in HARD_DESIGNS]
    keys = sorted({(r["dataset"], r["design"], r["k"], r["predictor"]) for r in rows},
                  key=lambda t: (t[0], order.index(t[1]) if t[1] in order else 99, t[2], t[3]))
    for key in keys:
        group = [r for r in rows if (r["dataset"], r["design"], r["k"], r["predictor"]) == key]

        def mean(field, scale=1.0):
            return scale * float(np.mean([r.get(field, np.nan) for r in group]))

        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {len(group)} | "
                     f"{mean('mae', 100):.2f} | {mean('bias', 100):+.2f} | "
                     f"{mean('coverage'):.2f} | {mean('width', 100):.2f} | "
                     f"{mean('regret', 100):.2f} | {mean('budget_regret', 100):.2f} |")
    return "\n".join(lines) + "\n"


def hard_floor(dataset, k: int, share: float, seeds: int) -> str:
    """The error an oracle that knows every pilot question's TRUE accuracy still makes.

    Per seed: the pilot's questions (``draw_pilot``), every pair's and triple's mean true
    per-question SLM-MUX accuracy over them (tie ranks from the full file) against the mean
    over all questions. Returns one line: MAE in points and the seed-to-seed spread.
    """
    sample_set = load_sample_set(data_file(HARD_FILES[dataset]))
    full = np.asarray(sample_set.counts)
    models, num_questions, _ = full.shape
    level = hypergeometric_levels(full, k)
    priority = planning.pilot_priority(full)
    per_question = np.concatenate([
        np.asarray(mux_subset_accuracy(MuxLevels(*level), np.array(list(
            itertools.combinations(range(models), size))), priority)) for size in (2, 3)])
    q = int(round(share * num_questions))
    errors = []
    for seed in range(seeds):
        questions = planning.draw_pilot(num_questions, q, seed)
        errors.append(np.abs(per_question[:, questions].mean(1) - per_question.mean(1)).mean())
    return (f"{dataset} k={k} {q} of {num_questions} questions, {seeds} seeds: oracle floor MAE "
            f"{100 * np.mean(errors):.2f} pt (seed range {100 * np.min(errors):.2f}-"
            f"{100 * np.max(errors):.2f})")

