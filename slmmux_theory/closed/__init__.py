"""Closed forms, bounds, symbolic derivations and the paper's theoretical claims.

Theory layer, no I/O. Modules, one job each: ``closed_forms`` (binomial and categorical voting
formulas), ``bounds`` (SLM-MUX accuracy bounds), ``symbolic`` (SymPy derivations of the
voting identities), ``claims`` (the paper's claims beside exact values). Their public names are
re-exported here, imported on first use (SymPy loads only when a symbolic name is used); the
SymPy symbol ``P`` stays ``symbolic.P``.
"""

from slmmux_theory.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "closed_forms": [
        "TIE_CONVENTIONS", "DatasetAccuracy", "PooledVoteMoments", "TieConvention",
        "agent_forest_binary_approximation", "binomial_majority_accuracy",
        "dataset_accuracy_per_question", "dispersed_plurality_accuracy",
        "multinomial_count_vectors", "multinomial_log_pmf", "mux_binary_approximation",
        "plurality_accuracy", "plurality_win_weights", "poisson_binomial_pmf",
        "pooled_vote_binary_accuracy", "pooled_vote_count_moments", "voting_helps",
        "voting_helps_threshold",
    ],
    "bounds": [
        "MuxAccuracyBounds", "TopCountLaw", "mode_correct_probability", "mux_accuracy_bounds",
        "top_count_law",
    ],
    "symbolic": [
        "PooledVoteVarianceDerivation", "VotingGainAnalysis", "coin_identity_difference",
        "majority_derivative", "majority_polynomial", "plurality_accuracy_exact",
        "plurality_polynomial", "pooled_vote_variance_derivation", "voting_gain_analysis",
    ],
    "claims": ["ClaimRow", "categorical_with_dispersion", "mux_claim_rows", "theory_claim_rows",
               "voting_claim_rows"],
})
