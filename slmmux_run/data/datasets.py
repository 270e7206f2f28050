"""The shared-data loaders and the sample-set type, under their historical import path.

Data layer of the runner (``slmmux_run.data``). This module only re-exports; each piece lives in
a module with one job:

* :mod:`slmmux_run.data.sample_set`: :class:`SampleSet` and the slot convention;
* :mod:`slmmux_run.data.slots`: the one correctness rule and the one slot builder;
* :mod:`slmmux_run.data.shared_samples`: ``samples/*.jsonl`` and ``greedy/*.jsonl`` loaders;
* :mod:`slmmux_run.data.correctness`: ``correctness/*.jsonl`` (:class:`CorrectnessSet`);
* :mod:`slmmux_run.data.splits`: sample-axis and question splits;
* :mod:`slmmux_run.data.sample_files`: :func:`load_sample_set`, any samples file by its schema.

>>> import tempfile, os, json
>>> row = {"task": "t", "question_id": "0", "model": "m", "gold": "7",
...        "answers": ["7", "8", None], "is_correct": [True, False, False]}
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "s.jsonl")
...     _ = open(path, "w").write(json.dumps(row) + "\\n")
...     sample_set = load_samples(path)
>>> sample_set.samples.tolist(), sample_set.slot_labels
([[[0, 1, 2]]], (('7', '8', None),))
"""

from __future__ import annotations

from slmmux_run.data.correctness import CorrectnessSet, correctness_to_counts, load_correctness
from slmmux_run.data.sample_set import (
    MISSING_SAMPLE,
    OTHER_WRONG_LABEL,
    PADDING_LABEL,
    MissingSamplesWarning,
    SampleSet,
)
from slmmux_run.data.shared_samples import load_greedy, load_samples
from slmmux_run.data.splits import split_questions, split_samples

__all__ = [
    "CorrectnessSet",
    "MISSING_SAMPLE",
    "MissingSamplesWarning",
    "OTHER_WRONG_LABEL",
    "PADDING_LABEL",
    "SampleSet",
    "correctness_to_counts",
    "load_correctness",
    "load_greedy",
    "load_samples",
    "split_questions",
    "split_samples",
]
