"""Inference: the Bayesian answer model, its fit, posterior predictive, checks and unseen-question laws.

Theory layer, no I/O. Modules, one job each: ``answer_model`` (the NumPyro model, its
likelihood and prior draws), ``answer_fit`` (NUTS and SVI fits), ``locked`` (the locked-row
mixtures), ``predict`` (posterior and population predictive laws), ``checks`` (posterior predictive checks), ``unseen`` (laws of a
pilot's unseen questions), ``majority`` (exact maj@k for any k by generating functions; the
SLM-MUX level laws of wide rows are ``engines.wide_levels``), ``forecast`` (single-model pass@k /
maj@k forecasts from a pilot), ``forecast_zero`` (the zero-inflated Beta tree: unsolvable
questions told by their clustered wrong answers, and the cross-validated choice of forecast law),
``grid_eb`` (empirical-Bayes answer laws from a pilot: a nonparametric per-model law of the
correct/wrong/⊥ shares and a two-component crowd split of the wrong mass), ``tree_posterior``
(per-model Beta-tree posterior draws of every pilot row as replay pools; the hard study's
``beta-tree`` predictors, imported from its module, not re-exported).
Their public names are re-exported here, imported on first use; the model function itself
stays ``answer_model.answer_model`` (the module has the same name).
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "answer_model": [
        "ATTRACTOR_KINDS", "PARAMETER_SITES", "AnswerModelConfig", "AnswerModelFit", "CountData",
        "attractor_from_sticks", "count_data", "dirichlet_multinomial_log_prob",
        "interaction_logits", "level_means", "model_sites", "prior_fit", "site_names",
    ],
    "locked": ["locked_posterior_logit", "mixture_log_likelihood", "row_log_probs"],
    "answer_fit": ["fit_answer_model"],
    "predict": ["population_predictive_probs", "posterior_predictive_probs", "replicate_counts"],
    "checks": [
        "PredictiveCheck", "SampleStatistics", "counts_from_samples", "predictive_check",
        "sample_statistics",
    ],
    "majority": [
        "dirichlet_majority", "dirichlet_tree_majority", "hypergeometric_majority",
        "majority_from_coefficients", "multinomial_majority", "tree_majority",
    ],
    "forecast": [
        "BetaTreeChoice", "BetaTreeLaw", "CategoricalLaw", "ScaledBeta", "beta_tree_forecast",
        "beta_tree_log_likelihood", "categorical_forecast", "categorical_log_likelihood",
        "choose_beta_tree", "fit_beta_tree", "fit_categorical", "fit_scaled_beta_binomial",
        "plug_in_forecast", "scaled_beta_conditional_pass_at_k", "scaled_beta_correct_law",
        "scaled_beta_log_likelihood", "scaled_beta_pass_at_k", "unbiased_pass_at_k",
    ],
    "forecast_zero": [
        "CANDIDATES", "ForecastChoice", "ZeroInflatedLaw", "choose_forecast_law",
        "cross_validated_scores", "fit_candidate", "fit_zero_inflated", "law_forecast",
        "law_log_likelihood", "zero_inflated_forecast", "zero_inflated_log_likelihood",
        "zero_inflated_question_log_likelihood",
    ],
    "grid_eb": [
        "EB_LAWS", "EB_UNSEEN_LAWS", "LOCAL_BANDWIDTH", "MIN_STRATUM", "WrongSplit",
        "difficulty_strata", "eb_population_probs", "eb_question_probs", "fit_grid_law",
        "fit_wrong_split", "grid_posterior", "local_grid_laws", "others_share", "simplex_grid",
    ],
    "unseen": [
        "generic_failure_probs", "shared_failure_questions", "stratified_unseen_picks",
        "unseen_question_picks",
    ],
})
