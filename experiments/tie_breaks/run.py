r"""Which cross-model tie-break of SLM-MUX wins on real reasoning-model data, at k = 2..9.

On Best-of-∞'s AIME 2024 (11 models) and MATH-500 (7 models, regraded by the loader with the
equivalence grader) every model pair is replayed exactly (k of the 80 recorded samples drawn without replacement;
the level laws by :func:`slmmux_theory.engines.wide_levels.hypergeometric_levels`, since some
rows hold 60 distinct answers) under each tie rule:

* ``validation_accuracy`` (the paper): ranks by per-sample accuracy on validation questions, ⊥
  counted wrong;
* ``validation_answered``: the same over answered samples only (the statistic chapter 4 of the
  book suggests, since a tie compares answered samples);
* ``model_order``: the file's model order (alphabetical here); for a pair, the mean of both
  orders is exactly the coin;
* ``random``: a fair coin among the tied models.

Intra-model first-seen ties are not a separate row: under i.i.d. samples they have the law of the
coin (tests/theory/rules/test_tie_regimes.py). Tie ranks come from the other fold: questions are
split in two with the seed, each fold evaluated with ranks from the other (cross-fitting), both
folds pooled. Per (data set, k) the table gives each rule's accuracy averaged over all pairs,
the number of pairs on which it is best, the mean probability that a pair ties at the top, and
the winner's lead over the runner-up with a standard error clustered by question.

Usage::

    python -m experiments.tie_breaks.run [--datasets aime2024,math500] [--ks 2-9] [--seed 0]

Writes ``results.json`` and ``table.md`` next to this script (or into --out).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_run.errors import UserError
from slmmux_theory.engines.levels import mux_subset_accuracy
from slmmux_theory.engines.pair_curves import all_pairs
from slmmux_theory.engines.replay_table import evaluation_folds, validation_accuracy
from slmmux_theory.engines.wide_levels import hypergeometric_levels
from slmmux_theory.precision import enable_x64
from slmmux_theory.rules.base import tie_priority

__all__ = ["DATASETS", "TIE_RULES", "answered_accuracy", "main", "pair_values"]

HERE = Path(__file__).resolve().parent
DATASETS = {
    "aime2024": "samples/boinf_aime2024_30x80_11models.jsonl",
    "math500": "samples/boinf_math500_500x80_7models.jsonl",
}
TIE_RULES = ("validation_accuracy", "validation_answered", "model_order", "random")


def answered_accuracy(samples, questions, abstain: int) -> np.ndarray:
    """Per-model accuracy over answered (non-⊥, recorded) samples, shape [models].

    >>> answered_accuracy(np.array([[[0, 2, 1]]]), [0], 2).tolist()
    [0.5]
    """
    samples = np.asarray(samples)[:, questions]
    answered = ((samples >= 0) & (samples != abstain)).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(answered > 0, (samples == 0).sum(axis=(1, 2)) / answered, np.nan)


def pair_values(sample_set, ks, seed: int) -> dict:
    """Per-question accuracy of every pair under every tie rule, cross-fitted over two folds.

    Returns:
      ``{"accuracy": {rule: array [ks, pairs, questions]}, "tie": array [ks, pairs, questions]}``
      (``tie``: probability that the two models' confidences are equal and positive).
    """
    counts, samples = sample_set.counts, sample_set.samples
    num_models, num_questions = counts.shape[:2]
    pairs = np.array(all_pairs(num_models))
    accuracy = {rule: np.zeros((len(ks), len(pairs), num_questions)) for rule in TIE_RULES}
    tie = np.zeros((len(ks), len(pairs), num_questions))
    for validation, test in evaluation_folds(num_questions, 0.5, seed, cross_fit=True):
        priorities = {
            "validation_accuracy": tie_priority(validation_accuracy(samples, validation)),
            "validation_answered": tie_priority(
                answered_accuracy(samples, validation, sample_set.abstain_slot)),
            "model_order": np.arange(num_models),
            "random": np.arange(num_models),
        }
        for i, k in enumerate(ks):
            levels = hypergeometric_levels(counts[:, test], k)
            for rule, priority in priorities.items():
                mode = "random" if rule == "random" else "validation_accuracy"
                accuracy[rule][i][:, test] = np.asarray(
                    mux_subset_accuracy(levels, pairs, priority, mode))
            level = np.asarray(levels.level)  # [models, questions, k + 1]
            tie[i][:, test] = np.einsum("pql,pql->pq", level[pairs[:, 0], :, 1:],
                                        level[pairs[:, 1], :, 1:])  # fmt: skip
    return {"accuracy": accuracy, "tie": tie, "pairs": pairs}


def _summary(name, sample_set, ks, values) -> list[dict]:
    rows = []
    for i, k in enumerate(ks):
        per_pair = {rule: values["accuracy"][rule][i].mean(axis=1) for rule in TIE_RULES}
        mean = {rule: float(per_pair[rule].mean()) for rule in TIE_RULES}
        stacked = np.stack([per_pair[rule] for rule in TIE_RULES])  # [rules, pairs]
        best = stacked >= stacked.max(axis=0) - 1e-12
        ranking = sorted(TIE_RULES, key=lambda rule: -mean[rule])
        winner, second = ranking[:2]
        # Lead per question, averaged over pairs; its SE over questions (clustered by question).
        lead = (values["accuracy"][winner][i] - values["accuracy"][second][i]).mean(axis=0)
        # The paper's rule against the coin, the same way.
        paper = (values["accuracy"]["validation_accuracy"][i]
                 - values["accuracy"]["random"][i]).mean(axis=0)
        rows.append({
            "dataset": name, "k": k, "models": sample_set.num_models,
            "questions": sample_set.num_questions, "pairs": int(stacked.shape[1]),
            "accuracy": mean,
            "pairs_best": {rule: int(best[j].sum()) for j, rule in enumerate(TIE_RULES)},
            "tie_probability": float(values["tie"][i].mean()),
            "winner": winner, "runner_up": second, "lead": float(lead.mean()),
            "lead_se": float(lead.std(ddof=1) / np.sqrt(lead.size)),
            "paper_minus_random": float(paper.mean()),
            "paper_minus_random_se": float(paper.std(ddof=1) / np.sqrt(paper.size)),
        })
    return rows


def _table(rows, seed) -> str:
    short = {"validation_accuracy": "val. acc.", "validation_answered": "val. answered",
             "model_order": "model order", "random": "random"}
    lines = [
        "# Cross-model tie-breaks of SLM-MUX on AIME 2024 and MATH-500 (exact replay, all pairs)",
        "",
        f"`python -m experiments.tie_breaks.run` (seed {seed}): accuracy (%) averaged over every "
        "model pair, tie ranks from the other fold of a two-fold question split, folds pooled. "
        "`best` = pairs on which the rule is best (ties between rules count for each). "
        "`P(tie)` = mean probability that the pair's top confidences are equal. `lead` = winner "
        "minus runner-up in points, ± its standard error clustered by question; `val. acc. − "
        "random` the same for the paper's rule against the coin.",
        "",
        "| data | k | P(tie) | " + " | ".join(f"{short[r]} (best)" for r in TIE_RULES)
        + " | winner | lead (pp) | val. acc. − random (pp) |",
        "|---|---:|---:|" + "---:|" * len(TIE_RULES) + "---|---:|---:|",
    ]
    for row in rows:
        cells = [f"{100 * row['accuracy'][r]:.2f} ({row['pairs_best'][r]})" for r in TIE_RULES]
        lines.append(
            f"| {row['dataset']} | {row['k']} | {row['tie_probability']:.3f} | "
            + " | ".join(cells)
            + f" | {short[row['winner']]} | {100 * row['lead']:.2f} ± {100 * row['lead_se']:.2f} | "
            f"{100 * row['paper_minus_random']:+.2f} ± {100 * row['paper_minus_random_se']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def _ks(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(part) for part in text.split("-"))
        return list(range(low, high + 1))
    return [int(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="aime2024,math500",
                        help=f"comma-separated among {', '.join(DATASETS)}")
    parser.add_argument("--ks", default="2-9", help="samples per model: a range 2-9 or a list")
    parser.add_argument("--seed", type=int, default=0, help="seed of the two-fold question split")
    parser.add_argument("--models", type=int, default=None, help="use only the first N models")
    parser.add_argument("--questions", type=int, default=None, help="use only the first N questions")
    parser.add_argument("--data-dir", default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--out", default=str(HERE), help="folder of results.json and table.md")
    args = parser.parse_args(argv)
    enable_x64()
    ks = _ks(args.ks)
    rows = []
    for name in args.datasets.split(","):
        if name not in DATASETS:
            print(f"tie_breaks: unknown data set {name!r}; choose from {list(DATASETS)}",
                  file=sys.stderr)  # fmt: skip
            return 2
        try:
            path = data_file(DATASETS[name], args.data_dir)
        except UserError as error:
            print(f"tie_breaks: {error}", file=sys.stderr)
            return 2
        start = time.perf_counter()
        sample_set = load_sample_set(path)
        if args.models is not None or args.questions is not None:
            sample_set = sample_set.select(
                models=None if args.models is None else list(range(args.models)),
                questions=None if args.questions is None else list(range(args.questions)))
        values = pair_values(sample_set, ks, args.seed)
        rows += _summary(name, sample_set, ks, values)
        print(f"{name}: {sample_set.num_models} models x {sample_set.num_questions} questions, "
              f"k = {ks[0]}..{ks[-1]} in {time.perf_counter() - start:.0f} s", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"seed": args.seed, "rows": rows}, indent=1))
    table = _table(rows, args.seed)
    (out / "table.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
