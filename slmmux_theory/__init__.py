"""slmmux_theory: pure JAX / NumPyro / SymPy theory of small-language-model orchestration.

No file, network or clock access lives here; :mod:`slmmux_run` does the I/O. The public API of
each module is re-exported below; the modules themselves hold one job each:
``distributions`` (answer distributions), ``rules`` (selection rules), ``exact`` (exact
accuracy), ``montecarlo``, ``closed_forms``, ``symbolic``, ``bounds``, ``claims``, ``search``
(the paper's subset search), ``budget`` (models vs samples), ``answer_model`` and ``predict``
(the Bayesian answer model), ``checks`` (predictive checks), ``unseen`` (laws of a pilot's
unseen questions), ``groupthink`` and ``groupthink_fit`` (discussion), ``sharding``.
"""

from slmmux_theory.distributions import (
    AnswerDistribution,
    compact_slots,
    compact_slots_per_model,
    from_counts,
    from_probabilities,
)
from slmmux_theory.rules.base import (
    MuxConfig,
    SwitchConfig,
    model_switch_select,
    mux_preset,
    mux_select,
    plurality_vote,
    pooled_vote,
    tie_priority,
)
from slmmux_theory.engines.exact import (
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
from slmmux_theory.engines.montecarlo import MonteCarloResult, monte_carlo_accuracy
from slmmux_theory.closed.closed_forms import (
    binomial_majority_accuracy,
    dispersed_plurality_accuracy,
    plurality_accuracy,
    pooled_vote_binary_accuracy,
    voting_helps,
    voting_helps_threshold,
)
from slmmux_theory.closed.bounds import MuxAccuracyBounds, mux_accuracy_bounds
from slmmux_theory.precision import Float64Required, enable_x64, require_x64, x64_enabled

__all__ = [
    "AnswerDistribution",
    "CountDistribution",
    "ExactResult",
    "Float64Required",
    "MonteCarloResult",
    "MuxAccuracyBounds",
    "MuxConfig",
    "SwitchConfig",
    "binomial_majority_accuracy",
    "compact_slots",
    "compact_slots_per_model",
    "dispersed_plurality_accuracy",
    "enable_x64",
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
    "require_x64",
    "self_consistency_accuracy_exact",
    "tie_priority",
    "voting_helps",
    "voting_helps_threshold",
    "x64_enabled",
]
