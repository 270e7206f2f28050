"""The two oracles as rule values: some model's vote is correct; some sample is correct.

Upper bounds, not deployable rules: each peeks at slot 0 (the correct answer). Assembles
:func:`slmmux_theory.rules.base.oracle_any_mode` / :func:`~slmmux_theory.rules.base.oracle_any_sample`
and their per-model factorised laws into :data:`ORACLE` and :data:`ORACLE_ANY_SAMPLE`
(METHODS.md §4.3). Rules layer: pure.
"""

from __future__ import annotations

import jax.numpy as jnp

from slmmux_theory.engines.counts import as_count_distribution
from slmmux_theory.rules.base import oracle_any_mode, oracle_any_sample
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, all_models_cost, fixed_cost_result
from slmmux_theory.rules.self_consistency import self_consistency_accuracy_exact

__all__ = ["ORACLE", "ORACLE_ANY_SAMPLE", "oracle_accuracy_exact"]


def oracle_accuracy_exact(distribution, k: int | None = None, kind: str = "any_mode"):
    """Exact oracle accuracy, shape [questions].

    ``any_mode``: some model's voted answer (uniform ties) is correct; ``any_sample``: some sample
    of some model is correct. Models are independent given the question, so both factorise.
    """
    counts = as_count_distribution(distribution, k)
    if kind == "any_mode":
        miss = 1.0 - self_consistency_accuracy_exact(counts)
    elif kind == "any_sample":
        no_correct = jnp.asarray(counts.vectors[:, 0] == 0, dtype=jnp.float64)
        miss = counts.probs @ no_correct
    else:
        raise ValueError(f"kind must be 'any_mode' or 'any_sample', got {kind!r}")
    return 1.0 - jnp.prod(miss, axis=0)


def _as_selection(hit, counts) -> Selection:
    """A hit answers slot 0 (correct), a miss the ⊥ slot."""
    return Selection(jnp.where(hit, 0, counts.shape[1] - 1), counts.sum())


def _select_any_mode(counts, first_seen, key, context: RuleContext) -> Selection:
    return _as_selection(oracle_any_mode(counts, key, "random"), counts)


def _select_any_sample(counts, first_seen, key, context: RuleContext) -> Selection:
    return _as_selection(oracle_any_sample(counts), counts)


def _exact_any_mode(counts, context: RuleContext):
    return fixed_cost_result(oracle_accuracy_exact(counts, counts.k, "any_mode"), counts, context)


def _exact_any_sample(counts, context: RuleContext):
    return fixed_cost_result(oracle_accuracy_exact(counts, counts.k, "any_sample"), counts, context)


ORACLE = Rule("oracle", _select_any_mode, _exact_any_mode, all_models_cost, oracle=True,
              replay_report=True)
ORACLE_ANY_SAMPLE = Rule("oracle-any-sample", _select_any_sample, _exact_any_sample,
                         all_models_cost, oracle=True)
