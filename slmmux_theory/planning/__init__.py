"""Planning: plan from a pilot, predictors, the held-out check, models vs samples, subset search.

Theory layer, no I/O. Modules, one job each: ``plan`` (the plan from a pilot), ``predictors``
(one interface: ``predictor(key, counts, num_draws) -> QuestionLaws``), ``heldout`` (the
held-out check), ``accuracy_draws``, ``budget``, ``budget_core`` and ``pilot_budget`` (models vs
samples), ``search`` (the paper's subset search). Their public names are re-exported here,
imported on first use; the function ``plan`` stays ``plan.plan`` (the module has its name).
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "accuracy_draws": ["DrawFolding", "best_share", "bootstrap_means", "interval"],
    "budget": [
        "BUDGET_RULES", "BudgetSplit", "ExpectedCost", "fixed_cost", "model_switch_expected_cost",
        "models_vs_samples", "sample_cost", "stop_probability",
    ],
    "budget_core": [
        "ACCURACY_TOLERANCE", "BUDGET_SLACK", "Candidate", "GainEstimate", "MarginalGain", "TIES",
        "best_index", "draws_gain", "fits", "larger_subsets", "pareto_front",
    ],
    "heldout": [
        "HELDOUT_RULES", "HeldoutRow", "HeldoutTest", "PlanScore", "default_priority",
        "evaluate_rows", "heldout_test", "observed_accuracies", "predicted_accuracies",
        "replayed_rule_accuracy", "replayed_subset_accuracy", "score_plan", "summarise",
    ],
    "pilot_budget": ["BudgetChoice", "budget_choice", "budget_split", "switch_budget"],
    "plan": [
        "INDISTINCT_P_BEST", "PLAN_RULES", "PREDICTORS", "Plan", "PlanCandidate", "draw_pilot",
        "pilot_priority", "plan_predictor", "plan_rules",
    ],
    "predictors": [
        "HELDOUT_PREDICTORS", "UNSEEN_LAWS", "Predictor", "QuestionLaws", "dirichlet_predictor",
        "heldout_predictor", "hierarchical_predictor", "plug_in_predictor", "population_draws",
        "population_predictor", "replay_plug_in_predictor",
    ],
    "search": [
        "SearchConfig", "SearchLabels", "SearchResult", "SubsetChoice", "SubsetTable",
        "all_subsets", "counts_from_samples", "pool_runs", "score_subsets", "search_labels",
        "search_subsets",
    ],
})
