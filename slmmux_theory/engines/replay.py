"""Replay of recorded samples: the exact (and literal) value of a rule on what was recorded.

Place in the layers: engines (NumPy/JAX around the exact engines; no I/O). A recorded file holds
``n`` samples per (model, question). The **exact replay** of a rule at ``k <= n`` is its
expectation over drawing ``k`` of the recorded samples without replacement
(:func:`slmmux_theory.engines.exact.hypergeometric_counts`); drawing ``k`` of ``n`` i.i.d.
samples is ``k`` i.i.d. samples, so it is an unbiased, slightly noisy version of the accuracy
under the answer distributions. Given probabilities instead of counts, the same functions give
the exact accuracy at ``k`` i.i.d. samples (multinomial). The **literal replay** applies the
rule to the first ``k`` recorded samples with seeded ties.

* :func:`replay_levels`: SLM-MUX's per-(model, question) level laws; SLM-MUX factorises over
  models, so each row's law comes from the pass over its used slots of
  :mod:`slmmux_theory.engines.wide_levels` (linear in the slots: any k on files with many
  distinct wrong answers, where enumerating count vectors is out of reach at k = 9);
  :func:`subset_accuracy_draws` sweeps subsets over them.
* :func:`pair_rule_values`: the rules flagged ``pair_engine`` in the registry (Agent Forest,
  ModelSwitch) for many ordered model pairs, with their (expected) cost.
* :func:`exact_replay` and :func:`literal_replay`: any registered rule on one question set,
  through its exact law (``rule.exact``) and its selection (``rule.select``).

No rule is named here: rules come from :mod:`slmmux_theory.rules.registry` and are told apart
by their capability flags.

Every grouping of questions by slot width goes through :mod:`slmmux_theory.engines.buckets`.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.distributions import compact_slots_per_model, validate_probabilities
from slmmux_theory.engines.buckets import (
    apply_by_width,
    by_question_width,
    even_width_from_zero,
    narrow_and_wide,
)
from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.exact import exact_accuracy
from slmmux_theory.engines.levels import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.wide_levels import hypergeometric_levels, multinomial_levels
from slmmux_theory.engines.wide_pooled import hypergeometric_pooled_pairs, multinomial_pooled_pairs
from slmmux_theory.rules.base import SwitchConfig, first_seen_positions
from slmmux_theory.rules.registry import RULES, get_rule, rule_names
from slmmux_theory.rules.rule import Rule, RuleContext

__all__ = [
    "MAX_EXACT_SLOTS",
    "ExactOutOfReach",
    "PAIR_RULES",
    "PairRuleValues",
    "ReplayValues",
    "enumeration_size",
    "exact_replay",
    "literal_replay",
    "mean_and_standard_error",
    "pair_rule_values",
    "per_sample_accuracy",
    "pooled_vote_pairs_exact",
    "replay_levels",
    "sample_counts",
    "subset_accuracy_draws",
]

# The rules the pair engine ranks on ordered pairs (registry flag ``pair_engine``).
PAIR_RULES = rule_names(pair_engine=True)
# Pairs per pooled-vote call: bounds memory (pairs · 2 · draws·N · answers floats).
_PAIR_BLOCK = 6
# Cells (rows × count vectors) of one exact enumeration call: bounds memory at ~160 MB.
_MAX_CELLS = 20_000_000
# Draw-questions of one subset-engine call: bounds its memory (batch · size² · cells · levels).
_QUESTION_BLOCK = 2500
# Enumerating rules (pooled convolution, ModelSwitch product) cost |count vectors|^2 memory:
# C(k + A - 1, A - 1)^2 entries. Above this many slots a question's exact value is not computed.
MAX_EXACT_SLOTS = 10
_NARROW_SLOTS = 7
# The product contraction (one einsum over every model's count law, optimal path) is not tried
# on more models than this: finding its path alone took 5 s for 7 models and over 100 s for 8.
_MAX_PRODUCT_MODELS = 6
# Count-vector tuples a pair rule's enumeration may hold (engines.product's limit): its
# per-model count laws and kernel grow with them (a pair over 20 slots at k = 9 needs 6.9
# million vectors per model, gigabytes before the product is formed).
_MAX_PAIR_TUPLES = 20_000_000
_NOT_A_RULE = Rule("", None, None, None)


class ExactOutOfReach(ValueError):
    """A rule's exact law would enumerate more count-vector tuples than the limit."""


