"""Step ``hard`` of the pilot study: `slmmux plan` on the 80-sample reasoning-model files.

Issue "Where orchestration matters" item 4 (ensembles) and issue "Plan before spending"'s AIME
target. Truth: SLM-MUX accuracy of every pair and triple, exact replay of k of the 80 recorded
samples (level laws by generating functions,
:func:`slmmux_theory.engines.wide_levels.hypergeometric_levels`, so any k and any number of
distinct wrong answers), tie ranks from the pilot's per-sample accuracy (what the plan uses).
Pilots: ``(name, share of the questions, samples per question)``, S of the 80 samples per
(model, question) drawn without replacement with the seed. Scores per (design, seed, predictor,
k): MAE, 90 % coverage and regret (true best minus true accuracy of the predicted best, mean over
sizes 2 and 3), as in ``run.py``. Imports nothing from ``run.py``.
"""

from __future__ import annotations

import itertools
import time

import jax
import numpy as np

from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_theory.engines.levels import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.wide_levels import hypergeometric_levels
from slmmux_theory.planning import plan as planning

__all__ = ["HARD_DESIGNS", "HARD_FILES", "hard_floor", "hard_rows", "hard_table"]

HARD_FILES = {
    "aime": "samples/boinf_aime2024_30x80_11models.jsonl",
    "math500": "samples/boinf_math500_500x80_7models.jsonl",
}
RECORDED = 80
HARD_DESIGNS = (
    ("all q x 1", 1.0, 1),
    ("all q x 3", 1.0, 3),
    ("all q x 4", 1.0, 4),
    ("N/3 q x 3", 1 / 3, 3),
)


def _pilot(samples, num_answers, questions, size, rng):
    models = samples.shape[0]
    out = np.zeros((models, len(questions), num_answers), dtype=np.int64)
    for m in range(models):
        for i, q in enumerate(questions):
            for s in rng.choice(samples.shape[2], size, replace=False):
                out[m, i, samples[m, q, s]] += 1
    return out


def hard_rows(dataset, designs, seeds, predictors, ks, draws, svi_steps, unseen_laws, log):
    """Rows of every (design, seed, predictor/law, k) on one 80-sample file."""
    sample_set = load_sample_set(data_file(HARD_FILES[dataset]))
    full = np.asarray(sample_set.counts)
    samples = np.asarray(sample_set.samples)
    models, num_questions, num_answers = full.shape
    levels = {k: hypergeometric_levels(full, k) for k in ks}
    subsets = {size: np.array(list(itertools.combinations(range(models), size)))
               for size in (2, 3)}
    rows = []
    for name, share, size in designs:
        q = int(round(share * num_questions))
        for seed in seeds:
            rng = np.random.default_rng([seed, 17])
            questions = planning.draw_pilot(num_questions, q, seed)
            pilot = _pilot(samples, num_answers, questions, size, rng)
            priority = planning.pilot_priority(pilot)
            for k in ks:
                truth = {s: np.asarray(mux_subset_accuracy(MuxLevels(*levels[k]), subs, priority))
                         .mean(axis=1) for s, subs in subsets.items()}
                index = {s: {tuple(int(m) for m in row): i for i, row in enumerate(subs)}
                         for s, subs in subsets.items()}
                runs = [("plug-in", "-")] if "plug-in" in predictors else []
                if "hierarchical" in predictors:
                    runs += [("hierarchical", law) for law in
                             (unseen_laws if q < num_questions else unseen_laws[:1])]
                for predictor, law in runs:
                    start = time.perf_counter()
                    result = planning.plan(
                        jax.random.PRNGKey(seed), pilot, num_questions,
                        replay_samples=RECORDED, k=k, subset_sizes=(2, 3), predictor=predictor,
                        num_draws=draws, svi_steps=svi_steps, priority=priority,
                        unseen=law if law != "-" else "stratified")
                    seconds = time.perf_counter() - start
                    predicted, true, low, high, chosen = [], [], [], [], {}
                    for c in result.candidates:  # ranked: the first of each size is the choice
                        s = len(c.models)
                        predicted.append(c.predicted_accuracy)
                        true.append(truth[s][index[s][c.models]])
                        low.append(c.interval[0])
                        high.append(c.interval[1])
                        chosen.setdefault(s, truth[s][index[s][c.models]])
                    predicted, true = np.array(predicted), np.array(true)
                    # Plug-in at every question of the population: the pilot alone (no interval
                    # can be honest about unseen questions).
                    row = {
                        "dataset": dataset, "design": name, "questions": q, "samples": size,
                        "seed": seed, "k": k, "seconds": seconds,
                        "predictor": predictor if law == "-" else f"{predictor}/{law}",
                        "mae": float(np.abs(predicted - true).mean()),
                        "coverage": float(((np.array(low) <= true) & (true <= np.array(high)))
                                          .mean()),
                        "regret": float(np.mean([truth[s].max() - v for s, v in chosen.items()])),
                        "draws": draws, "svi_steps": svi_steps,
                    }
                    rows.append(row)
                    log(f"{dataset} {name:10} seed {seed} k={k} {row['predictor']:24} MAE "
                        f"{100 * row['mae']:.2f} cov {row['coverage']:.2f} regret "
                        f"{100 * row['regret']:.2f} {seconds:.0f}s")
    return rows


def hard_table(rows) -> str:
    lines = ["| dataset | pilot | k | predictor | seeds | MAE (pt) | 90% cov | regret (pt) |",
             "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["dataset"], r["design"], r["k"], r["predictor"]) for r in rows})
    for key in keys:
        group = [r for r in rows if (r["dataset"], r["design"], r["k"], r["predictor"]) == key]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {len(group)} | "
                     f"{100 * np.mean([r['mae'] for r in group]):.2f} | "
                     f"{np.mean([r['coverage'] for r in group]):.2f} | "
                     f"{100 * np.mean([r['regret'] for r in group]):.2f} |")
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
