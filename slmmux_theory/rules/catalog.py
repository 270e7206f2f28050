"""The built-in rules by name, without importing them (rules layer; no JAX).

:data:`BUILT_IN` says, in the registry's order, which module defines each built-in rule and
under which variable; :mod:`slmmux_theory.rules.registry` builds :data:`RULES` from this list
(and refuses a module whose rule carries another name), so a new rule is one module plus one
line here. :func:`registered_rule_names` gives the names without loading JAX, which lets the
command line offer ``--rule`` choices and report a bad name at once.

>>> registered_rule_names()[:2]
('slm-mux', 'agent-forest')
"""

from __future__ import annotations

import sys
from typing import NamedTuple

__all__ = ["BUILT_IN", "RuleEntry", "registered_rule_names"]

REGISTRY_MODULE = "slmmux_theory.rules.registry"


class RuleEntry(NamedTuple):
    """Where a built-in rule is defined.

    Attributes:
      name: the rule's name (its ``Rule.name``).
      module: its module in :mod:`slmmux_theory.rules`.
      variable: the module-level variable holding the ``Rule``.
    """

    name: str
    module: str
    variable: str


BUILT_IN: tuple[RuleEntry, ...] = (
    RuleEntry("slm-mux", "slm_mux", "SLM_MUX"),
    RuleEntry("agent-forest", "agent_forest", "AGENT_FOREST"),
    RuleEntry("self-consistency", "self_consistency", "SELF_CONSISTENCY"),
    RuleEntry("model-switch", "model_switch", "MODEL_SWITCH"),
    RuleEntry("oracle", "oracle", "ORACLE"),
    RuleEntry("oracle-any-sample", "oracle", "ORACLE_ANY_SAMPLE"),
    RuleEntry("confidence-weighted", "confidence_weighted", "CONFIDENCE_WEIGHTED"),
    RuleEntry("weighted-vote-milp", "weighted_vote_milp", "WEIGHTED_VOTE_MILP"),
    RuleEntry("weighted-vote-log-odds", "weighted_vote_log_odds", "WEIGHTED_VOTE_LOG_ODDS"),
    RuleEntry("bayes-stop", "bayes_stop", "BAYES_STOP"),
    RuleEntry("bayes-stop-models", "bayes_stop", "BAYES_STOP_MODELS"),
    RuleEntry("posterior-optimal", "posterior_optimal", "POSTERIOR_OPTIMAL"),
    RuleEntry("vote-stop", "vote_stop", "VOTE_STOP"),
)


def registered_rule_names() -> tuple[str, ...]:
    """Names of the registered rules, in registry order, without importing the registry.

    Once the registry is loaded its names are returned, rules added by ``register_rule``
    included; before that no rule can have been added, and the names are the built-in ones.
    """
    registry = sys.modules.get(REGISTRY_MODULE)
    if registry is not None and hasattr(registry, "RULES"):
        return tuple(registry.RULES)
    return tuple(entry.name for entry in BUILT_IN)
