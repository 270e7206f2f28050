"""Discussion: the groupthink (debate) model, its NumPyro fit, its measures and checks.

Theory layer, no I/O. Modules, one job each: ``model`` (the discussion Markov chain and its
exact accuracy), ``fit`` (NumPyro fit), ``measures`` (groupthink measures), ``phase`` (phase
grid), ``variants``, ``prediction``, ``checks``, ``standard_errors``, ``independent`` (the
independent-sample methods beside a debate). Their public names are
re-exported here, imported on first use.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "checks": ["CHECKED_MEASURES", "check_against_prediction", "pool_folds"],
    "fit": [
        "EXTENSION_NAMES", "PARAMETER_NAMES", "DiscussionPosterior", "PRIVATE_LAW_SITES",
        "ParameterIntervals", "PredictiveMeasures", "SviFit", "discussion_model", "fit_nuts",
        "fit_svi", "fit_svi_guide", "params_predictive", "posterior_intervals",
        "posterior_predictive", "posterior_predictive_simulated", "svi_posterior",
    ],
    "independent": [
        "IndependentComparison", "IndependentRow", "compared_rules", "independent_comparison",
        "round_one_correct_probability",
    ],
    "measures": [
        "FAILURE_KINDS", "MEASURE_NAMES", "CapitulationRates", "FlipRates", "GroupthinkMeasures",
        "Rate", "capitulation_rates", "classify_failures", "failure_label_shares",
        "final_consensus_on_wrong_rate", "flip_rates", "groupthink_measures", "lost_correct_rate",
        "measure_values", "pool_measures", "predicted_groupthink_measures",
        "recency_adoption_rate",
    ],
    "model": [
        "ABILITY_FLOOR", "PRESENTATIONS", "PRIVATE_OUTCOMES", "PRIVATE_STATES", "DebateComparison",
        "DiscussionParams", "MonteCarloEstimate", "ability_logit", "ability_tilted_law",
        "agent_moves", "debate_accuracy_exact", "debate_accuracy_mc", "debate_minus_independent",
        "discussion_params", "final_correct_probability", "independent_plurality_accuracy_exact",
        "initial_state_distribution", "joint_states", "last_peer_index", "last_peer_weights",
        "next_answer_probabilities", "plurality_answer", "private_move_probabilities",
        "propagate", "revision_probabilities", "simulate_debates", "state_distributions",
        "transition_matrix",
    ],
    "phase": ["PhaseGrid", "phase_grid", "symmetric_answer_probabilities"],
    "prediction": [
        "QUESTION_BLOCK", "QUESTION_DRAWS_PER_BLOCK", "canonical_wrong_slots", "compare_variants",
        "exact_draws", "fit_and_predict", "parameter_summary",
        "predict_new_questions", "prediction_summary", "private_law_summary",
    ],
    "standard_errors": [
        "clustered_standard_error", "per_debate_standard_errors", "ratio_standard_error",
    ],
    "variants": [
        "SELECTION_MEASURES", "VARIANTS", "agent_groups_of", "choose_smoothing",
        "main_fit_options", "select_variant", "variant_options",
    ],
})
