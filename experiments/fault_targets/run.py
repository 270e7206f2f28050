r"""Issue 15's targets re-measured against the fault-injecting server: kills, a full disk, caps
and the overwrite, two-writer and key-echo cases, with the real ``slmmux collect``.

(a) **Kills.** A 400-sample collection (80 questions x k = 5, one sample per request) at
concurrency 64 against a server answering in 0.15 s is SIGKILLed three times at random moments
(0.05-0.4 s after it first stores something), then rerun to the end. Extra paid responses = what
the server answered minus 400 (target <= 10 %); lost = samples missing at the end, duplicated =
keys stored twice (targets 0); the final file must hold the same samples (keys and texts) as a
fault-free run. Repeated ``--repeats`` times with seeds ``seed, seed + 1, ...``.

(b) **Disk full**, simulated with ``RLIMIT_FSIZE`` in the child (writes past the limit fail
with ``EFBIG``, "File too large", as ``ENOSPC`` does on a full disk; no tmpfs is mounted):
the records file may not grow past ``--disk-limit`` bytes (about half the job). Lost = paid
responses not on file (target <= concurrency); the run must end with one error line and no
traceback, the file must load with no duplicate, and a rerun with space must pay for exactly
the missing samples.

(c) **Caps and the refusals.** A ``--max-cost`` of half a job's cost on a new file (target
>= 45 % done, never above the cap by more than the requests in flight); ``--max-requests 10``
run three times on one file (the server must see 10); ``collect --out`` and ``debate run
--transcripts`` on a one-line ``json.dump`` file; a second ``collect`` on the file of a running
one; three tokens pasted into ``api_key_env`` and a server echoing the key in its 401 body
(targets: 0 occurrences).

Usage::

    python -m experiments.fault_targets.run [--repeats 3] [--seed 7] [--questions 80]

Writes ``results.json`` and ``table.md`` next to this script (or into --out), prints the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from experiments.fault_targets import cases
from slmmux_run.sampling.collect import in_flight_limit
from tests.run.fault_runs import (
    CONCURRENCY, child_env, collect_command, disk_full_run, launcher, paid_versus_stored,
    stored_texts, write_collect_config,
)
from tests.run.faultserver import FaultPlan, running_server

__all__ = ["disk_full", "fault_free", "format_table", "kills", "main"]

HERE = Path(__file__).resolve().parent
K = 5


def fault_free(folder: Path, questions: int, start: list[str] | None = None,
               latency: float = 0.15) -> dict:  # fmt: skip
    """The job without faults: what it pays, how long it takes, and its samples."""
    out = folder / "records.jsonl"
    with running_server(FaultPlan(latency_seconds=latency)) as server:
        config = write_collect_config(folder / "models.toml", server.base_url)
        started = time.perf_counter()
        run = subprocess.run(collect_command(config, out, questions, K, start), env=child_env(),
                             capture_output=True, timeout=600)  # fmt: skip
        seconds = time.perf_counter() - started
        paid = server.stats.paid
    if run.returncode != 0:
        raise RuntimeError(f"the fault-free run failed: {run.stderr.decode()[-500:]}")
    return {"paid": paid, "seconds": seconds, "texts": stored_texts(out)}


def kills(folder: Path, questions: int, seed: int, reference: dict, latency: float,
          start: list[str] | None = None) -> dict:  # fmt: skip
    """Target (a) for one seed."""
    run = paid_versus_stored(folder, kills=3, questions=questions, k=K, seed=seed,
                             latency=latency, start=start)  # fmt: skip
    keys = set(run.keys)
    return {
        "seed": seed, "kills": run.landed, "wanted": run.wanted, "paid": run.paid,
        "extra": run.paid - run.wanted, "extra_percent": 100 * (run.paid - run.wanted) / run.wanted,
        "lost": run.wanted - len(keys), "duplicated": len(run.keys) - len(keys),
        "equal_to_fault_free": stored_texts(folder / "records.jsonl") == reference["texts"],
        "stored_at_each_kill": run.stored_at_kill, "seconds": run.seconds,
    }  # fmt: skip


def disk_full(folder: Path, questions: int, limit: int) -> dict:
    """Target (b)."""
    run = disk_full_run(folder, questions=questions, k=K, limit_bytes=limit)
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if ": error:" in line]
    return {
        "simulation": "RLIMIT_FSIZE (setrlimit in the child; writes fail with EFBIG)",
        "limit_bytes": limit, "wanted": questions * K, "paid": run.paid, "stored": run.stored,
        "lost": run.paid - run.stored, "exit_code": run.returncode,
        "error_lines": len(errors), "traceback": "Traceback" in run.stderr,
        "message": errors[-1] if errors else "", "stderr_lines": len(lines),
        "duplicates": run.duplicates,
        "rerun_exit_code": run.rerun_returncode, "rerun_paid": run.rerun_paid,
        "missing_before_rerun": questions * K - run.stored, "complete_after_rerun": run.complete,
    }  # fmt: skip


def format_table(result: dict) -> str:
    """The Markdown table of the targets: measured value, target, met or not."""
    concurrency, limit = result["concurrency"], result["in_flight_limit"]
    rows = []
    for run in result["kills"]:
        rows += [
            (f"(a) seed {run['seed']}: extra paid, {run['kills']} kills",
             f"{run['extra']} of {run['wanted']} ({run['extra_percent']:.1f} %)", "<= 10 %",
             run["extra_percent"] <= 10 and run["kills"] == 3),
            (f"(a) seed {run['seed']}: lost / duplicated / equal to fault-free",
             f"{run['lost']} / {run['duplicated']} / {run['equal_to_fault_free']}",
             "0 / 0 / True",
             run["lost"] == run["duplicated"] == 0 and run["equal_to_fault_free"]),
        ]
    disk = result["disk_full"]
    rows += [
        ("(b) disk full: paid responses lost", f"{disk['lost']} (paid {disk['paid']}, stored "
         f"{disk['stored']})", f"<= concurrency ({concurrency})", disk["lost"] <= concurrency),
        ("(b) one error line, no traceback, exit 2",
         f"{disk['error_lines']} line, traceback {disk['traceback']}, exit {disk['exit_code']}",
         "1, False, 2",
         disk["error_lines"] == 1 and not disk["traceback"] and disk["exit_code"] == 2),
        ("(b) file consistent; rerun pays only the missing",
         f"duplicates {disk['duplicates']}; rerun paid {disk['rerun_paid']} for "
         f"{disk['missing_before_rerun']} missing, complete {disk['complete_after_rerun']}",
         "0; equal; True", disk["duplicates"] == 0 and disk["complete_after_rerun"]
         and disk["rerun_paid"] == disk["missing_before_rerun"]),
    ]
    caps = result["caps"]
    half, reruns = caps["cost_cap_at_half"], caps["request_cap_across_reruns"]
    rows += [
        ("(c) cost cap at 50 % of a job: done", f"{100 * half['done_fraction']:.1f} % (spent "
         f"{half['spent']:.4f} of cap {half['cap']:.4f})", ">= 45 %",
         half["done_fraction"] >= 0.45),
        ("(c) request cap 10, three runs on one file", f"server saw {reruns['server_requests']}",
         "10", reruns["server_requests"] <= reruns["cap"]),
    ]
    for name in ("overwrite", "two_writers", "key_echo"):
        case = caps[name]
        measured = case.get("first_running_when_second_ended", True)  # else nothing was tested
        rows.append((f"(c) {name.replace('_', ' ')}: occurrences",
                     str(case["occurrences"]) + ("" if measured else " (first run ended first)"),
                     "0", case["occurrences"] == 0 and measured))
    lines = [f"Concurrency {concurrency}; a collection keeps at most {limit} requests in flight "
             f"(1/32 of the job). Server latency in (a) {result['latency_seconds']} s. "
             f"Fault-free job: paid {result['fault_free']['paid']}, "
             f"{result['fault_free']['seconds']:.1f} s.", "",
             "| target | measured | wanted | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value} | {want} | {'yes' if met else '**no**'} |"
              for name, value, want, met in rows]
    if "without_in_flight_bound" in result:
        other = result["without_in_flight_bound"]
        run = other["kills"]
        lines += ["", f"Without the in-flight bound (up to {concurrency} requests in flight): "
                  f"fault-free job {other['fault_free']['seconds']:.1f} s; three kills (seed "
                  f"{run['seed']}, {run['kills']} landed) paid {run['extra']} extra of "
                  f"{run['wanted']} ({run['extra_percent']:.1f} %), lost {run['lost']}, "
                  f"duplicated {run['duplicated']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure every target; write results.json and table.md; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="kill experiments (seeds)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the first kill experiment")
    parser.add_argument("--questions", type=int, default=80, help="questions (x k=5 samples)")
    parser.add_argument("--latency", type=float, default=0.5,
                        help="seconds the server takes per answer in (a)")
    parser.add_argument("--disk-limit", type=int, default=None,
                        help="records file size limit in bytes (default: about half the job)")
    parser.add_argument("--no-comparison", action="store_true",
                        help="skip the comparison run without the in-flight bound")
    parser.add_argument("--out", default=str(HERE), help="folder of results.json, table.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fault_targets_") as scratch:
        work = Path(scratch)

        def folder(name: str) -> Path:
            path = work / name
            path.mkdir()
            return path

        reference = fault_free(folder("fault_free"), args.questions, latency=args.latency)
        file_bytes = (work / "fault_free" / "records.jsonl").stat().st_size
        result = {
            "concurrency": CONCURRENCY,
            "in_flight_limit": in_flight_limit(args.questions * K, 1),
            "fault_free": {"paid": reference["paid"], "seconds": reference["seconds"],
                           "file_bytes": file_bytes},
            "latency_seconds": args.latency,
            "kills": [kills(folder(f"kills_{i}"), args.questions, args.seed + i, reference,
                            args.latency) for i in range(args.repeats)],
            "disk_full": disk_full(folder("disk_full"), args.questions,
                                   args.disk_limit or file_bytes // 2),
            "caps": {
                "cost_cap_at_half": cases.cost_cap_at_half(folder("cost_cap")),
                "request_cap_across_reruns": cases.request_cap_across_reruns(folder("req_cap")),
                "overwrite": cases.overwrite(folder("overwrite")),
                "two_writers": cases.two_writers(folder("two_writers")),
                "key_echo": cases.key_echo(folder("key_echo")),
            },
        }
        if not args.no_comparison:
            # The same job and kills with no bound but the concurrency (KILL_LOSS_SHARE = 1):
            # what the bound buys, and what it costs in time.
            unbounded = launcher(kill_loss_share=1)
            free = fault_free(folder("unbounded_fault_free"), args.questions, unbounded,
                              args.latency)
            result["without_in_flight_bound"] = {
                "fault_free": {"paid": free["paid"], "seconds": free["seconds"]},
                "kills": kills(folder("unbounded_kills"), args.questions, args.seed, free,
                               args.latency, unbounded),
            }
    table = format_table(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # The scratch folder's name is this machine's: the messages keep the file names only.
    text = json.dumps(result, indent=2).replace(scratch, "<scratch>")
    (out / "results.json").write_text(text + "\n")
    (out / "table.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
