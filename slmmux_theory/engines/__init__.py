"""Engines: exact enumeration, Monte Carlo, replay of recorded samples, width buckets, sharding.

Theory layer, no I/O. Modules, one job each: ``counts`` (count-vector laws: multinomial,
hypergeometric), ``levels`` (SLM-MUX confidence levels), ``pooled`` and ``product`` (pooled and
product enumeration), ``exact`` (the front door: :func:`exact_accuracy` iterates the rule
registry), ``montecarlo``, ``replay`` and ``replay_table`` (replay of recorded samples),
``pair_curves`` (rules on every model pair), ``buckets`` (the one width-bucketing engine),
``sharding``, ``wide_levels`` and ``wide_pooled`` (SLM-MUX level laws and two models' Agent
Forest on rows with many distinct answers, by a pass over slots). Their public names are
re-exported here, imported on first use; the rules' own exact laws live in
:mod:`slmmux_theory.rules`.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "buckets": [
        "apply_by_width", "by_question_width", "even_width", "even_width_from_zero",
        "narrow_and_wide", "single_bucket", "wrong_slot_width",
    ],
    "counts": [
        "CountDistribution", "ExactResult", "as_count_distribution", "count_vectors",
        "hypergeometric_counts", "multinomial_counts", "plurality_kernel",
    ],
    "crossfit": [
        "CrossfitValues", "best_single", "crossfit_levels", "crossfit_rule", "crossfit_subsets",
        "mean_tokens_per_sample", "question_folds", "summarise",
    ],
    "exact": ["exact_accuracy"],
    "levels": ["MuxLevels", "mux_accuracy_from_levels", "mux_levels", "mux_subset_accuracy"],
    "montecarlo": ["MAX_ELEMENTS", "MonteCarloResult", "chunk_draws", "draw_samples",
                   "monte_carlo_accuracy", "rule_function"],
    "pair_curves": [
        "ModelSwitchPairs", "PairCurves", "all_pairs", "cross_fitted_pair_curves",
        "model_switch_pair_savings", "pair_rule_curves", "weakest_models",
    ],
    "pooled": ["pooled_uniform_accuracy", "pooled_vote_accuracy_batched"],
    "product": ["contract", "first_seen_share", "product_accuracy", "product_counts"],
    "replay": [
        "MAX_EXACT_SLOTS", "ExactOutOfReach", "PAIR_RULES", "PairRuleValues", "ReplayValues", "exact_replay",
        "literal_replay", "mean_and_standard_error", "pair_rule_values", "per_sample_accuracy",
        "pooled_vote_pairs_exact",
        "replay_levels", "sample_counts", "subset_accuracy_draws",
    ],
    "replay_table": [
        "REPLAY_RULES", "ReplayRow", "evaluation_folds", "exact_replay_samples",
        "literal_replay_samples", "plug_in_replay_samples", "validation_accuracy",
    ],
    "sharding": ["pad_questions", "question_mesh", "shard_questions"],
    "subsample": ["SubsampleResult", "compact_sample_slots", "draw_positions", "subsample_replay"],
    "wide_levels": ["binomial_weights", "hypergeometric_levels", "multinomial_levels",
                    "power_weights", "product_form_levels"],
    "wide_pooled": ["hypergeometric_pooled_pairs", "multinomial_pooled_pairs",
                    "product_form_pooled_pair"],
})
