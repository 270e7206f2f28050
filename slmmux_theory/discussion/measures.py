"""Operational groupthink measures of debate transcripts, their exact expectations, failure labels.

Theory layer (``slmmux_theory.discussion``; pure JAX/NumPy, no I/O). METHODS.md §6.3 defines the
transcript-level measures read against debate accuracy: correct→wrong and wrong→correct flip
rates, capitulation to the previous round's plurality, adoption of the last-presented peer's
answer (recency), lost-correct and final consensus on a wrong answer. This module computes them
from slot arrays (:func:`groupthink_measures`), gives their exact expectation for one debate under
the discussion chain of :mod:`slmmux_theory.discussion.model`
(:func:`predicted_groupthink_measures`), pools them over questions (:func:`pool_measures`), and
labels failed debates by the operational definition (:func:`classify_failures`).

Slot arrays: ``answers`` of shape [debates, rounds, agents], slot 0 the gold answer, slot
``A-1`` ⊥ (never votes).

Example:
  >>> answers = jnp.array([[[0, 1, 1], [1, 1, 1]]])  # one debate, 2 rounds, 3 agents
  >>> float(groupthink_measures(answers, 3).flips.correct_to_wrong.rate)
  1.0
  >>> classify_failures(np.asarray(answers), num_answers=3).tolist()
  ['groupthink-capitulation']
"""

from __future__ import annotations

import math
from collections import Counter
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.discussion.model import (
    DiscussionParams,
    _plurality_correct,
    _valid_one_hot,
    joint_states,
    last_peer_index,
    agent_moves,
    propagate,
    state_distributions,
)

__all__ = [
    "FAILURE_KINDS",
    "MEASURE_NAMES",
    "CapitulationRates",
    "FlipRates",
    "GroupthinkMeasures",
    "Rate",
    "capitulation_rates",
    "classify_failures",
    "failure_label_shares",
    "final_consensus_on_wrong_rate",
    "flip_rates",
    "groupthink_measures",
    "lost_correct_rate",
    "measure_values",
    "pool_measures",
    "predicted_groupthink_measures",
    "recency_adoption_rate",
]

FAILURE_KINDS = ("groupthink-capitulation", "groupthink-consensus", "other")
# The flat names of :func:`measure_values` (the reports' and checks' keys).
MEASURE_NAMES = ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                 "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong",
                 "capitulation_to_wrong", "capitulation_to_correct", "recency_adoption",
                 "round_one_union")  # fmt: skip


class Rate(NamedTuple):
    """A rate as events over opportunities (both may be expectations per debate).

    Attributes:
      rate: ``events / opportunities`` (NaN when there is no opportunity), shape [...].
      events: number (or expected number) of events, shape [...].
      opportunities: number (or expected number) of opportunities, shape [...].
    """

    rate: jnp.ndarray
    events: jnp.ndarray
    opportunities: jnp.ndarray


def _rate(events, opportunities) -> Rate:
    events = jnp.asarray(events, dtype=float)
    opportunities = jnp.asarray(opportunities, dtype=float)
    rate = jnp.where(opportunities > 0, events / jnp.where(opportunities > 0, opportunities, 1.0),
                     jnp.nan)
    return Rate(rate, events, opportunities)


class FlipRates(NamedTuple):
    """Per agent-round flip rates over rounds ``t >= 2``.

    Attributes:
      correct_to_wrong: among agent-rounds whose previous answer was correct, the share whose
        new answer is not (⊥ counts as not correct).
      wrong_to_correct: among agent-rounds whose previous answer was not correct (⊥ included),
        the share whose new answer is correct.
    """

    correct_to_wrong: Rate
    wrong_to_correct: Rate


class CapitulationRates(NamedTuple):
    """Switching to the previous round's plurality when it differs from the agent's own answer.

    The plurality is over all agents' previous answers (the agent's own included, ⊥ excluded) and
    must be unique; rounds with a tied plurality give no opportunity.

    Attributes:
      to_correct_plurality: when that plurality is the correct slot.
      to_wrong_plurality: when it is a wrong slot.
    """

    to_correct_plurality: Rate
    to_wrong_plurality: Rate


