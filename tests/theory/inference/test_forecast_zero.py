"""Tests of slmmux_theory.inference.forecast_zero: the zero-inflated Beta tree.

The module is NumPy/SciPy (no jit/vmap); vectorisation is tested as batch = loop.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from slmmux_theory.inference import forecast, forecast_zero


def law(pi=0.25, gamma0=0.1):
    """A law whose unsolvable questions lock on one wrong answer and solvable ones scatter."""
    tree = forecast.BetaTreeLaw(forecast.ScaledBeta(0.7, 0.9, 0.9), np.ones(1), np.array([3.0]),
                                np.array([0.5]), np.array([4.0]))
    return forecast_zero.ZeroInflatedLaw(tree, pi, 3.0, 0.5, gamma0)


def simulate(rng, zero_law, questions, samples):
    """(counts [questions, 2 + samples], p_correct [questions]) drawn question by question."""
    tree = zero_law.solvable
    counts = np.zeros((questions, samples + 2), dtype=np.int64)
    p_correct = np.zeros(questions)
    for i in range(questions):
        if rng.random() < zero_law.unsolvable:
            p, u, v, gamma = 0.0, zero_law.wrong, zero_law.abstain, zero_law.split
        else:
            g = rng.choice(len(tree.weights), p=tree.weights)
            p = tree.correct.scale * rng.beta(tree.correct.alpha, tree.correct.beta)
            u, v, gamma = tree.wrong[g], tree.abstain[g], tree.split[g]
        p_correct[i] = p
        share = rng.beta(u, v)
        labels = []
        for _ in range(samples):
            if rng.random() < p:
                counts[i, 0] += 1
            elif rng.random() >= share:
                counts[i, -1] += 1
            else:
                weights = np.array([labels.count(j) for j in range(len(set(labels)))] + [gamma])
                labels.append(rng.choice(weights.size, p=weights / weights.sum()))
        for j in set(labels):
            counts[i, 1 + j] = labels.count(j)
    return counts, p_correct


def sequences(n):
    """Every answer sequence of length n, wrong answers labelled by first appearance, as counts."""
    out = [[]]
    for _ in range(n):
        grown = []
        for seq in out:
            seen = max([x for x in seq if x >= 2], default=1)
            grown += [seq + [x] for x in [0, 1, *range(2, seen + 2)]]  # 0 correct, 1 ⊥
        out = grown
    rows = np.zeros((len(out), n + 2), dtype=np.int64)
    for r, seq in enumerate(out):
        for x in seq:
            rows[r, -1 if x == 1 else (0 if x == 0 else x - 1)] += 1
    return rows


def test_sequence_likelihood_sums_to_one_over_every_answer_sequence():
    # Brute force: all 4-sample sequences (correct, ⊥ or a wrong answer, new or seen).
    rows = sequences(4)
    total = np.exp(forecast_zero.zero_inflated_question_log_likelihood(law(), rows)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)
    # Batch = loop.
    batch = forecast_zero.zero_inflated_question_log_likelihood(law(), rows[:20])
    loop = [forecast_zero.zero_inflated_question_log_likelihood(law(), rows[i:i + 1])[0]
            for i in range(20)]
    np.testing.assert_allclose(batch, loop, atol=1e-13)


def test_question_likelihood_against_quadrature_and_the_two_kinds():
    # 0 correct, the same wrong answer 3 times, one ⊥: π P0 + (1 - π) ∫ (1 - cq)^4 dB(q) P1.
    zero_law = law()
    tree = zero_law.solvable
    row = np.array([[0, 3, 0, 0, 0, 1]])

    def others(u, v, gamma):  # P(wrong, wrong, wrong, ⊥ in this order | u, v, γ), by the urn
        wrong_share = (u / (u + v)) * ((u + 1) / (u + v + 1)) * ((u + 2) / (u + v + 2))
        abstain = v / (u + v + 3)
        same = 1.0 * (1 / (gamma + 1)) * (2 / (gamma + 2))
        return wrong_share * abstain * same

    correct, _ = integrate.quad(lambda q: (1 - 0.9 * q) ** 4 * stats.beta.pdf(q, 0.7, 0.9), 0, 1)
    expected = (zero_law.unsolvable * others(3.0, 0.5, 0.1)
                + (1 - zero_law.unsolvable) * correct * others(3.0, 0.5, 4.0))
    value = np.exp(forecast_zero.zero_inflated_question_log_likelihood(zero_law, row)[0])
    assert value == pytest.approx(expected, rel=1e-9)
    # π = 0 is the Beta tree.
    plain = zero_law._replace(unsolvable=0.0)
    assert forecast_zero.zero_inflated_log_likelihood(plain, row) == pytest.approx(
        forecast.beta_tree_log_likelihood(tree, row), abs=1e-12)
    assert forecast_zero.law_log_likelihood(tree, row)[0] == pytest.approx(
        forecast.beta_tree_log_likelihood(tree, row), abs=1e-12)


@pytest.fixture(scope="module")
def simulated_questions():
    """40,000 questions of law() with 4-sample pilots (one simulation for every pilot case)."""
    return simulate(np.random.default_rng(11), law(), 40_000, 4)


@pytest.mark.parametrize("pilot", [[0, 4, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0], [1, 2, 1, 0, 0, 0]])
def test_posterior_pass_at_k_is_the_monte_carlo_mean_of_questions_with_that_pilot(
        pilot, simulated_questions):
    # Simulate questions from the law, keep those whose 4-sample pilot is `pilot` (up to the
    # order of the wrong slots), and average their true pass@16 = 1 - (1 - p)^16 and pass@1.
    zero_law = law()
    counts, p = simulated_questions
    key = np.concatenate([counts[:, :1], -np.sort(-counts[:, 1:-1], axis=1), counts[:, -1:]], 1)
    match = np.all(key == np.array(pilot), axis=1)
    assert match.sum() > 300
    passes, majorities = forecast_zero.zero_inflated_forecast(zero_law, np.array([pilot]),
                                                              [1, 16], [1])
    for row, k in enumerate((1, 16)):
        truth = 1 - (1 - p[match]) ** k
        error = truth.std(ddof=1) / np.sqrt(truth.size)
        assert abs(passes[row, 0] - truth.mean()) < 4 * error, (k, passes[row, 0], truth.mean())
    assert majorities[0, 0] == pytest.approx(passes[0, 0], abs=1e-12)  # maj@1 = P(correct)


def test_locked_wrong_answers_lower_the_forecast_and_a_success_rules_out_unsolvable():
    zero_law = law()
    pilots = np.array([[0, 4, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0], [1, 3, 0, 0, 0, 0]])
    passes, majorities = forecast_zero.zero_inflated_forecast(zero_law, pilots, [64], [9])
    assert passes[0, 0] < passes[0, 1]
    tree_passes, tree_majorities = forecast.beta_tree_forecast(zero_law.solvable, pilots[2:],
                                                               [64], [9])
    np.testing.assert_allclose(passes[:, 2], tree_passes[:, 0], atol=1e-14)
    np.testing.assert_allclose(majorities[:, 2], tree_majorities[:, 0], atol=1e-14)


def test_fit_recovers_known_parameters_within_four_standard_errors():
    rng = np.random.default_rng(12)
    zero_law = law(pi=0.25, gamma0=0.1)
    counts, _ = simulate(rng, zero_law, 2500, 6)
    fitted = forecast_zero.fit_zero_inflated(counts)
    x = forecast_zero._pack(fitted)

    def log_likelihood(y):
        return forecast_zero.zero_inflated_log_likelihood(forecast_zero._unpack(y, 1), counts)

    step = 1e-4
    size = x.size
    hessian = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            def at(a, b):
                y = x.copy()
                y[i] += a
                y[j] += b
                return log_likelihood(y)
            hessian[i, j] = -(at(step, step) - at(step, -step) - at(-step, step)
                              + at(-step, -step)) / (4 * step * step)
    errors = np.sqrt(np.diag(np.linalg.inv(hessian)))
    truth = forecast_zero._pack(zero_law)
    assert np.all(np.abs(x - truth) < 4 * errors), (x, truth, errors)
    assert errors[3] < 0.5  # logit π is pinned down: the test can fail
    assert fitted.log_likelihood >= log_likelihood(truth) - 1e-6


@pytest.mark.slow
def test_fit_never_falls_below_the_beta_tree_and_cv_chooses_the_right_kind():
    rng = np.random.default_rng(13)
    locked, _ = simulate(rng, law(pi=0.3, gamma0=0.05), 300, 4)
    plain, _ = simulate(rng, law(pi=0.0), 300, 4)
    for counts in (locked, plain):
        assert forecast_zero.fit_zero_inflated(counts).log_likelihood >= (
            forecast.fit_beta_tree(counts).log_likelihood - 1e-6)
    candidates = ("G=1", "zero-inflated")
    choice = forecast_zero.choose_forecast_law(locked, candidates, folds=5, seed=0)
    assert choice.name == "zero-inflated"
    assert choice.scores["zero-inflated"] > choice.scores["G=1"]
    assert isinstance(choice.law, forecast_zero.ZeroInflatedLaw)
    assert forecast_zero.choose_forecast_law(plain, candidates, folds=5, seed=0).name == "G=1"
