"""Per-question categorical answer distributions: the object every other theory module reads.

For Q questions, M models and A answer slots, ``probs[m, q, a]`` is the probability that one
sample of model ``m`` on question ``q`` lands in slot ``a``. The slot convention is fixed across
the package:

* slot ``0`` is the correct answer;
* slots ``1 .. A-2`` are wrong answers **shared across models** (two models giving the same wrong
  string on a question use the same slot, which is what makes contradiction and groupthink
  possible);
* slot ``A-1`` is "no answer extracted" (abstention, written ⊥ in METHODS.md). It never votes.

Counts use the same layout: ``counts[m, q, a]`` samples of model ``m`` on question ``q`` in slot
``a``. This module holds no I/O: loaders in :mod:`slmmux_run` build the arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

__all__ = [
    "AnswerDistribution",
    "CORRECT_SLOT",
    "abstain_slot",
    "compact_slots",
    "compact_slots_per_model",
    "from_counts",
    "from_probabilities",
    "validate_counts",
    "validate_probabilities",
]

CORRECT_SLOT = 0


def abstain_slot(num_answers: int) -> int:
    """Index of the abstention slot for ``num_answers`` slots (always the last one)."""
    return num_answers - 1


class AnswerDistribution(NamedTuple):
    """Answer distributions of several models on several questions.

    Attributes:
      probs: probabilities, shape [models, questions, answers]; slot 0 correct, last slot ⊥.
    """

    probs: jnp.ndarray

    @property
    def num_models(self) -> int:
        return int(self.probs.shape[0])

    @property
    def num_questions(self) -> int:
        return int(self.probs.shape[1])

    @property
    def num_answers(self) -> int:
        return int(self.probs.shape[2])

    def subset(self, models) -> "AnswerDistribution":
        """The distributions of the listed model indices, in that order."""
        return AnswerDistribution(self.probs[jnp.asarray(models)])


def validate_probabilities(probs, *, atol: float = 1e-6, name: str = "probs") -> np.ndarray:
    """Check a probability tensor and return it as a float64 NumPy array.

    Args:
      probs: array-like, shape [models, questions, answers] with answers >= 2.
      atol: tolerance on each row's sum.
      name: the field name used in error messages.

    Raises:
      ValueError: naming the field and the first offending (model, question).

    >>> validate_probabilities([[[0.5, 0.5]]]).shape
    (1, 1, 2)
    """
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape [models, questions, answers], got {array.ndim} dimensions"
        )
    if array.shape[2] < 2:
        raise ValueError(f"{name} needs at least 2 answer slots (correct and ⊥), got {array.shape[2]}")
    if not np.all(np.isfinite(array)):
        m, q, _ = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"{name}[model {m}, question {q}] is not finite")
    if np.any(array < -atol):
        m, q, _ = np.argwhere(array < -atol)[0]
        raise ValueError(f"{name}[model {m}, question {q}] has a negative probability")
    sums = array.sum(axis=2)
    bad = np.abs(sums - 1.0) > atol
    if np.any(bad):
        m, q = np.argwhere(bad)[0]
        raise ValueError(
            f"{name}[model {m}, question {q}] sums to {sums[m, q]:.6g}, not 1 (tolerance {atol})"
        )
    return np.clip(array, 0.0, None)


def validate_counts(counts, *, name: str = "counts") -> np.ndarray:
    """Check an answer-count tensor [models, questions, answers] of non-negative integers."""
    array = np.asarray(counts)
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape [models, questions, answers], got {array.ndim} dimensions"
        )
    if array.shape[2] < 2:
        raise ValueError(f"{name} needs at least 2 answer slots (correct and ⊥), got {array.shape[2]}")
    if not np.all(np.isfinite(array.astype(np.float64))) or np.any(array != np.round(array)):
        raise ValueError(f"{name} must hold whole numbers")
    if np.any(array < 0):
        m, q, a = np.argwhere(array < 0)[0]
        raise ValueError(f"{name}[model {m}, question {q}, slot {a}] is negative")
    return array.astype(np.int64)


def from_probabilities(probs, *, atol: float = 1e-6) -> AnswerDistribution:
    """Validate and wrap a probability tensor [models, questions, answers]."""
    return AnswerDistribution(jnp.asarray(validate_probabilities(probs, atol=atol)))


def from_counts(counts, *, smoothing: float = 0.0) -> AnswerDistribution:
    """Estimate distributions from answer counts.

    Args:
      counts: shape [models, questions, answers], non-negative integers.
      smoothing: Dirichlet pseudo-count added to every slot. ``0`` gives the empirical
        (plug-in) frequencies, which METHODS.md §5.3 warns overstate concentration; a positive
        value gives the posterior mean under a symmetric Dirichlet prior.

    Returns:
      The estimated distributions.

    Raises:
      ValueError: for negative or fractional counts, or a (model, question) with no sample and
        no smoothing.

    >>> from_counts([[[2, 1, 0]]]).probs.tolist()
    [[[0.6666666666666666, 0.3333333333333333, 0.0]]]
    """
    array = validate_counts(counts).astype(np.float64)
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    total = array.sum(axis=2, keepdims=True) + smoothing * array.shape[2]
    if np.any(total == 0):
        m, q, _ = np.argwhere(total == 0)[0]
        raise ValueError(f"counts[model {m}, question {q}] has no samples; use smoothing > 0")
    return AnswerDistribution(jnp.asarray((array + smoothing) / total))


def compact_slots(array, *, keep: int | None = None):
    """Drop wrong-answer slots that no model uses, question by question.

    Exact enumeration costs grow fast with the number of slots, but a few models rarely use
    more than a handful of answers on one question. Per question, the shared wrong slots are
    reordered by total mass over models (largest first; a stable sort keeps the given order on
    ties) and the trailing columns that are zero everywhere are dropped. Slot 0 (correct) and the
    last slot (⊥) stay in place, so every rule gives the same result on the compacted array.

    Args:
      array: probabilities or counts, shape [models, questions, answers].
      keep: keep at least this many wrong slots (for equal shapes across calls).

    Returns:
      The compacted array, shape [models, questions, answers'] with answers' <= answers.

    >>> compact_slots(np.array([[[1, 0, 2, 0, 0]]])).tolist()
    [[[1, 2, 0]]]
    """
    array = np.asarray(array)
    mass = array[:, :, 1:-1].sum(axis=0)  # [questions, wrong slots]
    order = np.argsort(-mass, axis=1, kind="stable")
    wrong = np.take_along_axis(array[:, :, 1:-1], order[None], axis=2)
    used = int((mass > 0).sum(axis=1).max(initial=0))
    used = max(used, keep or 0)
    return np.concatenate([array[:, :, :1], wrong[:, :, :used], array[:, :, -1:]], axis=2)


def compact_slots_per_model(array):
    """Compact every model on its own slots: valid for per-model laws only.

    SLM-MUX's confidence levels, self-consistency and the oracles depend on each model's own
    count vector, not on which wrong answers two models share; each model can therefore keep
    just the wrong slots it uses. Rules that pool models (Agent Forest, ModelSwitch's vote)
    need :func:`compact_slots` on the group instead.

    Args:
      array: probabilities or counts, shape [models, questions, answers].

    Returns:
      shape [models, questions, answers'], one common width.

    >>> compact_slots_per_model(np.array([[[1, 2, 0, 0]], [[1, 0, 3, 0]]])).tolist()
    [[[1, 2, 0]], [[1, 3, 0]]]
    """
    array = np.asarray(array)
    used = (array[:, :, 1:-1] > 0).sum(axis=2).max(initial=0)
    return np.concatenate([compact_slots(array[m : m + 1], keep=int(used)) for m in range(len(array))])
