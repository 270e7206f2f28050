"""The error floor that question sampling alone sets on any pilot predictor.

An oracle that knows the TRUE replayed accuracy of every subset on every pilot question, and
predicts the unseen questions by the pilot questions' mean, still misses the population
accuracy by |mean over pilot questions - mean over all questions| (times 1 - Q/N). This prints
that MAE (subsets of 2-4 models, k = 3, the same pilots as ``run.py``: ``draw_pilot(N, Q,
seed)``, seeds 0..19) for each pilot size, so the table's MAE can be read against it. It is
the study's step ``floor`` (``python -m experiments.pilot_eval.run --steps floor`` writes
``floor.txt``); alone it prints the lines:

    python -m experiments.pilot_eval.floor [--datasets samples13,routerdc7] [--seeds 20]
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np

from experiments.pilot_eval.common import K, load
from slmmux_theory.engines.exact import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.replay import replay_levels
from slmmux_theory.planning import plan as planning
from slmmux_theory.planning.search import all_subsets
from slmmux_theory.precision import enable_x64

__all__ = ["floor_lines", "main"]


def floor_lines(datasets=("samples13", "routerdc7"), seeds: int = 20) -> list[str]:
    """One line per (dataset, pilot size): the oracle's MAE over ``seeds`` pilot seeds."""
    enable_x64()  # the theory computes in float64
    lines = []
    for dataset in datasets:
        full, _, _ = load(dataset)
        models, num_questions, _ = full.shape
        levels = replay_levels(full, K)
        pool = all_subsets(models, 2, 4)
        per_question = np.asarray(mux_subset_accuracy(
            MuxLevels(jnp.asarray(levels.level), jnp.asarray(levels.level_correct)), pool,
            planning.pilot_priority(full), batch_size=64))
        truth = per_question.mean(1)
        for label, q in (("N/20", num_questions // 20), ("25", 25), ("N/5", num_questions // 5),
                         ("N/3", num_questions // 3), ("N/2", num_questions // 2)):
            errors = []
            for seed in range(seeds):
                pilot = planning.draw_pilot(num_questions, q, seed)
                errors.append(np.abs(per_question[:, pilot].mean(1) - truth).mean())
            lines.append(f"{dataset:10} Q = {label:>4} ({q:4d} questions): oracle MAE "
                         f"{100 * np.mean(errors):.2f} pt over {seeds} seeds (seeds 0-9: "
                         f"{100 * np.mean(errors[:10]):.2f}; median {100 * np.median(errors):.2f})")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="samples13,routerdc7")
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    print("\n".join(floor_lines(args.datasets.split(","), args.seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
