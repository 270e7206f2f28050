"""Split a :class:`~slmmux_run.data.sample_set.SampleSet` by samples or by questions.

Data layer of the runner (``slmmux_run.data``): held-out tests fit on the first samples and
check on the rest, or fit on some questions and predict the others.
"""

from __future__ import annotations

import numpy as np

from slmmux_run.data.sample_set import SampleSet

__all__ = ["split_questions", "split_samples"]


def split_samples(sample_set: SampleSet, fit_samples: int) -> tuple[SampleSet, SampleSet]:
    """Split the sample axis: the first ``fit_samples`` samples vs. the rest.

    Recorded order is kept, so the split is the one a run would have seen (first samples used
    for fitting, later ones held out).

    >>> s = SampleSet("t", ("m",), ("0",), (("1", None),), np.array([[[0, 0, 1]]]), 2, None)
    >>> [part.samples.tolist() for part in split_samples(s, 2)]
    [[[[0, 0]]], [[[1]]]]
    """
    if not isinstance(fit_samples, (int, np.integer)) or not 0 < fit_samples < sample_set.num_samples:
        raise ValueError(
            f"fit_samples must be an integer in 1..{sample_set.num_samples - 1}, got {fit_samples!r}"
        )
    return (
        sample_set.select(samples=slice(0, int(fit_samples))),
        sample_set.select(samples=slice(int(fit_samples), None)),
    )


def split_questions(
    sample_set: SampleSet, fraction: float, key_or_seed
) -> tuple[SampleSet, SampleSet]:
    """Split the questions at random: ``round(fraction * Q)`` questions vs. the rest.

    Each part keeps the original question order.

    Args:
      sample_set: the set to split.
      fraction: share of questions in the first part, in (0, 1).
      key_or_seed: an integer seed (NumPy ``default_rng``) or a ``jax.random`` key.

    Raises:
      ValueError: if a part would be empty.

    >>> s = SampleSet("t", ("m",), ("0", "1", "2", "3"), (("1", None),) * 4,
    ...               np.zeros((1, 4, 1), int), 2, None)
    >>> first, rest = split_questions(s, 0.5, 0)
    >>> sorted(first.question_ids + rest.question_ids)
    ['0', '1', '2', '3']
    """
    total = sample_set.num_questions
    size = int(round(float(fraction) * total))
    if not (0.0 < float(fraction) < 1.0) or not 0 < size < total:
        raise ValueError(
            f"fraction {fraction} of {total} questions leaves a part empty; use 0 < fraction < 1"
        )
    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        order = np.random.default_rng(int(key_or_seed)).permutation(total)
    else:
        import jax  # imported here so that loading data never pays for jax start-up

        order = np.asarray(jax.random.permutation(key_or_seed, total))
    first = sorted(order[:size].tolist())
    rest = sorted(order[size:].tolist())
    return sample_set.select(questions=first), sample_set.select(questions=rest)
