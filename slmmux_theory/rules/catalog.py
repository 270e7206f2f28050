"""The built-in rules by name, without importing them (rules layer; no JAX).

:data:`BUILT_IN` says, in the registry's order, which module defines each built-in rule, under
which variable, and which of the capability flags in :data:`CATALOG_FLAGS` it sets;
:mod:`slmmux_theory.rules.registry` builds :data:`RULES` from this list and refuses a module
whose rule carries another name or other flags, so the list cannot drift from the rules. A new
rule is one module plus one line here. :func:`registered_rule_names` gives the names, all or
those with some flags, without loading JAX: the command line offers its ``--rule`` choices (all,
the live ones, the replayed ones...) and reports a bad name at once, and ``--help`` stays fast.

>>> registered_rule_names()[:2]
('slm-mux', 'agent-forest')
>>> registered_rule_names("live")
('slm-mux', 'model-switch')
"""

from __future__ import annotations

import sys
from typing import NamedTuple

__all__ = ["BUILT_IN", "CATALOG_FLAGS", "RuleEntry", "registered_rule_names"]

REGISTRY_MODULE = "slmmux_theory.rules.registry"

CATALOG_FLAGS = ("live", "replay_report", "level_engine", "pair_engine", "pooled")
"""The :class:`~slmmux_theory.rules.rule.Rule` flags the catalog states for each built-in rule:
the ones the command line's choices depend on (``mux --live``, ``mux --rule all``, the rules
``plan`` and ``check`` rank)."""


class RuleEntry(NamedTuple):
    """Where a built-in rule is defined.

    Attributes:
      name: the rule's name (its ``Rule.name``).
      module: its module in :mod:`slmmux_theory.rules`.
      variable: the module-level variable holding the ``Rule``.
      flags: the flags of :data:`CATALOG_FLAGS` that the rule sets (True); the registry checks
        them against the rule when it loads it.
    """

    name: str
    module: str
    variable: str
    flags: frozenset[str] = frozenset()


BUILT_IN: tuple[RuleEntry, ...] = (
    RuleEntry("slm-mux", "slm_mux", "SLM_MUX",
              frozenset({"live", "replay_report", "level_engine"})),
    RuleEntry("agent-forest", "agent_forest", "AGENT_FOREST",
              frozenset({"replay_report", "pair_engine", "pooled"})),
    RuleEntry("self-consistency", "self_consistency", "SELF_CONSISTENCY",
              frozenset({"replay_report", "level_engine"})),
    RuleEntry("model-switch", "model_switch", "MODEL_SWITCH",
              frozenset({"live", "replay_report", "pair_engine"})),
    RuleEntry("oracle", "oracle", "ORACLE", frozenset({"replay_report"})),
    RuleEntry("oracle-any-sample", "oracle", "ORACLE_ANY_SAMPLE"),
    RuleEntry("confidence-weighted", "confidence_weighted", "CONFIDENCE_WEIGHTED"),
    RuleEntry("weighted-vote-milp", "weighted_vote_milp", "WEIGHTED_VOTE_MILP"),
    RuleEntry("weighted-vote-log-odds", "weighted_vote_log_odds", "WEIGHTED_VOTE_LOG_ODDS"),
    RuleEntry("bayes-stop", "bayes_stop", "BAYES_STOP"),
    RuleEntry("bayes-stop-models", "bayes_stop", "BAYES_STOP_MODELS"),
    RuleEntry("posterior-optimal", "posterior_optimal", "POSTERIOR_OPTIMAL"),
    RuleEntry("vote-stop", "vote_stop", "VOTE_STOP"),
)


def registered_rule_names(*any_of: str) -> tuple[str, ...]:
    """Names of the registered rules, in registry order, without importing the registry.

    Args:
      *any_of: flags of :data:`CATALOG_FLAGS`; given, only the rules that set at least one of
        them (``"level_engine", "pair_engine"``: the rules the plan ranks).

    Once the registry is loaded its rules are read, rules added by ``register_rule`` included;
    before that no rule can have been added, and the catalog answers.

    Raises:
      ValueError: for a flag the catalog does not state.

    >>> registered_rule_names("level_engine", "pooled")
    ('slm-mux', 'agent-forest', 'self-consistency')
    """
    unknown = [flag for flag in any_of if flag not in CATALOG_FLAGS]
    if unknown:
        raise ValueError(f"the rule catalog states no flag {unknown[0]!r}; "
                         f"it states {', '.join(CATALOG_FLAGS)}")
    registry = sys.modules.get(REGISTRY_MODULE)
    if registry is not None and hasattr(registry, "RULES"):
        return tuple(name for name, rule in registry.RULES.items()
                     if not any_of or any(getattr(rule, flag) for flag in any_of))
    return tuple(entry.name for entry in BUILT_IN
                 if not any_of or entry.flags.intersection(any_of))
