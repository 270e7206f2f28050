"""How long does each step of the main job (``slmmux reproduce``) take, today vs this tree?

Runs the main job's steps (:func:`slmmux_run.reproduce.run_steps`, the code behind ``slmmux
reproduce``) in a fresh process per tree, so "cold" includes importing and compiling as a user's
first run does, and measures each step's **CPU time** (user + system of the whole process, every
JAX thread included: ``resource.getrusage(RUSAGE_SELF)`` before and after the step) beside its
wall time. On a shared machine the wall time depends on the load; the CPU time hardly does, so
compare CPU seconds (the 1-minute load average at the start and end of each run is printed
beside them). The two trees:

* ``baseline``: a snapshot of ``--baseline-ref`` (default ``main``) extracted with ``git
  archive``;
* ``this tree``: the checkout this script lives in.

Both run one after the other on the same machine (never at once). It prints per step the CPU
and wall seconds of each and their ratio, the process totals, and every summary row that
differs between the two (a faster step must give the same rows, or the report says why).

    python -m experiments.benchmarks.main_job [--steps replay,model-switch] [--baseline-ref main]
        [--compilation-cache DIR] [--jobs N]

``--jobs N`` (N > 1) runs this tree's steps in N worker processes (``reproduce --jobs``; the
baseline runs in one process, as every tree before it could): the step's wall seconds are then
measured in its worker and its CPU seconds are not known alone (shown as nan); the process
total counts the workers (``RUSAGE_CHILDREN``), and the total wall time is printed.

``--compilation-cache DIR`` sets ``$SLMMUX_JAX_CACHE`` for both runs (JAX's persistent
compilation cache; see ``slmmux_run.jax_cache``); by default each run gets its own
empty folder, so both are cold. Target (issue 14): the whole job within 5 minutes of wall time
on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]


def _child(names: list[str], out: str, jobs: int = 1) -> None:
    """Run the steps through ``run_steps`` with each step timed; print JSON on the last line."""
    import resource
    import time

    def cpu(who=resource.RUSAGE_SELF) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    from slmmux_run.reproduce import STEPS, Context, run_steps

    if jobs > 1:  # the steps run in workers: each step's wall from its worker, CPU in total
        wall_start = time.perf_counter()
        results = run_steps(Context(out=Path(out)), names, jobs=jobs)
        wall = time.perf_counter() - wall_start
        print(json.dumps({
            "timings": {r.name: {"cpu": float("nan"), "wall": r.seconds} for r in results},
            "rows": {r.name: [list(row.__dict__.values()) for row in r.summary] for r in results},
            "notes": {r.name: r.note for r in results if r.note},
            "total_cpu": cpu() + cpu(resource.RUSAGE_CHILDREN), "total_wall": wall}))
        return

    timings = {}

    def timed(name, step):
        def run(context):
            cpu_start, wall_start = cpu(), time.perf_counter()
            result = step(context)
            timings[name] = {"cpu": cpu() - cpu_start, "wall": time.perf_counter() - wall_start}
            return result

        return run

    for name in names:
        STEPS[name] = timed(name, STEPS[name])
    wall_start = time.perf_counter()
    results = run_steps(Context(out=Path(out)), names)
    wall = time.perf_counter() - wall_start
    rows = {r.name: [list(row.__dict__.values()) for row in r.summary] for r in results}
    notes = {r.name: r.note for r in results if r.note}
    print(json.dumps({"timings": timings, "rows": rows, "notes": notes, "total_cpu": cpu(),
                      "total_wall": wall}))


def _snapshot(ref: str, folder: Path) -> Path | None:
    """The tree of ``ref`` extracted into ``folder`` (None when git cannot give it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True)
    if archive.returncode != 0:
        print(f"no baseline: git archive {ref} failed: {archive.stderr.decode()[-200:]}")
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _run(tree: Path, names: list[str], out: Path, cache: str, data: str, jobs: int = 1) -> dict:
    # The child runs this file with the tree's packages first on the path (a baseline tree may
    # have no copy of this script); the experiments folder is the tree's own, the data folder
    # this checkout's (a snapshot has no ../shared/data beside it).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(ROOT)]),
               SLMMUX_EXPERIMENTS_DIR=str(tree / "experiments"), SLMMUX_JAX_CACHE=cache,
               SLMMUX_DATA_DIR=data)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", ",".join(names),
               "--out", str(out)] + (["--jobs", str(jobs)] if jobs > 1 else [])
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{tree} failed (exit {done.returncode}): {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(results: dict[str, dict], names: list[str]) -> None:
    labels = list(results)
    print(f"{'step':<14}" + "".join(f"{label + ' cpu':>20}{'wall':>9}" for label in labels)
          + ("   cpu ratio" if len(labels) == 2 else ""))
    for name in names:
        line = f"{name:<14}"
        cpus = []
        for label in labels:
            missing = {"cpu": float("nan"), "wall": float("nan")}
            timing = results[label]["timings"].get(name, missing)
            cpus.append(timing["cpu"])
            line += f"{timing['cpu']:>18.1f} s{timing['wall']:>7.1f} s"
        if len(labels) == 2 and cpus[1] > 0:
            line += f"   {cpus[0] / cpus[1]:>6.1f}x"
        print(line)
    print(f"{'process total':<14}" + "".join(
        f"{results[label]['total_cpu']:>18.1f} s"
        + (f"{results[label]['total_wall']:>7.1f} s" if "total_wall" in results[label]
           else f"{'':>9}") for label in labels))
    for label in labels:
        if "load" in results[label]:
            start, end = results[label]["load"]
            print(f"{label}: 1-minute load average {start:.1f} at start, {end:.1f} at end")
    for label in labels:
        for name, note in results[label]["notes"].items():
            print(f"{label}: {name} skipped: {note}")
    if len(labels) == 2:
        first, second = (results[label]["rows"] for label in labels)
        changed = [(name, a, b) for name in names
                   for a, b in zip(first.get(name, []), second.get(name, [])) if a != b]
        changed += [(name, first.get(name), second.get(name)) for name in names
                    if len(first.get(name, [])) != len(second.get(name, []))]
        print(f"\nsummary rows that differ: {len(changed)}")
        for name, a, b in changed:
            print(f"  {name}:\n    {labels[0]}: {a}\n    {labels[1]}: {b}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default=None,
                        help="comma-separated steps (default: every step of the main job)")
    parser.add_argument("--baseline-ref", default="main",
                        help="git ref of the baseline ('' to time this tree only)")
    parser.add_argument("--compilation-cache", default=None,
                        help="JAX compilation cache folder for both runs (default: a fresh, "
                             "empty one per run: both cold)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes for this tree's steps (reproduce --jobs; the "
                             "baseline always runs in one process)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child.split(","), args.out, args.jobs)
        return 0
    from slmmux_run.data.paths import data_dir
    from slmmux_run.reproduce import STEPS

    names = args.steps.split(",") if args.steps else list(STEPS)
    data = str(data_dir().resolve())
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {}
        if args.baseline_ref:
            (folder / "baseline").mkdir()
            baseline = _snapshot(args.baseline_ref, folder / "baseline")
            if baseline is not None:
                trees[f"baseline ({args.baseline_ref})"] = baseline
        trees["this tree"] = ROOT
        for i, (label, tree) in enumerate(trees.items()):
            cache = args.compilation_cache or str(folder / f"cache{i}")
            print(f"running {label} ...", flush=True)
            load_before = os.getloadavg()[0]
            jobs = args.jobs if tree == ROOT else 1
            results[label] = _run(tree, names, folder / f"out{i}", cache, data, jobs)
            # Wall seconds mean little on a loaded machine: the load beside them says how much.
            results[label]["load"] = (load_before, os.getloadavg()[0])
    _report(results, names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
