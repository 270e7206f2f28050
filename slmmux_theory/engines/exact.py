"""Exact accuracy of every orchestration rule by enumerating count vectors.

Given the question, each model's ``k`` samples produce a count vector over the A answer slots;
models are independent. A rule's correctness probability is therefore a sum over count vectors
(METHODS.md §5.3). This module enumerates them:

* **SLM-MUX** uses the factorised formula: per model, the joint law of (confidence level,
  "my mode is correct"), then a product over models; the cost is linear in the number of models.
* **Self-consistency** and the **oracles** factorise per model.
* **Agent Forest** (pooled plurality, uniform ties) convolves the models' count distributions into
  the distribution of the pooled count vector.
* **ModelSwitch**, Agent Forest with first-seen ties and the confidence-weighted vote enumerate the
  product of the models' count vectors (a few models only).

The count-vector law of a model can be multinomial (sampling from ``probs``) or multivariate
hypergeometric (drawing ``k`` of a model's recorded samples without replacement, which makes a
replay of stored samples exact). Both are a :class:`CountDistribution`.
"""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from scipy.special import gammaln as scipy_gammaln

from slmmux_theory.closed.closed_forms import multinomial_count_vectors
from slmmux_theory.distributions import validate_counts, validate_probabilities
from slmmux_theory.precision import require_x64
from slmmux_theory.rules.base import MuxConfig, SwitchConfig, tie_priority

__all__ = [
    "by_question_width",
    "CountDistribution",
    "ExactResult",
    "MuxLevels",
    "RULES",
    "confidence_weighted_accuracy_exact",
    "count_vectors",
    "exact_accuracy",
    "hypergeometric_counts",
    "model_switch_exact",
    "multinomial_counts",
    "mux_accuracy_exact",
    "mux_accuracy_from_levels",
    "mux_levels",
    "mux_subset_accuracy",
    "oracle_accuracy_exact",
    "pooled_vote_accuracy_batched",
    "pooled_vote_pairs_exact",
    "pooled_vote_accuracy_exact",
    "self_consistency_accuracy_exact",
]

RULES = ("slm-mux", "agent-forest", "self-consistency", "model-switch", "oracle",
         "oracle-any-sample", "confidence-weighted")

_MAX_PRODUCT = 20_000_000


class CountDistribution(NamedTuple):
    """Law of each model's count vector on each question.

    Attributes:
      probs: probability of each count vector, shape [models, questions, vectors].
      k: k, the number of samples behind every count vector.
      num_answers: A, the number of answer slots (last one ⊥).
    """

    probs: jnp.ndarray
    k: int
    num_answers: int

    @property
    def vectors(self) -> np.ndarray:
        return count_vectors(self.k, self.num_answers)

    def subset(self, models) -> "CountDistribution":
        return self._replace(probs=self.probs[jnp.asarray(models)])


class ExactResult(NamedTuple):
    """Exact accuracy of a rule.

    Attributes:
      accuracy: mean over questions, shape [].
      per_question: probability of a correct answer per question, shape [questions].
      expected_samples: expected samples spent per question, shape [questions].
    """

    accuracy: jnp.ndarray
    per_question: jnp.ndarray
    expected_samples: jnp.ndarray