class GroupthinkMeasures(NamedTuple):
    """All transcript-level measures of METHODS §6.3 plus the accuracies they are read against.

    Attributes:
      flips: :class:`FlipRates`.
      capitulation: :class:`CapitulationRates`.
      recency_adoption: among agent-rounds where the last peer's previous answer is valid and
        differs from the agent's own, the share adopting it.
      lost_correct: debates where some agent was correct in round 1 but the final plurality is
        wrong, over all debates (ties scored by expectation).
      final_consensus_on_wrong: debates whose last round is unanimous on one wrong slot.
      debate_accuracy: final-round plurality correct (ties by expectation), over debates.
      independent_accuracy: round-1 plurality correct, over debates (no-communication baseline).
      round_one_union: debates where some agent was correct in round 1.
    """

    flips: FlipRates
    capitulation: CapitulationRates
    recency_adoption: Rate
    lost_correct: Rate
    final_consensus_on_wrong: Rate
    debate_accuracy: Rate
    independent_accuracy: Rate
    round_one_union: Rate


def _unique_plurality(states, num_answers: int):
    """The unique plurality slot of each state, or -1 when tied or all ⊥, shape [...]."""
    counts = _valid_one_hot(states, num_answers).sum(axis=-2)
    max_count = counts.max(axis=-1)
    unique = ((counts == max_count[..., None]).sum(axis=-1) == 1) & (max_count > 0)
    return jnp.where(unique, counts.argmax(axis=-1), -1)


class _TransitionOpportunities(NamedTuple):
    """Per previous state and agent: opportunity indicators and target slots, each [..., agents]."""

    was_correct: jnp.ndarray
    capitulate_correct: jnp.ndarray
    capitulate_wrong: jnp.ndarray
    plurality: jnp.ndarray
    recency: jnp.ndarray
    last_peer_answer: jnp.ndarray


def _transition_opportunities(states, num_answers: int) -> _TransitionOpportunities:
    """Which measures a previous state ``states`` [..., agents] offers each agent an event for."""
    num_agents = states.shape[-1]
    plurality = _unique_plurality(states, num_answers)[..., None]
    plurality = jnp.broadcast_to(plurality, states.shape)
    differs = (plurality >= 0) & (plurality != states)
    last_answer = states[..., last_peer_index(num_agents)]
    recency = (last_answer != num_answers - 1) & (last_answer != states)
    return _TransitionOpportunities(
        was_correct=states == 0,
        capitulate_correct=differs & (plurality == 0),
        capitulate_wrong=differs & (plurality > 0),
        plurality=plurality,
        recency=recency,
        last_peer_answer=last_answer,
    )


def _check_answers(answers):
    answers = jnp.asarray(answers)
    if answers.ndim != 3:
        raise ValueError(
            f"answers must have shape [debates, rounds, agents], got {answers.ndim} dimensions"
        )
    return answers


def flip_rates(answers) -> FlipRates:
    """Correct→wrong and wrong→correct flip rates of transcripts.

    Args:
      answers: slot indices, shape [debates, rounds, agents]; slot 0 is the gold answer.

    >>> a = jnp.array([[[0, 1], [1, 1], [0, 1]]])
    >>> [float(r.rate) for r in flip_rates(a)]
    [1.0, 0.3333333333333333]
    """
    answers = _check_answers(answers)
    previous, following = answers[:, :-1], answers[:, 1:]
    was_correct = previous == 0
    return FlipRates(
        correct_to_wrong=_rate((was_correct & (following != 0)).sum(), was_correct.sum()),
        wrong_to_correct=_rate((~was_correct & (following == 0)).sum(), (~was_correct).sum()),
    )


