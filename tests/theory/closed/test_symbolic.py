"""Tests for slmmux_theory.closed.symbolic, and the closed forms checked against its exact algebra."""

import doctest
import itertools

import numpy as np
import pytest
import sympy as sp

from slmmux_theory.closed import symbolic
from slmmux_theory.closed.closed_forms import (
    TIE_CONVENTIONS,
    binomial_majority_accuracy,
    plurality_accuracy,
    pooled_vote_count_moments,
    voting_helps_threshold,
)
from slmmux_theory.closed.symbolic import (
    P,
    coin_identity_difference,
    majority_derivative,
    majority_polynomial,
    plurality_accuracy_exact,
    plurality_polynomial,
    pooled_vote_variance_derivation,
    voting_gain_analysis,
)

GRID = np.linspace(0.0, 1.0, 101)


def test_three_samples_polynomial():
    assert sp.expand(majority_polynomial(3) - (3 * P**2 - 2 * P**3)) == 0
    assert majority_polynomial(2, "counted") == sp.expand(2 * P - P**2)
    assert majority_polynomial(2, "strict") == P**2


@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
@pytest.mark.parametrize("num_samples", [1, 2, 3, 4, 5, 8, 9, 12])
def test_jax_matches_polynomial(num_samples, tie):
    polynomial = majority_polynomial(num_samples, tie)
    # Exact values at p = i/100, rounded once to float: the reference carries no rounding error.
    exact = [float(polynomial.subs(P, sp.Rational(i, 100))) for i in range(101)]
    np.testing.assert_allclose(
        binomial_majority_accuracy(num_samples, GRID, tie), exact, atol=1e-13, rtol=0
    )
    # lambdify evaluates the expanded monomials, whose cancellation costs a few digits for N = 12.
    lambdified = sp.lambdify(P, polynomial, "numpy")(GRID)
    np.testing.assert_allclose(
        binomial_majority_accuracy(num_samples, GRID, tie), lambdified, atol=1e-10, rtol=0
    )


@pytest.mark.parametrize(
    "num_samples, p, tie, exact_value",
    [
        (3, "0.6", "counted", "0.648"),
        (3, "0.7", "counted", "0.784"),
        (2, "0.3", "counted", "0.51"),
        (4, "0.3", "counted", "0.3483"),
        (2, "0.3", "strict", "0.09"),
        (4, "0.3", "strict", "0.0837"),
        (2, "0.3", "coin", "0.3"),
        (4, "0.3", "coin", "0.216"),
    ],
)
def test_exact_rational_values(num_samples, p, tie, exact_value):
    exact = majority_polynomial(num_samples, tie).subs(P, sp.Rational(p))
    assert exact == sp.Rational(exact_value)
    assert float(binomial_majority_accuracy(num_samples, float(p), tie)) == pytest.approx(
        float(exact), abs=1e-14
    )


@pytest.mark.parametrize(
    "num_samples, p, rounded",
    [(5, "0.6", 0.6826), (5, "0.7", 0.8369), (9, "0.6", 0.7334), (9, "0.7", 0.9012)],
)
def test_rounded_spec_values(num_samples, p, rounded):
    exact = majority_polynomial(num_samples).subs(P, sp.Rational(p))
    assert round(float(exact), 4) == rounded
    assert float(binomial_majority_accuracy(num_samples, float(p))) == pytest.approx(
        float(exact), abs=1e-14
    )


@pytest.mark.parametrize("m", range(1, 6))
def test_coin_identity_is_exact(m):
    assert coin_identity_difference(m) == 0


@pytest.mark.parametrize("tie", ["counted", "strict", "coin"])
@pytest.mark.parametrize("num_samples", range(1, 11))
def test_derivative_closed_form(num_samples, tie):
    derivative, closed = majority_derivative(num_samples, tie)
    assert sp.expand(derivative - closed) == 0


@pytest.mark.parametrize("num_samples", [3, 5, 7, 9, 11, 13, 15])
@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
def test_odd_gain_has_only_root_one_half(num_samples, tie):
    analysis = voting_gain_analysis(num_samples, tie)
    assert analysis.interior_roots == (sp.Rational(1, 2),)
    assert analysis.interval_signs == (-1, 1)
    # factor exposes p, (1 - p) and (2p - 1) as factors of the gain
    for factor in (P, P - 1, 2 * P - 1):
        assert sp.rem(sp.Poly(analysis.gain, P), sp.Poly(factor, P)).is_zero


