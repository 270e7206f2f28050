"""Laws of the questions a pilot did not see: Bayesian bootstraps of the pilot questions.

Place in the layers: pure theory (JAX random keys, NumPy arrays; no I/O). A pilot of Q of the
N questions of a task leaves N - Q unseen; a planner that predicts accuracy over all N must say
what those questions are like. These functions answer "which pilot question stands in for each
unseen question, per posterior draw"; :func:`slmmux_theory.planning.predictors.population_draws` then reuses that
question's posterior answer distributions (the models' joint behaviour per question is kept).

* :func:`unseen_question_picks` — the finite-population Bayesian bootstrap (a Pólya urn), and
  with a concentration the Dirichlet-process posterior's extra atom "a new question".
* :func:`shared_failure_questions` — questions on which the pooled crowd of models is wrong.
* :func:`stratified_unseen_picks` — the bootstrap within two strata, shared failures and the
  rest, the failures' share under a Beta posterior, so a small pilot that saw no shared failure
  still allows some (the default of ``slmmux plan``).
* :func:`generic_failure_probs` — the stand-in when the pilot holds no shared failure.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "generic_failure_probs",
    "shared_failure_questions",
    "stratified_unseen_picks",
    "unseen_question_picks",
]


def unseen_question_picks(key, pilot_size: int, num_unseen: int, num_draws: int,
                          concentration: float = 0.0) -> np.ndarray:
    """Which pilot question stands in for each unseen question, per draw.

    The finite-population Bayesian bootstrap (a Polya urn): per draw, weights
    ``w ~ Dirichlet(1, ..., 1[, concentration])`` over the Q pilot questions (and, with a
    positive ``concentration``, one more atom, index Q: "a new question from the base
    population", the Dirichlet-process posterior), then ``num_unseen`` picks from ``w``.
    The weights carry the uncertainty of the question population itself (variance of the
    mean ~ sigma^2/Q); picking uniformly without them would only add sigma^2/(N - Q) around
    the pilot mean.

    Args:
      key: jax.random key.
      pilot_size: Q.
      num_unseen: N - Q.
      num_draws: draws.
      concentration: Dirichlet-process concentration; 0 = plain Bayesian bootstrap.

    Returns:
      int picks in 0..Q (Q only when ``concentration > 0``), shape [draws, num_unseen].

    >>> picks = unseen_question_picks(jax.random.PRNGKey(0), 3, 5, 2)
    >>> picks.shape, bool(picks.max() < 3)
    ((2, 5), True)
    """
    if not concentration >= 0:
        raise ValueError(f"concentration must be >= 0, got {concentration}")
    weight_key, pick_key = jax.random.split(key)
    alpha = jnp.concatenate([jnp.ones(pilot_size),
                             jnp.full(int(concentration > 0), float(concentration))])
    weights = jax.random.dirichlet(weight_key, alpha, (num_draws,))
    return np.asarray(jax.random.categorical(pick_key, jnp.log(weights)[:, None, :],
                                             shape=(num_draws, num_unseen)))


def shared_failure_questions(pilot_counts) -> np.ndarray:
    """Pilot questions on which the crowd of all models is wrong.

    A question is a shared failure when, pooling every model's pilot answers, no answer is
    correct or some wrong answer is given more often than the correct one. On such a question
    almost every subset fails together (on the 13-model GSM8K file: 5 questions where all
    models share one wrong answer, likely gold errors, and a few where the strong models do).

    Args:
      pilot_counts: shape [models, Q, answers] (slot 0 correct, last slot ⊥).

    Returns:
      bool, shape [Q].

    >>> counts = np.array([[[2, 0, 0], [0, 2, 0]], [[1, 1, 0], [1, 1, 0]]])
    >>> shared_failure_questions(counts).tolist()
    [False, True]
    """
    pooled = np.asarray(pilot_counts).sum(0)
    correct = pooled[:, 0]
    wrong = pooled[:, 1:-1].max(-1) if pooled.shape[-1] > 2 else np.zeros_like(correct)
    return (correct == 0) | (wrong > correct)


def stratified_unseen_picks(key, hard, num_unseen: int, num_draws: int,
                            prior=(0.5, 0.5)) -> np.ndarray:
    """Which pilot question stands in for each unseen question: a bootstrap in two strata.

    The plain Bayesian bootstrap (:func:`unseen_question_picks`) can only reuse questions the
    pilot saw: if a pilot of 25 questions holds no shared failure, every draw says none of
    the unseen questions is one, and the interval collapses onto the pilot's ~100 %. Here the
    share ``r`` of shared failures gets a conjugate posterior
    ``r ~ Beta(h + prior[0], Q - h + prior[1])`` (h of the Q pilot questions are failures,
    :func:`shared_failure_questions`; Jeffreys prior by default); each unseen question is a
    failure with probability ``r`` and is then a Bayesian-bootstrap pick among the h failures
    (or, when h = 0, the generic failure, index Q: every model wrong on one shared answer),
    else a pick among the Q - h other questions. With h > 0 this is close to the plain
    bootstrap (whose failure share is ~Beta(h, Q - h)); with h = 0 the failure share still
    has mean 0.5/(Q + 1) and a 95 % quantile near 1.9/(Q + 1).

    Args:
      key: jax.random key.
      hard: bool, shape [Q]: the pilot's shared failures.
      num_unseen: N - Q.
      num_draws: draws.
      prior: Beta prior (a, b) of the failure share.

    Returns:
      int picks in 0..Q (Q = the generic failure, only when no pilot question is one), shape
      [draws, num_unseen].

    >>> picks = stratified_unseen_picks(jax.random.PRNGKey(0), np.array([False, True]), 4, 3)
    >>> picks.shape, bool(picks.max() < 2)
    ((3, 4), True)
    """
    hard = np.asarray(hard, dtype=bool)
    pilot_size = hard.shape[0]
    num_hard = int(hard.sum())
    if num_hard == pilot_size:
        return unseen_question_picks(key, pilot_size, num_unseen, num_draws)
    share_key, stratum_key, easy_key, hard_key = jax.random.split(key, 4)
    share = np.asarray(jax.random.beta(share_key, num_hard + prior[0],
                                       pilot_size - num_hard + prior[1], (num_draws, 1)))
    is_hard = np.asarray(jax.random.uniform(stratum_key, (num_draws, num_unseen))) < share
    easy_index = np.flatnonzero(~hard)
    easy = easy_index[unseen_question_picks(easy_key, easy_index.size, num_unseen, num_draws)]
    if num_hard:
        hard_index = np.flatnonzero(hard)
        failure = hard_index[unseen_question_picks(hard_key, num_hard, num_unseen, num_draws)]
    else:
        failure = np.full((num_draws, num_unseen), pilot_size)
    return np.where(is_hard, failure, easy)


def generic_failure_probs(shape_prefix, num_answers: int) -> np.ndarray:
    """Per-question laws of the generic shared failure: all mass on wrong slot 1 (⊥ if none).

    Args:
      shape_prefix: leading shape, e.g. (draws, models, questions).
      num_answers: A, slots per question (slot 0 correct, last slot ⊥).

    Returns:
      probs, shape [*shape_prefix, A].

    >>> generic_failure_probs((1,), 3).tolist()
    [[0.0, 1.0, 0.0]]
    """
    probs = np.zeros((*shape_prefix, num_answers))
    probs[..., 1 if num_answers > 2 else num_answers - 1] = 1.0
    return probs