class PairRuleValues(NamedTuple):
    """Exact values of a pair rule for many ordered pairs.

    Attributes:
      accuracy: P(correct) per (pair, question), shape [pairs, questions].
      cost: (expected) cost per (pair, question), shape [pairs, questions].
    """

    accuracy: np.ndarray
    cost: np.ndarray


class ReplayValues(NamedTuple):
    """A rule replayed on every question.

    Attributes:
      correct: P(correct) (exact) or 0/1 (literal) per question, shape [questions]; NaN where
        the exact enumeration was skipped (too many slots).
      spent: (expected) samples spent per question, shape [questions].
    """

    correct: np.ndarray
    spent: np.ndarray


def _count_law(hypergeometric: bool):
    """Turns an array [models, questions, answers] and k into count laws."""
    if hypergeometric:
        return hypergeometric_counts

    def multinomial(array, k):
        return multinomial_counts(array / array.sum(-1, keepdims=True), k)

    return multinomial


def replay_levels(array, k: int, hypergeometric: bool = True) -> MuxLevels:
    """Exact SLM-MUX level laws of every (model, question) for k samples.

    No count vector is enumerated: the laws come from the pass over slots of
    :mod:`slmmux_theory.engines.wide_levels` (product-form count laws), equal to
    :func:`~slmmux_theory.engines.levels.mux_levels` of the enumerated count laws.

    Args:
      array: recorded counts (``hypergeometric``: k of them drawn without replacement) or
        probabilities (k i.i.d. samples), shape [models, questions, answers].
      k: samples per model.

    Returns:
      MuxLevels with arrays [models, questions, k + 1] (confidence denominator k).

    >>> levels = replay_levels(np.array([[[2, 1, 0]]]), 2)
    >>> [round(float(x), 4) for x in levels.level_correct[0, 0]]
    [0.0, 0.3333, 0.3333]
    """
    if hypergeometric:
        return hypergeometric_levels(array, k)
    return multinomial_levels(array, k)


