"""How long does ``slmmux plan`` take on the 13-model GSM8K file, from a pilot of 84 q x 3?

The pilot (the 84 questions ``--seed 0`` draws from the shared 13-model GSM8K file, the first 3
samples of each model) is written to its own file and planned for a population of 250
questions (every pair and triple, SLM-MUX, k = 3, 100 draws, at most 1000 SVI steps), as
``slmmux plan --samples PILOT --population 250`` does, by two implementations:

* ``baseline``: the code of ``--baseline-ref`` (default ``c1e57ad``, the tree before the speed
  work of issue 17 item 5), extracted with ``git archive``; one fresh process, two calls:
  **cold** = the first call, imports included; **warm** = the second call in that process.
* ``this tree``: two fresh processes sharing one JAX persistent compilation cache folder
  (:mod:`slmmux_run.jax_cache`, pointed at a new empty folder by ``SLMMUX_JAX_CACHE``):
  **cold** = the first call of the first process (empty cache: everything compiled);
  **warm (new process)** = the first call of the second process (cache filled by the first);
  **warm (same process)** = the second call of the second process.

Each time is wall-clock seconds from before the package import (cold) or from the call,
beside the CPU seconds (user + sys) of that process over the same span and the 1-minute load
average before and after: on a shared machine the wall time says little without them. Then
how far this tree's predictions lie from the baseline's, in units of the Monte Carlo standard
error of the difference (each prediction is a mean over posterior draws; its standard error
is their standard deviation / sqrt(draws)); "equal within Monte Carlo error" means below 4.

Target (issue 17): this tree at most 20 s warm and 60 s cold on 2 cores. The run takes about
3 minutes on a quiet 2-core machine.

    python -m experiments.benchmarks.plan_speed [--draws 100] [--baseline-ref c1e57ad]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = "samples/gsm8k_train_250x10_13models.jsonl"
BASELINE_REF = "c1e57ad"
POPULATION = 250


def _load() -> float:
    return os.getloadavg()[0]


def _child(pilot: str, draws: int, svi_steps: int, sizes: str, use_cache: bool) -> None:
    """Plan twice in this process; print each call's wall and CPU time, load, predictions."""
    start, cpu, load = time.perf_counter(), time.process_time(), _load()
    from slmmux_theory import enable_x64

    enable_x64()
    if use_cache:
        from slmmux_run.jax_cache import enable_compilation_cache

        enable_compilation_cache()
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.plan_study import PlanSettings, pilot_plan_result

    subset_sizes = tuple(int(s) for s in sizes.split(","))
    calls = []
    for _ in range(2):
        settings = PlanSettings(None, None, 0, 3, subset_sizes, ("slm-mux",), "hierarchical",
                                draws=draws, svi_steps=svi_steps)
        run = pilot_plan_result(load_sample_set(pilot), settings, POPULATION)
        candidates = [{"models": sorted(c["models"]), "predicted": c["predicted_accuracy"],
                       "sd": float(np.std(draw, ddof=1))}
                      for c, draw in zip(run.output["candidates"], run.plan.draws)]
        calls.append({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu,
                      "load_before": load, "load_after": _load(), "candidates": candidates})
        start, cpu, load = time.perf_counter(), time.process_time(), _load()
    print(json.dumps(calls))


