"""The Monte Carlo engine: reproducible per key, beyond the exact engine's reach.

Exact against Monte Carlo for every registered rule: tests/theory/rules/test_registry.py.
"""

import jax
import numpy as np

from slmmux_theory.engines.montecarlo import monte_carlo_accuracy


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
