"""The headroom ceilings of experiments/hard_regime: the seen-answer bound against a brute-force
search over every allocation on a tiny case, and the plurality ceiling by hand."""

import itertools
from math import comb

import numpy as np

from experiments.hard_regime.headroom import plurality_ceiling, seen_answer_bound


def _seen(samples_row, n):
    """P(a correct sample among n of the row drawn without replacement), by counting subsets."""
    total = len(samples_row)
    wrong = sum(1 for s in samples_row if s != 0)
    return 1.0 - comb(wrong, n) / comb(total, n)


def test_seen_answer_bound_is_at_least_the_best_allocation():
    rng = np.random.default_rng(4)
    samples = rng.choice(3, size=(2, 3, 4), p=[0.35, 0.45, 0.2])
    tokens = rng.integers(1, 6, size=samples.shape).astype(float)
    per_sample = tokens.mean(axis=2)
    for budget in (2.0, 5.0, 9.0):
        best = 0.0
        options = list(itertools.product(range(5), repeat=2))
        for allocation in itertools.product(options, repeat=3):  # (n1, n2) per question
            cost = np.mean([n1 * per_sample[0, q] + n2 * per_sample[1, q]
                            for q, (n1, n2) in enumerate(allocation)])
            if cost > budget + 1e-12:
                continue
            value = np.mean([1 - (1 - _seen(samples[0, q], n1)) * (1 - _seen(samples[1, q], n2))
                             for q, (n1, n2) in enumerate(allocation)])
            best = max(best, value)
        bound, _ = seen_answer_bound(samples, tokens, budget)
        assert best - 1e-9 <= bound <= 1.0 + 1e-12, (budget, best, bound)
        # The dual is an upper bound that is not loose by more than one question's worth here.
        assert bound <= best + 1 / 3 + 1e-9


def test_plurality_ceiling_by_hand():
    # slot 3 is ⊥ (no vote); ties share the question.
    samples = np.array([[[0, 0, 1, 3], [1, 1, 0, 3], [0, 1, 3, 3]]])
    assert plurality_ceiling(samples, 4).tolist() == [[1.0, 0.0, 0.5]]
