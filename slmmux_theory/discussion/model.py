"""The discussion ("groupthink") model: LLM-Debate as a Markov chain over the agents' answers.

METHODS.md §6 asks why discussion among small models loses to independent selection. This module
gives a generative model of LLM-Debate, its exact accuracy, a Monte Carlo estimator sharing the same
transition code, and the independent-plurality baseline. It is pure JAX (no I/O), the bottom of the
``slmmux_theory.discussion`` package: :mod:`~slmmux_theory.discussion.measures` holds the
transcript-level groupthink measures of §6.3 and their exact expectations under this chain,
:mod:`~slmmux_theory.discussion.phase` the phase diagram, :mod:`slmmux_theory.discussion.fit` fits
the parameters to transcripts.

**The model.** ``N`` agents, ``A`` answer slots (slot 0 correct, slots ``1..A-2`` wrong and shared,
slot ``A-1`` = ⊥ which never votes), ``R`` rounds (round 1 included).

* Round 1: agent ``i`` draws independently from its answer distribution ``probs[i]``.
* Round ``t >= 2``: given the previous round's answers ``s``, agents revise independently of one
  another. Agent ``i``

  - makes a *social move* with probability ``conformity`` (``conformity_when_correct`` if its own
    previous answer was correct). A social move adopts, with probability ``majority_weight``, the
    plurality of its **peers'** previous answers (⊥ excluded, ties uniform) and otherwise the answer
    of the peer whose message comes **last** in its context (recency). When there is nothing to
    adopt (all peers ⊥, or the last peer ⊥) the agent keeps its own answer.
  - otherwise (a *private move*) keeps its previous answer with probability ``stubbornness`` and
    else re-derives an answer from its **revision law**: ``probs[i]`` tilted by ``revision_shift``
    on the correct slot's log-odds and ``abstain_shift`` on ⊥'s (both ``0``: re-draw from
    ``probs[i]``). Later rounds restate the question inside a longer prompt, so the agent's own
    answer law there need not equal its round-1 law.
  - before any of this, *recognition*: when at least one peer's previous answer is the correct
    slot, with probability ``recognition`` the agent answers the correct slot outright (a shown
    correct answer is checked and accepted: Laughlin's "truth-supported wins"); otherwise the
    social/private mixture above applies. ``recognition = 0`` is the original model.
  - *ability links* (both slopes ``0`` by default): a model that rarely finds the correct answer
    on its own also rarely re-derives it in a later round or recognises it when shown, so the
    recognition probability and the "success" outcome of the state-dependent private law (keep
    when correct, correct when wrong or ⊥) may have their odds multiplied by
    ``exp(slope · ability_i)``, where ``ability_i = logit(probs[i, 0])`` (clipped to
    ``[ABILITY_FLOOR, 1 - ABILITY_FLOOR]``) is the agent's own per-question probability of the
    correct answer. The constants then describe an agent with ``probs[i, 0] = 1/2``, and a
    harder question or question family changes the discussion through the answer
    distributions alone.

* Final answer: plurality of round ``R`` (⊥ excluded, ties uniform; all-⊥ is wrong).

**Presentation order** (who is "last in context"). ``"index"``: peers are listed in agent-index
order, as the LLM-Debate reference code concatenates "One agent solution: ..." blocks, so the last
peer of agent ``i`` is agent ``N-1`` (agent ``N-2`` for agent ``N-1`` itself): a deterministic peer.
``"shuffled"``: the order is shuffled every round, so the last peer is uniform among the peers.
Both keep the chain time-homogeneous.

**Why two conformities.** Debate tasks are "intellective" (a demonstrably correct answer exists);
in the human small-group literature (Laughlin's *truth wins* models) a member holding the correct
answer is harder to move. ``conformity_when_correct < conformity`` is that asymmetry; the model
cannot see correctness, but an agent's correctness correlates with the quality of its own
reasoning, which is what would make it resist. The SLM-MUX paper's dice example (Gemma right in
round 1, abandons it in round 2) is the opposite case; fitting both lets transcripts decide.

**Two checks built into the design.** With ``conformity = 0`` (and equal conformities), no
recognition and no revision shifts, every agent
is an independent chain whose stationary law is ``probs[i]``, so every round, the last included, is
distributed as fresh independent draws and debate accuracy equals independent plurality accuracy
whatever the stubbornness. With ``conformity = 1`` and ``majority_weight = 1`` a unanimous state
is absorbing.
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ABILITY_FLOOR",
    "PRESENTATIONS",
    "PRIVATE_OUTCOMES",
    "PRIVATE_STATES",
    "DebateComparison",
    "DiscussionParams",
    "MonteCarloEstimate",
    "ability_logit",
    "agent_moves",
    "ability_tilted_law",
    "debate_accuracy_exact",
    "debate_accuracy_mc",
    "debate_minus_independent",
    "discussion_params",
    "final_correct_probability",
    "independent_plurality_accuracy_exact",
    "initial_state_distribution",
    "joint_states",
    "last_peer_index",
    "last_peer_weights",
    "next_answer_probabilities",
    "plurality_answer",
    "private_move_probabilities",
    "propagate",
    "revision_probabilities",
    "simulate_debates",
    "state_distributions",
    "transition_matrix",
]

PRESENTATIONS = ("index", "shuffled")
PRIVATE_STATES = ("correct", "wrong", "abstain")  # rows of ``private_law``: own previous state
PRIVATE_OUTCOMES = ("keep", "correct", "abstain", "fresh_wrong")  # its columns
# The outcome of each private-law row that leaves the agent correct ("keep" when correct,
# "correct" when wrong or ⊥): the one whose odds the ability link scales.
_SUCCESS_OUTCOME = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]], dtype=float)
# A plug-in distribution that never saw the correct answer has probs[i, 0] = 0 (logit -inf);
# the floor keeps the ability link finite: about a third of one sample in sixteen.
ABILITY_FLOOR = 0.02


class DiscussionParams(NamedTuple):
    """Conformity parameters of the discussion model (all probabilities in [0, 1]).

    Every field may carry leading batch axes (e.g. posterior draws) when used under ``vmap``.

    Attributes:
      conformity: probability of a social move when the agent's previous answer is not correct.
      conformity_when_correct: probability of a social move when its previous answer is correct.
      majority_weight: within a social move, probability of adopting the peers' plurality rather
        than the last peer's answer (recency).
      stubbornness: within a private move, probability of keeping the previous answer rather than
        re-deriving one from the revision law.
      recognition: probability of answering the correct slot outright when some peer's previous
        answer is correct (before the social/private choice); ``0`` switches it off.
      revision_shift: log-odds shift of the correct slot in the revision law of rounds ``>= 2``;
        a scalar or one value per agent (shape [agents]).
      abstain_shift: log-odds shift of ⊥ in the revision law; a scalar or shape [agents].
      private_law: ``None`` (the private move keeps with ``stubbornness``, else re-derives from
        the revision law) or the state-dependent private law, rows :data:`PRIVATE_STATES` (own
        previous state), columns :data:`PRIVATE_OUTCOMES`, each row a distribution; shape
        [3, 4] (shared) or [agents, 3, 4]. When given it replaces ``stubbornness`` and the
        revision shifts inside the private move.
      ability_slope: log-odds of the private law's success outcome per unit of the agent's
        :func:`ability_logit` (acts only with ``private_law``; ``0`` switches it off).
      recognition_slope: log-odds of ``recognition`` per unit of :func:`ability_logit`.
    """

    conformity: jnp.ndarray
    conformity_when_correct: jnp.ndarray
    majority_weight: jnp.ndarray
    stubbornness: jnp.ndarray
    recognition: jnp.ndarray = 0.0
    revision_shift: jnp.ndarray = 0.0
    abstain_shift: jnp.ndarray = 0.0
    private_law: jnp.ndarray | None = None
    ability_slope: jnp.ndarray = 0.0
    recognition_slope: jnp.ndarray = 0.0


def discussion_params(
    conformity,
    majority_weight,
    stubbornness,
    conformity_when_correct=None,
    *,
    recognition=0.0,
    revision_shift=0.0,
    abstain_shift=0.0,
    private_law=None,
    ability_slope=0.0,
    recognition_slope=0.0,
) -> DiscussionParams:
    """Build :class:`DiscussionParams`; the correct-answer conformity defaults to ``conformity``.

    The later-round terms and ability slopes default to ``0`` (the original model). Scalar ones
    are broadcast to the shape of ``conformity``, so batched parameters stay ``vmap``-able.

    >>> float(discussion_params(0.5, 1.0, 0.0).conformity_when_correct)
    0.5
    """
    if conformity_when_correct is None:
        conformity_when_correct = conformity
    conformity = jnp.asarray(conformity, dtype=float)

    def batched(value):
        value = jnp.asarray(value, dtype=float)
        return jnp.broadcast_to(value, conformity.shape) if value.ndim == 0 else value

    return DiscussionParams(
        conformity=conformity,
        conformity_when_correct=jnp.asarray(conformity_when_correct, dtype=float),
        majority_weight=jnp.asarray(majority_weight, dtype=float),
        stubbornness=jnp.asarray(stubbornness, dtype=float),
        recognition=batched(recognition),
        revision_shift=batched(revision_shift),
        abstain_shift=batched(abstain_shift),
        private_law=None if private_law is None else jnp.asarray(private_law, dtype=float),
        ability_slope=batched(ability_slope),
        recognition_slope=batched(recognition_slope),
    )


def ability_logit(probs):
    """Each agent's ability on the question: ``logit`` of its own correct-slot probability.

    Clipped to ``[ABILITY_FLOOR, 1 - ABILITY_FLOOR]`` so plug-in distributions that never
    saw (or always saw) the correct answer stay finite.

    Args:
      probs: answer distributions, shape [..., agents, answers] (slot 0 correct).

    Returns:
      Shape [..., agents].

    >>> [round(float(x), 4) for x in ability_logit(jnp.array([[0.5, 0.5], [0.0, 1.0]]))]
    [0.0, -3.8918]
    """
    correct = jnp.clip(jnp.asarray(probs, dtype=float)[..., 0], ABILITY_FLOOR, 1.0 - ABILITY_FLOOR)
    return jax.scipy.special.logit(correct)


def _odds_scaled(probability, log_factor):
    """``probability`` with its odds multiplied by ``exp(log_factor)`` (0 and 1 stay put)."""
    factor = jnp.exp(log_factor)
    return probability * factor / (1.0 - probability + probability * factor)


def ability_tilted_law(private_law, log_factor):
    """The private law with each row's success outcome's odds scaled by ``exp(log_factor)``.

    Args:
      private_law: shape [3, 4] or [agents, 3, 4] (rows :data:`PRIVATE_STATES`).
      log_factor: per agent, shape [..., agents] (``ability_slope · ability_logit``).

    Returns:
      Per-agent laws, shape [..., agents, 3, 4]; rows still sum to one and zero entries stay 0.

    >>> law = jnp.array([[0.5, 0.0, 0.25, 0.25], [0.2, 0.2, 0.2, 0.4], [0.5, 0.5, 0.0, 0.0]])
    >>> tilted = ability_tilted_law(law, jnp.log(jnp.array([3.0])))
    >>> [round(float(x), 4) for x in tilted[0, 1]]
    [0.1429, 0.4286, 0.1429, 0.2857]
    """
    law = jnp.asarray(private_law, dtype=float)
    tilt = jnp.exp(jnp.asarray(log_factor, dtype=float)[..., None, None] * _SUCCESS_OUTCOME)
    weights = law * tilt
    return weights / weights.sum(axis=-1, keepdims=True)


def revision_probabilities(probs, revision_shift=0.0, abstain_shift=0.0):
    """The revision law of rounds ``>= 2``: ``probs`` tilted on the correct slot and on ⊥.

    ``q_a ∝ p_a · exp(revision_shift · [a = 0] + abstain_shift · [a = A-1])``, so with
    ``abstain_shift = 0`` the correct slot's log-odds move by exactly ``revision_shift`` and the
    other slots keep their ratios. Slots with probability 0 stay at 0.

    Args:
      probs: answer distributions, shape [..., agents, answers].
      revision_shift: scalar or shape [agents] (broadcast against the leading axes of ``probs``).
      abstain_shift: scalar or shape [agents].

    Returns:
      Distributions of the shape of ``probs``.

    >>> q = revision_probabilities(jnp.array([[0.5, 0.25, 0.25]]), jnp.log(3.0))
    >>> [round(float(x), 6) for x in q[0]]
    [0.75, 0.125, 0.125]
    """
    probs = jnp.asarray(probs, dtype=float)
    num_answers = probs.shape[-1]
    slots = jnp.arange(num_answers)
    tilt = (jnp.asarray(revision_shift, dtype=float)[..., None] * (slots == 0)
            + jnp.asarray(abstain_shift, dtype=float)[..., None] * (slots == num_answers - 1))
    weights = probs * jnp.exp(tilt)
    return weights / weights.sum(axis=-1, keepdims=True)


def private_move_probabilities(states, probs, private_law):
    """Next-answer law of a private move under the state-dependent private law.

    Args:
      states: previous answers, integer array [..., agents].
      probs: the agents' answer distributions, shape [agents, answers] (or with leading axes
        that broadcast against ``states``).
      private_law: rows :data:`PRIVATE_STATES`, columns :data:`PRIVATE_OUTCOMES`, shape [3, 4]
        or [..., agents, 3, 4] (leading axes broadcast against ``states``).

    Returns:
      Probabilities of shape [..., agents, answers].

    >>> law = jnp.array([[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
    >>> p = jnp.array([[0.4, 0.2, 0.2, 0.2], [0.4, 0.2, 0.2, 0.2]])
    >>> private_move_probabilities(jnp.array([0, 1]), p, law).tolist()
    [[0.5, 0.0, 0.0, 0.5], [0.0, 0.5, 0.5, 0.0]]
    """
    probs = jnp.asarray(probs, dtype=float)
    num_answers = probs.shape[-1]
    law = jnp.asarray(private_law, dtype=float)
    slots = jnp.arange(num_answers)
    is_wrong = (slots > 0) & (slots < num_answers - 1)
    wrong_mass = (probs * is_wrong).sum(axis=-1, keepdims=True)
    # A question whose plug-in law has no wrong mass still needs somewhere to send "fresh wrong".
    fresh_wrong = jnp.where(
        wrong_mass > 0, probs * is_wrong / jnp.where(wrong_mass > 0, wrong_mass, 1.0),
        is_wrong / jnp.maximum(is_wrong.sum(), 1),
    )
    state_class = jnp.where(states == 0, 0, jnp.where(states == num_answers - 1, 2, 1))
    rows = (jax.nn.one_hot(state_class, 3)[..., None] * law).sum(axis=-2)
    shape = jnp.broadcast_shapes(states.shape + (num_answers,), fresh_wrong.shape)
    outcomes = jnp.stack(
        [
            jnp.broadcast_to(jax.nn.one_hot(states, num_answers), shape),
            jnp.broadcast_to(jax.nn.one_hot(0, num_answers), shape),
            jnp.broadcast_to(jax.nn.one_hot(num_answers - 1, num_answers), shape),
            jnp.broadcast_to(fresh_wrong, shape),
        ],
        axis=-2,
    )  # [..., agents, 4, answers]
    return jnp.einsum("...ik,...ika->...ia", rows, outcomes)


def last_peer_index(num_agents: int) -> np.ndarray:
    """Last peer in each agent's context under index-order presentation, shape [agents].

    >>> last_peer_index(3).tolist()
    [2, 2, 1]
    """
    if num_agents < 2:
        raise ValueError(f"a debate needs at least 2 agents, got {num_agents}")
    last = np.full(num_agents, num_agents - 1)
    last[num_agents - 1] = num_agents - 2
    return last


def last_peer_weights(num_agents: int, presentation: str = "index") -> np.ndarray:
    """Probability that peer ``j`` comes last in agent ``i``'s context, shape [agents, agents].

    >>> last_peer_weights(3, "shuffled").tolist()
    [[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]]
    """
    if presentation == "index":
        return np.eye(num_agents)[last_peer_index(num_agents)]
    if presentation == "shuffled":
        if num_agents < 2:
            raise ValueError(f"a debate needs at least 2 agents, got {num_agents}")
        return (1.0 - np.eye(num_agents)) / (num_agents - 1)
    raise ValueError(f"presentation must be one of {PRESENTATIONS}, got {presentation!r}")


def _valid_one_hot(answers, num_answers: int):
    """One-hot of answers with the ⊥ column zeroed, shape [..., agents, answers]."""
    return jax.nn.one_hot(answers, num_answers) * (jnp.arange(num_answers) < num_answers - 1)


def next_answer_probabilities(states, probs, params: DiscussionParams, last_peer):
    """Each agent's distribution of its next answer given the previous round.

    Args:
      states: previous-round answers, integer array of shape [..., agents].
      probs: the agents' own answer distributions, shape [agents, answers].
      params: the conformity parameters (scalars; the two revision shifts may be [agents]).
      last_peer: presentation weights from :func:`last_peer_weights`, shape [agents, agents].

    Returns:
      Probabilities of shape [..., agents, answers]; agents revise independently given ``states``.

    >>> p = jnp.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    >>> next_answer_probabilities(jnp.array([1, 1]), p, discussion_params(1.0, 1.0, 0.0),
    ...                           last_peer_weights(2)).tolist()
    [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """
    num_answers = probs.shape[-1]
    own = jax.nn.one_hot(states, num_answers)
    valid = _valid_one_hot(states, num_answers)
    peer_counts = valid.sum(axis=-2, keepdims=True) - valid
    max_count = peer_counts.max(axis=-1, keepdims=True)
    tied = (peer_counts == max_count) & (max_count > 0)
    majority = jnp.where(
        max_count > 0, tied / jnp.maximum(tied.sum(axis=-1, keepdims=True), 1), own
    )
    # Mass on the last peer's answer; whatever is missing (last peer gave ⊥) keeps the own answer.
    recency_valid = jnp.einsum("ij,...ja->...ia", jnp.asarray(last_peer, dtype=float), valid)
    recency = recency_valid + (1.0 - recency_valid.sum(axis=-1, keepdims=True)) * own
    social = params.majority_weight * majority + (1.0 - params.majority_weight) * recency
    ability = ability_logit(probs)
    if params.private_law is None:
        revised = revision_probabilities(probs, params.revision_shift, params.abstain_shift)
        private = params.stubbornness * own + (1.0 - params.stubbornness) * revised
    else:
        law = ability_tilted_law(
            params.private_law, jnp.asarray(params.ability_slope, dtype=float) * ability
        )
        private = private_move_probabilities(states, probs, law)
    conformity = jnp.where(states == 0, params.conformity_when_correct, params.conformity)
    conformity = conformity[..., None]
    mixture = conformity * social + (1.0 - conformity) * private
    # Recognition acts only on an agent not already correct, when a peer shows the correct slot
    # (⊥ is never slot 0); a correct agent's staying is governed by its own conformity.
    shown = ((peer_counts[..., 0] > 0) & (states != 0))[..., None]
    recognition = _odds_scaled(
        jnp.asarray(params.recognition, dtype=float),
        jnp.asarray(params.recognition_slope, dtype=float) * ability,
    )
    recognise = recognition[..., None] * shown
    return recognise * jax.nn.one_hot(0, num_answers) + (1.0 - recognise) * mixture


def joint_states(num_agents: int, num_answers: int) -> np.ndarray:
    """All joint answer states in lexicographic order, shape [answers**agents, agents].

    >>> joint_states(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    return np.array(list(itertools.product(range(num_answers), repeat=num_agents)), dtype=np.int32)


def _plurality_correct(states, num_answers: int):
    """P(plurality of ``states`` is slot 0) with uniform ties, shape [...]; all-⊥ gives 0."""
    counts = _valid_one_hot(states, num_answers).sum(axis=-2)
    max_count = counts.max(axis=-1)
    tied = counts == max_count[..., None]
    return jnp.where(
        max_count > 0, tied[..., 0] / jnp.maximum(tied.sum(axis=-1), 1), 0.0
    )


def final_correct_probability(states, num_answers: int):
    """Probability that the plurality of each state is the correct slot (ties uniform).

    Args:
      states: answers of one round, integer array [..., agents].
      num_answers: number of slots ``A`` (slot ``A-1`` is ⊥ and never votes).

    Returns:
      Array of shape [...]; an all-⊥ round counts as wrong.

    >>> final_correct_probability(jnp.array([[0, 1], [0, 0], [2, 2]]), 3).tolist()
    [0.5, 1.0, 0.0]
    """
    return _plurality_correct(states, num_answers)


def plurality_answer(key, states, num_answers: int):
    """Sample the plurality answer of each round (ties uniform; all-⊥ gives ⊥), shape [...].

    Args:
      key: jax.random key.
      states: answers, integer array [..., agents].
      num_answers: number of slots ``A``.
    """
    counts = _valid_one_hot(states, num_answers).sum(axis=-2)
    max_count = counts.max(axis=-1, keepdims=True)
    tied = (counts == max_count) & (max_count > 0)
    logits = jnp.where(tied, 0.0, -jnp.inf)
    choice = jax.random.categorical(key, jnp.where(max_count > 0, logits, 0.0), axis=-1)
    return jnp.where(max_count[..., 0] > 0, choice, num_answers - 1)


def initial_state_distribution(probs):
    """Round-1 joint distribution over :func:`joint_states`, shape [answers**agents]."""
    num_agents, num_answers = probs.shape
    states = joint_states(num_agents, num_answers)
    return jnp.prod(probs[np.arange(num_agents), states], axis=-1)


def transition_matrix(probs, params: DiscussionParams, presentation: str = "index"):
    """Transition matrix between joint states, shape [answers**agents, answers**agents].

    ``T[s, s'] = prod_i next_answer_probabilities(s)[i, s'_i]``; rows sum to one.
    """
    num_agents, num_answers = probs.shape
    states = joint_states(num_agents, num_answers)
    per_agent = next_answer_probabilities(
        jnp.asarray(states), probs, params, last_peer_weights(num_agents, presentation)
    )
    # The joint states run in lexicographic order (agent 0 slowest), so row s is the outer
    # product of the agents' next-answer laws, flattened: no [s, s', i] gather.
    rows = per_agent[:, 0, :]
    for agent in range(1, num_agents):
        rows = (rows[:, :, None] * per_agent[:, agent, None, :]).reshape(rows.shape[0], -1)
    return rows


def agent_moves(probs, params: DiscussionParams, presentation: str = "index"):
    """Each agent's next-answer law from every joint state, shape [answers**agents, agents, answers].

    The factors of :func:`transition_matrix`: ``T[s, s'] = prod_i moves[s, i, s'_i]``.
    """
    num_agents, num_answers = probs.shape
    states = joint_states(num_agents, num_answers)
    return next_answer_probabilities(
        jnp.asarray(states), probs, params, last_peer_weights(num_agents, presentation)
    )


def propagate(distribution, moves):
    """One round of the chain: ``distribution @ T`` without building the ``A**N x A**N`` matrix.

    ``(d T)[a_0 .. a_{N-1}] = sum_s d[s] prod_i moves[s, i, a_i]``: the first ``N-1`` agents'
    factors are multiplied into ``d`` ([states, A**(N-1)]) and the last one is contracted
    with them, ``A`` times less memory than the matrix and no pass over it.

    Args:
      distribution: over :func:`joint_states`, shape [..., answers**agents].
      moves: :func:`agent_moves`, shape [answers**agents, agents, answers].

    Returns:
      The next round's distribution, shape [..., answers**agents].

    >>> p = jnp.array([[0.6, 0.4, 0.0]] * 3)
    >>> params = discussion_params(0.5, 0.7, 0.2)
    >>> d = initial_state_distribution(p)
    >>> bool(jnp.allclose(propagate(d, agent_moves(p, params)), d @ transition_matrix(p, params)))
    True
    """
    num_states, num_agents, num_answers = moves.shape
    partial_product = distribution[..., :, None] * moves[:, 0, :]
    for agent in range(1, num_agents - 1):
        partial_product = (partial_product[..., :, :, None] * moves[:, agent, None, :]).reshape(
            partial_product.shape[:-1] + (-1,))
    following = jnp.einsum("...sp,sa->...pa", partial_product, moves[:, num_agents - 1, :])
    return following.reshape(following.shape[:-2] + (num_states,))


def state_distributions(probs, params: DiscussionParams, rounds: int, presentation: str = "index"):
    """Joint-state distribution of every round, shape [rounds, answers**agents]."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    moves = agent_moves(probs, params, presentation)
    initial = initial_state_distribution(probs)

    def step(distribution, _):
        following = propagate(distribution, moves)
        return following, following

    _, later = jax.lax.scan(step, initial, None, length=rounds - 1)
    return jnp.concatenate([initial[None], later], axis=0)


@partial(jax.jit, static_argnames=("rounds", "presentation"))
def debate_accuracy_exact(
    probs, params: DiscussionParams, rounds: int, presentation: str = "index"
):
    """Exact probability that the debate's final plurality is correct.

    Propagates the Markov chain over the ``A**N`` joint states (cheap for ``N <= 3``, ``A <= 8``).

    Args:
      probs: the agents' answer distributions for one question, shape [agents, answers].
      params: conformity parameters.
      rounds: number of rounds ``R >= 1`` (round 1 is the independent one).
      presentation: ``"index"`` or ``"shuffled"`` (see the module docstring).

    Returns:
      Scalar accuracy. ``vmap`` over questions for a question set.

    >>> p = jnp.array([[0.6, 0.4, 0.0]] * 3)
    >>> round(float(debate_accuracy_exact(p, discussion_params(0.0, 0.5, 0.3), 3)), 6)
    0.648
    """
    final = state_distributions(probs, params, rounds, presentation)[-1]
    states = joint_states(*probs.shape)
    return final @ _plurality_correct(jnp.asarray(states), probs.shape[-1])


@jax.jit
def independent_plurality_accuracy_exact(probs):
    """Accuracy of the plurality of the agents' independent round-1 answers (no communication).

    >>> round(float(independent_plurality_accuracy_exact(jnp.array([[0.6, 0.4, 0.0]] * 3))), 6)
    0.648
    """
    states = joint_states(*probs.shape)
    return initial_state_distribution(probs) @ _plurality_correct(
        jnp.asarray(states), probs.shape[-1]
    )


class DebateComparison(NamedTuple):
    """Debate against the no-communication counterfactual on one question (or a batch).

    Attributes:
      debate_accuracy: final-round plurality accuracy, shape [...].
      independent_accuracy: round-1 plurality accuracy (each agent answers once, alone), [...].
      difference: ``debate_accuracy - independent_accuracy``; positive when debate helps, [...].
    """

    debate_accuracy: jnp.ndarray
    independent_accuracy: jnp.ndarray
    difference: jnp.ndarray


@partial(jax.jit, static_argnames=("rounds", "presentation"))
def debate_minus_independent(
    probs, params: DiscussionParams, rounds: int, presentation: str = "index"
) -> DebateComparison:
    """Exact debate accuracy minus independent plurality accuracy for one question.

    SLM-MUX with one sample per model degenerates to a tie-break among single answers, so the
    counterfactual here is the plurality of the independent round-1 answers (METHODS §6.3).

    >>> p = jnp.array([[0.6, 0.4, 0.0]] * 3)
    >>> gap = debate_minus_independent(p, discussion_params(0.0, 1.0, 0.5), 2).difference
    >>> abs(float(gap)) < 1e-12  # zero up to rounding
    True
    """
    debate = debate_accuracy_exact(probs, params, rounds, presentation)
    independent = independent_plurality_accuracy_exact(probs)
    return DebateComparison(debate, independent, debate - independent)


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo mean with its standard error.

    Attributes:
      mean: the estimate, shape [...].
      standard_error: sample standard deviation over ``sqrt(num_draws)``, shape [...].
    """

    mean: jnp.ndarray
    standard_error: jnp.ndarray


@partial(jax.jit, static_argnames=("rounds", "num_debates", "presentation"))
def simulate_debates(
    key, probs, params: DiscussionParams, rounds: int, num_debates: int, presentation: str = "index"
):
    """Simulate debate transcripts on one question.

    Args:
      key: jax.random key.
      probs: the agents' answer distributions, shape [agents, answers].
      params: conformity parameters.
      rounds: number of rounds ``R >= 1``.
      num_debates: number of independent debates.
      presentation: ``"index"`` or ``"shuffled"``.

    Returns:
      Answers of shape [debates, rounds, agents] (slot indices).
    """
    num_agents = probs.shape[0]
    last_peer = last_peer_weights(num_agents, presentation)
    first_key, rounds_key = jax.random.split(key)
    logits = jnp.log(probs)
    first = jax.random.categorical(first_key, logits, shape=(num_debates, num_agents))

    def step(states, round_key):
        following = jax.random.categorical(
            round_key, jnp.log(next_answer_probabilities(states, probs, params, last_peer))
        )
        return following, following

    _, later = jax.lax.scan(step, first, jax.random.split(rounds_key, rounds - 1))
    return jnp.concatenate([first[None], later], axis=0).transpose(1, 0, 2)


@partial(jax.jit, static_argnames=("rounds", "num_draws", "presentation"))
def debate_accuracy_mc(
    key, probs, params: DiscussionParams, rounds: int, num_draws: int, presentation: str = "index"
) -> MonteCarloEstimate:
    """Monte Carlo debate accuracy on one question, sharing the exact model's transition code.

    Final-round ties are scored by their expected value (1/#tied when slot 0 is tied), which is
    unbiased for the uniform tie-break and has lower variance than drawing it.

    >>> p = jnp.array([[0.6, 0.4, 0.0]] * 3)
    >>> est = debate_accuracy_mc(jax.random.key(0), p, discussion_params(0.0, 0.5, 0.3), 3, 4000)
    >>> abs(float(est.mean) - 0.648) < 4 * float(est.standard_error)
    True
    """
    answers = simulate_debates(key, probs, params, rounds, num_draws, presentation)
    values = _plurality_correct(answers[:, -1], probs.shape[-1])
    return MonteCarloEstimate(
        values.mean(), values.std(ddof=1) / jnp.sqrt(jnp.asarray(num_draws, dtype=float))
    )
