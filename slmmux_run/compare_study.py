"""What ``slmmux compare`` does between parsing and printing: every rule, side by side.

Runner glue (reads one samples file, calls the theory, returns rows): for every k from 1 to K,
every registered rule on all models of the file (a one-model rule on the model the validation
fold ranks first, and self-consistency on each model too), and SLM-MUX on every pair, as
cross-fitted test accuracy (:mod:`slmmux_theory.engines.crossfit`: two folds from the seed,
tie ranks and learned parameters from the other fold, both folds pooled), with a standard error
clustered by question and the mean real tokens per question. SLM-MUX and self-consistency are
replayed exactly (hypergeometric level laws); every other rule by subsampling ``num_draws``
random draws of k of the recorded samples per question.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
import zlib
from typing import NamedTuple

import numpy as np

from slmmux_run.errors import UserError

__all__ = ["CompareResult", "CompareRow", "compare_caps", "compare_json", "compare_sample_set",
           "compare_study"]


class CompareRow(NamedTuple):
    """One rule on one set of models at one k.

    Attributes:
      rule: the registered rule's name.
      models: the models it ran on, in file order.
      k: samples per model (the cap, for adaptive rules).
      accuracy: cross-fitted test accuracy over every question.
      stderr: its standard error, clustered by question.
      mean_tokens: mean real tokens spent per question (None without token counts).
      correct: cross-fitted P(correct) per question, shape [questions] (not in the JSON; for
        paired comparisons).
    """

    rule: str
    models: tuple[str, ...]
    k: int
    accuracy: float
    stderr: float
    mean_tokens: float | None
    correct: np.ndarray | None = None


class CompareResult(NamedTuple):
    """Every row, and how they were obtained.

    Attributes:
      rows: the rows, by k, then rule.
      rule_kinds: each rule's kind, ``"deployable"`` or ``"oracle"``.
      engines: each rule's replay, ``"exact"`` or ``"subsample"``.
      seed: the seed of the folds and draws.
      num_draws: draws per question of the subsampled rules.
      seconds: wall time.
    """

    rows: list[CompareRow]
    rule_kinds: dict[str, str]
    engines: dict[str, str]
    seed: int
    num_draws: int
    seconds: float


def _row(rule, models, k, values):
    from slmmux_theory.engines.crossfit import summarise

    accuracy, error, tokens = summarise(values)
    return CompareRow(rule, tuple(models), k, accuracy, error,
                      None if not math.isfinite(tokens) else tokens, np.asarray(values.correct))


def compare_study(path: str | os.PathLike, max_k: int, seed: int = 0, num_draws: int = 100,
                  progress=None) -> CompareResult:
    """Every registered rule and every SLM-MUX pair of a samples file, k = 1..max_k.

    Args:
      path: a shared samples file or a record file (one sample vocabulary).
      max_k: the largest k; at most the fewest samples recorded for a (model, question).
      seed: seed of the question folds and of the draws.
      num_draws: draws per question of the subsampled rules.
      progress: a text stream for one line per k (None: silent).

    Raises:
      UserError: for a file that cannot be read or a k the file cannot serve.
    """
    from slmmux_run.data.sample_files import load_sample_set

    return compare_sample_set(load_sample_set(path), max_k, seed, num_draws, progress,
                              source=str(path))


def compare_sample_set(sample_set, max_k: int, seed: int = 0, num_draws: int = 100,
                       progress=None, source: str = "samples", rules=None,
                       pairs: bool = True) -> CompareResult:
    """:func:`compare_study` on a loaded :class:`~slmmux_run.data.sample_set.SampleSet`
    (``source`` names it in errors).

    ``rules`` limits the study to these registered names (default: every rule) and ``pairs``
    says whether SLM-MUX runs on every pair. Each rule's draws come from a key of the seed, k
    and the rule's name only, so a rule's rows do not depend on which other rules ran (a study
    can be computed, and cached, rule by rule)."""
    import jax

    from slmmux_theory.engines import crossfit
    from slmmux_theory.rules.registry import RULES

    path = source
    start = time.perf_counter()
    samples, names = sample_set.samples, sample_set.models
    num_models, num_questions, _ = samples.shape
    recorded = int((samples >= 0).sum(axis=2).min())
    if max_k < 1 or max_k > recorded:
        raise UserError(f"{path}: --k must lie in 1..{recorded} (the fewest samples recorded for "
                        f"a model on a question), got {max_k}")
    if num_questions < 4:
        raise UserError(f"{path}: {num_questions} questions; two folds need at least 4")
    tokens = sample_set.tokens
    folds = crossfit.question_folds(num_questions, seed)
    key = jax.random.PRNGKey(seed)
    pair_index = np.array(list(itertools.combinations(range(num_models), 2)), dtype=int)
    exact = [name for name, rule in RULES.items() if rule.level_engine]
    chosen = {name: rule for name, rule in RULES.items() if rules is None or name in rules}
    rows: list[CompareRow] = []
    for k in range(1, max_k + 1):
        # The level laws serve the exact rules only (costly at large k on wide files).
        if any(rule.level_engine for rule in chosen.values()):
            levels = crossfit.crossfit_levels(samples, sample_set.num_answers, k)
            singles = crossfit.crossfit_subsets(levels, samples, np.arange(num_models)[:, None],
                                                folds, k, tokens)
        for name, rule in chosen.items():
            if rule.level_engine and rule.first_model_only:
                rows.append(_row(name, names, k, crossfit.best_single(singles, samples, folds)))
                rows += [_row(name, [model], k, values) for model, values in zip(names, singles)]
            elif rule.level_engine:
                everyone = crossfit.crossfit_subsets(levels, samples, np.arange(num_models)[None],
                                                     folds, k, tokens)[0]
                rows.append(_row(name, names, k, everyone))
            else:
                values = crossfit.crossfit_rule(
                    jax.random.fold_in(jax.random.fold_in(key, k), zlib.crc32(name.encode())),
                    rule, samples,
                    sample_set.num_answers, k, folds, tokens, num_draws, pad_to=max_k)
                rows.append(_row(name, names, k, values))
        if pairs and "slm-mux" in chosen:
            pair_values = crossfit.crossfit_subsets(levels, samples, pair_index, folds, k, tokens)
            rows += [_row("slm-mux", [names[a], names[b]], k, values)
                     for (a, b), values in zip(pair_index, pair_values)]
        if progress is not None:
            print(f"k={k}: {len(rows)} rows, {time.perf_counter() - start:.0f} s",
                  file=progress, flush=True)
    kinds = {name: "oracle" if rule.oracle else "deployable" for name, rule in chosen.items()}
    engines = {name: "exact" if name in exact else "subsample" for name in chosen}
    return CompareResult(rows, kinds, engines, seed, num_draws, time.perf_counter() - start)


def compare_caps(sample_set, rules, caps, seed: int = 0, num_draws: int = 100,
                 source: str = "samples") -> list[CompareRow]:
    """Adaptive rules on all models of a sample set at the given caps (samples per model),
    cross-fitted like :func:`compare_sample_set` (the same folds and per-rule keys), for caps
    beyond the fixed-cost study's k: an adaptive rule spends what it needs, so a larger cap can
    cost fewer tokens than a fixed-cost rule at a smaller k.

    Args:
      sample_set: a loaded :class:`~slmmux_run.data.sample_set.SampleSet`.
      rules: registered rule names.
      caps: the caps, each at most the fewest samples recorded for a (model, question).
      seed: seed of the folds and draws.
      num_draws: draws per question.
      source: names the sample set in errors.

    Raises:
      UserError: for a cap the file cannot serve.
    """
    import jax

    from slmmux_theory.engines import crossfit

    samples = sample_set.samples
    recorded = int((samples >= 0).sum(axis=2).min())
    if min(caps) < 1 or max(caps) > recorded:
        raise UserError(f"{source}: caps must lie in 1..{recorded}, got {sorted(caps)}")
    folds = crossfit.question_folds(samples.shape[1], seed)
    key = jax.random.PRNGKey(seed)
    rows = []
    for cap in caps:
        for name in rules:
            values = crossfit.crossfit_rule(
                jax.random.fold_in(jax.random.fold_in(key, cap), zlib.crc32(name.encode())),
                name, samples, sample_set.num_answers, cap, folds, sample_set.tokens, num_draws,
                pad_to=max(caps))
            rows.append(_row(name, sample_set.models, cap, values))
    return rows


def compare_json(result: CompareResult) -> dict:
    """The JSON of ``slmmux compare``: ``{"rows": [...]}`` plus how the rows were obtained."""
    return {
        "rows": [{"rule": row.rule, "models": list(row.models), "k": row.k,
                  "accuracy": row.accuracy, "stderr": row.stderr,
                  "mean_tokens": row.mean_tokens} for row in result.rows],
        "rules": {name: {"kind": kind, "replay": result.engines[name]}
                  for name, kind in result.rule_kinds.items()},
        "seed": result.seed,
        "draws": result.num_draws,
        "seconds": round(result.seconds, 1),
    }


if __name__ == "__main__":  # pragma: no cover - a convenience for timing by hand
    compare_study(sys.argv[1], int(sys.argv[2]), progress=sys.stderr)
