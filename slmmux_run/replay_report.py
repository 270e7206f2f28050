"""Presentation of replay results: the fixed-width table of replay rows and the failure counts.

Runner layer, presentation only: these functions format what the replay engine and the record
loader computed (``slmmux mux``, the local-run study and ``slmmux reproduce`` print or store
them); they compute no accuracy.
"""

from __future__ import annotations

import math

__all__ = ["failure_summary", "format_table"]


def failure_summary(record_set) -> dict:
    """Per model: request failures, abstentions (nothing extracted), missing samples, and the
    per-sample accuracy (:func:`slmmux_theory.engines.replay.per_sample_accuracy`)."""
    from slmmux_theory.engines.replay import per_sample_accuracy  # JAX only when called

    names = record_set.sample_set.models
    accuracy = per_sample_accuracy(record_set.sample_set.samples)
    return {
        name: {
            "failed": int(record_set.failed[m].sum()),
            "abstained": int(record_set.abstained[m].sum()),
            "missing": int(record_set.missing[m].sum()),
            "samples": int(record_set.sample_set.samples[m].size),
            "per_sample_accuracy": float(accuracy[m]),
        }
        for m, name in enumerate(names)
    }


def _cell(value: float, error: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f} ± {error:.3f}" if not math.isnan(error) else f"{value:.3f}"


def format_table(rows) -> str:
    """A fixed-width table of replay rows."""
    lines = [f"{'rule':<17} {'models':<24} {'k':>2}  {'literal':>15}  {'exact':>15}  "
             f"{'samples':>7}  {'predicted':>9}  {'n':>4}"]  # fmt: skip
    for row in rows:
        exact = _cell(row.exact, row.exact_se)
        if row.exact_questions < row.questions and not math.isnan(row.exact):
            exact += f" ({row.exact_questions}q)"
        lines.append(
            f"{row.rule:<17} {','.join(row.models):<24} {row.k:>2}  "
            f"{_cell(row.literal, row.literal_se):>15}  {exact:>15}  {row.exact_samples:>7.2f}  "
            f"{'' if math.isnan(row.predicted) else f'{row.predicted:.3f}':>9}  "
            f"{row.questions:>4}"
        )
    return "\n".join(lines)
