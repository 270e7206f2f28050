"""Fit the Bayesian answer model and print its posterior predictive checks.

Shared by ``slmmux fit --check`` and ``experiments/fit_answer_model/run.py``: timing of a fit, the
replicated-data check for the fitted questions and for new questions from the population, and
the table that prints it. The statistics themselves live in :mod:`slmmux_theory.inference.checks`.
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from slmmux_theory.inference.answer_fit import fit_answer_model
from slmmux_theory.inference.checks import predictive_check
from slmmux_theory.inference.predict import (
    population_predictive_probs,
    posterior_predictive_probs,
    replicate_counts,
)

__all__ = ["STATISTIC_LABELS", "coverage_line", "load_average", "population_check",
           "print_check_table", "replicated_check", "timed_fit"]

STATISTIC_LABELS = ("all-agree", "mode freq", "# distinct", "sample acc", "same-wrong pairs")


def load_average() -> str:
    """The 1-minute load average as text (other jobs on a shared machine stretch wall time)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:  # not available on every platform
        return "n/a"


def timed_fit(key, counts, **options):
    """Fit and time it: (fit, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit = fit_answer_model(key, counts, **options)
    jax.block_until_ready(fit.posterior)
    return fit, time.perf_counter() - wall, time.process_time() - cpu


def replicated_check(key, fit, counts, replicates):
    probs_key, counts_key = jax.random.split(key)
    probs = posterior_predictive_probs(
        probs_key, fit, num_draws=replicates, condition_on_counts=False
    )
    replicated = replicate_counts(counts_key, probs, counts.sum(-1))
    return predictive_check(counts, replicated, level=0.9)


def population_check(key, fit, counts, replicates):
    """New questions from the population; only valid when every model has k samples on all."""
    probs_key, counts_key = jax.random.split(key)
    probs = population_predictive_probs(
        probs_key, fit, counts.shape[1], num_draws=replicates
    )
    replicated = replicate_counts(counts_key, probs, counts.sum(-1))
    return predictive_check(counts, replicated, level=0.9)


def print_check_table(check, models):
    print(f"{'model':36s} " + " ".join(f"{label:>24s}" for label in STATISTIC_LABELS[:4]))
    for index, model in enumerate(models):
        cells = []
        for observed, lower, upper, inside in zip(
            check.observed[:4], check.lower[:4], check.upper[:4], check.inside[:4]
        ):
            mark = " " if bool(inside[index]) else "*"
            cells.append(
                f"{float(observed[index]):6.3f} [{float(lower[index]):5.3f},{float(upper[index]):6.3f}]{mark}"
            )
        print(f"{model[:36]:36s} " + " ".join(f"{cell:>24s}" for cell in cells))
    pairs = np.triu_indices(len(models), k=1)
    observed = np.asarray(check.observed.same_wrong_mode_rate)[pairs]
    lower = np.asarray(check.lower.same_wrong_mode_rate)[pairs]
    upper = np.asarray(check.upper.same_wrong_mode_rate)[pairs]
    print(
        f"same-wrong-mode rate over {observed.size} pairs: observed mean {observed.mean():.4f}, "
        f"mean interval [{lower.mean():.4f}, {upper.mean():.4f}], "
        f"inside {check.inside_fraction().same_wrong_mode_rate:.3f}"
    )
    print("* = outside the 90 % predictive interval")


def coverage_line(check):
    fractions = check.inside_fraction()
    return " ".join(f"{value:>10.3f}" for value in fractions) + f" {check.coverage():>9.3f}"
