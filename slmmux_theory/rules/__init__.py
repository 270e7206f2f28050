"""Selection rules: how one question's sampled answers become one chosen answer.

Each rule is a :class:`Rule` value (name, selection on sampled counts, exact law, cost model,
capability flags), built in its own module and listed once in :data:`RULES`
(:mod:`slmmux_theory.rules.registry`); :mod:`slmmux_theory.rules.base` holds the selection
functions on counts, the options and the tie rules they share. The exact engine
(``exact_accuracy``), Monte Carlo (``monte_carlo_accuracy``) and the CLI's ``--rule`` choices
read the registry, so a new rule is one module plus one line in ``catalog.py`` (``BUILT_IN``,
which the registry loads; or, at run time, :func:`register_rule`)::

    def select(counts, first_seen, key, context):      # counts, first_seen: [models, answers]
        return Selection(jnp.argmin(first_seen[0]), counts[0].sum())

    def exact(counts, context):                         # counts: CountDistribution
        share = jnp.asarray(counts.vectors[:, 0] / counts.k)
        return fixed_cost_result(counts.probs[0] @ share, counts, context, first_model_cost)

    FIRST_SAMPLE = Rule("first-sample", select, exact, first_model_cost, first_model_only=True)

Its brute-force reference goes in ``tests/theory/reference_rules.py`` (``REFERENCES``), which the
registry test holds every registered rule to. Every module's public names are re-exported here,
imported on first use.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "agent_forest": ["AGENT_FOREST", "pooled_vote_accuracy_exact"],
    "catalog": ["BUILT_IN", "CATALOG_FLAGS", "RuleEntry", "registered_rule_names"],
    "base": [
        "MUX_PRESETS", "MuxConfig", "MuxOutcome", "SwitchConfig", "SwitchOutcome", "VoteOutcome",
        "confidence_weighted_vote", "entropy_weight", "first_seen_positions",
        "model_switch_select", "mux_preset", "mux_select", "mux_tie_ranks", "oracle_any_mode",
        "oracle_any_sample", "plurality_vote", "pooled_vote", "tie_priority",
    ],
    "bayes_stop": [
        "BAYES_STOP", "BAYES_STOP_MODELS", "STOP_THRESHOLDS", "bayes_factor", "stop_on_sequence",
    ],
    "bayes_stop_exact": ["bayes_factor_reference"],
    "confidence_weighted": ["CONFIDENCE_WEIGHTED", "confidence_weighted_accuracy_exact"],
    "learning": ["learn_context", "validation_accuracy"],
    "posterior_fit": ["AnswerLaw", "beta_binomial_fit", "fit_answer_law", "wrong_answer_fit"],
    "posterior_optimal": [
        "POSTERIOR_OPTIMAL", "context_answer_law", "pack_answer_law",
        "posterior_scores",
    ],
    "model_switch": ["MODEL_SWITCH", "model_switch_exact"],
    "oracle": ["ORACLE", "ORACLE_ANY_SAMPLE", "oracle_accuracy_exact"],
    "registry": ["RULES", "get_rule", "register_rule", "rule_names"],
    "rule": [
        "Rule", "RuleContext", "Selection", "SequenceSelection", "all_models_cost",
        "first_model_cost", "fixed_cost_result",
    ],
    "self_consistency": ["SELF_CONSISTENCY", "self_consistency_accuracy_exact"],
    "slm_mux": ["SLM_MUX", "mux_accuracy_exact"],
    "weighted_vote": ["context_weights", "weighted_vote_exact", "weighted_vote_select"],
    "weighted_vote_log_odds": [
        "WEIGHTED_VOTE_LOG_ODDS", "effective_wrong_answers", "log_odds_weights",
    ],
    "vote_stop": [
        "VOTE_STOP", "VOTE_STOP_THRESHOLDS", "vote_stop_exact", "weighted_stop_on_sequence",
    ],
    "weighted_vote_milp": [
        "MilpWeights", "WEIGHTED_VOTE_MILP", "answer_shares", "milp_weights", "solved_problems",
    ],
})
