"""Selection rules: how one question's sampled answers become one chosen answer.

Each rule is a :class:`Rule` value (name, selection on sampled counts, exact law, cost model,
capability flags), built in its own module and listed once in :data:`RULES`
(:mod:`slmmux_theory.rules.registry`); :mod:`slmmux_theory.rules.base` holds the selection
functions on counts, the options and the tie rules they share. The exact engine
(``exact_accuracy``), Monte Carlo (``monte_carlo_accuracy``) and the CLI's ``--rule`` choices
read the registry, so a new rule is one module plus one line in ``registry.py`` (or, at run
time, :func:`register_rule`)::

    def select(counts, first_seen, key, context):      # counts, first_seen: [models, answers]
        return Selection(jnp.argmin(first_seen[0]), counts[0].sum())

    def exact(counts, context):                         # counts: CountDistribution
        share = jnp.asarray(counts.vectors[:, 0] / counts.k)
        return fixed_cost_result(counts.probs[0] @ share, counts, context, first_model_cost)

    FIRST_SAMPLE = Rule("first-sample", select, exact, first_model_cost, first_model_only=True)

Its brute-force reference goes in ``tests/theory/reference_rules.py`` (``REFERENCES``), which the
registry test holds every registered rule to.
"""

from slmmux_theory.rules.registry import RULES, get_rule, register_rule, rule_names
from slmmux_theory.rules.rule import Rule, RuleContext, Selection

__all__ = ["RULES", "Rule", "RuleContext", "Selection", "get_rule", "register_rule", "rule_names"]
