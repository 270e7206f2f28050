"""What independent samples give beside a debate: SLM-MUX, Agent Forest and single models.

Place in the layers: discussion (pure theory over sample arrays; the runner's debate study
loads records, adds token bookkeeping and formats). A debate study compares the debate's
held-out accuracy with methods that never let the agents talk: SLM-MUX and Agent Forest over
the agents' models, and each model's self-consistency, at every k the independent samples
allow. Each accuracy is the exact replay of k of the recorded samples
(:func:`slmmux_theory.engines.replay_table.exact_replay_samples`) beside the plug-in prediction
(:func:`~slmmux_theory.engines.replay_table.plug_in_replay_samples`); SLM-MUX's cross-model
tie-break ranks the models by their per-sample accuracy on the fit questions.

* :func:`independent_comparison`: every (method, k) row;
* :func:`round_one_correct_probability`: each agent's mean chance of a correct first answer
  under the per-question answer laws built from independent samples.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from slmmux_theory.engines.replay import mean_and_standard_error, sample_counts
from slmmux_theory.engines.replay_table import (
    exact_replay_samples,
    plug_in_replay_samples,
    validation_accuracy,
)

__all__ = [
    "IndependentComparison",
    "IndependentRow",
    "compared_rules",
    "independent_comparison",
    "round_one_correct_probability",
]


class IndependentRow(NamedTuple):
    """One method at one k on the held-out questions.

    Attributes:
      rule: registered rule name (``slm-mux``, ``agent-forest``, ``self-consistency``).
      model: the model index of a single-model rule, else None (every model is used).
      k: samples per model.
      accuracy: mean exact-replay accuracy over the questions replayed.
      se: its standard error (ddof 1; NaN with one question).
      questions: questions replayed (finite values).
      predicted: mean plug-in prediction over the same questions' laws.
    """

    rule: str
    model: int | None
    k: int
    accuracy: float
    se: float
    questions: int
    predicted: float


class IndependentComparison(NamedTuple):
    """Outcome of :func:`independent_comparison`.

    Attributes:
      rows: one :class:`IndependentRow` per (method, k), methods in :func:`compared_rules`
        order, k = 1 .. ``k_max`` within each.
      validation: per-sample accuracy of each model on the fit questions, shape [models]
        (NaN without fit questions; SLM-MUX's tie ranks).
      k_max: fewest recorded samples of any (model, held-out question).
    """

    rows: list
    validation: np.ndarray
    k_max: int


def compared_rules(num_models: int) -> list[tuple[str, int | None]]:
    """The (rule, model) methods compared, in order: SLM-MUX, Agent Forest, each model alone.

    >>> compared_rules(2)
    [('slm-mux', None), ('agent-forest', None), ('self-consistency', 0), ('self-consistency', 1)]
    """
    return ([("slm-mux", None), ("agent-forest", None)]
            + [("self-consistency", m) for m in range(num_models)])


def independent_comparison(samples, num_answers: int, fit_questions,
                           held_questions) -> IndependentComparison:
    """SLM-MUX, Agent Forest and every model's self-consistency on the held-out questions.

    Args:
      samples: slot indices of the independent samples (slot 0 correct, last ⊥, negative
        where missing), shape [models, questions, samples].
      num_answers: A.
      fit_questions: question indices whose samples rank the models for ties, int [F].
      held_questions: question indices replayed, int [H].

    Returns:
      an :class:`IndependentComparison` (no rows when some held-out (model, question) has no
      recorded sample: ``k_max`` is then 0).

    Raises:
      ValueError: from the replay engines, for an unregistered rule or too few samples.

    >>> samples = np.array([[[0, 0], [0, 1], [1, 1]], [[0, 1], [1, 1], [0, 0]]])
    >>> result = independent_comparison(samples, 3, [0], [1, 2])
    >>> result.k_max, result.validation.tolist()
    (2, [1.0, 0.5])
    >>> [(r.rule, r.model, r.k, round(r.accuracy, 4)) for r in result.rows[:2]]
    [('slm-mux', None, 1, 0.25), ('slm-mux', None, 2, 0.0)]
    """
    samples = np.asarray(samples)
    fit = np.asarray(fit_questions, dtype=int)
    held = samples[:, np.asarray(held_questions, dtype=int)]
    validation = validation_accuracy(samples, fit)
    k_max = int(sample_counts(held, num_answers).sum(axis=2).min())
    rows = []
    for rule, model in compared_rules(samples.shape[0]):
        for k in range(1, k_max + 1):
            exact, _ = exact_replay_samples(held, num_answers, rule, k, validation=validation,
                                            model=model)  # fmt: skip
            predicted, _ = plug_in_replay_samples(held, num_answers, rule, k,
                                                  validation=validation, model=model)
            mean, se, count = mean_and_standard_error(exact)
            rows.append(IndependentRow(rule, model, k, mean, se, count,
                                       mean_and_standard_error(predicted)[0]))
    return IndependentComparison(rows, validation, k_max)


def round_one_correct_probability(probs) -> np.ndarray:
    """Each agent's chance of a correct first answer, averaged over the questions.

    Args:
      probs: per-question answer laws of the agents (slot 0 correct), shape [Q, agents, A].

    Returns:
      shape [agents].

    >>> round_one_correct_probability(np.array([[[0.5, 0.5]], [[1.0, 0.0]]])).tolist()
    [0.75]
    """
    return np.asarray(np.asarray(probs)[:, :, 0].mean(0))
