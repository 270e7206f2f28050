"""How long and how much memory does ``slmmux plan`` take at k = 3, 5, 9 on the 80-sample files?

The hard regime of issue 17: reasoning models with many distinct wrong answers per question
(data README section F). For each of the two Best-of-∞ files (AIME 2024, 30 questions x 11
models; MATH-500, 500 questions x 7 models) a pilot of the first ``--pilot-samples`` samples of
the first ``--pilot-questions`` questions is written to its own file (the shared samples
schema) and planned for the file's whole population, as a user does before spending::

    slmmux plan --samples PILOT --population N --k K --rules RULES --json OUT

(``--path population``, the default), or, with ``--path subsample``, the pilot is subsampled
from the full file and every candidate is predicted for a replay of k of the file's 80
recorded samples per question (the way to test a plan against the truth; rows with up to 61
distinct wrong answers, where enumerating count vectors breaks)::

    slmmux plan --samples FILE --pilot-questions Q --pilot-samples S --k K --rules RULES

by two implementations, each run in a fresh process:

* ``baseline``: the code of ``--baseline-ref`` (default ``2747888``, main before this change:
  SLM-MUX level laws by enumerating count vectors, ModelSwitch by its product kernel),
  extracted with ``git archive``;
* ``this tree``.

Each tree has its own JAX compilation cache folder (:mod:`slmmux_run.jax_cache`), empty at the
start: its first run compiles the answer-model fit (cold), the later ones reuse it. A run is
stopped when it passes ``--max-seconds`` of wall time or ``--max-gb`` of resident memory (the
machine's per-process budget is 4 GB) and reported as such. Printed per run: wall seconds,
CPU seconds (user + sys) and peak resident memory of the process (``wait4``'s ``ru_maxrss``),
the 1-minute load average before and after, and, where both trees finished, the largest
|difference| of the predicted accuracies over candidates in units of the Monte Carlo standard
error (the draws' standard deviation / sqrt(draws), both sides combined; below 4 = equal within
Monte Carlo error; the two trees use the same seed, so the difference is usually 0).

    python -m experiments.benchmarks.plan_k [--path population|subsample] [--ks 3,5,9]
        [--files aime,math] [--rules slm-mux] [--draws 100] [--baseline-ref 2747888]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
BASELINE_REF = "2747888"
FILES = {
    "aime": ("samples/boinf_aime2024_30x80_11models.jsonl", 30),
    "math": ("samples/boinf_math500_500x80_7models.jsonl", 100),
}


def _write_pilot(data: str, questions: int, samples: int, path: Path) -> int:
    """The first ``questions`` questions x ``samples`` samples as a samples file; returns N."""
    from slmmux_run.data.sample_files import load_sample_set

    full = load_sample_set(data)
    pilot = full.select(questions=list(range(min(questions, full.num_questions))),
                        samples=slice(0, samples))
    rows = []
    for m, model in enumerate(pilot.models):
        for q, qid in enumerate(pilot.question_ids):
            labels = pilot.slot_labels[q]
            answers = [labels[s] for s in pilot.samples[m, q] if s >= 0]
            rows.append({"task": pilot.task, "question_id": qid, "model": model,
                         "gold": labels[0], "answers": answers})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return full.num_questions


def _snapshot(ref: str, folder: Path) -> Path | None:
    """The tree of ``ref`` extracted into ``folder`` (None when git cannot give it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True)
    if archive.returncode != 0:
        print(f"no baseline: git archive {ref} failed: {archive.stderr.decode()[-200:]}")
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _resident_gb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return 0.0


def _plan(tree: Path, source: list[str], k: int, args, cache: Path, out: Path) -> dict:
    """One ``slmmux plan`` in a fresh process of ``tree``: wall, CPU, peak memory, outcome."""
    env = dict(os.environ, PYTHONPATH=str(tree), SLMMUX_JAX_CACHE=str(cache))
    command = [sys.executable, "-c", "import sys; from slmmux_run.cli import main; "
               "sys.exit(main())", "plan", *source, "--k", str(k), "--subset-sizes", "2,3",
               "--rules", args.rules,
               "--draws", str(args.draws), "--svi-steps", str(args.svi_steps), "--quiet",
               "--json", str(out)]
    load, start = os.getloadavg()[0], time.perf_counter()
    child = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
    stopped, peak = None, 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _resident_gb(child.pid))
        wall = time.perf_counter() - start
        if stopped is None and (wall > args.max_seconds or peak > args.max_gb):
            stopped = f"stopped at {wall:.0f} s, {peak:.1f} GB"
            os.killpg(child.pid, signal.SIGKILL)
        time.sleep(0.2)
    wall = time.perf_counter() - start
    error = child.stderr.read().decode()[-300:] if child.stderr else ""
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
              "peak_gb": max(peak, usage.ru_maxrss / 1e6), "load": (load, os.getloadavg()[0]),
              "stopped": stopped, "exit": os.waitstatus_to_exitcode(status)}
    if stopped is None and result["exit"] != 0:
        result["stopped"] = f"failed (exit {result['exit']}): {error.strip()[-200:]}"
    if result["stopped"] is None:
        result["candidates"] = json.loads(out.read_text())["candidates"]
    return result


