"""Selection rules: how one question's sampled answers become one chosen answer.

Each rule is a :class:`Rule` value (name, selection on sampled counts, exact law, cost model,
capability flags), built in its own module and listed once in :data:`RULES`
(:mod:`slmmux_theory.rules.registry`); :mod:`slmmux_theory.rules.base` holds the shared
selection functions, options and tie rules.
"""

from slmmux_theory.rules.registry import RULES, get_rule, register_rule, rule_names
from slmmux_theory.rules.rule import Rule, RuleContext, Selection

__all__ = ["RULES", "Rule", "RuleContext", "Selection", "get_rule", "register_rule", "rule_names"]
