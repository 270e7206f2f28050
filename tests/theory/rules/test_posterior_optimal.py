"""Posterior-optimal selection: its limit is the log-odds vote, its exact law with a fitted law
equals brute force, and the maximum-likelihood fit recovers the laws it was simulated from."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import multinomial_counts
from slmmux_theory.rules import RULES
from slmmux_theory.rules.posterior_fit import beta_binomial_fit, fit_answer_law, wrong_answer_fit
from slmmux_theory.rules.posterior_fit import AnswerLaw
from slmmux_theory.rules.posterior_optimal import pack_answer_law, posterior_scores
from slmmux_theory.rules.rule import RuleContext
from slmmux_theory.rules.weighted_vote import weighted_vote_select
from slmmux_theory.rules.weighted_vote_log_odds import log_odds_weights
from tests.theory import reference_rules as ref


def test_no_correlation_and_no_attraction_is_the_log_odds_vote():
    # α + β → ∞ at mean p (independent samples), η → ∞ at γ/η = K (uniform wrong answers).
    p, labels, scale = np.array([0.7, 0.4, 0.55]), 5.0, 1e6
    law = AnswerLaw(scale * p, scale * (1 - p), scale, labels * scale)
    weights = log_odds_weights(p, [1e9] * 3, labels)  # log(p K / (1 - p)), all positive here
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(400, 3, 6))
    score = np.asarray(posterior_scores(jnp.asarray(counts), law))
    vote = np.where(counts[:, :, :-1].sum(axis=1) > 0, np.einsum("m,qma->qa", weights,
                                                                 counts[:, :, :-1]), -np.inf)
    # Up to a per-question constant the two scores agree...
    finite = np.isfinite(vote)
    assert (np.isfinite(score) == finite).all()
    gap = np.where(finite, score - np.where(finite, vote, 0.0), 0.0)
    offsets = np.array([g[f][0] if f.any() else 0.0 for g, f in zip(gap, finite)])
    np.testing.assert_allclose(np.where(finite, gap - offsets[:, None], 0.0), 0.0, atol=1e-3)
    # ... so the selections agree wherever the vote has one winner.
    context = RuleContext(model_weights=weights, answer_law=pack_answer_law(law))
    keys = jax.random.split(jax.random.PRNGKey(0), len(counts))
    chosen = jax.vmap(lambda c, k: RULES["posterior-optimal"].select(c, None, k, context).answer)
    voted = jax.vmap(lambda c, k: weighted_vote_select(c, None, k, context).answer)
    a, b = np.asarray(chosen(jnp.asarray(counts), keys)), np.asarray(voted(jnp.asarray(counts), keys))
    top = np.sort(np.where(finite, vote, -np.inf), axis=1)
    unique = ~np.isclose(top[:, -1], top[:, -2]) | ~np.isfinite(top[:, -2])
    assert unique.sum() > 300
    np.testing.assert_array_equal(a[unique], b[unique])


def test_correlated_samples_change_the_choice():
    # Model 0 (strong but all-or-nothing) puts 2 of 4 on answer 1; models 1 and 2 (weak,
    # independent) put 3 of 4 each on answer 2. A U-shaped accuracy law says "half right" is
    # implausible for model 0 on its truth, and attraction makes the weak pair's agreement
    # cheap to explain as a shared wrong answer.
    law = AnswerLaw(np.array([0.3, 50.0, 50.0]), np.array([0.1, 60.0, 60.0]), 0.05, 20.0)
    counts = jnp.array([[0, 2, 2, 0, 0], [0, 0, 3, 1, 0], [1, 0, 3, 0, 0]])
    score = np.asarray(posterior_scores(counts, law))
    assert np.isfinite(score[[0, 1, 2, 3]]).all()
    weights = log_odds_weights([0.75, 0.45, 0.45], [1e9] * 3, 20.0)
    vote = weights @ np.asarray(counts)[:, :-1]
    assert np.argmax(vote) == 2  # the independent-sample vote follows the weak pair
    assert np.argmax(score) != np.argmax(vote) or score[2] - score[1] < vote[2] - vote[1]


def test_exact_law_with_a_fitted_law_equals_brute_force():
    probs = [[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.4, 0.3, 0.3]]
    alpha, beta, eta, gamma = [0.8, 3.0, 1.5], [0.4, 2.0, 1.0], 0.3, 7.0
    law = AnswerLaw(np.array(alpha), np.array(beta), eta, gamma)
    context = RuleContext(answer_law=pack_answer_law(law))
    exact = RULES["posterior-optimal"].exact(multinomial_counts(np.array(probs)[:, None], 2),
                                             context)

    def reference(seqs):
        # per-model α, β: score each model's term with its own law
        from collections import Counter
        import math

        lg = math.lgamma
        pooled = Counter(a for seq in seqs for a in seq if a != 2)
        if not pooled:
            return 0
        total = sum(pooled.values())
        scores = {}
        for a in pooled:
            s = 0.0
            for m, seq in enumerate(seqs):
                n, c = len(seq), seq.count(a)
                s += lg(c + alpha[m]) - lg(alpha[m]) + lg(n - c + beta[m]) - lg(n + beta[m])
            scores[a] = (s + lg(gamma + total) - lg(gamma + total - pooled[a])
                         - lg(eta + pooled[a]) + lg(eta))
        top = max(scores.values())
        tied = [a for a, v in scores.items() if v >= top - 1e-9]
        return (0 in tied) / len(tied)

    want, _ = ref.expectation(probs, 2, reference)
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)


def test_beta_binomial_fit_recovers_the_law():
    rng = np.random.default_rng(1)
    accuracy = rng.beta(0.6, 0.3, size=3000)
    correct = rng.binomial(20, accuracy)
    a, b = beta_binomial_fit(correct, np.full(3000, 20))
    assert a == pytest.approx(0.6, rel=0.15) and b == pytest.approx(0.3, rel=0.15)


def test_wrong_answer_fit_recovers_the_attraction():
    rng = np.random.default_rng(2)
    labels, eta = 40, 0.2
    shares = rng.dirichlet(np.full(labels, eta), size=1500)
    counts = np.stack([rng.multinomial(30, s) for s in shares])
    fitted_eta, fitted_gamma = wrong_answer_fit(counts)
    # η and K trade off along a ridge of the likelihood; the chance that two wrong samples
    # agree, (1 + η) / (1 + γ), is what the data pin down.
    assert (1 + fitted_eta) / (1 + fitted_gamma) == pytest.approx(1.2 / 9.0, rel=0.05)
    assert fitted_eta == pytest.approx(eta, rel=0.3)
    assert fitted_gamma / fitted_eta == pytest.approx(labels, rel=0.3)


def test_fit_answer_law_reads_slots():
    # Slot 0 correct, 1..2 wrong, 3 ⊥, -1 missing.
    samples = np.array([[[0, 0, 1, 3], [1, 1, 2, -1]], [[0, 0, 0, 0], [2, 2, 2, 2]]])
    law = fit_answer_law(samples, 4)
    assert law.alpha.shape == (2,) and law.eta > 0 and law.gamma > law.eta
    context = RULES["posterior-optimal"].learn(RuleContext(), samples, 4, 2, None)
    assert context.answer_law == pack_answer_law(law)
