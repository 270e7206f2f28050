"""slmmux_theory: pure JAX / NumPyro / SymPy theory of small-language-model orchestration.

No file, network or clock access lives here; :mod:`slmmux_run` does the I/O. The public API of
each module is re-exported below; the modules themselves hold one job each:
``distributions`` (answer distributions), ``rules`` (selection rules), ``exact`` (exact
accuracy), ``montecarlo``, ``closed_forms``, ``symbolic``, ``bounds``, ``claims``, ``search``
(the paper's subset search), ``budget`` (models vs samples), ``answer_model`` and ``predict``
(the Bayesian answer model), ``checks`` (predictive checks), ``unseen`` (laws of a pilot's
unseen questions), ``groupthink`` and ``groupthink_fit`` (discussion), ``sharding``.
"""

import jax

# Exact accuracies are compared to 1e-9 and summed over thousands of count vectors.
jax.config.update("jax_enable_x64", True)

from slmmux_theory.distributions import (  # noqa: E402
    AnswerDistribution,
    compact_slots,
    compact_slots_per_model,
    from_counts,
    from_probabilities,
)
from slmmux_theory.rules.base import (  # noqa: E402
    MuxConfig,
    SwitchConfig,
    model_switch_select,
    mux_preset,
    mux_select,
    plurality_vote,
    pooled_vote,
    tie_priority,
)
from slmmux_theory.engines.exact import (  # noqa: E402
    CountDistribution,
    ExactResult,
    exact_accuracy,
    hypergeometric_counts,
    model_switch_exact,
    multinomial_counts,
    mux_accuracy_exact,
    mux_levels,
    mux_subset_accuracy,
    pooled_vote_accuracy_exact,
    self_consistency_accuracy_exact,
)
from slmmux_theory.engines.montecarlo import MonteCarloResult, monte_carlo_accuracy  # noqa: E402
from slmmux_theory.closed.closed_forms import (  # noqa: E402
    binomial_majority_accuracy,
    dispersed_plurality_accuracy,
    plurality_accuracy,
    pooled_vote_binary_accuracy,
    voting_helps,
    voting_helps_threshold,
)
from slmmux_theory.closed.bounds import MuxAccuracyBounds, mux_accuracy_bounds  # noqa: E402

__all__ = [
    "AnswerDistribution",
    "CountDistribution",
    "ExactResult",
    "MonteCarloResult",
    "MuxAccuracyBounds",
    "MuxConfig",
    "SwitchConfig",
    "binomial_majority_accuracy",
    "compact_slots",
    "compact_slots_per_model",
    "dispersed_plurality_accuracy",
    "exact_accuracy",
    "from_counts",
    "from_probabilities",
    "hypergeometric_counts",
    "model_switch_exact",
    "model_switch_select",
    "monte_carlo_accuracy",
    "multinomial_counts",
    "mux_accuracy_bounds",
    "mux_accuracy_exact",
    "mux_levels",
    "mux_preset",
    "mux_select",
    "mux_subset_accuracy",
    "plurality_accuracy",
    "plurality_vote",
    "pooled_vote",
    "pooled_vote_accuracy_exact",
    "pooled_vote_binary_accuracy",
    "self_consistency_accuracy_exact",
    "tie_priority",
    "voting_helps",
    "voting_helps_threshold",
]
