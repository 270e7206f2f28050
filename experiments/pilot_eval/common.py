"""What the pilot study's steps share: k, the protocol's sizes and the two datasets' counts.

Study layer (``experiments/pilot_eval``): ``run.py`` (the protocol) and ``floor.py`` (the oracle
error floor) both import from here, and neither imports the other.
"""

from __future__ import annotations

import numpy as np

from slmmux_run.data.datasets import correctness_to_counts, load_correctness, load_samples
from slmmux_run.data.paths import data_file

__all__ = ["BUDGETS", "K", "MAX_SIZE", "RECORDED", "load"]

K = 3
BUDGETS = (3, 6, 9)
MAX_SIZE = 4
RECORDED = 10


def load(name):
    """(counts [models, questions, answers], model names, kind) of ``samples13`` or ``routerdc7``.

    ``kind`` is ``"ordered"`` when the samples keep their order (a pilot takes the first S),
    ``"counts"`` when only counts are stored (a pilot draws S of 10 without replacement).
    """
    if name == "samples13":
        sample_set = load_samples(data_file("samples/gsm8k_train_250x10_13models.jsonl"))
        return np.asarray(sample_set.counts), sample_set.models, "ordered"
    correctness = load_correctness(data_file("correctness/routerdc_gsm8k_train_7models.jsonl"))
    return correctness_to_counts(correctness), correctness.models, "counts"
