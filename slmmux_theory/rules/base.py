"""Selection rules as pure functions of one question's answer counts.

Every rule reads ``counts [models, answers]`` (slot 0 correct, last slot ⊥) and, where its tie
rule needs sample order, ``first_seen [models, answers]``: the position of each answer's first
occurrence in that model's sample sequence (``>= k`` when the answer never occurs). Random tie
rules take an explicit ``key``. Each rule returns a typed outcome whose ``answer`` is a slot index;
the abstention slot (``A - 1``) means "no answer" and is graded wrong. Rules are jit-able and
vmappable over questions (``jax.vmap(rule, in_axes=(0, ..., 0))``).

Each rule's module (:mod:`slmmux_theory.rules.slm_mux`, ...) assembles its selection function
from here with its exact law into a :class:`~slmmux_theory.rules.rule.Rule` value, listed in
:mod:`slmmux_theory.rules.registry`; the exact engine computes the expectation of the selection
over the sampling distribution, Monte Carlo and the replay of recorded samples call it directly.
Method definitions: METHODS.md §1.2–1.4 (SLM-MUX), §4.2 (Agent Forest), §4.3 (oracle),
§7.1–7.3 (ModelSwitch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "draw_from_row",
    "MUX_PRESETS",
    "MuxConfig",
    "MuxOutcome",
    "SwitchConfig",
    "SwitchOutcome",
    "VoteOutcome",
    "confidence_weighted_vote",
    "entropy_weight",
    "first_seen_positions",
    "model_switch_select",
    "mux_preset",
    "mux_select",
    "mux_tie_ranks",
    "oracle_any_mode",
    "oracle_any_sample",
    "plurality_vote",
    "pooled_vote",
    "tie_priority",
]

_BIG = 1 << 30


def _check_choice(field, value, allowed):
    if value not in allowed:
        raise ValueError(f"{field} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True)
class MuxConfig:
    """Options of SLM-MUX (METHODS.md §1.4). Hashable, so it can be a static jit argument.

    Attributes:
      confidence_denominator: ``"k"`` (mode count / samples requested, the paper) or ``"valid"``
        (mode count / non-⊥ samples, the later framework).
      intra_model_tie: ``"random"`` (seeded uniform choice among a model's tied answers) or
        ``"first_seen"`` (the earliest sample among them, the original code).
      cross_model_tie: ``"validation_accuracy"`` (the paper: best validation accuracy, then list
        order), ``"model_order"`` (list order only, the original code) or ``"random"``.
    """

    confidence_denominator: str = "k"
    intra_model_tie: str = "random"
    cross_model_tie: str = "validation_accuracy"

    def __post_init__(self):
        _check_choice("confidence_denominator", self.confidence_denominator, ("k", "valid"))
        _check_choice("intra_model_tie", self.intra_model_tie, ("random", "first_seen"))
        _check_choice(
            "cross_model_tie",
            self.cross_model_tie,
            ("validation_accuracy", "model_order", "random"),
        )


MUX_PRESETS = {
    "paper": MuxConfig("k", "random", "validation_accuracy"),
    "original_code": MuxConfig("k", "first_seen", "model_order"),
    "framework": MuxConfig("valid", "random", "validation_accuracy"),
}


def mux_preset(name: str) -> MuxConfig:
    """The :class:`MuxConfig` of a named preset: ``paper``, ``original_code`` or ``framework``."""
    if name not in MUX_PRESETS:
        raise ValueError(f"unknown SLM-MUX preset {name!r}; choose one of {sorted(MUX_PRESETS)}")
    return MUX_PRESETS[name]


class MuxOutcome(NamedTuple):
    """Result of one SLM-MUX selection.

    Attributes:
      answer: chosen answer slot, shape []; the ⊥ slot when no model has a valid answer.
      model: index of the model whose answer was chosen, shape [] (-1 on abstention).
      confidence: the winning model's mode frequency, shape [].
      tied: whether several models shared the top confidence, shape [].
      mode: each model's voted answer (⊥ slot if it has none), shape [models].
      mode_count: each model's mode count, shape [models].
    """

    answer: jnp.ndarray
    model: jnp.ndarray
    confidence: jnp.ndarray
    tied: jnp.ndarray
    mode: jnp.ndarray
    mode_count: jnp.ndarray


class VoteOutcome(NamedTuple):
    """Result of a plurality-type vote.

    Attributes:
      answer: chosen answer slot, shape []; the ⊥ slot when nothing valid was voted.
      score: the winning answer's vote total (count or weighted score), shape [].
      tied: whether several answers shared the top score, shape [].
    """

    answer: jnp.ndarray
    score: jnp.ndarray
    tied: jnp.ndarray


@dataclass(frozen=True)
class SwitchConfig:
    """Options of ModelSwitch (METHODS.md §7.2–7.5).

    Attributes:
      stop_rule: ``"unanimous"`` (all of a model's samples are the same valid answer) or
        ``"majority_share"`` (its mode share exceeds ``share_threshold``, the 512-sample analysis).
      share_threshold: threshold of the ``majority_share`` rule (0.85 in the paper's analysis).
      weighting: ``"entropy"`` (entropy-weighted vote, §7.3) or ``"plain"`` (pooled majority).
      tie: ``"first_seen"`` (first answer met scanning models, then samples; the code) or
        ``"random"``.
    """

    stop_rule: str = "unanimous"
    share_threshold: float = 0.85
    weighting: str = "entropy"
    tie: str = "first_seen"

    def __post_init__(self):
        _check_choice("stop_rule", self.stop_rule, ("unanimous", "majority_share"))
        _check_choice("weighting", self.weighting, ("entropy", "plain"))
        _check_choice("tie", self.tie, ("first_seen", "random"))
        if not 0.0 <= self.share_threshold < 1.0:
            raise ValueError(f"share_threshold must lie in [0, 1), got {self.share_threshold}")


class SwitchOutcome(NamedTuple):
    """Result of ModelSwitch on one question.

    Attributes:
      answer: chosen answer slot, shape [] (⊥ slot when nothing valid was collected).
      samples_spent: samples actually drawn: models after the stopping one are never called.
      stopped_at: index of the model whose consistency ended the question early, or -1 when all
        models were sampled and the vote decided.
    """

    answer: jnp.ndarray
    samples_spent: jnp.ndarray
    stopped_at: jnp.ndarray


def tie_priority(validation_accuracy=None, num_models: int | None = None) -> np.ndarray:
    """Cross-model tie ranks (lower wins): best validation accuracy, then earlier in the list.

    Missing (NaN) accuracies rank below every known one, as METHODS.md §1.3(e) asks.

    Args:
      validation_accuracy: shape [models], or None for list order.
      num_models: number of models when ``validation_accuracy`` is None.

    Returns:
      int ranks, shape [models]: a permutation of ``0 .. models-1``.

    >>> tie_priority([0.5, 0.9, 0.5]).tolist()
    [1, 0, 2]
    """
    if validation_accuracy is None:
        if num_models is None:
            raise ValueError("give validation_accuracy or num_models")
        return np.arange(num_models)
    accuracy = np.asarray(validation_accuracy, dtype=np.float64)
    key = np.where(np.isnan(accuracy), -np.inf, accuracy)
    order = np.lexsort((np.arange(accuracy.size), -key))
    ranks = np.empty(accuracy.size, dtype=np.int64)
    ranks[order] = np.arange(accuracy.size)
    return ranks


def mux_tie_ranks(
    config: MuxConfig, num_models: int, validation_accuracy=None, priority=None
) -> jnp.ndarray:
    """The cross-model tie ranks SLM-MUX-type rules use under ``config`` (lower wins).

    Explicit ``priority`` wins; else the paper's validation-accuracy order when the config asks for
    it and accuracies are given; else list order (which ``cross_model_tie="random"`` ignores).

    Args:
      config: the rule's options.
      num_models: M.
      validation_accuracy: shape [models], or None.
      priority: explicit ranks, shape [models], or None.

    Returns:
      int ranks, shape [models].

    >>> mux_tie_ranks(MuxConfig(), 3, [0.5, 0.9, 0.5]).tolist()
    [1, 0, 2]
    """
    if priority is not None:
        return jnp.asarray(priority)
    if config.cross_model_tie == "validation_accuracy" and validation_accuracy is not None:
        return jnp.asarray(tie_priority(validation_accuracy))
    return jnp.arange(num_models)


def first_seen_positions(samples, num_answers: int) -> jnp.ndarray:
    """First-occurrence positions of each answer in sample sequences.

    Args:
      samples: slot indices, shape [..., samples]; negative entries are missing samples.
      num_answers: A.

    Returns:
      shape [..., answers]: index of the first sample equal to each slot, or the number of
      samples when the slot never occurs.
    """
    samples = jnp.asarray(samples)
    k = samples.shape[-1]
    hits = samples[..., :, None] == jnp.arange(num_answers)
    positions = jnp.where(hits, jnp.arange(k)[:, None], k)
    return positions.min(axis=-2)


def _gumbel_like(key, shape):
    return jax.random.gumbel(key, shape)


def _pick(mask, key, first_seen, tie):
    """Index of one True entry along the last axis: random (seeded) or the smallest first_seen."""
    if tie == "random":
        noise = _gumbel_like(key, mask.shape)
        return jnp.argmax(jnp.where(mask, noise, -jnp.inf), axis=-1)
    return jnp.argmin(jnp.where(mask, first_seen, _BIG), axis=-1)


def mux_select(
    counts,
    priority=None,
    key=None,
    config: MuxConfig = MuxConfig(),
    first_seen=None,
) -> MuxOutcome:
    """Apply SLM-MUX to one question.

    Args:
      counts: answer counts per model, shape [models, answers] (last slot ⊥).
      priority: cross-model tie ranks (lower wins), shape [models]; see :func:`tie_priority`.
        Defaults to list order. Ignored by ``cross_model_tie="random"``.
      key: jax.random key, needed by the random tie rules.
      config: the method's options.
      first_seen: first-occurrence positions, shape [models, answers]; needed by
        ``intra_model_tie="first_seen"``.

    Returns:
      The selection; ``answer == 0`` means correct.

    >>> import jax.numpy as jnp
    >>> out = mux_select(jnp.array([[2, 1, 0], [0, 3, 0]]))
    >>> int(out.answer), int(out.model)
    (1, 1)
    """
    counts = jnp.asarray(counts)
    num_models, num_answers = counts.shape
    abstain = num_answers - 1
    if priority is None:
        priority = jnp.arange(num_models)
    priority = jnp.asarray(priority)
    if key is None:
        if config.intra_model_tie == "random" or config.cross_model_tie == "random":
            key = jax.random.PRNGKey(0)
    if config.intra_model_tie == "first_seen" and first_seen is None:
        raise ValueError("intra_model_tie='first_seen' needs first_seen positions")
    valid = counts[:, :abstain]
    top = valid.max(axis=1)
    has_valid = top > 0
    is_top = (valid == top[:, None]) & has_valid[:, None]
    if config.intra_model_tie == "random":
        intra_key, cross_key = jax.random.split(key)
        model_keys = jax.random.split(intra_key, num_models)
        mode = jax.vmap(lambda m, k: _pick(m, k, None, "random"))(is_top, model_keys)
    else:
        cross_key = key
        mode = _pick(is_top, None, first_seen[:, :abstain], "first_seen")
    mode = jnp.where(has_valid, mode, abstain)
    if config.confidence_denominator == "k":
        denominator = counts.sum(axis=1)
    else:
        denominator = valid.sum(axis=1)
    denominator = jnp.maximum(denominator, 1)
    # Exact comparison of rationals top_i/den_i by cross-multiplication: no float ties.
    ge = top[:, None] * denominator[None, :] >= top[None, :] * denominator[:, None]
    is_max = ge.all(axis=1) & has_valid
    any_valid = has_valid.any()
    if config.cross_model_tie == "random":
        chosen = _pick(is_max, cross_key, None, "random")
    else:
        chosen = jnp.argmin(jnp.where(is_max, priority, _BIG))
    answer = jnp.where(any_valid, mode[chosen], abstain)
    confidence = top[chosen] / denominator[chosen]
    return MuxOutcome(
        answer=answer,
        model=jnp.where(any_valid, chosen, -1),
        confidence=jnp.where(any_valid, confidence, 0.0),
        tied=is_max.sum() > 1,
        mode=mode,
        mode_count=top,
    )


def _vote(scores, key, tie, order):
    """Plurality over ``scores [answers-1]`` with ``order`` ranking tied answers (first_seen)."""
    top = scores.max()
    valid = top > 0
    # Weighted scores are floats: equal in exact arithmetic may differ in the last bit.
    is_top = (scores >= top - 1e-9 * jnp.maximum(top, 1.0)) & valid
    if tie == "random":
        choice = _pick(is_top, key, None, "random")
    else:
        choice = jnp.argmin(jnp.where(is_top, order, _BIG))
    return choice, top, valid, is_top.sum() > 1


def _pooled_order(counts, first_seen):
    """Position of each answer's first occurrence in the models-then-samples concatenation."""
    samples_bound = counts.sum(axis=1).max() + 1
    model_offset = jnp.arange(counts.shape[0])[:, None] * samples_bound
    position = jnp.where(counts > 0, model_offset + first_seen, _BIG)
    return position.min(axis=0)


def pooled_vote(counts, key=None, tie: str = "random", first_seen=None) -> VoteOutcome:
    """Agent Forest: plurality over the union of all models' samples (METHODS.md §4.2).

    Args:
      counts: shape [models, answers]; labels are shared across models.
      key: jax.random key for ``tie="random"``.
      tie: ``"random"`` (the spec default) or ``"first_seen"`` (models in order, then samples).
      first_seen: shape [models, answers], needed for ``tie="first_seen"``.

    >>> import jax.numpy as jnp
    >>> int(pooled_vote(jnp.array([[2, 1, 0], [0, 2, 0]]), tie="first_seen",
    ...                 first_seen=jnp.array([[0, 2, 3], [3, 0, 3]])).answer)
    1
    """
    counts = jnp.asarray(counts)
    abstain = counts.shape[1] - 1
    if tie not in ("random", "first_seen"):
        raise ValueError(f"tie must be 'random' or 'first_seen', got {tie!r}")
    if tie == "random" and key is None:
        key = jax.random.PRNGKey(0)
    order = None
    if tie == "first_seen":
        if first_seen is None:
            raise ValueError("tie='first_seen' needs first_seen positions")
        order = _pooled_order(counts, jnp.asarray(first_seen))[:abstain]
    scores = counts[:, :abstain].sum(axis=0)
    choice, top, valid, tied = _vote(scores, key, tie, order)
    return VoteOutcome(jnp.where(valid, choice, abstain), top, tied)


def plurality_vote(counts, key=None, tie: str = "random", first_seen=None) -> VoteOutcome:
    """Self-consistency of one model: plurality of its samples.

    Args:
      counts: shape [answers] (last slot ⊥).
      key, tie, first_seen: as in :func:`pooled_vote` (``first_seen`` shape [answers]).
    """
    counts = jnp.asarray(counts)
    fs = None if first_seen is None else jnp.asarray(first_seen)[None]
    return pooled_vote(counts[None], key=key, tie=tie, first_seen=fs)


def confidence_weighted_vote(
    counts, key=None, config: MuxConfig = MuxConfig(), first_seen=None, priority=None
) -> VoteOutcome:
    """Each model votes its mode with weight equal to its confidence; the heaviest answer wins.

    Ties between answers go to the answer of the best-priority model that voted for it (or a
    seeded random choice when ``config.cross_model_tie == "random"``). Modes and confidences are
    those of :func:`mux_select` under ``config``.
    """
    counts = jnp.asarray(counts)
    num_models, num_answers = counts.shape
    abstain = num_answers - 1
    if key is None:
        key = jax.random.PRNGKey(0)
    mode_key, vote_key = jax.random.split(key)
    outcome = mux_select(counts, priority, mode_key, config, first_seen)
    if config.confidence_denominator == "k":
        denominator = counts.sum(axis=1)
    else:
        denominator = counts[:, :abstain].sum(axis=1)
    confidence = outcome.mode_count / jnp.maximum(denominator, 1)
    onehot = jax.nn.one_hot(outcome.mode, num_answers)[:, :abstain]
    scores = (confidence[:, None] * onehot).sum(axis=0)
    if priority is None:
        priority = jnp.arange(num_models)
    best_rank = jnp.where(onehot > 0, jnp.asarray(priority)[:, None], _BIG).min(axis=0)
    tie = "random" if config.cross_model_tie == "random" else "first_seen"
    choice, top, valid, tied = _vote(scores, vote_key, tie, best_rank)
    return VoteOutcome(jnp.where(valid, choice, abstain), top, tied)


def entropy_weight(counts) -> jnp.ndarray:
    """ModelSwitch's internal-consistency weight of each model (METHODS.md §7.3).

    ``w = b + (1 - b)(1 - H / log2 U)`` with ``b = 1/n`` over the ``n`` valid samples and ``U``
    distinct observed answers; ``w = 1`` when ``U = 1`` and ``0`` when nothing is valid.

    Args:
      counts: shape [..., answers] (last slot ⊥, ignored).

    Returns:
      shape [...].

    >>> import jax.numpy as jnp
    >>> round(float(entropy_weight(jnp.array([3, 1, 0]))), 4)
    0.3915
    """
    counts = jnp.asarray(counts)
    valid = counts[..., :-1].astype(jnp.float64)
    n = valid.sum(axis=-1)
    p = valid / jnp.maximum(n, 1)[..., None]
    entropy = -jnp.sum(jnp.where(valid > 0, p * jnp.log2(jnp.where(valid > 0, p, 1.0)), 0.0), -1)
    distinct = (valid > 0).sum(axis=-1)
    max_entropy = jnp.log2(jnp.maximum(distinct, 2))
    base = 1.0 / jnp.maximum(n, 1)
    spread = base + (1.0 - base) * (1.0 - entropy / max_entropy)
    return jnp.where(n == 0, 0.0, jnp.where(distinct == 1, 1.0, spread))


def model_switch_select(
    counts,
    prior_weights=None,
    key=None,
    config: SwitchConfig = SwitchConfig(),
    first_seen=None,
) -> SwitchOutcome:
    """ModelSwitch on one question (METHODS.md §7.1–7.3).

    Models are visited in order; a model other than the last whose samples pass the stop rule
    ends the question with its own mode. Otherwise all collected samples are combined by the
    (entropy-weighted or plain) pooled vote. ``counts`` holds every model's full budget; the
    samples of models after the stopping one count as never drawn.

    Args:
      counts: shape [models, answers]; row sums are the per-model budgets ``n_j``.
      prior_weights: external weights ``W_i``, shape [models]; default 1.
      key: jax.random key for ``config.tie == "random"``.
      config: the variant.
      first_seen: shape [models, answers], needed for ``config.tie == "first_seen"``.
    """
    counts = jnp.asarray(counts)
    num_models, num_answers = counts.shape
    abstain = num_answers - 1
    if prior_weights is None:
        prior_weights = jnp.ones(num_models)
    prior_weights = jnp.asarray(prior_weights, dtype=jnp.float64)
    if config.tie == "random" and key is None:
        key = jax.random.PRNGKey(0)
    if config.tie == "first_seen" and first_seen is None:
        raise ValueError("tie='first_seen' needs first_seen positions")
    budgets = counts.sum(axis=1)
    valid = counts[:, :abstain]
    top = valid.max(axis=1)
    mode = jnp.argmax(valid, axis=1)
    if config.stop_rule == "unanimous":
        stops = (top == budgets) & (budgets > 0)
    else:
        stops = top > config.share_threshold * budgets
    # The last model always leads to aggregation (the code's behaviour, METHODS.md §7.2).
    stops = stops & (jnp.arange(num_models) < num_models - 1)
    any_stop = stops.any()
    stopped_at = jnp.where(any_stop, jnp.argmax(stops), -1)
    spent_until = jnp.where(any_stop, stopped_at, num_models - 1)
    samples_spent = jnp.where(jnp.arange(num_models) <= spent_until, budgets, 0).sum()
    if config.weighting == "entropy":
        weights = prior_weights * entropy_weight(counts)
    else:
        weights = jnp.ones(num_models)
    scores = (weights[:, None] * valid).sum(axis=0)
    order = None
    if config.tie == "first_seen":
        order = _pooled_order(counts, jnp.asarray(first_seen))[:abstain]
    choice, _, valid_vote, _ = _vote(scores, key, config.tie, order)
    voted = jnp.where(valid_vote, choice, abstain)
    answer = jnp.where(any_stop, mode[jnp.maximum(stopped_at, 0)], voted)
    return SwitchOutcome(answer, samples_spent, stopped_at)


def oracle_any_sample(counts) -> jnp.ndarray:
    """Upper-bound oracle: some sample of some model is correct. counts: [models, answers]."""
    return jnp.asarray(counts)[:, 0].max() > 0


def oracle_any_mode(counts, key=None, tie: str = "random", first_seen=None) -> jnp.ndarray:
    """Oracle: some model's voted answer (its plurality, same tie rule) is correct.

    counts: [models, answers]; first_seen: [models, answers] for ``tie="first_seen"``.
    """
    counts = jnp.asarray(counts)
    if key is None:
        key = jax.random.PRNGKey(0)
    keys = jax.random.split(key, counts.shape[0])
    if first_seen is None:
        if tie == "first_seen":
            raise ValueError("tie='first_seen' needs first_seen positions")
        first_seen = jnp.zeros_like(counts)  # unused by the random tie rule
    outcomes = jax.vmap(lambda c, k, f: plurality_vote(c, k, tie, f).answer)(
        counts, keys, jnp.asarray(first_seen)
    )
    return (outcomes == 0).any()


def draw_from_row(left, position, key, num_answers: int):
    """Draw one sample without replacement from row ``position`` of the counts left.

    The step the sequential rules (adaptive stopping, vote stopping) repeat inside a
    ``lax.while_loop``: an empty row draws nothing, so the loop moves on to the next model.

    Args:
      left: counts still undrawn, float [models, A].
      position: the model drawn from, int scalar.
      key: jax.random key.
      num_answers: A.

    Returns:
      (left, take, empty, answer): the counts after the draw, the one-hot draw [A] (zeros when
      the row was empty), whether it was, and the slot drawn.

    >>> left, take, empty, answer = draw_from_row(jnp.array([[0.0, 2.0, 0.0]]), 0,
    ...                                           jax.random.PRNGKey(0), 3)
    >>> left.tolist(), int(answer), bool(empty)
    ([[0.0, 1.0, 0.0]], 1, False)
    """
    row = left[position]
    empty = row.sum() == 0
    answer = jax.random.categorical(key, jnp.log(jnp.maximum(row, 0.0)))
    take = jax.nn.one_hot(answer, num_answers) * (~empty)
    return left.at[position].add(-take), take, empty, answer
