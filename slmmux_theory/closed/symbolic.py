"""Symbolic (SymPy) derivations behind the closed forms of :mod:`slmmux_theory.closed.closed_forms`.

The numeric JAX functions are checked against these exact expressions: the binomial majority
polynomial ``A(N, p)`` under each tie convention, the identity ``A_1/2(2m, p) = A(2m-1, p)``, the
sign analysis of ``A(N, p) - p`` (the corrected "voting helps iff p > 1/2" of METHODS §5.2 item 1),
the derivative of ``A``, the Poisson-binomial variance identity of §5.2 item 4 (derived from the
probability generating function), and the plurality accuracy as a polynomial in the answer
probabilities. Everything here is exact arithmetic in SymPy ``Rational``/``Poly``; nothing is
evaluated in floating point except where a function says so. No I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

import sympy as sp

__all__ = [
    "P",
    "PooledVoteVarianceDerivation",
    "VotingGainAnalysis",
    "coin_identity_difference",
    "majority_derivative",
    "majority_polynomial",
    "plurality_accuracy_exact",
    "plurality_polynomial",
    "pooled_vote_variance_derivation",
    "voting_gain_analysis",
]

#: The per-sample accuracy symbol used by default, real and in [0, 1] by assumption.
P = sp.Symbol("p", nonnegative=True)

_TIE_VALUE = {"counted": sp.Integer(1), "strict": sp.Integer(0), "coin": sp.Rational(1, 2)}


def _check(num_samples: int, tie: str) -> None:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
    if tie not in _TIE_VALUE:
        raise ValueError(f"tie must be one of {tuple(_TIE_VALUE)}, got {tie!r}")


def majority_polynomial(num_samples: int, tie: str = "counted", p: sp.Symbol = P) -> sp.Expr:
    """``A(N, p)`` as an expanded polynomial in ``p``.

    ``sum_j w_j binom(N, j) p^j (1-p)^(N-j)`` with ``w_j = 1`` for ``2j > N``, ``0`` for
    ``2j < N`` and the tie value (1, 0 or 1/2 for counted, strict, coin) at ``2j = N``.

    Args:
      num_samples: ``N >= 1``.
      tie: ``"counted"``, ``"strict"`` or ``"coin"``.
      p: the symbol to use.

    Returns:
      The expanded polynomial.

    >>> majority_polynomial(3)
    -2*p**3 + 3*p**2
    >>> majority_polynomial(2, "coin")
    p
    """
    _check(num_samples, tie)
    total = sp.Integer(0)
    for j in range(num_samples + 1):
        if 2 * j > num_samples:
            weight = sp.Integer(1)
        elif 2 * j == num_samples:
            weight = _TIE_VALUE[tie]
        else:
            continue
        total += weight * sp.binomial(num_samples, j) * p**j * (1 - p) ** (num_samples - j)
    return sp.expand(total)


def coin_identity_difference(m: int, p: sp.Symbol = P) -> sp.Expr:
    """``A_1/2(2m, p) - A(2m-1, p)`` expanded; it is identically ``0`` (METHODS §5.2 item 1).

    Why: add the last of the ``2m`` samples to the first ``2m-1``. A strict majority of the first
    ``2m-1`` stays a majority or becomes a tie broken for it half the time, and symmetrically, so
    the fair coin undoes the extra sample. SymPy checks the expansion for each ``m``.

    >>> [coin_identity_difference(m) for m in range(1, 4)]
    [0, 0, 0]
    """
    if not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be an int >= 1, got {m!r}")
    return sp.expand(
        majority_polynomial(2 * m, "coin", p) - majority_polynomial(2 * m - 1, "counted", p)
    )


def majority_derivative(
    num_samples: int, tie: str = "counted", p: sp.Symbol = P
) -> tuple[sp.Expr, sp.Expr]:
    """``dA/dp`` and its closed form ``N binom(N-1, m-1) p^(m-1) (1-p)^(N-m)``.

    For the counted (``m = ceil(N/2)``) and strict (``m = floor(N/2) + 1``) conventions
    ``A = Pr(X >= m)``, whose derivative telescopes to the closed form. For ``"coin"`` the
    closed form is the average of the two.

    Returns:
      ``(derivative, closed_form)``; their difference expands to 0.

    >>> majority_derivative(3)
    (-6*p**2 + 6*p, 6*p*(1 - p))
    """
    _check(num_samples, tie)

    def closed(m: int) -> sp.Expr:
        return (
            num_samples
            * sp.binomial(num_samples - 1, m - 1)
            * p ** (m - 1)
            * (1 - p) ** (num_samples - m)
        )

    counted_m = (num_samples + 1) // 2
    strict_m = num_samples // 2 + 1
    if tie == "counted":
        form = closed(counted_m)
    elif tie == "strict":
        form = closed(strict_m)
    else:
        form = (closed(counted_m) + closed(strict_m)) / 2
    return sp.expand(sp.diff(majority_polynomial(num_samples, tie, p), p)), form


class VotingGainAnalysis(NamedTuple):
    """Sign analysis of the voting gain ``g(p) = A(N, p) - p`` on ``(0, 1)``.

    Attributes:
      gain: ``g`` expanded.
      factored: ``sympy.factor(g)``.
      interior_roots: the distinct real roots of ``g`` in the open interval (0, 1), increasing,
        exact (``Rational`` or ``CRootOf``); empty when ``g`` has none there; ``None`` when ``g``
        is identically 0.
      interval_signs: sign of ``g`` (+1 or -1) on each open interval between consecutive points of
        ``0, *interior_roots, 1``, evaluated exactly at the interval's midpoint; ``g`` cannot change
        sign inside an interval because it has no root there.
    """

    gain: sp.Expr
    factored: sp.Expr
    interior_roots: tuple | None
    interval_signs: tuple


def voting_gain_analysis(
    num_samples: int, tie: str = "counted", p: sp.Symbol = P
) -> VotingGainAnalysis:
    """Where voting helps, proved for one ``N``: roots and signs of ``A(N, p) - p`` in (0, 1).

    The polynomial's real roots are isolated exactly (``sympy.Poly.real_roots``), so the result
    is a proof for that ``N``: for odd ``N >= 3`` the only interior root is ``1/2`` with signs
    ``(-1, +1)``, i.e. ``A > p  <=>  p > 1/2``.

    >>> analysis = voting_gain_analysis(3)
    >>> analysis.factored, analysis.interior_roots, analysis.interval_signs
    (-p*(p - 1)*(2*p - 1), (1/2,), (-1, 1))
    """
    gain = sp.expand(majority_polynomial(num_samples, tie, p) - p)
    if gain == 0:
        return VotingGainAnalysis(gain, gain, None, ())
    poly = sp.Poly(gain, p)
    roots = sorted(
        {r for r in poly.real_roots() if sp.Integer(0) < r < sp.Integer(1)},
        key=lambda r: r.evalf(50),
    )
    points = [sp.Integer(0), *roots, sp.Integer(1)]
    signs = []
    for low, high in itertools.pairwise(points):
        # A rational point strictly inside (low, high): CRootOf bounds are refined until they fit.
        middle = sp.nsimplify((low.evalf(60) + high.evalf(60)) / 2, rational=True)
        value = poly.eval(middle)
        signs.append(1 if value > 0 else -1)
    return VotingGainAnalysis(gain, sp.factor(gain), tuple(roots), tuple(signs))


class PooledVoteVarianceDerivation(NamedTuple):
    """The Poisson-binomial moments of METHODS §5.2 item 4, derived from the generating function.

    Attributes:
      mean: ``G'(1)`` simplified, where ``G(z) = prod_i (1 - p_i + p_i z)^k``.
      variance: ``G''(1) + G'(1) - G'(1)^2`` simplified.
      sum_form: ``k sum_i p_i (1 - p_i)``.
      identity_form: ``n k [p̄ (1 - p̄) - σ_p²]`` with ``σ_p² = mean_i (p_i - p̄)²``.
      holds: whether ``variance - sum_form`` and ``variance - identity_form`` both simplify to 0.
    """

    mean: sp.Expr
    variance: sp.Expr
    sum_form: sp.Expr
    identity_form: sp.Expr
    holds: bool


def pooled_vote_variance_derivation(num_models: int) -> PooledVoteVarianceDerivation:
    """Derive mean and variance of ``sum_i Bin(k, p_i)`` for ``num_models`` models, ``k`` symbolic.

    >>> pooled_vote_variance_derivation(2).holds
    True
    """
    if not isinstance(num_models, int) or num_models < 1:
        raise ValueError(f"num_models must be an int >= 1, got {num_models!r}")
    z = sp.Symbol("z")
    k = sp.Symbol("k", positive=True, integer=True)
    ps = sp.symbols(f"p1:{num_models + 1}", nonnegative=True)
    generating = sp.Integer(1)
    for p_i in ps:
        generating *= (1 - p_i + p_i * z) ** k
    first = sp.diff(generating, z).subs(z, 1)
    second = sp.diff(generating, z, 2).subs(z, 1)
    mean = sp.simplify(first)
    variance = sp.simplify(second + first - first**2)
    mean_p = sum(ps) / num_models
    spread = sum((p_i - mean_p) ** 2 for p_i in ps) / num_models
    sum_form = k * sum(p_i * (1 - p_i) for p_i in ps)
    identity_form = num_models * k * (mean_p * (1 - mean_p) - spread)
    holds = sp.expand(variance - sum_form) == 0 and sp.expand(variance - identity_form) == 0
    return PooledVoteVarianceDerivation(mean, variance, sum_form, identity_form, bool(holds))


def _compositions(total: int, parts: int):
    """Count vectors of ``total`` draws over ``parts`` slots (independent of closed_forms)."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def plurality_polynomial(
    num_answers: int,
    num_samples: int,
    *,
    abstention_slot: bool = False,
    symbols: Sequence[sp.Symbol] | None = None,
) -> sp.Expr:
    """Plurality accuracy (slot 0 correct, uniform ties) as a polynomial in the slot probabilities.

    ``sum over count vectors c of multinomial(N; c) prod_a q_a^(c_a) * 1[c_0 is top]/#top``,
    where the top is taken over voting slots (all but the last when ``abstention_slot``) and a
    vector with no vote gives 0.

    Args:
      num_answers: number of slots ``L``.
      num_samples: ``N >= 1``.
      abstention_slot: whether the last slot is ⊥.
      symbols: ``L`` symbols; ``q0 .. q{L-1}`` by default.

    >>> plurality_polynomial(2, 1)
    q0
    """
    _check(num_samples, "counted")
    if symbols is None:
        symbols = sp.symbols(f"q0:{num_answers}")
    total = sp.Integer(0)
    for counts in _compositions(num_samples, num_answers):
        voting = counts[:-1] if abstention_slot else counts
        top = max(voting)
        if top == 0 or voting[0] != top:
            continue
        coefficient = sp.factorial(num_samples)
        term = sp.Integer(1)
        for c, q in zip(counts, symbols):
            coefficient /= sp.factorial(c)
            term *= q**c
        total += sp.Rational(1, sum(1 for v in voting if v == top)) * coefficient * term
    return sp.expand(total)


