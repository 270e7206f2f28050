"""slmmux_theory: pure JAX / NumPyro / SymPy theory of small-language-model orchestration.

No file, network or clock access lives here; :mod:`slmmux_run` does the I/O.
"""

import jax

# Exact accuracies are compared to 1e-9 and summed over thousands of count vectors.
jax.config.update("jax_enable_x64", True)

from slmmux_theory.distributions import (  # noqa: E402
    AnswerDistribution,
    from_counts,
    from_probabilities,
)

__all__ = ["AnswerDistribution", "from_counts", "from_probabilities"]