@pytest.mark.parametrize("num_samples", [4, 6, 8, 10, 12])
def test_coin_even_matches_odd_and_counted_even_fails(num_samples):
    coin = voting_gain_analysis(num_samples, "coin")
    assert coin.interior_roots == (sp.Rational(1, 2),) and coin.interval_signs == (-1, 1)
    counted = voting_gain_analysis(num_samples, "counted")
    strict = voting_gain_analysis(num_samples, "strict")
    assert len(counted.interior_roots) == 1 and counted.interval_signs == (-1, 1)
    assert len(strict.interior_roots) == 1 and strict.interval_signs == (-1, 1)
    counted_root = float(counted.interior_roots[0].evalf(30))
    strict_root = float(strict.interior_roots[0].evalf(30))
    assert counted_root < 0.5 < strict_root
    # The numeric threshold of closed_forms is the same root.
    assert voting_helps_threshold(num_samples, "counted") == pytest.approx(counted_root, abs=1e-10)
    assert voting_helps_threshold(num_samples, "strict") == pytest.approx(strict_root, abs=1e-10)


def test_small_cases_of_gain():
    assert voting_gain_analysis(1).interior_roots is None
    assert voting_gain_analysis(2, "coin").interior_roots is None
    assert voting_gain_analysis(2, "counted").interval_signs == (1,)
    assert voting_gain_analysis(2, "strict").interval_signs == (-1,)
    four = voting_gain_analysis(4, "counted")
    assert sp.simplify(four.interior_roots[0] - (5 - sp.sqrt(13)) / 6) == 0


@pytest.mark.parametrize("num_models", [1, 2, 3, 4])
def test_pooled_variance_identity(num_models):
    derivation = pooled_vote_variance_derivation(num_models)
    assert derivation.holds
    k = sp.Symbol("k", positive=True, integer=True)
    ps = sp.symbols(f"p1:{num_models + 1}", nonnegative=True)
    assert sp.expand(derivation.mean - k * sum(ps)) == 0
    # Numeric moments of closed_forms agree with the symbolic variance at a random point.
    rng = np.random.default_rng(num_models)
    values = rng.uniform(size=num_models)
    substitution = {**dict(zip(ps, values)), k: 3}
    moments = pooled_vote_count_moments(values, 3)
    assert float(moments.variance) == pytest.approx(
        float(derivation.variance.subs(substitution)), abs=1e-12
    )
    assert float(moments.variance_identity) == pytest.approx(
        float(derivation.identity_form.subs(substitution)), abs=1e-12
    )


@pytest.mark.parametrize(
    "probs, num_samples, expected",
    [
        (["0.4", "0.2", "0.2", "0.2"], 5, 0.5094),
        (["0.4", "0.2", "0.2", "0.2"], 9, 0.5986),
        (["0.3"] + ["0.1"] * 7, 9, 0.547),
        (["0.4", "0.6"], 9, 0.2666),
    ],
)
def test_plurality_exact_reference_and_jax(probs, num_samples, expected):
    exact = plurality_accuracy_exact(probs, num_samples)
    decimals = len(str(expected).split(".")[1])
    assert float(exact) == pytest.approx(expected, abs=0.5 * 10**-decimals)
    got = plurality_accuracy([float(x) for x in probs], num_samples)
    assert float(got) == pytest.approx(float(exact), abs=1e-12)


def test_plurality_polynomial_and_exact_agree_with_jax_on_random_rationals():
    rng = np.random.default_rng(3)
    symbols = sp.symbols("q0:4")
    polynomial = plurality_polynomial(4, 4, abstention_slot=True, symbols=symbols)
    function = sp.lambdify(symbols, polynomial, "numpy")
    for _ in range(5):
        weights = rng.integers(0, 10, size=4)
        weights[0] += 1
        rationals = [sp.Rational(int(w), int(weights.sum())) for w in weights]
        exact = plurality_accuracy_exact(rationals, 4, abstention_slot=True)
        assert polynomial.subs(dict(zip(symbols, rationals))) == exact
        floats = [float(r) for r in rationals]
        assert function(*floats) == pytest.approx(float(exact), abs=1e-13)
        assert float(plurality_accuracy(floats, 4, abstention_slot=True)) == pytest.approx(
            float(exact), abs=1e-12
        )


def test_plurality_polynomial_brute_force_sequences():
    # Sum over all 3^3 sequences directly in sympy for a fully symbolic check.
    q = sp.symbols("q0:3")
    total = sp.Integer(0)
    for sequence in itertools.product(range(3), repeat=3):
        counts = [sequence.count(a) for a in range(3)]
        top = max(counts)
        if counts[0] == top:
            total += sp.Rational(1, counts.count(top)) * sp.Mul(*[q[a] for a in sequence])
    assert sp.expand(total - plurality_polynomial(3, 3, symbols=q)) == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: majority_polynomial(0), "num_samples"),
        (lambda: majority_polynomial(3, "tie"), "tie must be one of"),
        (lambda: coin_identity_difference(0), "m must be"),
        (lambda: pooled_vote_variance_derivation(0), "num_models"),
        (lambda: plurality_accuracy_exact(["0.5", "0.6"], 3), "sum to exactly 1"),
    ],
)
def test_invalid_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_docstring_examples():
    result = doctest.testmod(symbolic)
    assert result.attempted >= 8 and result.failed == 0
