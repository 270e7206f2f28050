"""How long does ``slmmux plan`` take on the 13-model GSM8K file, from a pilot of 84 q x 3?

Three plans of the same pilot (the 84 questions ``--seed 0`` draws, the first 3 samples of each
of the 13 models; every pair and triple, SLM-MUX, k = 3, 100 draws), each in a fresh process
so that "cold" includes importing and compiling, then once more in that process ("warm"):

* ``today``: the subsampling path (``slmmux plan --pilot-questions 84 --pilot-samples 3``)
  run from a snapshot of ``--baseline-ref`` (default ``main``: the code before this branch),
  extracted with ``git archive``;
* ``subsample``: the same path with this tree's code;
* ``pilot``: this tree's plan from the pilot written to its own file (``slmmux plan --samples
  PILOT --population 250``).

It prints the cold and warm wall times of each, and how far the pilot path's predictions lie
from today's in units of their Monte Carlo standard error (each from the spread of its own
posterior draws; "equal within MC error" means below 4). Target (issue 17): the pilot path at
most 20 s warm and 60 s cold on 2 cores.

    python -m experiments.benchmarks.plan_speed [--draws 100] [--baseline-ref main]
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


def _child(mode: str, data: str, pilot: str, draws: int, svi_steps: int, sizes: str) -> None:
    """Run one mode twice in this process and print its timings and predictions as JSON."""
    start = time.perf_counter()
    from slmmux_theory import enable_x64

    enable_x64()
    import numpy as np

    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.plan_study import PlanSettings

    subset_sizes = tuple(int(s) for s in sizes.split(","))
    times, output = [], None
    for _ in range(2):
        if mode == "pilot":
            from slmmux_run.plan_study import pilot_plan_result

            settings = PlanSettings(None, None, 0, 3, subset_sizes, ("slm-mux",), "hierarchical",
                                    draws=draws, svi_steps=svi_steps)
            run = pilot_plan_result(load_sample_set(pilot), settings, 250)
        else:
            from slmmux_run.plan_study import plan_result

            full = load_sample_set(data)
            settings = PlanSettings(84, 3, 0, 3, subset_sizes, ("slm-mux",), "hierarchical",
                                    draws=draws, svi_steps=svi_steps)
            run = plan_result(full, settings, np.ones(full.num_models), source=data)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        names = run.output["candidates"]
        output = [{"models": sorted(c["models"]), "predicted": c["predicted_accuracy"],
                   "sd": float(np.std(draw, ddof=1))}
                  for c, draw in zip(names, run.plan.draws)]
    print(json.dumps({"cold": times[0], "warm": times[1], "candidates": output}))


def _write_pilot(data: str, path: Path) -> None:
    """The pilot of the subsampling path (seed 0, 84 questions, 3 samples) as its own file."""
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


def _run(mode, tree, data, pilot, args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, "-m", "experiments.benchmarks.plan_speed", "--child", mode,
               "--data", data, "--pilot", str(pilot), "--draws", str(args.draws),
               "--svi-steps", str(args.svi_steps), "--subset-sizes", args.subset_sizes]
    if mode == "today":
        # The baseline tree has no copy of this script: run the child from this tree's file
        # with the baseline's packages first on the path.
        command[1:3] = [str(Path(__file__).resolve())]
        env["PYTHONPATH"] = os.pathsep.join([str(tree), str(ROOT)])
        command[command.index("--child") + 1] = "subsample"
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed: {done.stderr[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100, help="posterior draws")
    parser.add_argument("--svi-steps", type=int, default=1000, help="SVI steps of the fit")
    parser.add_argument("--subset-sizes", default="2,3", help="subset sizes ranked")
    parser.add_argument("--baseline-ref", default="main",
                        help="git ref of today's implementation ('' to skip it)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pilot", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.data, args.pilot, args.draws, args.svi_steps, args.subset_sizes)
        return 0
    from slmmux_run.data.paths import data_file

    data = str(data_file(SAMPLES))
    with tempfile.TemporaryDirectory() as folder:
        pilot = Path(folder) / "pilot.jsonl"
        _write_pilot(data, pilot)
        results = {}
        baseline = None
        if args.baseline_ref:
            (Path(folder) / "baseline").mkdir()
            baseline = _snapshot(args.baseline_ref, Path(folder) / "baseline")
        if baseline is not None:
            results[f"today ({args.baseline_ref})"] = _run("today", baseline, data, pilot, args)
        results["subsample (this tree)"] = _run("subsample", ROOT, data, pilot, args)
        results["pilot file (this tree)"] = _run("pilot", ROOT, data, pilot, args)
    print(f"plan on {SAMPLES}: pilot 84 q x 3 samples, 13 models, subset sizes "
          f"{args.subset_sizes}, {args.draws} draws, {args.svi_steps} SVI steps; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for label, result in results.items():
        print(f"{label:24} cold {result['cold']:7.1f} s   warm {result['warm']:7.1f} s")
    reference = next(iter(results.values()))
    ours = {tuple(c["models"]): c for c in results["pilot file (this tree)"]["candidates"]}
    z = []
    for c in reference["candidates"]:
        mine = ours[tuple(c["models"])]
        error = np.hypot(c["sd"], mine["sd"]) / np.sqrt(args.draws)
        z.append(abs(mine["predicted"] - c["predicted"]) / error)
    z = np.array(z)
    print(f"pilot file vs {next(iter(results))}: {len(z)} candidates, |difference| / MC "
          f"standard error: median {np.median(z):.2f}, max {z.max():.2f} (equal within MC "
          f"error: max below 4 -> {'yes' if z.max() < 4 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
