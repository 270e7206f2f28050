"""The names the command line offers as choices, without importing what defines them.

A parser that imported the rule registry, the planner or the task builder for its ``choices``
would load JAX (or NumPy and httpx) on every ``--help`` and every argument error, seconds on a
small machine. This module holds those names as plain tuples, or reads them from the rules'
static catalog (:mod:`slmmux_theory.rules.catalog`, which the registry checks its rules
against when it loads them); ``tests/run/test_cli_catalog.py`` holds every tuple here equal to
its source, so the two cannot drift apart.

>>> live_rules()
('slm-mux', 'model-switch')
>>> "math-500" in TASKS
True
"""

from __future__ import annotations

import sys

from slmmux_theory.rules.catalog import registered_rule_names

__all__ = [
    "ARITHMETIC_PRESETS", "DEBATE_MODELS", "DISCUSSION_VARIANTS", "HELDOUT_PREDICTORS", "PLAN_PREDICTORS",
    "PLAN_UNSEEN", "REPRODUCE_STEPS", "TASKS",
    "heldout_rules", "live_rules", "plan_rules", "replay_rules", "reproduce_steps", "rule_names",
]

TASKS = ("arithmetic", "gsm8k-500", "math-500", "mmlu-pro", "gpqa", "numeric")
"""``--task`` choices: :data:`slmmux_run.sampling.collect.TASKS`."""

ARITHMETIC_PRESETS = ("easy", "easy-word", "medium", "two-step", "hard")
"""``--preset`` choices: the keys of :data:`slmmux_run.sampling.arithmetic.PRESETS`."""

REPRODUCE_STEPS = ("theory", "replay", "model-switch", "search", "heldout", "plan",
                   "groupthink", "local-run", "local-live")
"""``reproduce --steps`` names, in order: the keys of :data:`slmmux_run.reproduce.STEPS`."""

PLAN_PREDICTORS = ("hierarchical", "plug-in")
"""``plan --predictor`` choices: :data:`slmmux_theory.planning.plan.PREDICTORS`."""

HELDOUT_PREDICTORS = ("hierarchical", "dirichlet", "plug-in")
"""``check --predictor`` choices: :data:`slmmux_theory.planning.predictors.HELDOUT_PREDICTORS`."""

PLAN_UNSEEN = ("bootstrap", "stratified", "dirichlet-process", "population")
"""``plan --unseen`` choices: :data:`slmmux_theory.planning.predictors.UNSEEN_LAWS` and
``population`` (new questions of the fitted parametric population)."""

DEBATE_MODELS = ("smollm2", "gemma3")
"""``debate report --models`` names: :data:`slmmux_run.debate_study.MODELS`."""

DISCUSSION_VARIANTS = ("base", "recognition", "revision", "both", "state_law",
                       "state_law_by_model", "state_law_ability", "state_law_by_model_ability")
"""``debate --variants`` names: the keys of :data:`slmmux_theory.discussion.variants.VARIANTS`."""


def reproduce_steps() -> tuple[str, ...]:
    """``reproduce --steps`` names: :data:`REPRODUCE_STEPS`, or, once the main job's module is
    loaded, its :data:`~slmmux_run.reproduce.STEPS` (a step added at run time included)."""
    reproduce = sys.modules.get("slmmux_run.reproduce")
    if reproduce is not None and hasattr(reproduce, "STEPS"):
        return tuple(reproduce.STEPS)
    return REPRODUCE_STEPS


def rule_names() -> tuple[str, ...]:
    """Every registered rule (``exact --rule``, ``mux --rule``)."""
    return registered_rule_names()


def replay_rules() -> tuple[str, ...]:
    """The rules of ``mux --rule all``: :data:`slmmux_theory.engines.replay_table.REPLAY_RULES`."""
    return registered_rule_names("replay_report")


def live_rules() -> tuple[str, ...]:
    """The rules ``mux --live`` runs: ``rule_names(live=True)`` of the registry."""
    return registered_rule_names("live")


def plan_rules() -> tuple[str, ...]:
    """The rules ``plan --rules`` ranks: :func:`slmmux_theory.planning.plan.plan_rules`."""
    return registered_rule_names("level_engine", "pair_engine")


def heldout_rules() -> tuple[str, ...]:
    """The rules ``check --rules`` tests: :data:`slmmux_theory.planning.heldout.HELDOUT_RULES`."""
    return registered_rule_names("level_engine", "pooled")
