"""Groupthink study with real local models: LLM-Debate vs SLM-MUX vs Agent Forest on arithmetic.

Starts SmolLM2-135M-Instruct (chat) and Gemma-3-270M base (completions) on 127.0.0.1
(:func:`slmmux_run.sampling.serve.local_server`) and, on the same generated single-digit additions:

1. collects ``--samples`` independent samples per question per model into ``samples.jsonl``
   (:func:`slmmux_run.sampling.collect.collect`; SLM-MUX, Agent Forest and the single models are replayed
   from these, and they estimate each agent's answer distribution for the groupthink model);
2. runs ``--debates-per-question`` LLM-Debates per question with three agents (SmolLM2 twice with
   different seeds, Gemma-3 once), ``--rounds`` rounds, into ``transcripts.jsonl``
   (:func:`slmmux_run.sampling.discussion.run_debate`), and optionally Mixture-of-Agents and Multi-Agent
   Verification on the first ``--moa-questions`` / ``--mav-questions`` questions.

Both stores are caches: a rerun (or a run after a kill) only does what is missing. Nothing is
analysed here; ``slmmux debate report`` reads the two files and writes the table and figure.

Usage (from the checkout)::

    PYTHONPATH=. python experiments/groupthink_real/run.py                 # settings of config.toml
    PYTHONPATH=. python experiments/groupthink_real/run.py --questions 2 --out-dir /tmp/gt
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import time
import tomllib
from pathlib import Path

from slmmux_run.sampling.client import Client
from slmmux_run.sampling.collect import build_task, collect, plan_requests
from slmmux_run.sampling.config import load_config
from slmmux_run.sampling.discussion import (
    DiscussionAgent,
    TranscriptStore,
    run_debate,
    run_mixture_of_agents,
    run_verification,
)
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.serve import local_server
from slmmux_run.sampling.spending import Budget
from slmmux_run.sampling.tasks import NUMERIC_CHAT

HERE = Path(__file__).resolve().parent


def parse_args(argv=None) -> argparse.Namespace:
    settings = tomllib.loads((HERE / "config.toml").read_text())["run"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=settings["questions"])
    parser.add_argument("--samples", type=int, default=settings["samples"])
    parser.add_argument("--rounds", type=int, default=settings["rounds"])
    parser.add_argument("--debates-per-question", type=int,
                        default=settings["debates_per_question"])  # fmt: skip
    parser.add_argument("--moa-questions", type=int, default=settings["moa_questions"])
    parser.add_argument("--mav-questions", type=int, default=settings["mav_questions"])
    parser.add_argument("--temperature", type=float, default=settings["temperature"])
    parser.add_argument("--seed", type=int, default=settings["seed"])
    parser.add_argument("--task-seed", type=int, default=settings["task_seed"])
    parser.add_argument("--preset", default=settings["preset"])
    parser.add_argument("--max-tokens", type=int, default=settings["max_tokens"])
    parser.add_argument("--concurrent-debates", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default=str(HERE))
    return parser.parse_args(argv)


def build_tasks(args) -> dict:
    options = {"n_questions": args.questions, "preset": args.preset, "task_seed": args.task_seed}
    chat = dataclasses.replace(build_task("arithmetic", "chat", options), prompt=NUMERIC_CHAT)
    return {"smollm2": chat, "gemma3": build_task("arithmetic", "completion", options)}


def agents_of(tasks: dict, temperature: float) -> list[DiscussionAgent]:
    return [
        DiscussionAgent("smollm2-a", "smollm2", tasks["smollm2"], temperature),
        DiscussionAgent("smollm2-b", "smollm2", tasks["smollm2"], temperature),
        DiscussionAgent("gemma3", "gemma3", tasks["gemma3"], temperature),
    ]


async def run_all(args, config, tasks, samples: RecordStore, transcripts: TranscriptStore,
                  log) -> dict:  # fmt: skip
    agents = agents_of(tasks, args.temperature)
    done = transcripts.done_ids()
    items = tasks["smollm2"].items
    gate = asyncio.Semaphore(args.concurrent_debates)
    finished = {"debate": 0, "moa": 0, "mav": 0}

    async def one(kind, index, replicate, client):
        item = items[index]
        discussion_id = f"{kind}-{item.question_id}-r{replicate}"
        if discussion_id in done:
            return
        async with gate:
            started = time.perf_counter()
            if kind == "debate":
                turns = await run_debate(client, agents, item, rounds=args.rounds,
                                         discussion_id=discussion_id, seed=args.seed,
                                         max_tokens=args.max_tokens)  # fmt: skip
            elif kind == "moa":
                turns = await run_mixture_of_agents(
                    client, agents, agents[0], item, layers=args.rounds - 1,
                    discussion_id=discussion_id, seed=args.seed, max_tokens=args.max_tokens)
            else:
                turns = await run_verification(
                    client, agents[0], agents[1:], item, candidates=args.rounds,
                    discussion_id=discussion_id, seed=args.seed, max_tokens=args.max_tokens)
            transcripts.append_discussion(turns)
            finished[kind] += 1
            log(f"{discussion_id}: {len(turns)} turns in {time.perf_counter() - started:.1f} s "
                f"({finished})")  # fmt: skip

    async with Client(config, budget=Budget()) as client:
        plan = plan_requests(tasks, args.samples, args.temperature, args.seed, args.max_tokens)
        by_question = {}
        for question in plan:
            by_question.setdefault(question.item.question_id, []).append(question)
        totals = []

        async def question_then_debates(index):
            # Samples and debates of one question together, so a killed run leaves whole
            # questions (both stores are caches; a rerun does only what is missing).
            async with gate:
                totals.append(await collect(client, samples, by_question[items[index].question_id]))
            for replicate in range(args.debates_per_question):
                await one("debate", index, replicate, client)

        await asyncio.gather(*(question_then_debates(q) for q in range(len(items))))
        extra = [one("moa", q, 0, client) for q in range(min(args.moa_questions, len(items)))]
        extra += [one("mav", q, 0, client) for q in range(min(args.mav_questions, len(items)))]
        await asyncio.gather(*extra)
        summary = {field: sum(getattr(t, field) for t in totals)
                   for field in ("planned", "cached", "stored", "failed", "not_sent")}
    return {"collect": summary, "finished": finished}


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "run.log"

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        with open(log_path, "a") as handle:
            handle.write(line + "\n")

    log(f"start: {vars(args) | {'out_dir': None}}; load {os.getloadavg()}")
    started = time.perf_counter()
    tasks = build_tasks(args)
    with local_server("smollm2", timeout=180, threads=args.threads) as smollm2_url, \
            local_server("gemma3", timeout=180, threads=args.threads) as gemma3_url:
        config = load_config(HERE / "models.toml")
        urls = {"smollm2": smollm2_url, "gemma3": gemma3_url}
        config = dataclasses.replace(config, models={
            name: dataclasses.replace(model, base_urls=(urls[name],))
            for name, model in config.models.items()
        })  # fmt: skip
        result = asyncio.run(run_all(args, config, tasks, RecordStore(out / "samples.jsonl"),
                                     TranscriptStore(out / "transcripts.jsonl"), log))
    result["wall_seconds"] = time.perf_counter() - started
    log(f"done: {json.dumps(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
