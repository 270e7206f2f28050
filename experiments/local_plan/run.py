"""Plan before spending on the two real local models, as a user types it: pilot, plan, run, check.

Issue 17's target: "A user with a 20-question pilot on two local models gets a plan, runs it,
and the check reports the realised accuracy inside the frozen 90 % interval (or says by how much
it missed)." One command serves SmolLM2-135M-Instruct (chat) and Gemma-3-270M (base, plain
completions) with llama.cpp (:func:`slmmux_run.sampling.serve.local_server`, free ports, stopped
on exit), then runs the four commands of the README's "First hour" through the CLI's own
``main``, exactly as typed there (only the config's URLs point at the servers started here):

    slmmux collect --config models.toml --models smollm2,gemma3 --task arithmetic --preset easy \
        --questions 20 --k 2 --out pilot.jsonl
    slmmux plan --records pilot.jsonl --task arithmetic --preset easy --population 60 \
        --config models.toml --json plan.json
    slmmux run --plan plan.json --config models.toml --out full.jsonl
    slmmux check --plan plan.json --records full.jsonl --json check.json

Each command's wall time and the load average before it are kept. Written into ``--out-dir``
(default: this folder): ``pilot.jsonl`` and ``full.jsonl`` (the record stores; committed
compressed), ``plan.json`` (the frozen plan), ``check.json``, ``log.txt`` (every command as typed
and what it printed) and ``result.json`` (predicted accuracy, interval, realised accuracy, inside
or missed by, tokens predicted vs realised, times). File names inside them are relative to
``--out-dir`` (the commands run there), so nothing names this machine.

Usage (from the checkout, after ``pip install -e ".[local]"`` and the weight packages)::

    nice python -m experiments.local_plan.run
    python -m experiments.local_plan.run --pilot-questions 3 --population 5 --out-dir /tmp/x
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from slmmux_run.cli_args import MAX_SAMPLES, int_in, question_count
from slmmux_theory.precision import enable_x64

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
MODELS = ("smollm2", "gemma3")

CONFIG = """\
[runner]
timeout_seconds = 600
max_attempts = 3

[models.smollm2]
base_url = "{smollm2}"
model = "smollm2"
api = "chat"
max_concurrency = 4
max_choices_per_call = 4

[models.gemma3]
base_url = "{gemma3}"
model = "gemma3"
api = "completions"
max_concurrency = 4
max_choices_per_call = 4
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot-questions", type=question_count, default=20,
                        help="questions of the pilot")
    parser.add_argument("--pilot-k", type=int_in(1, MAX_SAMPLES), default=2,
                        help="samples per model and question in the pilot")
    parser.add_argument("--population", type=question_count, default=60,
                        help="questions of the full run (the pilot's and the more ones)")
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=3,
                        help="samples per model and question of the planned run")
    parser.add_argument("--preset", default="easy", help="arithmetic preset")
    parser.add_argument("--draws", type=int_in(2), default=None,
                        help="posterior draws of the plan (default: the CLI's)")
    parser.add_argument("--svi-steps", type=int_in(1), default=None,
                        help="SVI steps of the plan's fit (default: the CLI's)")
    parser.add_argument("--threads", type=int_in(1, 1024), default=1,
                        help="llama.cpp threads per server")
    parser.add_argument("--out-dir", default=str(HERE))
    return parser.parse_args(argv)


def _commands(args) -> list[list[str]]:
    """The four commands of the README's walkthrough, with this run's sizes."""
    task = ["--task", "arithmetic", "--preset", args.preset]
    plan = ["plan", "--records", "pilot.jsonl", *task, "--population", str(args.population),
            "--k", str(args.k), "--config", "models.toml", "--json", "plan.json"]
    if args.draws is not None:
        plan += ["--draws", str(args.draws)]
    if args.svi_steps is not None:
        plan += ["--svi-steps", str(args.svi_steps)]
    return [
        ["collect", "--config", "models.toml", "--models", ",".join(MODELS), *task,
         "--questions", str(args.pilot_questions), "--k", str(args.pilot_k),
         "--out", "pilot.jsonl"],
        plan,
        ["run", "--plan", "plan.json", "--config", "models.toml", "--out", "full.jsonl"],
        ["check", "--plan", "plan.json", "--records", "full.jsonl", "--json", "check.json"],
    ]