def _line(label: str, run: dict) -> str:
    text = (f"{label:30} {run['wall']:7.1f} s wall {run['cpu']:7.1f} s CPU "
            f"{run['peak_gb']:5.2f} GB peak  load {run['load'][0]:4.1f} -> {run['load'][1]:4.1f}")
    return text + (f"  {run['stopped']}" if run["stopped"] else "")


def _max_z(first: list[dict], second: list[dict], draws: int) -> float:
    """Largest |difference| / MC standard error over candidates (matched by rule and models)."""
    other = {(c["rule"], tuple(c["models"])): c for c in second}
    z = 0.0
    for c in first:
        d = other[(c["rule"], tuple(c["models"]))]
        # The 90 % interval of the draws spans about 3.29 standard deviations.
        spread = np.hypot(*(np.diff(x["interval"])[0] / 3.29 for x in (c, d))) / np.sqrt(draws)
        diff = abs(c["predicted_accuracy"] - d["predicted_accuracy"])
        z = max(z, diff / spread if spread > 0 else (0.0 if diff == 0 else np.inf))
    return z


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="3,5,9", help="samples per model planned")
    parser.add_argument("--files", default="aime,math", help="among aime, math")
    parser.add_argument("--rules", default="slm-mux", help="the plan's --rules")
    parser.add_argument("--path", default="population", choices=("population", "subsample"),
                        help="a pilot file planned for the population, or a pilot subsampled "
                             "from the full file and replayed over its recorded samples")
    parser.add_argument("--pilot-samples", type=int, default=4, help="samples per pilot row")
    parser.add_argument("--draws", type=int, default=100, help="posterior draws")
    parser.add_argument("--svi-steps", type=int, default=1000, help="SVI steps of the fit (most)")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop a run after this")
    parser.add_argument("--max-gb", type=float, default=4.0, help="stop a run above this memory")
    parser.add_argument("--baseline-ref", default=BASELINE_REF,
                        help="git ref of the baseline implementation ('' to skip it)")
    args = parser.parse_args(argv)
    from slmmux_run.data.paths import data_file

    ks = [int(k) for k in args.ks.split(",")]
    print(f"plan, {args.path} path ({args.pilot_samples} pilot samples per row), rules "
          f"{args.rules}, subset sizes 2,3, {args.draws} draws, at most {args.svi_steps} SVI "
          f"steps, k {ks}; {os.cpu_count()} cores; limits {args.max_seconds:.0f} s, "
          f"{args.max_gb} GB", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        trees = {"this tree": ROOT}
        if args.baseline_ref:
            (folder / "baseline").mkdir()
            tree = _snapshot(args.baseline_ref, folder / "baseline")
            if tree is not None:
                trees = {f"baseline {args.baseline_ref}": tree, "this tree": ROOT}
        for name in args.files.split(","):
            relative, questions = FILES[name]
            pilot = folder / f"{name}_pilot.jsonl"
            population = _write_pilot(str(data_file(relative)), questions, args.pilot_samples,
                                      pilot)
            source = (["--samples", str(pilot), "--population", str(population)]
                      if args.path == "population" else
                      ["--samples", str(data_file(relative)), "--pilot-questions", str(questions),
                       "--pilot-samples", str(args.pilot_samples)])
            print(f"\n{relative}: pilot {questions} questions x {args.pilot_samples} samples, "
                  f"population {population}", flush=True)
            for k in ks:
                runs = {}
                for label, tree in trees.items():
                    cache = folder / f"cache_{label.split()[0]}"
                    runs[label] = _plan(tree, source, k, args, cache, folder / "out.json")
                    print(_line(f"k={k} {label}", runs[label]), flush=True)
                finished = [r["candidates"] for r in runs.values() if r["stopped"] is None]
                if len(finished) == 2:
                    print(f"k={k} predictions, baseline vs this tree: max |difference| / MC SE "
                          f"{_max_z(*finished, args.draws):.2f} over {len(finished[0])} "
                          "candidates", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
