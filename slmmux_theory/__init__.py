"""slmmux_theory: pure JAX / NumPyro / SymPy theory of small-language-model orchestration.

No file, network or clock access lives here; :mod:`slmmux_run` does the I/O. Importing the
package changes no JAX setting: programs call :func:`enable_x64` once at their start (see
:mod:`slmmux_theory.precision`). The main entry points are re-exported below and imported on
first use (:mod:`slmmux_theory.lazy`), so ``import slmmux_theory`` is light. Subpackages, one
job each: ``rules`` (a rule is a value; the registry ``RULES``), ``engines`` (exact enumeration,
Monte Carlo, replay of recorded samples, width buckets, sharding), ``closed`` (closed forms,
bounds, symbolic proofs, the paper's claims), ``inference`` (answer model, its fit, predictive
laws, checks, unseen questions), ``planning`` (plan from a pilot, predictors, held-out check,
models vs samples, the paper's subset search), ``discussion`` (the groupthink model, its fit,
measures and checks); ``distributions`` holds answer distributions.

>>> import slmmux_theory as st
>>> st.enable_x64()
>>> answers = st.from_probabilities([[[0.6, 0.3, 0.1]], [[0.5, 0.2, 0.3]]])  # 2 models, 1 question
>>> round(float(st.mux_accuracy_exact(answers.probs, k=3)[0]), 6)  # P(SLM-MUX correct)
0.764906
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "precision": ["Float64Required", "enable_x64", "require_x64", "x64_enabled"],
    "distributions": [
        "AnswerDistribution", "compact_slots", "compact_slots_per_model", "from_counts",
        "from_probabilities",
    ],
    "rules.registry": ["RULES", "get_rule", "register_rule", "rule_names"],
    "rules.rule": ["Rule", "RuleContext"],
    "rules.base": [
        "MuxConfig", "SwitchConfig", "model_switch_select", "mux_preset", "mux_select",
        "plurality_vote", "pooled_vote", "tie_priority",
    ],
    "engines.exact": [
        "CountDistribution", "ExactResult", "exact_accuracy", "hypergeometric_counts",
        "model_switch_exact", "multinomial_counts", "mux_accuracy_exact", "mux_levels",
        "mux_subset_accuracy", "pooled_vote_accuracy_exact", "self_consistency_accuracy_exact",
    ],
    "engines.montecarlo": ["MonteCarloResult", "monte_carlo_accuracy"],
    "closed.closed_forms": [
        "binomial_majority_accuracy", "dispersed_plurality_accuracy", "plurality_accuracy",
        "pooled_vote_binary_accuracy", "voting_helps", "voting_helps_threshold",
    ],
    "closed.bounds": ["MuxAccuracyBounds", "mux_accuracy_bounds"],
    "inference.answer_model": ["AnswerModelConfig", "AnswerModelFit", "prior_fit"],
    "inference.answer_fit": ["fit_answer_model"],
    "inference.predict": ["posterior_predictive_probs", "replicate_counts"],
    "inference.checks": ["PredictiveCheck", "predictive_check"],
    "planning.budget": ["BudgetSplit", "models_vs_samples", "pareto_front"],
    "planning.search": ["SearchConfig", "search_subsets"],
    "discussion.model": ["DiscussionParams", "debate_accuracy_exact", "discussion_params"],
    "discussion.measures": ["GroupthinkMeasures", "groupthink_measures"],
})