class _Tee(io.TextIOBase):
    """Write to the console and keep a copy (the log)."""

    def __init__(self, console):
        self.console, self.copy = console, io.StringIO()

    def write(self, text):
        self.console.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self):
        self.console.flush()


def _step(argv, log) -> dict:
    """Run one command through the CLI's main; its exit code, wall time and load before it."""
    from slmmux_run.cli import main as slmmux

    load = [round(x, 2) for x in os.getloadavg()]
    typed = "slmmux " + shlex.join(argv)
    log.write(f"$ {typed}\n")
    tee = _Tee(sys.stdout)
    started = time.perf_counter()
    with contextlib.redirect_stdout(tee):
        code = slmmux(list(argv))
    seconds = time.perf_counter() - started
    log.write(tee.copy.getvalue())
    log.write(f"[exit {code}, {seconds:.0f} s, load average before {load}]\n\n")
    return {"command": typed, "exit": code, "seconds": round(seconds, 1), "load_before": load}


def main(argv=None) -> int:
    enable_x64()  # the plan and the check compute in float64
    args = parse_args(argv)
    from slmmux_run.sampling.serve import local_server

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "full.jsonl.gz").is_file() and not (out / "full.jsonl").is_file():
        raise SystemExit(f"{out / 'full.jsonl.gz'} is the committed run: pass another --out-dir "
                         "(or gunzip -k the stores to extend it)")
    steps, log = [], io.StringIO()
    started = time.perf_counter()
    with contextlib.chdir(out), \
            local_server("smollm2", timeout=300, threads=args.threads) as smollm2, \
            local_server("gemma3", timeout=300, threads=args.threads) as gemma3:
        servers_up = time.perf_counter() - started
        Path("models.toml").write_text(CONFIG.format(smollm2=smollm2, gemma3=gemma3))
        try:
            for argv_ in _commands(args):
                steps.append(_step(argv_, log))
                # A run stopped by failed requests resumes (as a user would rerun it), twice.
                while argv_[0] == "run" and steps[-1]["exit"] == 3 and len(steps) < 6:
                    steps.append(_step(argv_, log))
                if steps[-1]["exit"] != 0:
                    raise SystemExit(f"{steps[-1]['command']} exited {steps[-1]['exit']}")
        finally:
            Path("models.toml").unlink()  # it names this run's ports only
            (out / "log.txt").write_text(log.getvalue())
        check = json.loads(Path("check.json").read_text())
        plan = json.loads(Path("plan.json").read_text())
    result = {
        "target": "the check reports the realised accuracy inside the frozen 90% interval "
                  "(or by how much it missed)",
        "settings": {key: value for key, value in vars(args).items() if key != "out_dir"},
        "chosen": check["chosen"],
        "predicted_accuracy": check["predicted_accuracy"],
        "interval": check["interval"],
        "realised_accuracy": check["realised_accuracy"],
        "inside_interval": check["inside_interval"],
        "missed_by_points": check["missed_by_points"],
        "error_points": check["error_points"],
        "expected_tokens_per_question": check["expected_tokens"],
        "realised_tokens_per_question": check["realised_tokens"],
        "questions": check["questions"],
        "candidates": [{key: c[key] for key in ("models", "rule", "k", "predicted_accuracy",
                                                 "interval", "p_best", "expected_tokens")}
                       for c in plan["candidates"]],
        "pilot": {key: plan["pilot"][key] for key in ("questions", "samples_per_model",
                                                       "unseen_questions", "sha256")},
        "steps": steps,
        "servers_up_seconds": round(servers_up, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "machine": {"cpus": os.cpu_count(), "machine": platform.machine(),
                    "python": platform.python_version()},
    }
    (out / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    verdict = ("inside" if result["inside_interval"] else
               f"outside, missed by {result['missed_by_points']:.2f} pt")
    print(f"predicted {result['predicted_accuracy']:.4f} [{result['interval'][0]:.4f}, "
          f"{result['interval'][1]:.4f}], realised {result['realised_accuracy']:.4f}: {verdict}; "
          f"tokens per question expected {result['expected_tokens_per_question']:.1f}, realised "
          f"{result['realised_tokens_per_question']:.1f}; {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
