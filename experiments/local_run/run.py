"""The package's first real run: SmolLM2-135M and Gemma-3-270M on generated arithmetic.

Starts both local servers (:func:`slmmux_run.sampling.serve.local_server`), collects k samples per
question per model into ``records.jsonl`` (the store is the cache: a rerun pays nothing twice),
then replays SLM-MUX, Agent Forest, self-consistency of each model, ModelSwitch and the oracle
at k = 1..K (:func:`slmmux_run.orchestrate.replay_table`) with the theory's plug-in prediction
beside them, and writes ``result.json`` and ``summary.md``. Wall times are measured and kept.

Prompts: SmolLM2 gets the package's short numeric chat prompt (``numeric-chat/1``: the question,
then "Answer with a number."), which keeps its answers to a few tokens so the run fits in ten
minutes on a loaded 2-core machine; Gemma-3 (a base model) gets the 2-shot arithmetic completion
prompt (``arithmetic-completion/1``, stop at newline).

Usage (from the checkout)::

    PYTHONPATH=. python experiments/local_run/run.py            # 80 questions x 5 samples
    PYTHONPATH=. python experiments/local_run/run.py --questions 6 --samples 3 --out-dir /tmp/x
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
import time
from pathlib import Path

from slmmux_run.sampling.client import Client
from slmmux_run.sampling.collect import build_task, collect, estimate_plan, plan_requests
from slmmux_run.commands.mux import failure_summary, format_table
from slmmux_run.sampling.config import load_config
from slmmux_run.data.record_samples import load_records
from slmmux_run.orchestrate import REPLAY_RULES, ReplayRow, replay_table
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.serve import local_server
from slmmux_run.sampling.spending import Budget, format_estimate
from slmmux_run.sampling.tasks import NUMERIC_CHAT

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 600
MODELS = ("smollm2", "gemma3")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=2026, help="sampling seed")
    parser.add_argument("--task-seed", type=int, default=0, help="seed of the problems")
    parser.add_argument("--preset", default="easy", help="arithmetic preset")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--validation-split", type=float, default=0.3)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads per server")
    parser.add_argument("--out-dir", default=str(HERE))
    parser.add_argument("--summary-only", action="store_true",
                        help="rewrite summary.md from result.json (no sampling, no replay)")
    return parser.parse_args(argv)


def build_tasks(args) -> dict:
    options = {"n_questions": args.questions, "preset": args.preset, "task_seed": args.task_seed}
    chat = dataclasses.replace(build_task("arithmetic", "chat", options), prompt=NUMERIC_CHAT)
    return {"smollm2": chat, "gemma3": build_task("arithmetic", "completion", options)}


def collect_records(args, store: RecordStore) -> dict:
    """Serve both models, collect what is missing; returns timings and counts."""
    started = time.perf_counter()
    with local_server("smollm2", timeout=180, threads=args.threads) as smollm2_url, \
            local_server("gemma3", timeout=180, threads=args.threads) as gemma3_url:
        servers_up = time.perf_counter() - started
        config = load_config(HERE / "models.toml")
        urls = {"smollm2": smollm2_url, "gemma3": gemma3_url}
        config = dataclasses.replace(config, models={
            name: dataclasses.replace(model, base_urls=(urls[name],))
            for name, model in config.models.items()
        })  # fmt: skip
        plan = plan_requests(build_tasks(args), args.samples, args.temperature, args.seed,
                             args.max_tokens)  # fmt: skip
        print(format_estimate(estimate_plan(config, plan, store)), flush=True)
        budget = Budget()

        async def main():
            async with Client(config, budget=budget) as client:
                return await collect(client, store, plan)

        sampling_started = time.perf_counter()
        summary = asyncio.run(main())
        sampling = time.perf_counter() - sampling_started
    return {
        "servers_up_seconds": servers_up,
        "sampling_seconds": sampling,
        "serve_and_collect_seconds": time.perf_counter() - started,
        "http_requests": budget.requests,
        "collect": dataclasses.asdict(summary),
    }


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def summary_markdown(args, result: dict, table: str) -> str:
    timing = result["timing"]
    lines = [
        "# Real run: SmolLM2-135M-Instruct + Gemma-3-270M on generated arithmetic",
        "",
        f"Task `{result['task']}` (preset `{args.preset}`, {args.questions} questions, "
        f"problem seed {args.task_seed}); {args.samples} samples per question per model at "
        f"T = {args.temperature}, sampling seed {args.seed}, max_tokens {args.max_tokens}. "
        "SmolLM2: chat, prompt `numeric-chat/1`; Gemma-3 base: completions, 2-shot prompt "
        "`arithmetic-completion/1`. Both served by xllamacpp with one thread each.",
        "",
        f"Wall time: {timing['total_seconds']:.0f} s in all (servers up "
        f"{timing['servers_up_seconds']:.0f} s, sampling {timing['sampling_seconds']:.0f} s for "
        f"{result['timing']['collect']['stored']} new samples in {timing['http_requests']} HTTP "
        f"requests ({timing['collect']['cached']} were already stored), replay and theory "
        f"{timing['analysis_seconds']:.0f} s). Machine: {platform.machine()}, load average at "
        f"the start {result['load_average_start']} on {os.cpu_count()} CPUs (shared with "
        f"other work). Target under {TARGET_SECONDS} s: "
        f"{'met' if timing['total_seconds'] < TARGET_SECONDS else 'missed'}.",
        "",
        "Per-sample accuracy (all questions): "
        + ", ".join(f"{name} {info['per_sample_accuracy']:.3f} ({info['failed']} failed "
                    f"requests, {info['abstained']} without an answer)"
                    for name, info in result["failures"].items()) + ".",
        "",
        f"SLM-MUX ties go to the model with the better per-sample accuracy on "
        f"{result['split']['folds'][0]['validation_questions']} validation questions "
        f"({result['split']['folds'][0]['validation_accuracy']}); every rule is scored on the "
        f"other {result['split']['evaluated_questions']} questions. `literal`: the rule applied "
        "to the first k recorded samples (seeded ties), ± standard error over questions. "
        f"`exact`: expectation over drawing k of the {args.samples} recorded samples without "
        "replacement "
        "(hypergeometric replay through `slmmux_theory.engines.exact`), ± standard error over questions; "
        "`(nq)` marks a value over the n questions whose answers fit the enumeration limit. "
        "`predicted`: the theory's `exact_accuracy` with each (model, question)'s recorded answer "
        "frequencies plugged in as its answer distribution (multinomial, k i.i.d. samples). This "
        "prediction is IN-SAMPLE: it is fitted on the very samples it is compared with.",
        "",
        "```",
        table,
        "```",
        "",
        "Records: `records.jsonl` (one line per sample: prompt version, raw text, extracted "
        "answer and extractor rule, grade, usage, latency, seed). Reproduce the table with "
        "`slmmux mux --records experiments/local_run/records.jsonl --models smollm2,gemma3 "
        "--predict`.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.summary_only:
        result = json.loads((out / "result.json").read_text())
        stored = {key: value for key, value in result["settings"].items() if key != "out_dir"}
        args = argparse.Namespace(**(vars(args) | stored))
        rows = [ReplayRow(**{key: math.nan if value is None else value
                             for key, value in row.items()}) for row in result["rows"]]
        (out / "summary.md").write_text(summary_markdown(args, result, format_table(rows)))
        return 0
    load = [round(x, 2) for x in os.getloadavg()]
    store = RecordStore(out / "records.jsonl")
    timing = collect_records(args, store)
    analysis_started = time.perf_counter()
    record_set = load_records(store.latest().values(), None, list(MODELS))
    rows, split = replay_table(record_set, REPLAY_RULES, list(range(1, args.samples + 1)),
                               validation_fraction=args.validation_split, seed=0,
                               predict=True)  # fmt: skip
    timing["analysis_seconds"] = time.perf_counter() - analysis_started
    timing["total_seconds"] = time.perf_counter() - started
    table = format_table(rows)
    result = {
        "task": record_set.sample_set.task,
        "settings": vars(args) | {"out_dir": None},
        "prompt_versions": dict(zip(MODELS, record_set.prompt_versions)),
        "load_average_start": load,
        "timing": timing,
        "split": split,
        "failures": failure_summary(record_set),
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    (out / "result.json").write_text(json.dumps(_clean(result), indent=2) + "\n")
    (out / "summary.md").write_text(summary_markdown(args, result, table))
    print(table)
    print(f"total wall time {timing['total_seconds']:.1f} s (sampling "
          f"{timing['sampling_seconds']:.1f} s, analysis {timing['analysis_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
