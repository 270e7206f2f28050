"""Phase diagram of the discussion model: where debate beats or loses to independent plurality.

Theory layer (``slmmux_theory.discussion``; pure JAX, no I/O). For identical agents whose answer
distributions are set by a correct mass and the concentration of the wrong mass
(:func:`symmetric_answer_probabilities`), :func:`phase_grid` evaluates the exact debate accuracy
of :mod:`slmmux_theory.discussion.model` minus the independent (round-1) plurality accuracy over
a grid of correct masses, wrong-answer concentrations and conformities.

Example:
  >>> grid = phase_grid([0.6], [1.0], [0.0], num_agents=2, num_wrong=2, rounds=2)
  >>> abs(float(grid.difference[0, 0, 0])) < 1e-6  # no conformity: debate = independent
  True
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from slmmux_theory.discussion.model import debate_minus_independent, discussion_params

__all__ = ["PhaseGrid", "phase_grid", "symmetric_answer_probabilities"]


def symmetric_answer_probabilities(
    correct_mass, dominant_wrong_share, num_agents: int = 3, num_wrong: int = 4
):
    """Identical agents with a given correct mass and dispersion of the wrong mass.

    The wrong mass ``1 - correct_mass`` goes ``dominant_wrong_share`` to slot 1 and the rest evenly
    to slots ``2..num_wrong``; ⊥ (slot ``num_wrong + 1``) gets nothing. A share of ``1`` is one
    dominant wrong answer, ``1 / num_wrong`` spreads the wrong mass evenly.

    Returns:
      Probabilities of shape [agents, num_wrong + 2].

    >>> symmetric_answer_probabilities(0.5, 0.5, 1, 2).tolist()
    [[0.5, 0.25, 0.25, 0.0]]
    """
    if num_wrong < 2:
        raise ValueError(f"num_wrong must be >= 2 to vary the dispersion, got {num_wrong}")
    wrong = 1.0 - jnp.asarray(correct_mass, dtype=float)
    share = jnp.asarray(dominant_wrong_share, dtype=float)
    row = jnp.concatenate(
        [
            jnp.asarray(correct_mass, dtype=float)[None],
            (wrong * share)[None],
            jnp.full(num_wrong - 1, wrong * (1.0 - share) / (num_wrong - 1)),
            jnp.zeros(1),
        ]
    )
    return jnp.broadcast_to(row, (num_agents, num_wrong + 2))


class PhaseGrid(NamedTuple):
    """Debate against independent plurality over a grid (identical agents).

    Attributes:
      correct_mass: grid values, shape [C].
      dominant_wrong_share: grid values, shape [D].
      conformity: grid values, shape [P].
      debate_accuracy: shape [P, C, D].
      independent_accuracy: shape [P, C, D].
      difference: debate minus independent, shape [P, C, D]; > 0 where debate wins.
    """

    correct_mass: jnp.ndarray
    dominant_wrong_share: jnp.ndarray
    conformity: jnp.ndarray
    debate_accuracy: jnp.ndarray
    independent_accuracy: jnp.ndarray
    difference: jnp.ndarray


def phase_grid(
    correct_masses,
    dominant_wrong_shares,
    conformities,
    *,
    majority_weight: float = 0.5,
    stubbornness: float = 0.5,
    correct_conformity_ratio: float = 1.0,
    num_agents: int = 3,
    num_wrong: int = 4,
    rounds: int = 3,
    presentation: str = "index",
) -> PhaseGrid:
    """Where debate beats or loses to independent plurality.

    Args:
      correct_masses: each agent's probability of the correct answer, shape [C].
      dominant_wrong_shares: share of the wrong mass on the most popular wrong answer, in
        ``[1 / num_wrong, 1]``, shape [D].
      conformities: social-move probabilities of agents holding a wrong answer, shape [P].
      majority_weight: majority pull versus recency within a social move.
      stubbornness: keep versus re-draw within a private move.
      correct_conformity_ratio: ``conformity_when_correct / conformity``; ``1`` is symmetric,
        below ``1`` agents holding the correct answer resist ("truth wins" asymmetry).
      num_agents: agents in the debate.
      num_wrong: number of distinct wrong slots.
      rounds: rounds of the debate, round 1 included.
      presentation: peer order (see the module docstring).
    """
    correct_masses = jnp.asarray(correct_masses, dtype=float)
    dominant_wrong_shares = jnp.asarray(dominant_wrong_shares, dtype=float)
    conformities = jnp.asarray(conformities, dtype=float)

    def one(conformity, correct_mass, share):
        probs = symmetric_answer_probabilities(correct_mass, share, num_agents, num_wrong)
        params = discussion_params(
            conformity, majority_weight, stubbornness, correct_conformity_ratio * conformity
        )
        return debate_minus_independent(probs, params, rounds, presentation)

    over_share = jax.vmap(one, in_axes=(None, None, 0))
    over_mass = jax.vmap(over_share, in_axes=(None, 0, None))
    over_conformity = jax.vmap(over_mass, in_axes=(0, None, None))
    comparison = over_conformity(conformities, correct_masses, dominant_wrong_shares)
    return PhaseGrid(
        correct_mass=correct_masses,
        dominant_wrong_share=dominant_wrong_shares,
        conformity=conformities,
        debate_accuracy=comparison.debate_accuracy,
        independent_accuracy=comparison.independent_accuracy,
        difference=comparison.difference,
    )