def count_vectors(k: int, num_answers: int) -> np.ndarray:
    """All count vectors of ``k`` samples over ``A`` slots, shape [C(k+A-1, A-1), A].

    The engine's validated entry to :func:`slmmux_theory.closed.closed_forms.multinomial_count_vectors`
    (one stars-and-bars enumeration for the package, cached and read-only).

    >>> count_vectors(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if num_answers < 2:
        raise ValueError(f"num_answers must be >= 2, got {num_answers}")
    return multinomial_count_vectors(int(k), int(num_answers))


def multinomial_counts(probs, k: int) -> CountDistribution:
    """Count-vector law of ``k`` independent samples from each distribution.

    Args:
      probs: shape [models, questions, answers] (validated: rows sum to 1).
      k: k >= 1.

    >>> d = multinomial_counts([[[0.5, 0.5]]], 2)
    >>> [round(float(x), 3) for x in d.probs[0, 0]]
    [0.25, 0.5, 0.25]
    """
    require_x64("the exact engine (multinomial_counts)")
    probs = jnp.asarray(validate_probabilities(probs))
    vectors = count_vectors(k, probs.shape[-1])
    return CountDistribution(
        _multinomial_pmf(probs, jnp.asarray(vectors), k),
        k,
        int(probs.shape[-1]),
    )


@functools.partial(jax.jit, static_argnums=2)
def _multinomial_pmf(probs, vectors, k):
    log_coefficient = gammaln(k + 1.0) - gammaln(vectors + 1.0).sum(-1)
    # A zero-probability slot gets log p = -1e4: any positive count then underflows to exactly
    # 0, and a zero count contributes 0 (not 0 * -inf). One matmul instead of a broadcast.
    log_probs = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), -1e4)
    return jnp.exp(log_coefficient + log_probs @ vectors.T.astype(probs.dtype))


def hypergeometric_counts(pool_counts, k: int) -> CountDistribution:
    """Count-vector law of drawing ``k`` of each model's recorded samples without replacement.

    This is what a replay of stored samples averages over: every k-subset of the recorded
    samples equally likely (METHODS.md §4.2, "Simulating from stored samples").

    Args:
      pool_counts: recorded counts, shape [models, questions, answers]; each row needs at least
        ``k`` samples.
      k: k.

    Raises:
      ValueError: when a (model, question) has fewer than k recorded samples.
    """
    require_x64("the exact engine (hypergeometric_counts)")
    pool = validate_counts(pool_counts, name="pool_counts")
    totals = pool.sum(-1)
    if np.any(totals < k):
        m, q = np.argwhere(totals < k)[0]
        raise ValueError(
            f"pool_counts[model {m}, question {q}] holds {totals[m, q]} samples, "
            f"fewer than k={k}"
        )
    k, num_answers = k, pool.shape[-1]
    vectors = count_vectors(k, num_answers)
    # log P(c) = Σ_a [lf(n_a) - lf(c_a) - lf(n_a - c_a)] - log C(n, k). The only term coupling
    # pool and vector is lf(n_a - c_a); tabulate it for c = 0..k and contract it against the
    # vectors' one-hot encoding: one matmul over (slot, count) instead of a broadcast.
    log_factorial = scipy_gammaln(np.arange(totals.max(initial=0) + k + 2) + 1.0)
    remaining = pool[..., None] - np.arange(k + 1)  # [M, Q, A, k+1]
    table = np.where(remaining >= 0, -log_factorial[np.maximum(remaining, 0)], -1e4)
    onehot = (vectors[:, :, None] == np.arange(k + 1)).astype(np.float64)  # [V, A, k+1]
    coupled = table.reshape(*pool.shape[:2], -1) @ onehot.reshape(len(vectors), -1).T
    per_pool = log_factorial[pool].sum(-1) - (
        log_factorial[totals] - log_factorial[k] - log_factorial[totals - k]
    )
    per_vector = -log_factorial[vectors].sum(-1)
    probs = np.exp(coupled + per_pool[..., None] + per_vector)
    return CountDistribution(jnp.asarray(probs), k, int(pool.shape[-1]))


def _as_counts(distribution_or_probs, k) -> CountDistribution:
    if isinstance(distribution_or_probs, CountDistribution):
        if k is not None and k != distribution_or_probs.k:
            raise ValueError("k disagrees with the CountDistribution given")
        return distribution_or_probs
    if k is None:
        raise ValueError("k is required with a probability tensor")
    return multinomial_counts(distribution_or_probs, k)


# ----------------------------------------------------------------------------- per-model laws


def _plurality_kernel(vectors: np.ndarray) -> np.ndarray:
    """P(correct | count vector) of plurality with uniform ties; ⊥ never votes."""
    valid = vectors[:, :-1]
    top = valid.max(axis=1)
    is_top = (valid == top[:, None]) & (top[:, None] > 0)
    ties = np.maximum(is_top.sum(axis=1), 1)
    return is_top[:, 0] / ties


class MuxLevels(NamedTuple):
    """Per-model law of SLM-MUX's confidence level and of the mode being correct.

    Attributes:
      level: probability of each confidence level, shape [models, questions, levels]; level 0 is
        confidence 0 (no valid answer), higher levels are higher confidences.
      level_correct: probability of (level, mode correct), shape [models, questions, levels].
    """

    level: jnp.ndarray
    level_correct: jnp.ndarray


@functools.lru_cache(maxsize=None)
def _level_table(k: int, num_answers: int, denominator: str):
    vectors = count_vectors(k, num_answers)
    valid = vectors[:, :-1]
    top = valid.max(axis=1)
    if denominator == "k":
        level = top.copy()
        num_levels = k + 1
    else:
        totals = valid.sum(axis=1)
        values = [Fraction(int(t), int(n)) if n > 0 else Fraction(0) for t, n in zip(top, totals)]
        distinct = sorted(set(values) | {Fraction(0)})
        rank = {value: i for i, value in enumerate(distinct)}
        level = np.array([rank[v] for v in values], dtype=np.int64)
        num_levels = len(distinct)
    onehot = np.eye(num_levels)[level]
    # Uniform and first-seen intra-model ties give the same law under i.i.d. sampling (§1.3c).
    correct = _plurality_kernel(vectors)
    return onehot, onehot * correct[:, None]


def mux_levels(counts: CountDistribution, denominator: str = "k") -> MuxLevels:
    """Per-model confidence-level laws for SLM-MUX under either confidence denominator."""
    onehot, onehot_correct = _level_table(counts.k, counts.num_answers, denominator)
    return _project_levels(counts.probs, jnp.asarray(onehot), jnp.asarray(onehot_correct))


@jax.jit
def _project_levels(probs, onehot, onehot_correct):
    return MuxLevels(probs @ onehot, probs @ onehot_correct)


def _gauss_legendre_01(num_models: int):
    nodes, weights = np.polynomial.legendre.leggauss(max(1, (num_models + 1) // 2 + 1))
    return jnp.asarray((nodes + 1.0) / 2.0), jnp.asarray(weights / 2.0)


def mux_accuracy_from_levels(levels: MuxLevels, priority, cross_model_tie: str) -> jnp.ndarray:
    """Combine per-model level laws into SLM-MUX's per-question accuracy (METHODS.md §5.3).

    Args:
      levels: from :func:`mux_levels`, arrays [models, questions, levels].
      priority: tie ranks (lower wins), shape [models]; unused for ``"random"``.
      cross_model_tie: ``"validation_accuracy"``/``"model_order"`` (use ``priority``) or
        ``"random"``.

    Returns:
      shape [questions].
    """
    p_level, p_correct = levels
    p_le = jnp.cumsum(p_level, axis=-1)
    p_lt = p_le - p_level
    num_models = p_level.shape[0]
    same = jnp.eye(num_models, dtype=bool)[:, :, None, None]
    if cross_model_tie == "random":
        nodes, weights = _gauss_legendre_01(num_models)
        # E[1/(1+T)] for T tied rivals = ∫_0^1 E[z^T] dz: a polynomial in z, integrated exactly.
        factor = p_lt[None, :, :, :, None] + nodes * p_level[None, :, :, :, None]
        factor = jnp.where(same[..., None], 1.0, factor)
        integral = jnp.prod(factor, axis=1) @ weights
        return jnp.einsum("iql,iql->q", p_correct, integral)
    priority = jnp.asarray(priority)
    before = (priority[None, :] < priority[:, None])[:, :, None, None]
    factor = jnp.where(same, 1.0, jnp.where(before, p_lt[None], p_le[None]))
    return jnp.einsum("iql,iql->q", p_correct, jnp.prod(factor, axis=1))


def _priority_for(config: MuxConfig, num_models, validation_accuracy, priority):
    if priority is not None:
        return jnp.asarray(priority)
    if config.cross_model_tie == "validation_accuracy" and validation_accuracy is not None:
        return jnp.asarray(tie_priority(validation_accuracy))
    return jnp.arange(num_models)


def mux_accuracy_exact(
    distribution,
    k: int | None = None,
    *,
    config: MuxConfig = MuxConfig(),
    validation_accuracy=None,
    priority=None,
) -> jnp.ndarray:
    """Exact per-question SLM-MUX accuracy.

    Args:
      distribution: probabilities [models, questions, answers] or a :class:`CountDistribution`.
      k: k (with probabilities).
      config: SLM-MUX options; the intra-model tie rule does not change the law (§1.3c).
      validation_accuracy: shape [models], for the paper's tie-break.
      priority: explicit tie ranks, overriding ``validation_accuracy``.

    Returns:
      shape [questions].

    >>> import numpy as np
    >>> probs = np.array([[[0.6, 0.2, 0.2, 0.0]], [[0.1, 0.9, 0.0, 0.0]]])
    >>> round(float(mux_accuracy_exact(probs, 3)[0]), 6)
    0.337296
    """
    counts = _as_counts(distribution, k)
    levels = mux_levels(counts, config.confidence_denominator)
    rank = _priority_for(config, counts.probs.shape[0], validation_accuracy, priority)
    return mux_accuracy_from_levels(levels, rank, config.cross_model_tie)


def mux_subset_accuracy(
    levels: MuxLevels,
    subsets,
    priority,
    cross_model_tie: str = "validation_accuracy",
    batch_size: int = 64,
):
    """SLM-MUX accuracy of many model subsets at once, sharing the per-model level laws.

    Args:
      levels: per-model laws of all candidate models, arrays [models, questions, levels].
      subsets: model indices, shape [subsets, size]; ``-1`` pads smaller subsets.
      priority: tie ranks of the candidate models, shape [models].
      cross_model_tie: as in :func:`mux_accuracy_from_levels`.
      batch_size: subsets evaluated together (vectorised); batches run in sequence to bound
        memory at ``batch_size * size**2 * questions * levels`` floats.

    Returns:
      per-question accuracy, shape [subsets, questions].
    """
    return _mux_subset_accuracy(levels, jnp.asarray(subsets), jnp.asarray(priority),
                                cross_model_tie, batch_size)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _mux_subset_accuracy(levels, subsets, priority, cross_model_tie, batch_size):
    p_level, p_correct = levels
    # A padding model always has confidence 0: it never wins and never blocks a winner.
    dummy = jnp.zeros_like(p_level[:1]).at[..., 0].set(1.0)
    p_level = jnp.concatenate([p_level, dummy])
    p_correct = jnp.concatenate([p_correct, jnp.zeros_like(dummy)])
    priority = jnp.concatenate([priority, jnp.array([1 << 30])])
    subsets = jnp.where(subsets < 0, p_level.shape[0] - 1, subsets)

    def one(subset):
        return mux_accuracy_from_levels(
            MuxLevels(p_level[subset], p_correct[subset]), priority[subset], cross_model_tie
        )

    num_subsets = subsets.shape[0]
    batch = min(batch_size, num_subsets)
    padded = jnp.concatenate(
        [subsets, jnp.full(((-num_subsets) % batch, subsets.shape[1]), p_level.shape[0] - 1)]
    )
    batches = padded.reshape(-1, batch, subsets.shape[1])
    values = jax.lax.map(jax.vmap(one), batches)
    return values.reshape(-1, values.shape[-1])[:num_subsets]


def self_consistency_accuracy_exact(distribution, k: int | None = None) -> jnp.ndarray:
    """Exact plurality (self-consistency) accuracy of every model, shape [models, questions]."""
    counts = _as_counts(distribution, k)
    kernel = _plurality_kernel(counts.vectors)
    return counts.probs @ jnp.asarray(kernel)


def oracle_accuracy_exact(distribution, k: int | None = None, kind: str = "any_mode"):
    """Exact oracle accuracy, shape [questions].

    ``any_mode``: some model's voted answer (uniform ties) is correct; ``any_sample``: some sample
    of some model is correct. Models are independent given the question, so both factorise.
    """
    counts = _as_counts(distribution, k)
    if kind == "any_mode":
        miss = 1.0 - self_consistency_accuracy_exact(counts)
    elif kind == "any_sample":
        no_correct = jnp.asarray(counts.vectors[:, 0] == 0, dtype=jnp.float64)
        miss = counts.probs @ no_correct
    else:
        raise ValueError(f"kind must be 'any_mode' or 'any_sample', got {kind!r}")
    return 1.0 - jnp.prod(miss, axis=0)


# ----------------------------------------------------------------------------- pooled vote


@functools.lru_cache(maxsize=None)
def _sum_tables(k: int, num_answers: int, num_models: int):
    """Index tables adding one model's count vector to the pooled vector of the previous ones."""
    step = count_vectors(k, num_answers)
    base = num_models * k + 1
    radix = base ** np.arange(num_answers)
    tables = []
    for total_models in range(2, num_models + 1):
        before = count_vectors((total_models - 1) * k, num_answers)
        after = count_vectors(total_models * k, num_answers)
        after_codes = after @ radix
        order = np.argsort(after_codes)
        sums = (before[:, None, :] + step[None, :, :]) @ radix
        index = order[np.searchsorted(after_codes[order], sums)]
        tables.append(index)
    return tables


