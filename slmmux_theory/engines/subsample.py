"""Replay of recorded samples by Monte Carlo subsampling, for any rule, with real token costs.

Engines layer: pure JAX/NumPy, explicit keys, no I/O. For samples ``[models, questions, n]``
with ``n >= k`` recorded per (model, question), each of ``R`` draws takes ``k`` of the ``n``
samples of every (model, question) without replacement, in a uniformly random order (the first
``k`` of a random permutation), and applies the rule: ``rule.select`` on the drawn counts, or,
for an order-dependent rule (``rule.select_sequence``: adaptive stopping), the rule on the drawn
sequence, consuming a prefix of it. Averaged over the draws this is the same expectation the
exact replay (:func:`slmmux_theory.engines.replay.exact_replay`, hypergeometric) computes, with
Monte Carlo error ``O(1/sqrt(R))`` per question, and it reaches what the exact engine cannot:
many models, many answer slots, adaptive rules. Tokens: each draw charges the real token counts
of the samples the rule used (every drawn sample of the models it reads; for an adaptive rule
only the consumed prefix of each model; ModelSwitch's visited models).

Slots are relabelled per question (:func:`compact_sample_slots`) before the rule runs: every
rule reads only "slot 0 is correct, the last slot is ⊥", so this changes no value and makes the
arrays as narrow as the widest question. The learned options (tie ranks, weights, threshold,
answer law) enter the compiled function as arguments, and the draws can be padded to a common
width and length (``num_slots``, ``pad_to``: missing samples, which no rule counts), so one
compilation serves every fold, k and learned value of a rule.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule, RuleContext

__all__ = ["SubsampleResult", "compact_sample_slots", "draw_positions", "subsample_replay"]

# Uniforms drawn per block (draws · models · questions · n): bounds memory.
_BLOCK_CELLS = 4_000_000


class SubsampleResult(NamedTuple):
    """A rule replayed by subsampling.

    Attributes:
      correct: P(correct) per question, averaged over the draws, shape [questions].
      correct_draws: 0/1 correctness per draw and question, shape [draws, questions].
      samples_spent: mean samples drawn per model and question, shape [models, questions].
      tokens: mean real tokens of the samples used per question, shape [questions] (NaN
        without token counts, or where a used sample's count is unknown).
    """

    correct: np.ndarray
    correct_draws: np.ndarray
    samples_spent: np.ndarray
    tokens: np.ndarray


def compact_sample_slots(samples, num_answers: int) -> tuple[np.ndarray, int]:
    """Relabel each question's slots densely: 0 stays 0, used wrong slots become 1..U in order
    of first use, ⊥ becomes the last slot; ``-1`` (missing) stays.

    Args:
      samples: slot indices, int [models, questions, n].
      num_answers: A.

    Returns:
      (relabelled samples, new A = widest question's U + 2).

    >>> out, width = compact_sample_slots(np.array([[[0, 7, 9, 7, -1]]]), 10)
    >>> out.tolist(), width
    ([[[0, 1, 2, 1, -1]]], 3)
    """
    samples = np.asarray(samples)
    abstain = num_answers - 1
    out = samples.copy()
    wrong_sizes = []
    for q in range(samples.shape[1]):
        column = samples[:, q]
        wrong = column[(column > 0) & (column < abstain)]
        used = list(dict.fromkeys(wrong.ravel().tolist()))
        wrong_sizes.append(len(used))
        lookup = np.zeros(num_answers, dtype=np.int64)
        lookup[used] = np.arange(1, len(used) + 1)
        out[:, q] = np.where((column > 0) & (column < abstain), lookup[np.maximum(column, 0)],
                             column)
    width = max(wrong_sizes, default=0) + 2
    out = np.where(samples == abstain, width - 1, out)
    return out, width


def draw_positions(key, recorded, k: int, num_draws: int) -> jnp.ndarray:
    """Positions of k recorded samples per (model, question), a random order, per draw.

    Args:
      key: jax.random key.
      recorded: which samples were recorded, bool [models, questions, n].
      k: samples drawn (without replacement; missing samples sort last).
      num_draws: R.

    Returns:
      int positions, shape [draws, models, questions, k].
    """
    return _first_of_random_order(key, jnp.asarray(recorded), k, num_draws)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _first_of_random_order(key, recorded, k, num_draws):
    noise = jax.random.uniform(key, (num_draws,) + recorded.shape, dtype=jnp.float32)
    noise = jnp.where(recorded, noise, 2.0)
    return jax.lax.top_k(-noise, k)[1]  # the k smallest: a random order, missing ones last


_LEARNED = ("priority", "model_weights", "stop_threshold", "answer_law")


def _split_context(context: RuleContext, num_models: int):
    """(static context, learned options as arrays): the arrays become jit arguments."""
    learned = {"priority": np.asarray(context.tie_ranks(num_models)),
               "stop_threshold": np.float64(context.stop_threshold)}
    for name in ("model_weights", "answer_law"):
        if getattr(context, name) is not None:
            learned[name] = np.asarray(getattr(context, name), dtype=np.float64)
    static = replace(context, validation_accuracy=None, priority=None, model_weights=None,
                     answer_law=None, stop_threshold=10.0)
    return static, learned


@functools.lru_cache(maxsize=256)
def _compiled(rule: Rule, static: RuleContext, names: tuple, num_answers: int, sequence: bool):
    def one(drawn, key, learned):  # drawn [M, k]
        context = replace(static, **learned)
        if sequence:
            selection = rule.select_sequence(drawn, key, context, num_answers)
            return selection.answer, jnp.asarray(selection.samples_spent, jnp.float64)
        onehot = (drawn[..., None] == jnp.arange(num_answers)).astype(jnp.int32)
        counts = onehot.sum(axis=1)
        k = drawn.shape[1]
        first_seen = jnp.where(onehot > 0, jnp.arange(k)[:, None], k).min(axis=1)
        selection = rule.select(counts, first_seen, key, context)
        return selection.answer, jnp.asarray(selection.samples_spent, jnp.float64)

    return jax.jit(jax.vmap(jax.vmap(one, in_axes=(0, 0, None)), in_axes=(0, 0, None)))


def _pad(array, length: int, value):
    """Pad the last axis to ``length`` with ``value``."""
    extra = length - array.shape[-1]
    if extra <= 0:
        return array
    return np.concatenate([array, np.full(array.shape[:-1] + (extra,), value, array.dtype)], -1)


def _spent_per_model(rule: Rule, total_spent, drawn):
    """Samples used per model [draws, questions, models] of an order-free rule."""
    valid = (drawn >= 0).sum(axis=-1).astype(np.float64)  # [R, Q, M]
    if rule.first_model_only:
        return valid * (np.arange(valid.shape[-1]) == 0)
    if rule.adaptive_cost:  # ModelSwitch-type: models visited in order, each fully
        before = np.cumsum(valid, axis=-1) - valid
        return np.clip(np.asarray(total_spent)[..., None] - before, 0.0, valid)
    return valid


def subsample_replay(key, rule: str | Rule, samples, num_answers: int, k: int,
                     num_draws: int = 200, context: RuleContext = RuleContext(),
                     tokens=None, *, num_slots: int = 0, pad_to: int = 0) -> SubsampleResult:
    """A rule's accuracy, samples and tokens per question, averaged over random draws of k of
    the recorded samples.

    Args:
      key: jax.random key (the same key, the same result).
      rule: a registered rule (name or value).
      samples: slot indices, int [models, questions, n] (``-1`` missing; slot 0 correct).
      num_answers: A.
      k: samples per model in each draw (``<= n``).
      num_draws: R.
      context: the rule's options (learned on other questions).
      tokens: real tokens per sample, float [models, questions, n], or None.
      num_slots: pad the relabelled slots to at least this width (else to the next multiple
        of 16; one compilation for question sets of different widths).
      pad_to: pad each draw's k samples with missing ones to this length (one compilation
        for every k).

    Returns:
      a :class:`SubsampleResult`.

    >>> import jax
    >>> samples = np.array([[[0, 0, 1, 1]], [[1, 1, 1, 0]]])
    >>> out = subsample_replay(jax.random.PRNGKey(0), "agent-forest", samples, 3, 4, 8)
    >>> out.correct.tolist()   # all four samples of both models: 3 votes to 5, always wrong
    [0.0]
    """
    rule = get_rule(rule)
    samples = np.asarray(samples)
    if k < 1 or k > samples.shape[2]:
        raise ValueError(f"k must lie in 1..{samples.shape[2]}, got {k}")
    compact, width = compact_sample_slots(samples, num_answers)
    # Widths rounded up to a multiple of 16: fewer distinct compilations across question sets.
    padded = max(num_slots, -(-width // 16) * 16)
    if padded > width:
        compact = np.where(compact == width - 1, padded - 1, compact)
        width = padded
    length = max(k, pad_to)
    num_models, num_questions, n = samples.shape
    static, learned = _split_context(context, num_models)
    function = _compiled(rule, static, tuple(sorted(learned)), width,
                         rule.select_sequence is not None)
    learned = {name: jnp.asarray(value) for name, value in learned.items()}
    per_block = max(1, _BLOCK_CELLS // max(1, num_models * num_questions * n))
    draw_key, rule_key = jax.random.split(key)
    has_tokens = tokens is not None
    token_array = np.asarray(tokens, dtype=np.float64) if has_tokens else None
    correct, spent_all, token_all = [], [], []
    for start in range(0, num_draws, per_block):
        size = min(per_block, num_draws - start)
        block_key = jax.random.fold_in(draw_key, start)
        positions = np.asarray(draw_positions(block_key, compact >= 0, k, size))  # [R, M, Q, k]
        drawn = np.take_along_axis(compact[None], positions, axis=-1)
        drawn = _pad(drawn.transpose(0, 2, 1, 3), length, -1)  # [R, Q, M, length]
        keys = jax.random.split(jax.random.fold_in(rule_key, start), size * num_questions)
        keys = keys.reshape(size, num_questions, -1)
        answer, spent = function(jnp.asarray(drawn), keys, learned)
        spent = np.asarray(spent, dtype=np.float64)
        if rule.select_sequence is None:
            spent = _spent_per_model(rule, spent, drawn)
        correct.append(np.asarray(answer) == 0)
        spent_all.append(spent)
        if has_tokens:
            drawn_tokens = np.take_along_axis(token_array[None], positions, axis=-1)
            drawn_tokens = _pad(drawn_tokens.transpose(0, 2, 1, 3), length, 0.0)
            used = np.arange(length) < spent[..., None]
            token_all.append(np.where(used, drawn_tokens, 0.0).sum(axis=(-1, -2)))
    correct_draws = np.concatenate(correct).astype(np.float64)
    spent = np.concatenate(spent_all).mean(axis=0).T  # [M, Q]
    mean_tokens = (np.concatenate(token_all).mean(axis=0) if has_tokens
                   else np.full(num_questions, np.nan))
    return SubsampleResult(correct_draws.mean(axis=0), correct_draws, spent, mean_tokens)