def capitulation_rates(answers, num_answers: int) -> CapitulationRates:
    """Capitulation to the previous round's (unique) plurality, split by its correctness.

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      num_answers: number of slots ``A`` (slot ``A-1`` is ⊥).

    >>> a = jnp.array([[[0, 1, 1], [1, 1, 1]]])
    >>> float(capitulation_rates(a, 3).to_wrong_plurality.rate)
    1.0
    """
    answers = _check_answers(answers)
    chances = _transition_opportunities(answers[:, :-1], num_answers)
    adopted = answers[:, 1:] == chances.plurality
    return CapitulationRates(
        to_correct_plurality=_rate(
            (chances.capitulate_correct & adopted).sum(), chances.capitulate_correct.sum()
        ),
        to_wrong_plurality=_rate(
            (chances.capitulate_wrong & adopted).sum(), chances.capitulate_wrong.sum()
        ),
    )


def recency_adoption_rate(answers, num_answers: int) -> Rate:
    """Share of agent-rounds adopting the last peer's previous answer (index-order presentation).

    The last peer is :func:`last_peer_index` (agent ``N-1``, or ``N-2`` for agent ``N-1``); only
    agent-rounds where that peer's answer is valid and differs from the agent's own count.

    >>> a = jnp.array([[[0, 1, 2], [2, 1, 2]]])  # last peers: 2, 2, 1; only agent 0 adopts
    >>> float(recency_adoption_rate(a, 4).rate)
    0.3333333333333333
    """
    answers = _check_answers(answers)
    chances = _transition_opportunities(answers[:, :-1], num_answers)
    adopted = answers[:, 1:] == chances.last_peer_answer
    return _rate((chances.recency & adopted).sum(), chances.recency.sum())


def lost_correct_rate(answers, num_answers: int) -> Rate:
    """Debates where some agent was correct in round 1 but the final plurality is wrong.

    Ties in the final round are scored by expectation (a two-way tie with the correct slot counts
    as half lost). The denominator is all debates (debate analogue of union minus accuracy).

    >>> a = jnp.array([[[0, 1, 1], [1, 1, 1]], [[0, 0, 1], [0, 0, 1]]])
    >>> float(lost_correct_rate(a, 3).rate)
    0.5
    """
    answers = _check_answers(answers)
    some_correct = (answers[:, 0] == 0).any(axis=-1)
    final_correct = _plurality_correct(answers[:, -1], num_answers)
    return _rate((some_correct * (1.0 - final_correct)).sum(), answers.shape[0])


def final_consensus_on_wrong_rate(answers, num_answers: int) -> Rate:
    """Debates whose last round is unanimous on one wrong (not ⊥) slot.

    >>> a = jnp.array([[[0, 1], [1, 1]], [[0, 1], [0, 0]]])
    >>> float(final_consensus_on_wrong_rate(a, 3).rate)
    0.5
    """
    answers = _check_answers(answers)
    last = answers[:, -1]
    unanimous = (last == last[:, :1]).all(axis=-1)
    wrong = (last[:, 0] != 0) & (last[:, 0] != num_answers - 1)
    return _rate((unanimous & wrong).sum(), answers.shape[0])


def groupthink_measures(answers, num_answers: int) -> GroupthinkMeasures:
    """Every §6.3 measure of a set of transcripts.

    Args:
      answers: slot indices, shape [debates, rounds, agents]; gold is slot 0, ⊥ is ``A-1``.
      num_answers: number of slots ``A``.
    """
    answers = _check_answers(answers)
    num_debates = answers.shape[0]
    return GroupthinkMeasures(
        flips=flip_rates(answers),
        capitulation=capitulation_rates(answers, num_answers),
        recency_adoption=recency_adoption_rate(answers, num_answers),
        lost_correct=lost_correct_rate(answers, num_answers),
        final_consensus_on_wrong=final_consensus_on_wrong_rate(answers, num_answers),
        debate_accuracy=_rate(_plurality_correct(answers[:, -1], num_answers).sum(), num_debates),
        independent_accuracy=_rate(
            _plurality_correct(answers[:, 0], num_answers).sum(), num_debates
        ),
        round_one_union=_rate((answers[:, 0] == 0).any(axis=-1).sum(), num_debates),
    )