def pooled_vote_accuracy_exact(
    distribution, k: int | None = None, tie: str = "random"
) -> jnp.ndarray:
    """Exact Agent Forest accuracy (plurality over all models' samples), shape [questions].

    Uniform ties use the convolution of the models' count laws; ``tie="first_seen"`` (models in
    order, then samples) needs per-model counts and enumerates their product.
    """
    counts = _as_counts(distribution, k)
    if tie == "first_seen":
        return _product_accuracy(counts, _pooled_first_seen_kernel)[0]
    if tie != "random":
        raise ValueError(f"tie must be 'random' or 'first_seen', got {tie!r}")
    if counts.probs.shape[0] == 2:
        return pooled_vote_accuracy_batched(counts.probs[None], counts.k,
                                            counts.num_answers)[0]
    return _pooled_uniform_from_counts(counts)


def pooled_vote_accuracy_batched(count_probs, k: int, num_answers: int) -> jnp.ndarray:
    """Agent Forest (uniform ties) for many model groups of equal size at once.

    Args:
      count_probs: count-vector laws, shape [groups, models, questions, vectors].
      k: k.
      num_answers: A.

    Returns:
      shape [groups, questions].
    """
    count_probs = jnp.asarray(count_probs)
    if count_probs.shape[1] == 2:
        # Two models: contracting against the V x V kernel of summed vectors is far cheaper
        # than convolving into the pooled-vector space.
        return _pair_contract(count_probs, jnp.asarray(_pair_kernel(k, num_answers)))
    return jnp.stack([_pooled_uniform_from_counts(CountDistribution(p, k, num_answers))
                      for p in count_probs])


