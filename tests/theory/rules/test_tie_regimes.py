"""Where each tie-break rule wins: constructed regimes, asserted by Monte Carlo and the exact engine.

The book's chapter 4 says in prose which cross-model tie rule of SLM-MUX wins where
(``MuxConfig.cross_model_tie``: ``validation_accuracy``, ``model_order``, ``random``), and the
first-seen ties of the pooled vote (Agent Forest's ``pooled_tie``) and of SLM-MUX's own mode
(``intra_model_tie``). Here each claim is a test. A regime is a pair of answer distributions
(slots: correct, three shared wrong answers, ⊥), the question repeated so that one Monte Carlo
run of the rules' selection functions (jit, vmapped over questions and draws, one explicit key)
averages many independent questions. Each regime asserts:

* the exact engine ranks the winner above every other rule by a clear margin;
* every Monte Carlo estimate lies within 4 standard errors of its exact value;
* the Monte Carlo winner beats every other rule by more than 4 standard errors of the
  difference (the runs are treated as independent, which only widens the tolerance).

The validation accuracy handed to the paper's rule is each model's true probability of a correct
sample (⊥ counted wrong), i.e. the statistic a large validation split estimates.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
import pytest

from slmmux_theory.engines.exact import exact_accuracy
from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
from slmmux_theory.rules.base import MuxConfig

QUESTIONS = 40  # copies of the one question type: a Monte Carlo draw averages 40 questions
DRAWS = 500
Z = 4.0

# A model that spreads its mass: right 45 %, one tempting wrong answer 35 %.
SPREAD = [0.45, 0.35, 0.10, 0.10, 0.00]
# A model with a clear mode: right 70 %.
SHARP = [0.70, 0.10, 0.10, 0.10, 0.00]
# Right 60 % of the time and nearly always right when it answers, but ⊥ a third of the time:
# its ⊥ samples lower its validation accuracy (0.60 < 0.65) though it wins ties on merit.
ABSTAINER = [0.60, 0.05, 0.02, 0.00, 0.33]
# Right 65 %, wrong 35 %: the higher validation accuracy, the worse answer on a tie.
TALKER = [0.65, 0.25, 0.10, 0.00, 0.00]


class Regime(NamedTuple):
    """One constructed case: the rules compared, which one must win, at which k."""

    rule: str
    models: tuple
    k: int
    options: dict  # tie rule name -> rule options for exact_accuracy / monte_carlo_accuracy
    winner: str
    ties_equal: tuple = ()  # rule names whose exact values must coincide (same choice)


def _mux(probs, **config) -> dict:
    validation = np.asarray(probs)[:, 0]
    return {
        tie: dict(mux_config=MuxConfig(cross_model_tie=tie, **config),
                  validation_accuracy=validation)
        for tie in ("validation_accuracy", "model_order", "random")
    }


REGIMES = {
    # The better model is listed second: list order hands every tie to the weaker model, the
    # validation ranking to the better one, a coin to each half the time.
    "validation accuracy: better model listed second": Regime(
        "slm-mux", (SPREAD, SHARP), 2, _mux([SPREAD, SHARP]), "validation_accuracy"),
    # Validation accuracy misranks (it counts the abstainer's ⊥ as wrong) and the abstainer is
    # listed first: list order is right on ties, the validation ranking wrong.
    "model order: validation accuracy misranks, better model first": Regime(
        "slm-mux", (ABSTAINER, TALKER), 2, _mux([ABSTAINER, TALKER]), "model_order"),
    # Both deterministic ranks point at the model that is worse on ties: only the coin hedges.
    "random: both ranks point at the worse model on ties": Regime(
        "slm-mux", (TALKER, ABSTAINER), 2, _mux([TALKER, ABSTAINER]), "random",
        ties_equal=("validation_accuracy", "model_order")),
    # Agent Forest's pooled vote: first-seen ties go to the first model's answer (models in
    # order, then samples), so it wins when that model is the more accurate one.
    "first seen (pooled vote): the more accurate model listed first": Regime(
        "agent-forest", (SHARP, SPREAD), 1,
        {tie: dict(pooled_tie=tie) for tie in ("first_seen", "random")}, "first_seen"),
    # ... and the coin wins when the first model is the weaker one.
    "random (pooled vote): the weaker model listed first": Regime(
        "agent-forest", (SPREAD, SHARP), 1,
        {tie: dict(pooled_tie=tie) for tie in ("first_seen", "random")}, "random"),
}


def _probs(models) -> np.ndarray:
    return np.repeat(np.asarray(models, dtype=np.float64)[:, None, :], QUESTIONS, axis=1)


def _estimates(regime: Regime, seed: int) -> dict:
    probs = _probs(regime.models)
    exact, monte_carlo = {}, {}
    key = jax.random.PRNGKey(seed)
    for name, options in regime.options.items():
        key, subkey = jax.random.split(key)
        exact[name] = float(exact_accuracy(regime.rule, probs, regime.k, **options).accuracy)
        result = monte_carlo_accuracy(subkey, regime.rule, probs, regime.k, DRAWS, **options)
        monte_carlo[name] = (float(result.accuracy), float(result.standard_error))
    return {"exact": exact, "monte_carlo": monte_carlo}


@pytest.mark.parametrize("name", list(REGIMES))
def test_the_tie_rule_wins_its_regime(name):
    regime = REGIMES[name]
    values = _estimates(regime, seed=sorted(REGIMES).index(name))
    exact, monte_carlo = values["exact"], values["monte_carlo"]
    for rule, (mean, error) in monte_carlo.items():
        assert error > 0
        assert abs(mean - exact[rule]) <= Z * error, (rule, mean, exact[rule], error)
    best_mean, best_error = monte_carlo[regime.winner]
    for rule in regime.options:
        if rule == regime.winner:
            continue
        assert exact[regime.winner] > exact[rule] + 0.03, (rule, exact)
        mean, error = monte_carlo[rule]
        assert best_mean - mean > Z * np.hypot(best_error, error), (rule, monte_carlo)
    if regime.ties_equal:
        first, second = regime.ties_equal
        assert exact[first] == pytest.approx(exact[second], abs=1e-12)


def test_the_regimes_hand_values_at_k_1():
    """At k = 1 every confidence is 1 (k denominator), so every question is a tie and each
    rule's accuracy is the tied-to model's accuracy; the coin averages the two."""
    for models, expected in (((SPREAD, SHARP), {"validation_accuracy": 0.70, "model_order": 0.45,
                                                 "random": 0.5 * (0.45 + 0.70)}),
                             ((ABSTAINER, TALKER), {"validation_accuracy": 0.65}),
                             ((TALKER, ABSTAINER), {"model_order": 0.65})):
        for tie, value in expected.items():
            options = _mux(list(models))[tie]
            got = float(exact_accuracy("slm-mux", _probs(models), 1, **options).accuracy)
            assert got == pytest.approx(value, abs=1e-12), (models, tie)


def test_first_seen_within_a_model_is_the_coin_in_law():
    """SLM-MUX's intra-model first-seen tie has no regime of its own under i.i.d. samples: given
    the counts, every order of the samples is equally likely, so the first-seen of the tied
    answers is uniform among them. Monte Carlo of both rules matches the one exact value."""
    probs = _probs((SPREAD, [0.40, 0.40, 0.20, 0.00, 0.00]))  # many ties inside model 2
    exact = float(exact_accuracy("slm-mux", probs, 2).accuracy)
    key_random, key_first = jax.random.split(jax.random.PRNGKey(7))
    estimates = [
        monte_carlo_accuracy(key, "slm-mux", probs, 2, DRAWS, mux_config=MuxConfig(
            intra_model_tie=intra))
        for key, intra in ((key_random, "random"), (key_first, "first_seen"))
    ]
    for result in estimates:
        assert abs(float(result.accuracy) - exact) <= Z * float(result.standard_error)
    difference = float(estimates[0].accuracy - estimates[1].accuracy)
    assert abs(difference) <= Z * float(np.hypot(estimates[0].standard_error,
                                                 estimates[1].standard_error))
