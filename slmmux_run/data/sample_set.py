"""The one sample-set type: sampled answers of several models as answer-slot indices.

Data layer of the runner (``slmmux_run.data``). Every source of samples (``collect``'s records,
the shared samples and greedy files, debate transcripts) ends as a :class:`SampleSet` built by
:func:`slmmux_run.data.slots.build_sample_set`, in the package-wide slot convention of
:mod:`slmmux_theory.distributions`:

Slot convention (per question): slot 0 is the gold answer; slots ``1 .. A-2`` are the distinct
wrong answers of that question, one slot per distinct string **shared by all models**, ordered
by total frequency over the loaded models (ties: first appearance, scanning models in the
loaded order and samples in recorded order); slot ``A-1`` is ⊥ (``null``, no answer extracted).
``A`` is the same for every question; questions with fewer wrong answers get never-used padding
slots (label ``""``) just before the ⊥ slot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from slmmux_run.errors import UserError

__all__ = [
    "MISSING_SAMPLE",
    "MissingSamplesWarning",
    "OTHER_WRONG_LABEL",
    "PADDING_LABEL",
    "SampleSet",
    "index_of",
    "read_only",
]

MISSING_SAMPLE = -1
"""Value in :attr:`SampleSet.samples` for a sample that was not recorded."""

PADDING_LABEL = ""
"""Label of a never-used padding slot."""

OTHER_WRONG_LABEL = "<other wrong>"
"""Label of the merged "other wrong" slot on a question where answers were merged into it."""


class MissingSamplesWarning(UserWarning):
    """Some (model, question) pairs have fewer samples than the longest row (padded with -1)."""


def index_of(names: Sequence[str], wanted, what: str, where: str) -> list[int]:
    """Indices of ``wanted`` (names or integer positions) in ``names``, in the given order.

    Raises:
      UserError: for an unknown name, an index out of range, or a name given twice.
    """
    if isinstance(wanted, (str, int, np.integer)):
        wanted = [wanted]
    lookup = {name: i for i, name in enumerate(names)}
    indices = []
    for item in wanted:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -len(names) <= item < len(names):
                raise UserError(f"{what} index {item} out of range 0..{len(names) - 1} {where}")
            indices.append(int(item) % len(names))
        elif isinstance(item, str):
            if item not in lookup:
                known = ", ".join(list(names)[:5]) + (", ..." if len(names) > 5 else "")
                raise UserError(f"{what} {item!r} not found {where} (known: {known})")
            indices.append(lookup[item])
        else:
            raise UserError(f"{what} must be given by name or index, got {item!r}")
    if len(set(indices)) != len(indices):
        raise UserError(f"{what} selection {list(wanted)!r} names the same {what} twice")
    return indices


def read_only(array: np.ndarray) -> np.ndarray:
    """A contiguous, write-protected copy or view of ``array``."""
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Sampled answers of several models on several questions, as slot indices.

    Attributes:
      task: the file's ``task`` field, e.g. ``"gsm8k-train"``.
      models: model names, length M.
      question_ids: question ids, length Q.
      slot_labels: per question, the label of each of the A slots: slot 0 the gold string, wrong
        slots their answer string, padding slots ``""``, the merged slot (if any)
        ``OTHER_WRONG_LABEL`` where it is used, the last slot ``None`` (⊥).
      samples: slot index of each sample in recorded order, int, shape [models, questions,
        samples]; ``-1`` marks a sample that was not recorded.
      num_answers: A, the number of slots (same for all questions).
      other_wrong_slot: index of the merged "other wrong" slot when ``max_wrong_slots`` had to
        merge answers, else ``None``. Merging makes distinct wrong answers "agree", which
        distorts plurality votes; the theory should treat this slot as a dispersed tail.
      tokens: generated (completion) tokens of each sample, float, shape [models, questions,
        samples], NaN where unknown; ``None`` when the source holds no token counts at all.

    >>> s = SampleSet("t", ("m",), ("0",), (("7", None),), np.array([[[0, 1, -1]]]), 2, None)
    >>> s.counts.tolist()
    [[[1, 1]]]
    """

    task: str
    models: tuple[str, ...]
    question_ids: tuple[str, ...]
    slot_labels: tuple[tuple[str | None, ...], ...]
    samples: np.ndarray
    num_answers: int
    other_wrong_slot: int | None
    tokens: np.ndarray | None = None

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim != 3 or samples.shape[:2] != (len(self.models), len(self.question_ids)):
            raise ValueError(
                f"samples must have shape [{len(self.models)}, {len(self.question_ids)}, samples],"
                f" got {samples.shape}"
            )
        if len(self.slot_labels) != len(self.question_ids):
            raise ValueError("slot_labels needs one entry per question")
        if samples.size and (samples.min() < MISSING_SAMPLE or samples.max() >= self.num_answers):
            raise ValueError(f"samples must lie in -1..{self.num_answers - 1}")
        object.__setattr__(self, "samples", read_only(samples.astype(np.int64, copy=False)))
        if self.tokens is not None:
            tokens = np.asarray(self.tokens, dtype=np.float64)
            if tokens.shape != samples.shape:
                raise ValueError(f"tokens must have shape {samples.shape}, got {tokens.shape}")
            object.__setattr__(self, "tokens", read_only(tokens))

    @property
    def has_tokens(self) -> bool:
        """Whether token counts are known for at least one sample."""
        return self.tokens is not None and bool(np.isfinite(self.tokens).any())

    def mean_tokens(self) -> np.ndarray:
        """Mean generated tokens per sample of each model over its known samples, shape [models].

        NaN for a model without any token count (or for every model when ``tokens`` is None).
        """
        if self.tokens is None:
            return np.full(self.num_models, np.nan)
        known = np.isfinite(self.tokens)
        total = np.where(known, self.tokens, 0.0).sum(axis=(1, 2))
        count = known.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    @property
    def num_models(self) -> int:
        return len(self.models)

    @property
    def num_questions(self) -> int:
        return len(self.question_ids)

    @property
    def num_samples(self) -> int:
        """Length of the sample axis (the longest row; shorter rows are padded with -1)."""
        return int(self.samples.shape[2])

    @property
    def abstain_slot(self) -> int:
        """Index of the ⊥ slot (always the last one)."""
        return self.num_answers - 1

    @cached_property
    def counts(self) -> np.ndarray:
        """Answer counts, int, shape [models, questions, answers]; missing samples ignored."""
        models, questions, _ = self.samples.shape
        cell = np.arange(models * questions).reshape(models, questions, 1) * self.num_answers
        valid = self.samples != MISSING_SAMPLE
        flat = np.bincount(
            (cell + self.samples)[valid], minlength=models * questions * self.num_answers
        )
        return read_only(flat.reshape(models, questions, self.num_answers))

    @property
    def num_recorded(self) -> np.ndarray:
        """Number of recorded (non-missing) samples, int, shape [models, questions]."""
        return (self.samples != MISSING_SAMPLE).sum(axis=2)

    def select(self, models=None, questions=None, samples=None) -> "SampleSet":
        """A sub-set by model names/indices, question ids/indices and sample positions.

        Slots are kept as they are (the wrong-answer order was fixed over the loaded models);
        use ``load_samples(..., models=...)`` to rebuild slots from a subset instead.

        Args:
          models: names (str) or indices (int), in the wanted order; ``None`` keeps all.
          questions: ids (str) or indices (int), in the wanted order; ``None`` keeps all.
          samples: a slice or indices of the sample axis; ``None`` keeps all.

        >>> s = SampleSet("t", ("a", "b"), ("0",), (("1", None),), np.array([[[0, 1]], [[1, 1]]]),
        ...               2, None)
        >>> s.select(models=["b"], samples=slice(0, 1)).samples.tolist()
        [[[1]]]
        """
        model_index = (
            list(range(self.num_models))
            if models is None
            else index_of(self.models, models, "model", "in this sample set")
        )
        question_index = (
            list(range(self.num_questions))
            if questions is None
            else index_of(self.question_ids, questions, "question", "in this sample set")
        )
        array = self.samples[np.ix_(model_index, question_index)]
        tokens = None if self.tokens is None else self.tokens[np.ix_(model_index, question_index)]
        if samples is not None:
            array = array[:, :, samples]
            if array.ndim != 3:
                raise ValueError("samples must be a slice or a list of indices, not one integer")
            if tokens is not None:
                tokens = tokens[:, :, samples]
        return dataclasses.replace(
            self,
            models=tuple(self.models[i] for i in model_index),
            question_ids=tuple(self.question_ids[i] for i in question_index),
            slot_labels=tuple(self.slot_labels[i] for i in question_index),
            samples=array,
            tokens=tokens,
        )
