"""Bayes-factor stopping with a threshold fixed in advance, against the target's references.

The learned thresholds of ``bayes-stop`` and ``vote-stop`` fail on AIME 2024 (README): a 15-problem
validation fold without a hard problem makes every threshold look equally good, and the cheapest
one stops too early on the other fold's hard problems. This runs ``bayes-stop`` with the
registry's default threshold (``RuleContext().stop_threshold`` = 10, not learned) on the model the
validation fold ranks first (cross-fitted: chosen on the other fold), at caps 6, 9, 12, and compares
it per question with SLM-MUX on the best pair at k = 3 and the learned log-odds vote on that pair
(both cross-fitted, as in ``run.py``), with paired 90 % bootstrap intervals.

    python -m experiments.hard_regime.fixed_threshold [--draws 200] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PAIR = ("AM-Thinking-v1", "Qwen3-30B-A3B-Thinking-2507")  # run.py's best SLM-MUX pair at k = 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--caps", default="6,9,12")
    parser.add_argument("--out", default=str(HERE))
    args = parser.parse_args(argv)
    import jax

    from experiments.hard_regime.run import FILES, _paired
    from slmmux_run.compare_study import compare_sample_set
    from slmmux_run.data.paths import data_dir
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_theory import enable_x64
    from slmmux_theory.engines.crossfit import question_folds
    from slmmux_theory.engines.subsample import subsample_replay
    from slmmux_theory.rules.learning import validation_accuracy
    from slmmux_theory.rules.rule import RuleContext

    enable_x64()
    sample_set = load_sample_set(data_dir() / FILES["aime2024"]).select(models=list(PAIR))
    reference = compare_sample_set(sample_set, 3, args.seed, 50,
                                   rules=["slm-mux", "weighted-vote-log-odds"])
    at3 = {r.rule: r for r in reference.rows if r.k == 3 and len(r.models) == 2}
    samples, tokens = sample_set.samples, sample_set.tokens
    folds = question_folds(samples.shape[1], args.seed)
    rows = []
    for cap in (int(c) for c in args.caps.split(",")):
        correct = np.zeros(samples.shape[1])
        spent = np.zeros(samples.shape[1])
        chosen = []
        for fold, (test, validation) in enumerate((folds, folds[::-1])):
            best = int(np.nanargmax(validation_accuracy(samples[:, validation])))
            chosen.append(sample_set.models[best])
            result = subsample_replay(
                jax.random.fold_in(jax.random.PRNGKey(args.seed), 100 * cap + fold),
                "bayes-stop", samples[[best]][:, test], sample_set.num_answers, cap,
                args.draws, RuleContext(), tokens[[best]][:, test], pad_to=12)
            correct[test], spent[test] = result.correct, result.tokens
        rows.append({
            "cap": cap, "threshold": RuleContext().stop_threshold, "models": chosen,
            "accuracy": float(correct.mean()), "mean_tokens": float(spent.mean()),
            "minus_slm_mux": _paired(correct, at3["slm-mux"].correct),
            "minus_log_odds_vote": _paired(correct, at3["weighted-vote-log-odds"].correct, seed=1),
        })
        print(json.dumps(rows[-1]), flush=True)
    summary = {"slm_mux": {"accuracy": at3["slm-mux"].accuracy,
                           "mean_tokens": at3["slm-mux"].mean_tokens},
               "log_odds_vote": {"accuracy": at3["weighted-vote-log-odds"].accuracy,
                                 "mean_tokens": at3["weighted-vote-log-odds"].mean_tokens},
               "bayes_stop_fixed_threshold": rows, "settings": vars(args) | {"out": None}}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "fixed_threshold.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
