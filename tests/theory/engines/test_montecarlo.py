"""The Monte Carlo engine: reproducible per key, beyond the exact engine's reach.

Exact against Monte Carlo for every registered rule: tests/theory/rules/test_registry.py.
"""

import jax
import numpy as np
import pytest

from slmmux_theory.engines.montecarlo import MAX_ELEMENTS, chunk_draws, monte_carlo_accuracy


def test_monte_carlo_reproducible_and_seed_dependent():
    probs = np.random.default_rng(1).dirichlet(np.ones(3), size=(2, 4))
    a = monte_carlo_accuracy(jax.random.PRNGKey(5), "slm-mux", probs, 3, 200)
    b = monte_carlo_accuracy(jax.random.PRNGKey(5), "slm-mux", probs, 3, 200)
    c = monte_carlo_accuracy(jax.random.PRNGKey(6), "slm-mux", probs, 3, 200)
    assert float(a.accuracy) == float(b.accuracy)
    assert float(a.accuracy) != float(c.accuracy)


def test_monte_carlo_reaches_beyond_exact_limits():
    # k = 15 with 5 models: far past the exact product enumeration, fine for simulation.
    probs = np.random.default_rng(2).dirichlet(np.ones(6), size=(5, 3))
    result = monte_carlo_accuracy(jax.random.PRNGKey(0), "agent-forest", probs, 15, 100)
    assert 0.0 <= float(result.accuracy) <= 1.0


def test_chunks_keep_memory_within_the_bound():
    # Entries per draw of [draws, questions, models, k, answers]: 2 models x 10 questions x
    # 4 answers x 5 samples = 400.
    assert chunk_draws((2, 10, 4), 5, 10**9, max_elements=4000) == 10
    assert chunk_draws((2, 10, 4), 5, 10**9, max_elements=399) == 1  # at least one draw
    assert chunk_draws((2, 10, 4), 5, 7, max_elements=4000) == 7  # never more than asked
    # The default bound at a size the CLI allows: 10^8 draws on 3 x 30 x 8, k = 8.
    per_draw = 3 * 30 * 8 * 8
    assert chunk_draws((3, 30, 8), 8, 10**8) * per_draw <= MAX_ELEMENTS


def test_one_chunk_is_the_unchunked_estimate():
    probs = np.random.default_rng(3).dirichlet(np.ones(4), size=(2, 5))
    whole = monte_carlo_accuracy(jax.random.PRNGKey(2), "slm-mux", probs, 3, 300)
    bound = 2 * 5 * 4 * 3 * 300  # exactly one chunk of 300 draws
    again = monte_carlo_accuracy(jax.random.PRNGKey(2), "slm-mux", probs, 3, 300,
                                 max_elements=bound)
    for a, b in zip(whole, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_chunks_pool_like_one_sample_of_all_draws():
    # 7 chunks of 40 draws and one of 20 (300 draws): each chunk is the single-chunk estimate
    # under its own key from jax.random.split; the pooled mean, per-question rates and the
    # standard error follow from the chunks by the total-sum-of-squares decomposition.
    probs = np.random.default_rng(4).dirichlet(np.ones(3), size=(2, 4))
    per_draw = 2 * 4 * 3 * 2
    pooled = monte_carlo_accuracy(jax.random.PRNGKey(8), "agent-forest", probs, 2, 300,
                                  max_elements=40 * per_draw)
    sizes = [40] * 7 + [20]
    parts = [monte_carlo_accuracy(key, "agent-forest", probs, 2, size)
             for key, size in zip(jax.random.split(jax.random.PRNGKey(8), 8), sizes)]
    n = np.array(sizes, dtype=float)
    means = np.array([float(p.accuracy) for p in parts])
    mean = (n * means).sum() / n.sum()
    within = sum(float(p.standard_error) ** 2 * size * (size - 1) for p, size in zip(parts, sizes))
    squares = within + (n * (means - mean) ** 2).sum()
    assert float(pooled.accuracy) == pytest.approx(mean, rel=1e-12)
    assert float(pooled.standard_error) == pytest.approx(np.sqrt(squares / 299 / 300), rel=1e-9)
    per_question = sum(size * np.asarray(p.per_question) for p, size in zip(parts, sizes)) / 300
    np.testing.assert_allclose(np.asarray(pooled.per_question), per_question, rtol=1e-12)
    spent = sum(size * np.asarray(p.expected_samples) for p, size in zip(parts, sizes)) / 300
    np.testing.assert_allclose(np.asarray(pooled.expected_samples), spent, rtol=1e-12)


def test_chunked_estimate_agrees_with_the_exact_engine():
    from slmmux_theory.engines.exact import exact_accuracy

    probs = np.random.default_rng(5).dirichlet(np.ones(4) * 0.6, size=(3, 6))
    exact = exact_accuracy("slm-mux", probs, 3)
    mc = monte_carlo_accuracy(jax.random.PRNGKey(1), "slm-mux", probs, 3, 3001,
                              max_elements=3 * 6 * 4 * 3 * 250)  # 12 chunks of 250 and one of 1
    assert abs(float(exact.accuracy) - float(mc.accuracy)) < 4 * float(mc.standard_error)
    gap = np.abs(np.asarray(exact.per_question) - np.asarray(mc.per_question))
    assert np.all(gap < 5 * np.asarray(mc.per_question_standard_error) + 1e-3)


def test_a_draw_above_the_memory_bound_is_refused():
    probs = np.full((2, 3, 4), 0.25)  # one draw at k = 10: 2 x 3 x 4 x 10 = 240 entries
    with pytest.raises(ValueError, match="one draw needs 240 entries"):
        monte_carlo_accuracy(jax.random.PRNGKey(0), "slm-mux", probs, 10, 100, max_elements=239)
