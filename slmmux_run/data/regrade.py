r"""Regrade sampled answers with the equivalence grader and merge equal answers into vote groups.

Data layer of the runner (``slmmux_run.data``). The Best-of-∞ files (data README, section F)
flag an answer correct when its string equals the gold string after light normalization, so on
MATH-500 ``14/3`` against ``\frac{14}{3}`` is wrong and the two forms are separate vote groups.
Here every distinct answer of a question is graded against the gold with the package's rule
(:func:`slmmux_run.data.slots.is_correct`, then the symbolic layer of
:func:`slmmux_run.sampling.grade.grade`), and the wrong answers are merged among themselves with
the same grader: this is the ``vote_key="equivalence_class"`` option of METHODS §1.5, not the
paper's string votes.

Merging rule (deterministic, no chains): the distinct answers of a question, over all rows of the
file, are taken by total frequency (ties: first appearance, rows in file order); an answer the
grader finds equal to the gold joins the correct group, whose label is the gold; any other joins
the first wrong group whose *representative* (its most frequent member) it equals, or founds a
new group. Every answer is then replaced by its group's label, so the one slot builder
(:mod:`slmmux_run.data.slots`) sees one string per vote group.

Example:
  >>> regraded = regrade_question([["14/3", r"\frac{14}{3}", "5", "5.0"], ["2", None]],
  ...                             r"\frac{14}{3}")
  >>> regraded.labels
  (('\\frac{14}{3}', '\\frac{14}{3}', '5', '5'), ('2', None))
  >>> regraded.correct
  ((True, True, False, False), (False, False))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from slmmux_run.data.slots import is_correct
from slmmux_run.sampling.grade import grade

__all__ = ["GRADER", "RegradedQuestion", "answers_equal", "regrade_question"]

GRADER = "exact+number+symbolic/1"
"""Names the rule of this module (stored in regraded files): exact match, equal plain numbers,
then the symbolic layer."""

_LAYERS = ("exact", "symbolic")


@functools.lru_cache(maxsize=1 << 16)
def answers_equal(answer: str, other: str) -> bool:
    """Whether two answer strings are the same answer: equal strings, equal plain numbers, or
    equal by the symbolic layer (cached per pair of strings; the grader is deterministic).

    >>> answers_equal("(3,\\\\pi/2)", "(3,\\\\frac{\\\\pi}{2})"), answers_equal("1/2", "1/3")
    (True, False)
    """
    return is_correct(answer, other) or grade(answer, other, _LAYERS).correct


class RegradedQuestion(NamedTuple):
    """One question's answers after the regrade.

    Attributes:
      labels: per row, per sample: the vote-group label (the gold for a correct answer, the
        group's representative otherwise; ``None`` stays ⊥), same nesting as the input.
      correct: per row, per sample: the new verdict, same nesting as the input.
      distinct_answers: distinct answer strings of the question (⊥ excluded).
      groups: vote groups they form (the correct group counted when some answer is in it).
    """

    labels: tuple[tuple[str | None, ...], ...]
    correct: tuple[tuple[bool, ...], ...]
    distinct_answers: int
    groups: int


def regrade_question(rows: Sequence[Sequence[str | None]], gold: str) -> RegradedQuestion:
    """Regrade one question's answers (all rows: every model's samples) against its gold.

    Args:
      rows: per row (a model), its answer strings, ``None`` for ⊥.
      gold: the reference answer.

    Returns:
      :class:`RegradedQuestion` with labels and verdicts in the nesting of ``rows``.
    """
    frequency: dict[str, int] = {}
    for row in rows:
        for answer in row:
            if answer is not None:
                frequency[answer] = frequency.get(answer, 0) + 1
    # Most frequent first, so a group's representative is its most common spelling.
    ordered = sorted(frequency, key=lambda answer: -frequency[answer])
    label_of: dict[str, str] = {}
    representatives: list[str] = []
    any_correct = False
    for answer in ordered:
        if answers_equal(answer, gold):
            label_of[answer], any_correct = gold, True
            continue
        for representative in representatives:
            if answers_equal(answer, representative):
                label_of[answer] = representative
                break
        else:
            representatives.append(answer)
            label_of[answer] = answer
    labels = tuple(tuple(None if a is None else label_of[a] for a in row) for row in rows)
    correct = tuple(tuple(a is not None and label_of[a] == gold for a in row) for row in rows)
    return RegradedQuestion(labels, correct, len(ordered), len(representatives) + any_correct)