def subset_accuracy_draws(levels: MuxLevels, subsets, priority, num_draws: int) -> np.ndarray:
    """Mean accuracy of every subset in every draw, from levels folded as [models, draws*N, L].

    Subsets of size 1 give self-consistency (SLM-MUX of one model is its plurality vote).

    Returns:
      shape [subsets, draws].
    """
    level, level_correct = (np.asarray(a) for a in levels)
    total = level.shape[1]
    questions = total // num_draws
    draws_per_block = max(1, _QUESTION_BLOCK // questions)
    out = []
    for start in range(0, num_draws, draws_per_block):
        stop = min(num_draws, start + draws_per_block)
        block = slice(start * questions, stop * questions)
        values = mux_subset_accuracy(
            MuxLevels(jnp.asarray(level[:, block]), jnp.asarray(level_correct[:, block])),
            subsets, priority, batch_size=32,
        )
        out.append(np.asarray(values).reshape(len(subsets), stop - start, questions).mean(-1))
    return np.concatenate(out, axis=1)


def pooled_vote_pairs_exact(arrays, k: int, law: str = "multinomial",
                            tie: str = "random") -> np.ndarray:
    """Agent Forest accuracy of many model pairs, question by question, with bounded cost.

    Each (pair, question) is compacted to the slots the pair uses there, cells are grouped by
    that width, and each group goes through the pass over slots of
    :mod:`slmmux_theory.engines.wide_pooled` (product-form count laws): its cost is linear in
    the slots, where contracting the two count-vector laws against the kernel of summed
    vectors cost the square of C(k + A - 1, A - 1) (590 MB at k = 5 for a cell with 12 wrong
    answers) and one compilation per group shape.

    Args:
      arrays: probabilities (``law="multinomial"``) or recorded counts
        (``law="hypergeometric"``), shape [pairs, 2, questions, answers].
      k: k.
      law: how each model's k samples arise from its row.
      tie: ``"random"`` (Agent Forest's uniform ties) or ``"first_seen"`` (the first tied
        answer met scanning the first model's samples, then the second's).

    Returns:
      per-question accuracy, shape [pairs, questions].

    >>> pooled_vote_pairs_exact(np.array([[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]]]), 1).round(6)
    array([[0.5]])
    """
    arrays = np.asarray(arrays)
    num_pairs, _, num_questions, _ = arrays.shape
    cells = arrays.transpose(1, 0, 2, 3).reshape(2, num_pairs * num_questions, -1)
    if law == "multinomial":
        cells = validate_probabilities(cells, name="arrays")
        pooled_pairs = multinomial_pooled_pairs
    elif law == "hypergeometric":
        pooled_pairs = hypergeometric_pooled_pairs
    else:
        raise ValueError(f"law must be 'multinomial' or 'hypergeometric', got {law!r}")

    def pooled(group):
        return pooled_pairs(group[:1], group[1:], k, tie)[0]

    result = apply_by_width(cells, pooled, bucket=even_width_from_zero)
    return result.reshape(num_pairs, num_questions)


def pair_rule_values(rule: str | Rule, array, pairs, k: int, hypergeometric: bool = True,
                     cost_per_sample=None,
                     switch_config: SwitchConfig = SwitchConfig()) -> PairRuleValues:
    """Exact per-question accuracy and expected cost of a pair rule for many ordered pairs.

    Args:
      rule: a registered rule flagged ``pair_engine`` (a name or the Rule value), e.g.
        ``"agent-forest"`` (plurality over both models' k samples, uniform ties; a ``pooled``
        law, evaluated in width-bucketed blocks of pairs) or ``"model-switch"`` (the first
        model's k samples; if not unanimous the second's, then the entropy-weighted vote;
        METHODS.md §5.4; any other rule goes through its exact law, question by question, or,
        when every row holds exactly k recorded samples, through ``rule.known_counts``).
      array: recorded counts (``hypergeometric``) or probabilities, [models, rows, answers].
      pairs: ordered model pairs, int [pairs, 2] (ModelSwitch visits the first one first).
      k: samples per model.
      cost_per_sample: shape [models]; None = 1 per sample.

    Returns:
      a :class:`PairRuleValues`, each array shape [pairs, rows]; ModelSwitch's cost counts
      the second model only when the first did not stop.

    Raises:
      ExactOutOfReach: a rule without a pass over slots (ModelSwitch) on rows of more than k
        samples whose pair uses too many slots to enumerate at this k.

    >>> acc, cost = pair_rule_values("model-switch", np.array([[[3, 0, 0]], [[0, 3, 0]]]),
    ...                              np.array([[0, 1]]), 2)
    >>> float(acc[0, 0]), float(cost[0, 0])
    (1.0, 2.0)
    """
    array = np.asarray(array)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    costs = np.ones(array.shape[0]) if cost_per_sample is None else np.asarray(cost_per_sample)
    law = "hypergeometric" if hypergeometric else "multinomial"
    if not (rule if isinstance(rule, Rule) else RULES.get(rule, _NOT_A_RULE)).pair_engine:
        raise ValueError(f"rule must be one of {rule_names(pair_engine=True)}, got {rule!r}")
    rule = get_rule(rule)
    context = RuleContext(switch_config=switch_config)
    used = np.unique(pairs)
    if (hypergeometric and rule.known_counts is not None and len(used)
            and np.all(array[used].sum(-1) == k)):
        # k of exactly k recorded samples (the plan's fresh pools): each count law is a point
        # mass, so the rule's value needs the one tuple of counts, not every count vector.
        accuracy = np.zeros((len(pairs), array.shape[1]))
        cost = np.zeros_like(accuracy)
        for i, (first, second) in enumerate(pairs):
            result = rule.known_counts(array[[first, second]], context)
            accuracy[i] = np.asarray(result.per_question)
            cost[i] = k * costs[first] + (np.asarray(result.expected_samples) - k) * costs[second]
        return PairRuleValues(accuracy, cost)
    if rule.pooled:
        accuracy = np.concatenate([
            pooled_vote_pairs_exact(np.stack([array[pair] for pair in block]), k, law=law)
            for block in np.array_split(pairs, max(1, -(-len(pairs) // _PAIR_BLOCK)))
        ]) if len(pairs) else np.zeros((0, array.shape[1]))
        cost = np.broadcast_to((k * costs[pairs].sum(1))[:, None], accuracy.shape).copy()
        return PairRuleValues(accuracy, cost)
    make = hypergeometric_counts if hypergeometric else multinomial_counts

    def pair_values(group):
        vectors = math.comb(k + group.shape[-1] - 1, k)
        if vectors**2 > _MAX_PAIR_TUPLES:
            raise ExactOutOfReach(
                f"{rule.name} at k = {k} on questions whose model pair uses {group.shape[-1]} "
                f"answer slots needs {vectors**2:,} count-vector tuples (limit "
                f"{_MAX_PAIR_TUPLES:,}); only pools of exactly k samples are replayed without "
                "enumeration")
        if not hypergeometric:
            group = group / group.sum(-1, keepdims=True)
        result = rule.exact(make(group, k), context)
        return np.stack([np.asarray(result.per_question), np.asarray(result.expected_samples)],
                        axis=-1)

    accuracy = np.zeros((len(pairs), array.shape[1]))
    cost = np.zeros_like(accuracy)
    for i, (first, second) in enumerate(pairs):
        values = by_question_width(array[[first, second]], pair_values)
        accuracy[i] = values[:, 0]
        cost[i] = k * costs[first] + (values[:, 1] - k) * costs[second]
    return PairRuleValues(accuracy, cost)


def exact_replay(counts, rule: str | Rule, k: int, *, hypergeometric: bool = True, validation=None,
                 max_slots: int = MAX_EXACT_SLOTS) -> ReplayValues:
    """A rule's exact value per question, in calls of bounded memory.

    A rule that does not enumerate products (SLM-MUX, self-consistency, the oracles: laws that
    factorise over models, each model's law reading its own row) runs with every (model,
    question) row compacted to its own wrong slots
    (:func:`slmmux_theory.distributions.compact_slots_per_model`), questions grouped by that
    width and taken in chunks of at most ``_MAX_CELLS`` count-vector probabilities: compacting
    every model to the widest question of the file instead cost 10 GB and more on 13 models at
    k = 10. Enumerating rules (``enumerates_products``: Agent Forest, ModelSwitch, the
    confidence-weighted and weighted votes..., on two or more models) run on the questions
    needing at most ``max_slots`` slots, in a narrow and a wide group; a group whose
    enumeration (:func:`enumeration_size`) exceeds ``_MAX_CELLS`` entries is split by exact
    width and its questions that still exceed it stay NaN, as do the wider ones (their
    enumeration would not fit in memory), and a product rule (not pooled) on more than
    ``_MAX_PRODUCT_MODELS`` models is NaN throughout (its contraction path alone takes minutes).

    Args:
      counts: recorded counts (``hypergeometric``: k drawn without replacement) or plug-in
        weights (normalised per row: k i.i.d. samples), shape [models, questions, answers];
        only the models the rule uses (self-consistency: one).
      rule: a registered rule (name or value).
      k: samples per model.
      validation: per-model validation accuracy for the cross-model tie-break of SLM-MUX-type
        rules, shape [models] (NaN: list order); rules without that tie-break ignore it.
      max_slots: widest question (slots, with the correct one and ⊥) an enumerating rule
        replays.

    Returns:
      a :class:`ReplayValues` (expected correctness and expected samples spent).

    >>> values = exact_replay(np.array([[[2, 1, 0]], [[1, 2, 0]]]), "agent-forest", 1)
    >>> [round(float(x), 6) for x in values.correct], values.spent.tolist()
    ([0.5], [2.0])
    """
    counts = np.asarray(counts)
    law = _count_law(hypergeometric)
    rule = get_rule(rule)
    num_models = counts.shape[0]
    enumerating = rule.enumerates_products and num_models > 1

    def replay(group):
        result = exact_accuracy(rule, law(group, k), k, validation_accuracy=validation)
        return np.stack([np.asarray(result.per_question), np.asarray(result.expected_samples)], 1)

    if enumerating:
        values = apply_by_width(
            counts, replay, bucket=_fitting_buckets(rule, num_models, k, max_slots),
            keep_bucket_width=False,
            max_rows=lambda slots: _MAX_CELLS // _row_size(rule, num_models, k, slots))
    else:
        values = apply_by_width(
            compact_slots_per_model(counts), replay, pad_rows=True,
            max_rows=lambda slots: _MAX_CELLS // _row_size(rule, num_models, k, slots))
    if values.ndim == 1:  # every question skipped
        return ReplayValues(values, values.copy())
    return ReplayValues(values[:, 0], values[:, 1])


def enumeration_size(rule: str | Rule, num_models: int, k: int, slots: int) -> int:
    """Entries of the tables an enumerating rule's exact law builds for one call.

    A pooled rule on more than two models convolves the models' count laws one by one: its
    index tables add a model's V = C(k + A - 1, A - 1) vectors to each pooled vector of the
    models before. A pooled pair contracts against its V x V kernel of summed vectors. Any
    other rule enumerates the V^M tuples of the models' count vectors, each M x A counts.

    >>> enumeration_size("model-switch", 2, 2, 3), enumeration_size("agent-forest", 3, 1, 2)
    (216, 10)
    """
    rule = get_rule(rule)
    vectors = math.comb(k + slots - 1, slots - 1)
    if rule.pooled and num_models > 2:
        pooled = [math.comb(m * k + slots - 1, slots - 1) for m in range(1, num_models)]
        return sum(size * vectors for size in pooled)
    if rule.pooled:
        return vectors**num_models
    return vectors**num_models * num_models * slots


def _row_size(rule: Rule, num_models: int, k: int, slots: int) -> int:
    """Count-vector probabilities held per question by one exact call (a pooled rule on more
    than two models: the pooled law of every model's samples)."""
    if rule.enumerates_products and rule.pooled and num_models > 2:
        return math.comb(num_models * k + slots - 1, slots - 1)
    return num_models * math.comb(k + slots - 1, slots - 1)


def _fitting_buckets(rule: Rule, num_models: int, k: int, max_slots: int):
    """The narrow and wide groups of :func:`narrow_and_wide`; a group whose widest question's
    enumeration exceeds ``_MAX_CELLS`` is split by exact width, and the widths that still do
    not fit are skipped (-1)."""
    narrow_wide = narrow_and_wide(_NARROW_SLOTS, max_slots)

    def bucket(width):
        width = np.asarray(width)
        if not rule.pooled and num_models > _MAX_PRODUCT_MODELS:
            return np.full(width.shape, -1)
        labels = np.asarray(narrow_wide(width)).copy()
        fits = np.array([enumeration_size(rule, num_models, k, int(w) + 2) <= _MAX_CELLS
                         for w in width], dtype=bool)
        for label in (0, 1):
            members = labels == label
            if members.any() and not fits[members].all():
                labels[members] = np.where(fits[members], 2 + width[members], -1)
        return labels

    return bucket


def sample_counts(samples, num_answers: int) -> np.ndarray:
    """Answer counts of slot-index samples, negative entries (missing samples) ignored.

    Args:
      samples: int slot indices, shape [models, questions, samples].
      num_answers: A.

    Returns:
      int counts, shape [models, questions, answers].

    >>> sample_counts(np.array([[[0, 1, -1]]]), 2).tolist()
    [[[1, 1]]]
    """
    samples = np.asarray(samples)
    models, questions, _ = samples.shape
    cell = np.arange(models * questions).reshape(models, questions, 1) * num_answers
    valid = samples >= 0
    flat = np.bincount((cell + samples)[valid], minlength=models * questions * num_answers)
    return flat.reshape(models, questions, num_answers)


def per_sample_accuracy(samples) -> np.ndarray:
    """Share of each model's sample positions holding the correct answer (slot 0).

    A missing sample (negative entry: the request failed) counts as not correct, so this is
    the accuracy of one sample as requested, not as recorded.

    Args:
      samples: int slot indices, shape [models, questions, samples].

    Returns:
      accuracy per model, shape [models].

    >>> per_sample_accuracy(np.array([[[0, 1], [0, -1]], [[2, 2], [0, 0]]])).tolist()
    [0.5, 0.5]
    """
    samples = np.asarray(samples)
    return np.array([(samples[m] == 0).mean() for m in range(samples.shape[0])],
                    dtype=np.float64)


def literal_replay(samples, num_answers: int, rule: str | Rule, key, *, priority=None,
                   model: int | None = None) -> ReplayValues:
    """Apply a registered rule's selection (``rule.select``) to recorded samples, as they are.

    Args:
      samples: slot indices of the k samples replayed, shape [models, questions, k]; negative
        entries are missing samples.
      num_answers: A.
      rule: a registered rule (name or value).
      key: jax.random key; question q uses ``split(key, Q)[q]`` for its ties.
      priority: cross-model tie ranks, shape [models] (default list order).
      model: the model of a ``first_model_only`` rule (self-consistency).

    Returns:
      a :class:`ReplayValues` (0/1 correctness and samples spent per question: the selection's
      own count for an ``adaptive_cost`` rule, else every replayed sample of the models used).

    >>> literal_replay(np.array([[[0, 0]], [[1, 1]]]), 3, "slm-mux", jax.random.PRNGKey(0)).correct
    array([1.])
    """
    rule = get_rule(rule)
    samples = np.asarray(samples)
    if rule.first_model_only:
        if model is None:
            raise ValueError(f"{rule.name} needs a model index")
        samples = samples[[model]]
        priority = None if priority is None else np.asarray(priority)[[model]]
    num_models, num_questions, k = samples.shape
    counts = jnp.asarray(sample_counts(samples, num_answers)).transpose(1, 0, 2)  # [Q, M, A]
    first_seen = first_seen_positions(jnp.asarray(samples), num_answers).transpose(1, 0, 2)
    keys = jax.random.split(key, num_questions)
    context = RuleContext(priority=None if priority is None else np.asarray(priority))
    answer, spent = _literal_answers(counts, first_seen, keys, rule, context)
    if not rule.adaptive_cost:
        spent = jnp.full(num_questions, float(num_models * k))
    return ReplayValues(np.asarray(answer == 0, dtype=np.float64),
                        np.asarray(spent, dtype=np.float64))


@functools.partial(jax.jit, static_argnums=(3, 4))
def _literal_answers(counts, first_seen, keys, rule: Rule, context: RuleContext):
    """Chosen slot and samples spent per question; one compilation per (rule, options,
    shapes)."""
    selection = jax.vmap(lambda c, f, s: rule.select(c, f, s, context))(counts, first_seen, keys)
    return selection.answer, jnp.asarray(selection.samples_spent, dtype=jnp.float64)


def mean_and_standard_error(values: np.ndarray) -> tuple[float, float, int]:
    """Mean over questions, its standard error (ddof 1), and how many values were finite.

    >>> mean_and_standard_error(np.array([1.0, 0.0, 1.0, 0.0]))
    (0.5, 0.28867513459481287, 4)
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return math.nan, math.nan, 0
    error = float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else math.nan
    return float(finite.mean()), error, int(finite.size)