def plurality_accuracy_exact(
    probs: Sequence, num_samples: int, *, abstention_slot: bool = False
) -> sp.Rational:
    """Exact rational plurality accuracy for rational (or decimal-string) probabilities.

    Args:
      probs: slot probabilities, converted with ``sympy.Rational`` (pass strings such as
        ``"0.4"`` or ``Rational`` values to stay exact); must sum to exactly 1.
      num_samples: ``N >= 1``.
      abstention_slot: whether the last slot is ⊥.

    >>> plurality_accuracy_exact(["0.4", "0.6"], 1)
    2/5
    """
    rationals = [sp.Rational(x) for x in probs]
    if sum(rationals) != 1 or any(x < 0 for x in rationals):
        raise ValueError(
            f"probs must be non-negative and sum to exactly 1, got sum {sum(rationals)}"
        )
    _check(num_samples, "counted")
    # Same sum as plurality_polynomial, evaluated term by term in exact fractions: expanding the
    # polynomial first is needlessly slow for 8 slots and 9 samples.
    exact = [Fraction(int(x.p), int(x.q)) for x in rationals]
    total = Fraction(0)
    for counts in _compositions(num_samples, len(exact)):
        voting = counts[:-1] if abstention_slot else counts
        top = max(voting)
        if top == 0 or voting[0] != top:
            continue
        coefficient = math.factorial(num_samples)
        term = Fraction(1)
        for c, q in zip(counts, exact):
            coefficient //= math.factorial(c)
            term *= q**c
        total += Fraction(coefficient, sum(1 for v in voting if v == top)) * term
    return sp.Rational(total.numerator, total.denominator)
