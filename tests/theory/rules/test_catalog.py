"""The rules' static catalog: its flags are the rules' own (the registry refuses a mismatch when
it loads them), and its names, filtered by flags, are the registry's with or without the
registry loaded."""

from __future__ import annotations

import itertools
import sys

import pytest

from slmmux_theory.rules import registry
from slmmux_theory.rules.catalog import (
    BUILT_IN, CATALOG_FLAGS, REGISTRY_MODULE, RuleEntry, registered_rule_names,
)
from slmmux_theory.rules.rule import Rule


def test_every_catalog_flag_is_a_boolean_rule_flag():
    assert set(CATALOG_FLAGS) <= {f for f, d in Rule._field_defaults.items() if d is False}


@pytest.mark.parametrize("entry", BUILT_IN, ids=lambda entry: entry.name)
def test_entry_flags_are_the_rules_flags(entry):
    rule = registry.RULES[entry.name]
    assert entry.flags == {flag for flag in CATALOG_FLAGS if getattr(rule, flag)}


def test_the_registry_refuses_an_entry_whose_flags_differ():
    right = BUILT_IN[0]
    assert registry._load(right) is registry.RULES[right.name]
    wrong = right._replace(flags=right.flags - {"live"})
    with pytest.raises(ImportError, match=r"sets the flags .*'live'.* but rules/catalog.py lists"):
        registry._load(wrong)
    with pytest.raises(ImportError, match="is not the rule 'agent-forest'"):
        registry._load(RuleEntry("agent-forest", right.module, right.variable, right.flags))


FLAG_SETS = [()] + [combo for size in (1, 2) for combo in itertools.combinations(CATALOG_FLAGS, size)]


@pytest.mark.parametrize("flags", FLAG_SETS, ids=lambda flags: "+".join(flags) or "all")
def test_names_by_flags_are_the_registrys_before_and_after_loading(flags, monkeypatch):
    expected = tuple(name for name, rule in registry.RULES.items()
                     if not flags or any(getattr(rule, flag) for flag in flags))
    assert registered_rule_names(*flags) == expected  # registry loaded: read from it
    monkeypatch.delitem(sys.modules, REGISTRY_MODULE)
    assert registered_rule_names(*flags) == expected  # not loaded: the static catalog answers


def test_known_lists():
    # Reference values from the papers' rules (not from the catalog): SLM-MUX and ModelSwitch
    # run live; the plan ranks the level and pair engines' rules.
    assert registered_rule_names("live") == ("slm-mux", "model-switch")
    assert registered_rule_names("level_engine", "pair_engine") == (
        "slm-mux", "agent-forest", "self-consistency", "model-switch")


def test_a_rule_registered_at_run_time_is_listed_by_its_flags(monkeypatch):
    toy = registry.RULES["model-switch"]._replace(name="toy-live")
    monkeypatch.setitem(registry.RULES, "toy-live", toy)
    assert registered_rule_names("live")[-1] == "toy-live"
    assert "toy-live" not in registered_rule_names("level_engine")


def test_an_unknown_flag_is_refused():
    with pytest.raises(ValueError, match="no flag 'oracle'"):
        registered_rule_names("oracle")