def _write_pilot(data: str, path: Path) -> None:
    """The pilot (seed 0, 84 questions, 3 samples) as a shared samples file of its own."""
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_theory.planning.plan import draw_pilot

    full = load_sample_set(data)
    pilot = full.select(questions=draw_pilot(full.num_questions, 84, 0).tolist(),
                        samples=slice(0, 3))
    rows = []
    for m, model in enumerate(pilot.models):
        for q, qid in enumerate(pilot.question_ids):
            labels = pilot.slot_labels[q]
            answers = [labels[s] for s in pilot.samples[m, q] if s >= 0]
            rows.append({"task": pilot.task, "question_id": qid, "model": model,
                         "gold": labels[0], "answers": answers})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _snapshot(ref: str, folder: Path) -> Path | None:
    """The tree of ``ref`` extracted into ``folder`` (None when git cannot give it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True)
    if archive.returncode != 0:
        print(f"no baseline: git archive {ref} failed: {archive.stderr.decode()[-200:]}")
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _run(tree: Path, pilot: Path, args, cache: str | None) -> list[dict]:
    """One fresh process planning twice with the packages of ``tree``; its two calls."""
    # The child is this file, run by path with ``tree``'s packages first on the path (the
    # baseline tree may hold another version of this script).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(ROOT)]))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", "--pilot", str(pilot),
               "--draws", str(args.draws), "--svi-steps", str(args.svi_steps),
               "--subset-sizes", args.subset_sizes]
    if cache is not None:
        env["SLMMUX_JAX_CACHE"] = cache
        command.append("--use-cache")
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"plan in {tree} failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _line(label: str, call: dict) -> str:
    return (f"{label:34} {call['wall']:7.1f} s wall  {call['cpu']:7.1f} s CPU  "
            f"load {call['load_before']:5.1f} -> {call['load_after']:5.1f}")


def _max_z(reference: list[dict], ours: list[dict], draws: int) -> np.ndarray:
    """|difference| / MC standard error of the difference, per candidate of ``reference``."""
    mine = {tuple(c["models"]): c for c in ours}
    z = []
    for c in reference:
        other = mine[tuple(c["models"])]
        error = np.hypot(c["sd"], other["sd"]) / np.sqrt(draws)
        z.append(abs(other["predicted"] - c["predicted"]) / error)
    return np.array(z)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="posterior draws")
    parser.add_argument("--svi-steps", type=int, default=1000, help="SVI steps of the fit (most)")
    parser.add_argument("--subset-sizes", default="2,3", help="subset sizes ranked")
    parser.add_argument("--baseline-ref", default=BASELINE_REF,
                        help="git ref of the baseline implementation ('' to skip it)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--use-cache", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pilot", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.pilot, args.draws, args.svi_steps, args.subset_sizes, args.use_cache)
        return 0
    from slmmux_run.data.paths import data_file

    data = str(data_file(SAMPLES))
    print(f"plan on {SAMPLES}: pilot 84 q x 3 samples, 13 models, population {POPULATION}, "
          f"subset sizes {args.subset_sizes}, {args.draws} draws, at most {args.svi_steps} SVI "
          f"steps; {os.cpu_count()} cores; times: wall, CPU (user+sys) of the process, "
          f"1-min load average before -> after", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        pilot = Path(folder) / "pilot.jsonl"
        _write_pilot(data, pilot)
        baseline = None
        if args.baseline_ref:
            (Path(folder) / "baseline").mkdir()
            tree = _snapshot(args.baseline_ref, Path(folder) / "baseline")
            if tree is not None:
                baseline = _run(tree, pilot, args, None)
                print(_line(f"baseline {args.baseline_ref}: cold", baseline[0]))
                print(_line(f"baseline {args.baseline_ref}: warm (same process)", baseline[1]),
                      flush=True)
        cache = Path(folder) / "jax_cache"
        first = _run(ROOT, pilot, args, str(cache))
        print(_line("this tree: cold (empty cache)", first[0]))
        print(_line("this tree: second call, same process", first[1]), flush=True)
        second = _run(ROOT, pilot, args, str(cache))
        print(_line("this tree: warm (new process, cache)", second[0]))
        print(_line("this tree: warm (same process)", second[1]), flush=True)
    if baseline is not None:
        print(f"ratio baseline / this tree: cold {baseline[0]['wall'] / first[0]['wall']:.1f}x "
              f"wall ({baseline[0]['cpu'] / first[0]['cpu']:.1f}x CPU), warm "
              f"{baseline[1]['wall'] / second[1]['wall']:.1f}x wall "
              f"({baseline[1]['cpu'] / second[1]['cpu']:.1f}x CPU)")
        z = _max_z(baseline[0]["candidates"], first[0]["candidates"], args.draws)
        print(f"this tree vs baseline: {len(z)} candidates, |difference| / MC standard error: "
              f"median {np.median(z):.2f}, max {z.max():.2f} (equal within MC error: max below "
              f"4 -> {'yes' if z.max() < 4 else 'NO'})")
    z = _max_z(first[0]["candidates"], second[0]["candidates"], args.draws)
    print(f"this tree, cold vs warm process (same seed): max |difference| / MC SE {z.max():.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