@partial(jax.jit, static_argnames=("rounds", "presentation"))
def predicted_groupthink_measures(
    probs, params: DiscussionParams, rounds: int, presentation: str = "index"
) -> GroupthinkMeasures:
    """Exact expectation of :func:`groupthink_measures` for one debate on one question.

    ``events`` and ``opportunities`` are expectations per debate, so ``rate`` is the limit of the
    pooled empirical rate over many debates on this question. For a question set, ``vmap`` over
    questions and combine with :func:`pool_measures` (ratio of summed expectations).

    Args:
      probs: the agents' answer distributions, shape [agents, answers] (agents >= 2).
      params: conformity parameters.
      rounds: number of rounds ``R >= 1``.
      presentation: how the model orders peers; the recency *measure* always uses index order.
    """
    num_agents, num_answers = probs.shape
    states = jnp.asarray(joint_states(num_agents, num_answers))
    distributions = state_distributions(probs, params, rounds, presentation)
    # Expected visits of each state as the "previous round" of some transition (rounds 1..R-1).
    occupancy = distributions[:-1].sum(axis=0)
    moves = agent_moves(probs, params, presentation)
    chances = _transition_opportunities(states, num_answers)

    def take(slots):
        return jnp.take_along_axis(moves, jnp.maximum(slots, 0)[..., None], axis=-1)[..., 0]

    def expected(indicator, probability):
        return _rate(occupancy @ (indicator * probability).sum(-1), occupancy @ indicator.sum(-1))

    correct = take(jnp.zeros_like(states))
    plurality_correct = _plurality_correct(states, num_answers)
    some_correct = (states == 0).any(axis=-1)
    lost_start = distributions[0] * some_correct

    def step(distribution, _):
        return propagate(distribution, moves), None

    lost_final, _ = jax.lax.scan(step, lost_start, None, length=rounds - 1)
    final = distributions[-1]
    unanimous_wrong = (states == states[:, :1]).all(axis=-1) & (states[:, 0] != 0) & (
        states[:, 0] != num_answers - 1
    )
    return GroupthinkMeasures(
        flips=FlipRates(
            correct_to_wrong=expected(chances.was_correct, 1.0 - correct),
            wrong_to_correct=expected(~chances.was_correct, correct),
        ),
        capitulation=CapitulationRates(
            to_correct_plurality=expected(chances.capitulate_correct, take(chances.plurality)),
            to_wrong_plurality=expected(chances.capitulate_wrong, take(chances.plurality)),
        ),
        recency_adoption=expected(chances.recency, take(chances.last_peer_answer)),
        lost_correct=_rate(lost_final @ (1.0 - plurality_correct), 1.0),
        final_consensus_on_wrong=_rate(final @ unanimous_wrong, 1.0),
        debate_accuracy=_rate(final @ plurality_correct, 1.0),
        independent_accuracy=_rate(distributions[0] @ plurality_correct, 1.0),
        round_one_union=_rate(distributions[0] @ some_correct, 1.0),
    )


def pool_measures(measures: GroupthinkMeasures, weights=None) -> GroupthinkMeasures:
    """Pool measures over a leading questions axis: sum events and opportunities, then divide.

    Args:
      measures: per-question measures, leading axis [questions].
      weights: how many times each question counts, shape [questions] (default 1 each): the
        pooled rate of a set holding question ``q`` ``weights[q]`` times; weight 0 drops a
        question (padding).
    """
    if weights is None:
        return jax.tree_util.tree_map(
            lambda rate: _rate(rate.events.sum(axis=0), rate.opportunities.sum(axis=0)),
            measures,
            is_leaf=lambda node: isinstance(node, Rate),
        )
    weights = jnp.asarray(weights, dtype=float)
    return jax.tree_util.tree_map(
        lambda rate: _rate(weights @ rate.events, weights @ rate.opportunities),
        measures,
        is_leaf=lambda node: isinstance(node, Rate),
    )



