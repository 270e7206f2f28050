"""``slmmux reproduce``: regenerate every figure and table from computation and stored records.

Runner layer: the main job. Each step is a function ``step(context) -> StepResult`` that writes
its figures and tables into the output folder and returns summary rows (claim · paper ·
ours-theory · ours-real). The papers' values come from ``papers/`` (package data); "theory"
values come from the exact engine applied to fitted or plug-in distributions; "real" values are
exact replays of recorded real samples (the shared data and the package's own local runs, in
the experiments folder: see :func:`~slmmux_run.reproduce.context.experiments_dir`). Steps whose
inputs are missing say so and are skipped; nothing is typed in. The steps call library
functions, never the command line.

Modules: ``context`` (context, results, folders), ``claims`` (theory), ``samples`` (replay,
ModelSwitch, search on the shared samples), ``pilot`` (held-out check, plan), ``groupthink``
(debates), ``local`` (the local models' committed run and a fresh one), ``parallel`` (steps in
worker processes, ``--jobs``). JAX's persistent compilation cache between runs is
:mod:`slmmux_run.jax_cache`.
"""

from __future__ import annotations

import time
from typing import Callable

from slmmux_run.reproduce.claims import step_theory
from slmmux_run.reproduce.context import (
    EXPERIMENTS_DIR_ENV,
    Context,
    StepResult,
    SummaryRow,
    experiments_dir,
)
from slmmux_run.reproduce.groupthink import step_groupthink
from slmmux_run.reproduce.local import step_local_live, step_local_run
from slmmux_run.reproduce.pilot import step_heldout, step_plan
from slmmux_run.reproduce.samples import step_model_switch, step_replay, step_search

__all__ = [
    "EXPERIMENTS_DIR_ENV",
    "STEPS",
    "Context",
    "StepResult",
    "SummaryRow",
    "experiments_dir",
    "run_steps",
]

STEPS: dict[str, Callable[[Context], StepResult]] = {
    "theory": step_theory,
    "replay": step_replay,
    "model-switch": step_model_switch,
    "search": step_search,
    "heldout": step_heldout,
    "plan": step_plan,
    "groupthink": step_groupthink,
    "local-run": step_local_run,
    "local-live": step_local_live,
}


def run_steps(context: Context, names=None, jobs: int = 1) -> list[StepResult]:
    """Run the named steps (default all); a failing step is reported, not hidden.

    Args:
      context: the run's context.
      names: the steps, in the order their results are returned (default: :data:`STEPS`).
      jobs: worker processes running steps at once (:mod:`~slmmux_run.reproduce.parallel`);
        1: one after the other in this process. The results are the same either way.

    Progress (steps done/n, what runs, elapsed, and each step's time when it ends) goes to
    stderr through :class:`~slmmux_run.progress.Progress`; a step's own long loops show as its
    children.
    """
    import sys

    from slmmux_run.progress import Progress
    from slmmux_run.jax_cache import enable_compilation_cache
    from slmmux_theory.precision import enable_x64

    names = list(names or STEPS)
    if jobs > 1 and len(names) > 1:
        from slmmux_run.reproduce.parallel import run_parallel

        # Each worker sets JAX up as below. This process computes nothing: it imports JAX
        # (seconds of a core) only when a caller already did, to hand on a cache folder it set.
        cache = enable_compilation_cache(keep_existing=True) if "jax" in sys.modules else None
        return run_parallel(context, names, STEPS, jobs, cache)
    enable_x64()  # the main job is a program: every number is float64, as the CLI's
    # Compiled programs kept between runs ($SLMMUX_JAX_CACHE; "off" turns it off).
    enable_compilation_cache(keep_existing=True)
    results = []
    # No ETA: the steps differ in length by a factor of a hundred.
    with Progress("reproduce", len(names), unit="steps", eta=False) as progress:
        for name in names:
            progress.advance(0, status=name)
            start = time.perf_counter()
            result = STEPS[name](context)
            result.seconds = time.perf_counter() - start
            progress.note(f"reproduce: {name} took {result.seconds:.1f} s"
                          + (f" (skipped: {result.note})" if result.note else ""))
            progress.advance(status=name)
            results.append(result)
    return results
