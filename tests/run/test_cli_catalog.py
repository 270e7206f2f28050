"""The command line's static names equal their sources (the modules that define them load JAX,
NumPy or httpx, which --help must not): a drift in either fails here."""

from __future__ import annotations

from slmmux_run import cli_catalog


def test_tasks_are_collects():
    from slmmux_run.sampling.collect import TASKS

    assert cli_catalog.TASKS == TASKS


def test_arithmetic_presets_are_the_generators():
    from slmmux_run.sampling.arithmetic import PRESETS

    assert cli_catalog.ARITHMETIC_PRESETS == tuple(PRESETS)


def test_reproduce_steps_are_the_main_jobs_in_order():
    from slmmux_run.reproduce import STEPS

    assert cli_catalog.REPRODUCE_STEPS == tuple(STEPS)


def test_predictors_and_unseen_laws_are_the_planners():
    from slmmux_theory.planning.plan import PREDICTORS
    from slmmux_theory.planning.predictors import HELDOUT_PREDICTORS, UNSEEN_LAWS

    assert cli_catalog.PLAN_PREDICTORS == PREDICTORS
    assert cli_catalog.HELDOUT_PREDICTORS == HELDOUT_PREDICTORS
    assert cli_catalog.PLAN_UNSEEN == (*UNSEEN_LAWS, "population")


def test_debate_names_are_the_studys():
    from slmmux_run.debate_study import MODELS
    from slmmux_theory.discussion.variants import VARIANTS

    assert cli_catalog.DEBATE_MODELS == MODELS
    assert cli_catalog.DISCUSSION_VARIANTS == tuple(VARIANTS)


def test_rule_lists_are_the_engines():
    from slmmux_run.replay import REPLAY_RULES
    from slmmux_theory.planning.heldout import HELDOUT_RULES
    from slmmux_theory.planning.plan import PLAN_RULES
    from slmmux_theory.rules.registry import RULES, rule_names

    assert cli_catalog.rule_names() == tuple(RULES)
    assert cli_catalog.replay_rules() == REPLAY_RULES
    assert cli_catalog.live_rules() == rule_names(live=True)
    assert cli_catalog.plan_rules() == PLAN_RULES
    assert cli_catalog.heldout_rules() == HELDOUT_RULES
