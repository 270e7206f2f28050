"""Shared inputs of the rule tests: the spec's test vectors and tiny random questions."""

import numpy as np

__all__ = ["CASES", "P1", "P2", "P3", "question", "random_question"]


# Test vectors of METHODS.md §5.5 (slots: c, w1 shared, w2, ⊥).
P1 = [0.6, 0.2, 0.2, 0.0]
P2 = [0.1, 0.9, 0.0, 0.0]
P3 = [0.5, 0.5, 0.0, 0.0]


def question(*rows):
    return np.array([[row] for row in rows])


def random_question(rng, num_models, num_answers, zero_abstain=False):
    probs = rng.dirichlet(np.ones(num_answers) * 0.8, size=num_models)
    if zero_abstain:
        probs[:, -1] = 0
        probs /= probs.sum(1, keepdims=True)
    return probs


# (models, k) of the brute-force comparisons: every sample sequence is enumerated.
CASES = [(2, 1), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3)]
