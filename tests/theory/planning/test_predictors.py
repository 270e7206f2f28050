"""Tests of slmmux_theory.planning.predictors: one interface, every predictor."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from slmmux_theory.planning import predictors


def _counts():
    counts = np.zeros((2, 5, 4), dtype=np.int64)
    counts[:, :, 0] = 3
    counts[0, :2, 1] = 2
    counts[1, 3, 2] = 1
    return counts


@pytest.mark.parametrize("name, draws", [("plug-in", 1), ("dirichlet", 7)])
def test_heldout_predictors_share_one_interface(name, draws):
    laws = predictors.heldout_predictor(name)(jax.random.PRNGKey(0), _counts(), draws)
    assert isinstance(laws, predictors.QuestionLaws)
    assert laws.values.shape == (draws, 2, 5, 4) and laws.num_draws == draws
    assert not laws.hypergeometric
    np.testing.assert_allclose(laws.values.sum(-1), 1.0)
    # No mass on a wrong answer the model never gave (unseen slots are not invented).
    assert (laws.values[:, 1, :, 1] == 0).all()


def test_plug_in_is_the_frequencies_and_empty_rows_abstain():
    counts = _counts()
    counts[1, 4] = 0
    values = predictors.plug_in_predictor(None, counts).values[0]
    np.testing.assert_allclose(values[0, 0], [0.6, 0.4, 0.0, 0.0])
    np.testing.assert_allclose(values[1, 4], [0.0, 0.0, 0.0, 1.0])


def test_replay_plug_in_replays_complete_counts_exactly():
    complete = predictors.replay_plug_in_predictor(5)(None, np.full((1, 2, 3), [3, 2, 0]))
    assert complete.hypergeometric and complete.values.shape == (1, 1, 2, 3)
    partial = predictors.replay_plug_in_predictor(6)(None, np.full((1, 2, 3), [3, 2, 0]))
    assert not partial.hypergeometric
    np.testing.assert_allclose(partial.values[0, 0, 0], [0.6, 0.4, 0.0])


def test_folded_is_draw_major():
    values = np.arange(2 * 1 * 3 * 2).reshape(2, 1, 3, 2)
    folded = predictors.QuestionLaws(values).folded()
    np.testing.assert_array_equal(folded[0, 3:], values[1, 0])


def test_unknown_predictor_names_are_rejected():
    with pytest.raises(ValueError, match="predictor must be one of"):
        predictors.heldout_predictor("oracle")


@pytest.mark.slow  # 21 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_stratified_population_draws_put_generic_failures_among_unseen_questions():
    # A pilot where every model is right on every question: the plain bootstrap predicts 100 %
    # for every draw, the stratified law predicts some unseen questions that all models miss.
    counts = np.zeros((2, 6, 3), dtype=int)
    counts[:, :, 0] = 2
    kwargs = dict(num_draws=20, svi_steps=30)
    plain = predictors.population_draws(jax.random.PRNGKey(7), counts, 40, 2,
                                        unseen="bootstrap", **kwargs)
    strat = predictors.population_draws(jax.random.PRNGKey(7), counts, 40, 2,
                                        unseen="stratified", **kwargs)
    assert plain.shape == strat.shape == (2, 20 * 40, 3)
    # Questions on which every model gave both samples to the shared wrong answer: the plain
    # bootstrap gets them only by chance from the pilot posteriors (near-certain correct); the
    # stratified law puts ~0.5/7 of the 34 x 20 unseen questions there.
    plain_failed = int((plain[:, :, 1] == 2).all(axis=0).sum())
    strat_failed = int((strat[:, :, 1] == 2).all(axis=0).sum())
    assert plain_failed <= 5
    assert 15 <= strat_failed <= 34 * 20 / 4
    # The population predictor is the same pools, unfolded by draw.
    laws = predictors.population_predictor(40, 2, svi_steps=30, unseen="stratified")(
        jax.random.PRNGKey(7), counts, 20)
    assert laws.hypergeometric
    np.testing.assert_array_equal(laws.folded(), strat)


@pytest.mark.slow  # 35 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
@pytest.mark.parametrize("fresh", [False, True])
def test_dirichlet_process_draws_keep_the_pilot_samples_unless_fresh(fresh):
    # The dirichlet-process branch draws new questions from the fitted population; the pools
    # still hold every recorded pilot sample (fresh=False) or only simulated ones (fresh=True).
    counts = _counts()
    pools = predictors.population_draws(jax.random.PRNGKey(3), counts, 12, 6, num_draws=4,
                                        svi_steps=30, unseen="dirichlet-process",
                                        concentration=5.0, fresh=fresh)
    assert pools.shape == (2, 4 * 12, 4)
    assert (pools.sum(-1) == 6).all()
    pilot_rows = pools.reshape(2, 4, 12, 4)[:, :, :5]
    kept = (pilot_rows >= counts[:, None]).all()
    assert kept if not fresh else not kept
