"""The registry of rules: the one list that engines, planning and the CLI iterate (rules layer).

:data:`RULES` maps each rule's name to its :class:`~slmmux_theory.rules.rule.Rule` value, in the
order the CLI and the reports list them. Adding a rule is one module that builds its ``Rule`` and
one line in :data:`~slmmux_theory.rules.catalog.BUILT_IN` (which the command line reads without
importing JAX); :func:`register_rule` adds one at run time (a toy rule in a test, a user's rule
in a notebook) without editing any file.
"""

from __future__ import annotations

import importlib

from slmmux_theory.rules.catalog import BUILT_IN, CATALOG_FLAGS, RuleEntry
from slmmux_theory.rules.rule import Rule

__all__ = ["RULES", "get_rule", "register_rule", "rule_names"]


def _load(entry: RuleEntry) -> Rule:
    """The built-in rule an entry of :data:`~slmmux_theory.rules.catalog.BUILT_IN` names, checked
    to carry that name and the entry's flags (the command line reads them from the catalog)."""
    where = f"slmmux_theory.rules.{entry.module}.{entry.variable}"
    rule = getattr(importlib.import_module(f"slmmux_theory.rules.{entry.module}"), entry.variable)
    if not isinstance(rule, Rule) or rule.name != entry.name:
        raise ImportError(f"{where} is not the rule {entry.name!r} that rules/catalog.py lists")
    flags = frozenset(flag for flag in CATALOG_FLAGS if getattr(rule, flag))
    if flags != entry.flags:
        raise ImportError(f"{where} sets the flags {sorted(flags)} but rules/catalog.py lists "
                          f"{sorted(entry.flags)} for {entry.name!r}: make them agree")
    return rule


RULES: dict[str, Rule] = {entry.name: _load(entry) for entry in BUILT_IN}


def get_rule(rule: str | Rule) -> Rule:
    """The registered rule of that name (a :class:`Rule` value is returned as it is).

    Raises:
      ValueError: for an unknown name, listing the registered ones.

    >>> get_rule("slm-mux").name
    'slm-mux'
    """
    if isinstance(rule, Rule):
        return rule
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    return RULES[rule]


def rule_names(**flags: bool) -> tuple[str, ...]:
    """Names of the registered rules, in registry order, optionally filtered by capability flags.

    Args:
      **flags: :class:`Rule` flags (or ``deployable``) and the value each must have.

    >>> rule_names(live=True)
    ('slm-mux', 'model-switch')
    >>> rule_names(deployable=False)
    ('oracle', 'oracle-any-sample')
    """
    for flag in flags:
        if not hasattr(Rule, flag) or flag in ("name", "select", "exact", "cost",
                                                 "select_sequence", "learn"):
            raise ValueError(f"unknown rule flag {flag!r}")
    return tuple(name for name, rule in RULES.items()
                 if all(getattr(rule, flag) == value for flag, value in flags.items()))


def register_rule(rule: Rule, *, replace: bool = False) -> Rule:
    """Add a rule to :data:`RULES` (at the end), so every engine and the CLI can use it.

    Args:
      rule: the rule value.
      replace: allow replacing a registered rule of the same name.

    Raises:
      ValueError: when the name is taken and ``replace`` is False.
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"register_rule takes a Rule, got {type(rule).__name__}")
    if rule.name in RULES and not replace:
        raise ValueError(f"a rule named {rule.name!r} is already registered")
    RULES[rule.name] = rule
    return rule