@functools.lru_cache(maxsize=16)
def _pair_kernel(k: int, num_answers: int) -> np.ndarray:
    vectors = count_vectors(k, num_answers)
    kernel = np.empty((len(vectors), len(vectors)))
    block = max(1, 2_000_000 // (len(vectors) * num_answers))  # bounds the summed block's memory
    for start in range(0, len(vectors), block):
        summed = vectors[start : start + block, None, :] + vectors[None, :, :]
        kernel[start : start + block] = _plurality_kernel(summed.reshape(-1, num_answers)).reshape(
            -1, len(vectors))
    return kernel


def by_question_width(array, fn):
    """Apply ``fn`` to groups of questions of equal slot width, each compacted to that width.

    Exact enumerations grow steeply with the number of slots, and real questions differ: most
    use two or three answers, a few use ten. Grouping questions by the number of wrong slots
    the given models use (rounded up to even) lets each group pay only for its own width.

    Args:
      array: probabilities or counts, shape [models, questions, answers].
      fn: maps a compacted array [models, n, answers'] to per-question values [n, ...].

    Returns:
      the values of every question in the original order, shape [questions, ...].
    """
    from slmmux_theory.distributions import compact_slots

    array = np.asarray(array)
    width = (array[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)
    width = np.maximum(width + width % 2, 2)
    pieces, order = [], []
    for bucket in np.unique(width):
        rows = np.nonzero(width == bucket)[0]
        group = compact_slots(array[:, rows], keep=int(bucket))[:, :, : int(bucket) + 2]
        pieces.append(np.asarray(fn(group)))
        order.append(rows)
    values = np.concatenate(pieces)
    result = np.empty_like(values)
    result[np.concatenate(order)] = values
    return result


def pooled_vote_pairs_exact(arrays, k: int, law: str = "multinomial") -> np.ndarray:
    """Agent Forest accuracy of many model pairs, question by question, with bounded cost.

    Each (pair, question) is compacted to the slots the pair uses there, and cells are grouped
    by that width, so a few questions with many distinct wrong answers do not make every
    question pay for the widest one.

    Args:
      arrays: probabilities (``law="multinomial"``) or recorded counts
        (``law="hypergeometric"``), shape [pairs, 2, questions, answers].
      k: k.
      law: how each model's k samples arise from its row.

    Returns:
      per-question accuracy, shape [pairs, questions].
    """
    from slmmux_theory.distributions import compact_slots

    arrays = np.asarray(arrays)
    num_pairs, _, num_questions, _ = arrays.shape
    cells = arrays.transpose(1, 0, 2, 3).reshape(2, num_pairs * num_questions, -1)
    width = (cells[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)
    width = width + width % 2  # even widths: fewer distinct compiled shapes
    result = np.zeros(num_pairs * num_questions)
    make = multinomial_counts if law == "multinomial" else hypergeometric_counts
    for bucket in np.unique(width):
        rows = np.nonzero(width == bucket)[0]
        group = compact_slots(cells[:, rows], keep=int(bucket))[:, :, : int(bucket) + 2]
        counts = make(group, k)
        result[rows] = np.asarray(
            pooled_vote_accuracy_batched(counts.probs[None], k, counts.num_answers)[0])
    return result.reshape(num_pairs, num_questions)


@jax.jit
def _pair_contract(count_probs, kernel):
    return jnp.einsum("gqa,gqb,ab->gq", count_probs[:, 0], count_probs[:, 1], kernel)


def _pooled_uniform_from_counts(counts: CountDistribution) -> jnp.ndarray:
    """Convolve the models' count laws into the pooled count law; apply uniform-tie plurality.

    Index tables and the kernel are passed as arguments, not baked into the compiled program:
    XLA would otherwise spend seconds constant-folding them.
    """
    k, num_answers = counts.k, counts.num_answers
    num_models = counts.probs.shape[0]
    tables = [jnp.asarray(t) for t in _sum_tables(k, num_answers, num_models)]
    sizes = tuple(count_vectors((m + 1) * k, num_answers).shape[0] for m in range(1, num_models))
    kernel = jnp.asarray(_plurality_kernel(count_vectors(num_models * k, num_answers)))
    return _pooled_uniform(counts.probs, tables, kernel, sizes)


@functools.partial(jax.jit, static_argnums=3)
def _pooled_uniform(probs, tables, kernel, sizes):
    pooled = probs[0]
    for model, (table, size) in enumerate(zip(tables, sizes), start=1):

        def add(pair, table=table, size=size):
            before, step = pair
            return jnp.zeros(size).at[table].add(before[:, None] * step[None, :])

        pooled = jax.lax.map(add, (pooled, probs[model]))
    return pooled @ kernel


# ----------------------------------------------------------------------------- product rules


def _product_counts(k_per_model, num_answers):
    """All tuples of per-model count vectors, shape [tuples, models, answers]."""
    tables = [count_vectors(k, num_answers) for k in k_per_model]
    size = math.prod(t.shape[0] for t in tables)
    if size > _MAX_PRODUCT:
        raise ValueError(
            f"exact enumeration needs {size:,} count-vector tuples (limit {_MAX_PRODUCT:,}); "
            "use fewer models, fewer samples or answer slots, or the Monte Carlo estimator"
        )
    grids = np.meshgrid(*[np.arange(t.shape[0]) for t in tables], indexing="ij")
    stacked = [tables[m][grids[m].ravel()] for m in range(len(tables))]
    return np.stack(stacked, axis=1), [t.shape[0] for t in tables]


def _contract(weights_per_model, kernel, shape):
    """Σ over tuples of Π_m w_m[q, v_m] · kernel[v_1..v_M] for every question."""
    letters = "abcdefghijklmnop"[: len(shape)]
    spec = ",".join(f"q{c}" for c in letters) + f",{letters}->q"
    return jnp.einsum(spec, *weights_per_model, jnp.asarray(kernel).reshape(shape), optimize="optimal")


def _product_accuracy(counts: CountDistribution, kernel_fn, **kernel_options):
    num_models = counts.probs.shape[0]
    tuples, shape = _product_counts((counts.k,) * num_models, counts.num_answers)
    correct, spent = kernel_fn(tuples, **kernel_options)
    weights = [counts.probs[m] for m in range(num_models)]
    return _contract(weights, correct, shape), _contract(weights, spent, shape)


def _first_seen_share(tuples, is_top):
    """P(correct) under first-seen ties: the first model holding a tied answer decides.

    Within that model, samples are exchangeable, so its first tied sample is answer ``a`` with
    probability ``c_m(a) / Σ_{b tied} c_m(b)``.
    """
    valid = tuples[:, :, :-1]
    tied_counts = (valid * is_top[:, None, :]).sum(axis=2)  # [T, M]
    has = tied_counts > 0
    first = np.argmax(has, axis=1)
    rows = np.arange(tuples.shape[0])
    decider = valid[rows, first]  # [T, A-1]
    share = decider[:, 0] * is_top[:, 0] / np.maximum(tied_counts[rows, first], 1)
    return np.where(has.any(axis=1), share, 0.0)


def _pooled_first_seen_kernel(tuples):
    total = tuples[:, :, :-1].sum(axis=1)
    top = total.max(axis=1)
    is_top = (total == top[:, None]) & (top[:, None] > 0)
    spent = np.full(tuples.shape[0], float(tuples[0].sum()))
    return _first_seen_share(tuples, is_top), spent


def _entropy_weight_np(valid):
    n = valid.sum(axis=-1)
    p = valid / np.maximum(n, 1)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(valid > 0, p * np.log2(np.where(valid > 0, p, 1.0)), 0.0), -1)
    distinct = (valid > 0).sum(axis=-1)
    base = 1.0 / np.maximum(n, 1)
    spread = base + (1.0 - base) * (1.0 - entropy / np.log2(np.maximum(distinct, 2)))
    return np.where(n == 0, 0.0, np.where(distinct == 1, 1.0, spread))


def _switch_kernel(tuples, config: SwitchConfig, prior_weights):
    valid = tuples[:, :, :-1]
    budgets = tuples.sum(axis=2)
    top = valid.max(axis=2)
    num_models = tuples.shape[1]
    if config.stop_rule == "unanimous":
        stops = (top == budgets) & (budgets > 0)
    else:
        stops = top > config.share_threshold * budgets
    stops[:, num_models - 1] = False
    any_stop = stops.any(axis=1)
    first_stop = np.argmax(stops, axis=1)
    rows = np.arange(tuples.shape[0])
    stop_correct = valid[rows, first_stop, 0] == top[rows, first_stop]
    spent_until = np.where(any_stop, first_stop, num_models - 1)
    spent = np.where(np.arange(num_models)[None] <= spent_until[:, None], budgets, 0).sum(axis=1)
    if config.weighting == "entropy":
        weights = np.asarray(prior_weights, dtype=np.float64)[None] * _entropy_weight_np(valid)
    else:
        weights = np.ones((tuples.shape[0], num_models))
    scores = (weights[:, :, None] * valid).sum(axis=1)
    top_score = scores.max(axis=1)
    is_top = (scores >= top_score[:, None] - 1e-9 * np.maximum(top_score, 1.0)[:, None]) & (
        top_score[:, None] > 0
    )
    if config.tie == "random":
        vote_correct = is_top[:, 0] / np.maximum(is_top.sum(axis=1), 1)
    else:
        vote_correct = _first_seen_share(tuples, is_top)
    correct = np.where(any_stop, stop_correct, vote_correct)
    return correct.astype(np.float64), spent.astype(np.float64)


@functools.lru_cache(maxsize=32)
def _cached_switch_kernel(budgets, num_answers, config, prior_weights):
    """The ModelSwitch kernel depends on the budgets, slots and options only: compute it once."""
    tuples, _ = _product_counts(budgets, num_answers)
    correct, spent = _switch_kernel(tuples, config, np.asarray(prior_weights))
    correct.setflags(write=False)
    spent.setflags(write=False)
    return correct, spent


def model_switch_exact(
    probs,
    k=None,
    *,
    config: SwitchConfig = SwitchConfig(),
    prior_weights=None,
) -> ExactResult:
    """Exact ModelSwitch accuracy and expected samples spent (METHODS.md §5.4).

    Args:
      probs: shape [models, questions, answers], models in visiting order; or a
        :class:`CountDistribution` (e.g. an exact replay of recorded samples).
      k: one budget for all models, or a tuple of per-model budgets ``n_j``.
      config: stop rule, weighting and tie rule.
      prior_weights: external weights ``W_i``, shape [models]; default 1.

    >>> import numpy as np
    >>> probs = np.array([[[0.8, 0.2, 0.0]], [[0.8, 0.2, 0.0]]])
    >>> round(float(model_switch_exact(probs, 4).expected_samples[0]), 4)
    6.3552
    """
    if isinstance(probs, CountDistribution):
        num_models = probs.probs.shape[0]
        num_answers = probs.num_answers
        if k is None:
            k = probs.k
        if k != probs.k:
            raise ValueError("k disagrees with the CountDistribution given")
        budgets = (probs.k,) * num_models
        weights = [probs.probs[m] for m in range(num_models)]
    else:
        probs = jnp.asarray(validate_probabilities(probs))
        num_models, _, num_answers = probs.shape
        if k is None:
            raise ValueError("k is required with a probability tensor")
        if isinstance(k, (int, np.integer)):
            budgets = (int(k),) * num_models
        else:
            budgets = tuple(int(b) for b in k)
            if len(budgets) != num_models:
                raise ValueError(f"{len(budgets)} budgets given for {num_models} models")
        weights = [multinomial_counts(probs[m : m + 1], budgets[m]).probs[0] for m in range(num_models)]
    if prior_weights is None:
        prior_weights = np.ones(num_models)
    shape = [count_vectors(b, num_answers).shape[0] for b in budgets]
    correct, spent = _cached_switch_kernel(
        budgets, num_answers, config, tuple(float(w) for w in np.asarray(prior_weights))
    )
    per_question = _contract(weights, correct, shape)
    expected = _contract(weights, spent, shape)
    return ExactResult(per_question.mean(), per_question, expected)


def _confidence_weighted_kernel(tuples, denominator: str, priority, cross_model_tie: str):
    valid = tuples[:, :, :-1]
    num_tuples, num_models, num_valid = valid.shape
    top = valid.max(axis=2)
    is_top = (valid == top[:, :, None]) & (top[:, :, None] > 0)
    mode_prob = is_top / np.maximum(is_top.sum(axis=2, keepdims=True), 1)
    # A model with no valid answer casts no vote; give it one dummy choice of weight 1.
    mode_prob[:, :, 0] = np.where(top > 0, mode_prob[:, :, 0], 1.0)
    if denominator == "k":
        confidence = top / np.maximum(tuples.sum(axis=2), 1)
    else:
        confidence = top / np.maximum(valid.sum(axis=2), 1)
    choices = np.array(list(itertools.product(range(num_valid), repeat=num_models)))  # [C, M]
    rows = np.arange(num_models)
    choice_prob = np.prod(mode_prob[:, rows, choices], axis=2)  # [T, C]
    onehot = np.eye(num_valid)[choices]  # [C, M, A-1]
    voting = top > 0  # a model with no valid answer casts no vote
    scores = np.einsum("tm,cma->tca", confidence * voting, onehot)
    best = scores.max(axis=2, keepdims=True)
    is_best = (scores >= best - 1e-12) & (best > 0)
    if cross_model_tie == "random":
        correct = is_best[..., 0] / np.maximum(is_best.sum(axis=2), 1)
    else:
        # A tied answer's rank is that of the best-priority model voting for it.
        rank = np.where(voting, np.asarray(priority)[None, :], 1 << 30)  # [T, M]
        answer_rank = np.where(onehot[None] > 0, rank[:, None, :, None], 1 << 30).min(axis=2)
        winner = np.argmin(np.where(is_best, answer_rank, 1 << 31), axis=2)
        correct = (winner == 0) & is_best.any(axis=2)
    value = (choice_prob * correct).sum(axis=1)
    return value.astype(np.float64), np.full(num_tuples, float(tuples[0].sum()))


def confidence_weighted_accuracy_exact(
    distribution,
    k: int | None = None,
    *,
    config: MuxConfig = MuxConfig(),
    validation_accuracy=None,
    priority=None,
) -> jnp.ndarray:
    """Exact accuracy of the confidence-weighted vote (each model's mode weighted by its
    confidence), shape [questions]. Enumerates the product of count vectors (few models)."""
    counts = _as_counts(distribution, k)
    rank = np.asarray(_priority_for(config, counts.probs.shape[0], validation_accuracy, priority))
    return _product_accuracy(
        counts,
        _confidence_weighted_kernel,
        denominator=config.confidence_denominator,
        priority=rank,
        cross_model_tie=config.cross_model_tie,
    )[0]


# ----------------------------------------------------------------------------- dispatcher


def exact_accuracy(
    rule: str,
    probs,
    k: int | None = None,
    *,
    mux_config: MuxConfig = MuxConfig(),
    switch_config: SwitchConfig = SwitchConfig(),
    validation_accuracy=None,
    prior_weights=None,
    pooled_tie: str = "random",
) -> ExactResult:
    """Exact accuracy of a named rule (one of :data:`RULES`) at k samples per model.

    ``probs`` is a probability tensor [models, questions, answers] (multinomial sampling) or a
    :class:`CountDistribution` (e.g. :func:`hypergeometric_counts` for an exact replay of
    recorded samples). ``self-consistency`` uses the first model only; ``oracle`` is
    ``any_mode``.

    >>> import numpy as np
    >>> probs = np.array([[[0.6, 0.2, 0.2, 0.0]], [[0.5, 0.5, 0.0, 0.0]]])
    >>> round(float(exact_accuracy("agent-forest", probs, 3).accuracy), 4)
    0.6895
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if isinstance(probs, CountDistribution):
        k = probs.k if k is None else k
    if k is None or int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = int(k)
    if not isinstance(probs, CountDistribution):
        probs = multinomial_counts(probs, k)
    num_models = probs.probs.shape[0]
    for name, value in [("validation_accuracy", validation_accuracy), ("prior_weights", prior_weights)]:
        if value is not None and np.shape(value) != (num_models,):
            raise ValueError(f"{name} must have one entry per model ({num_models}), got shape {np.shape(value)}")
    num_questions = probs.probs.shape[1]
    spent = jnp.full(num_questions, float(num_models * k))
    if rule == "model-switch":
        return model_switch_exact(probs, k, config=switch_config, prior_weights=prior_weights)
    if rule == "self-consistency":
        per_question = self_consistency_accuracy_exact(probs.subset([0]), k)[0]
        spent = jnp.full(num_questions, float(k))
    elif rule == "slm-mux":
        per_question = mux_accuracy_exact(
            probs, k, config=mux_config, validation_accuracy=validation_accuracy
        )
    elif rule == "agent-forest":
        per_question = pooled_vote_accuracy_exact(probs, k, tie=pooled_tie)
    elif rule == "oracle":
        per_question = oracle_accuracy_exact(probs, k, "any_mode")
    elif rule == "oracle-any-sample":
        per_question = oracle_accuracy_exact(probs, k, "any_sample")
    else:
        per_question = confidence_weighted_accuracy_exact(
            probs, k, config=mux_config, validation_accuracy=validation_accuracy
        )
    return ExactResult(per_question.mean(), per_question, spent)
