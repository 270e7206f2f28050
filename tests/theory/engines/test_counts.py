"""Count-vector laws (engines/counts.py): enumeration, hypergeometric replay, combinatorics."""

import itertools

import numpy as np

from slmmux_theory.engines.counts import count_vectors, hypergeometric_counts
from slmmux_theory.rules.slm_mux import mux_accuracy_exact
from tests.theory import reference_rules as ref


def test_count_vectors_are_all_compositions():
    for k, a in [(1, 2), (3, 3), (4, 4), (2, 5)]:
        vectors = count_vectors(k, a)
        expected = sorted(v for v in itertools.product(range(k + 1), repeat=a) if sum(v) == k)
        assert sorted(map(tuple, vectors.tolist())) == expected


def test_hypergeometric_replay_equals_subset_enumeration():
    # Two models with 5 recorded samples each; drawing 3 of them without replacement.
    recorded = [[0, 0, 1, 2, 1], [1, 1, 0, 2, 2]]
    pool = np.zeros((2, 1, 3), dtype=int)
    for m, seq in enumerate(recorded):
        for a in seq:
            pool[m, 0, a] += 1
    counts = hypergeometric_counts(pool, 3)
    got = float(mux_accuracy_exact(counts)[0])
    subsets = list(itertools.combinations(range(5), 3))
    want = 0.0
    for s0 in subsets:
        for s1 in subsets:
            seqs = [[recorded[0][i] for i in s0], [recorded[1][i] for i in s1]]
            want += float(ref.mux_correct(seqs, 2, [0, 1]))
    want /= len(subsets) ** 2
    assert abs(got - want) < 1e-12
    np.testing.assert_allclose(counts.probs.sum(-1), 1.0, atol=1e-12)


def test_hypergeometric_law_of_spread_pool_sums_to_one_and_matches_combinatorics():
    from math import comb

    pool = np.array([[[2, 2, 2, 2, 2]]])  # ten samples, no slot above two
    law = hypergeometric_counts(pool, 4)
    np.testing.assert_allclose(np.asarray(law.probs).sum(), 1.0, atol=1e-12)
    vectors = count_vectors(4, 5)
    index = [i for i, v in enumerate(vectors.tolist()) if v == [2, 2, 0, 0, 0]][0]
    np.testing.assert_allclose(float(law.probs[0, 0, index]), comb(2, 2) * comb(2, 2) / comb(10, 4), atol=1e-14)