def measure_values(measures: GroupthinkMeasures) -> dict[str, float]:
    """The pooled rates of ``measures`` as floats under the flat :data:`MEASURE_NAMES`.

    Args:
      measures: measures of a set of debates (scalar rates, e.g. pooled over questions).

    >>> values = measure_values(groupthink_measures(jnp.array([[[0, 1], [1, 1]]]), 3))
    >>> values["flip_correct_to_wrong"], values["debate_accuracy"]
    (1.0, 0.0)
    """
    return {
        "debate_accuracy": float(measures.debate_accuracy.rate),
        "independent_accuracy": float(measures.independent_accuracy.rate),
        "flip_correct_to_wrong": float(measures.flips.correct_to_wrong.rate),
        "flip_wrong_to_correct": float(measures.flips.wrong_to_correct.rate),
        "lost_correct": float(measures.lost_correct.rate),
        "final_consensus_on_wrong": float(measures.final_consensus_on_wrong.rate),
        "capitulation_to_wrong": float(measures.capitulation.to_wrong_plurality.rate),
        "capitulation_to_correct": float(measures.capitulation.to_correct_plurality.rate),
        "recency_adoption": float(measures.recency_adoption.rate),
        "round_one_union": float(measures.round_one_union.rate),
    }


def classify_failures(answers: np.ndarray, num_answers: int) -> np.ndarray:
    """Operational groupthink label of each debate (METHODS §6.3), no LLM labeler.

    A debate is a failure when its last round's plurality is not uniquely the correct slot.
    A failure is

    * ``"groupthink-capitulation"`` when some agent held the correct answer in a round before
      the last and later moved to a wrong answer that a peer held in the round before its move
      (a correct agent giving in to others);
    * ``"groupthink-consensus"`` when no such capitulation happened but the last round is
      unanimous on a wrong answer that round 1 was not unanimous on (agreement formed by
      discussion, not by independent identical errors);
    * ``"other"`` otherwise (no agent ever right and no converging, or unanimous-wrong from
      round 1: an ability failure, not a discussion one).

    Args:
      answers: slot indices, shape [debates, rounds, agents]; 0 correct, ``num_answers - 1`` ⊥.
      num_answers: A.

    Returns:
      Strings, shape [debates]: ``"correct"`` for debates that did not fail, else one of
      :data:`FAILURE_KINDS`.

    >>> classify_failures(np.array([[[0, 1, 1], [0, 0, 1]]]), 3).tolist()
    ['correct']
    """
    answers = np.asarray(answers)
    bottom = num_answers - 1
    labels = []
    for debate in answers:
        final = debate[-1]
        valid = final[final != bottom]
        counts = Counter(valid.tolist())
        best = max(counts.values()) if counts else 0
        winners = [a for a, c in counts.items() if c == best]
        if winners == [0]:
            labels.append("correct")
            continue
        capitulated = False
        for t in range(1, debate.shape[0]):
            for i in range(debate.shape[1]):
                before, after = debate[t - 1, i], debate[t, i]
                peers = np.delete(debate[t - 1], i)
                if before == 0 and after not in (0, bottom) and after in peers:
                    capitulated = True
        unanimous_wrong = (final == final[0]).all() and final[0] not in (0, bottom)
        first = debate[0]
        if capitulated:
            labels.append("groupthink-capitulation")
        elif unanimous_wrong and not (first == first[0]).all():
            labels.append("groupthink-consensus")
        else:
            labels.append("other")
    return np.array(labels, dtype=object)


def failure_label_shares(labels) -> dict[str, Any]:
    """Counts and shares of :func:`classify_failures` labels (JSON-ready).

    Args:
      labels: one label per debate, shape [debates].

    Returns:
      ``{"debates", "failed", "counts", "shares_of_failures": kind -> share,
      "groupthink_share_of_failures"}``; shares are NaN when no debate failed.

    >>> shares = failure_label_shares(np.array(["correct", "other", "groupthink-consensus"]))
    >>> shares["failed"], shares["groupthink_share_of_failures"]
    (2, 0.5)
    """
    counts = Counter(np.asarray(labels).tolist())
    failed = sum(counts[k] for k in FAILURE_KINDS)
    shares = {k: (counts[k] / failed if failed else math.nan) for k in FAILURE_KINDS}
    groupthink = counts["groupthink-capitulation"] + counts["groupthink-consensus"]
    return {"debates": int(len(labels)), "failed": int(failed), "counts": dict(counts),
            "shares_of_failures": shares,
            "groupthink_share_of_failures": groupthink / failed if failed else math.nan}  # fmt: skip
