"""A tiny collection run, as a separate process, for the kill-and-resume tests.

It asks the fault server for ``--samples`` samples of each of ``--questions`` prompts and stores
them with :class:`slmmux_run.data.records.RecordStore`, skipping samples already stored (resume).
As :func:`slmmux_run.sampling.collect.collect_question` does, each HTTP response's samples are
appended in one write as it arrives (``Client.sample(..., on_response=...)``), before the
question's next top-up is sent, so a kill loses only the requests in flight. The run holds the
store's one-writer lock, and its caps are for the store (what it already spent counts). Exit code 0 when every sample is stored, 3 when a cap stopped the run
first.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys

from slmmux_run.sampling.client import Client, SampleRequest
from slmmux_run.sampling.collect import timing_of
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.data.records import Record, RecordKey, RecordStore
from slmmux_run.sampling.spending import Budget, Price
from slmmux_run.sampling.spent import spent_in_records

__all__ = ["build_config", "collect", "main", "run_questions", "to_records"]

TASK = "fault-arithmetic"
PROMPT_VERSION = "v1"
MODEL = "fault"


def build_config(args: argparse.Namespace) -> RunnerConfig:
    """One model on the fault server; the run id goes in a header the server counts by."""
    model = ModelConfig(
        name=MODEL,
        base_urls=(args.base_url,),
        model="fault-model",
        api="chat",
        api_key_env=args.api_key_env,
        price=Price(prompt_per_1k=1.0, completion_per_1k=2.0),
        max_concurrency=args.concurrency,
        max_choices_per_call=args.max_choices,
        headers=(("X-Run-Id", args.run_id),),
    )
    return RunnerConfig(
        models={MODEL: model},
        max_concurrency=args.concurrency,
        max_attempts=args.max_attempts,
        timeout_seconds=args.timeout,
        backoff_initial_seconds=0.01,
        backoff_max_seconds=0.05,
    )


def to_records(question_id: str, request: SampleRequest, results) -> list[Record]:
    """Records of one question's samples."""
    records = []
    for result in results:
        records.append(
            Record(
                task=TASK,
                question_id=question_id,
                model=MODEL,
                prompt_version=PROMPT_VERSION,
                sample_index=result.sample_index,
                request={
                    "temperature": request.temperature,
                    "max_tokens": request.max_tokens,
                    "seed": result.seed,
                    "n": result.choices_requested,
                },
                text=result.text,
                usage=None if result.usage is None else dataclasses.asdict(result.usage),
                timing=timing_of(result),
                error=result.error,
                extra={"finish_reason": result.finish_reason, "cost": result.cost},
            )
        )
    return records


async def run_questions(args: argparse.Namespace, store: RecordStore, config: RunnerConfig,
                        budget: Budget, spent) -> None:
    """Ask for every missing sample, storing each response as it arrives."""
    done = store.done_keys()
    async with Client(config, budget=budget, spent=spent) as client:

        async def one(question: int) -> None:
            question_id = f"q{question:03d}"
            missing = [
                i for i in range(args.samples)
                if RecordKey(TASK, question_id, MODEL, PROMPT_VERSION, i) not in done
            ]
            if not missing:
                return
            request = SampleRequest(
                model=MODEL,
                prompt=f"What is {question} + {question % 7}?",
                samples=args.samples,
                temperature=0.7,
                max_tokens=16,
                seed=args.seed + question,
            )

            async def store_response(results) -> None:
                sent = [r for r in results if r.error_kind != "budget"]
                await store.append_many_async(to_records(question_id, request, sent))

            await client.sample(request, missing, on_response=store_response)

        await asyncio.gather(*(one(q) for q in range(args.questions)))


async def collect(args: argparse.Namespace) -> int:
    store = RecordStore(args.store)
    config = build_config(args)
    with store.exclusive():
        # As the commands do: the caps are for the record file, what it holds counts.
        spent = spent_in_records(store.records, config)
        budget = Budget(args.max_requests, args.max_cost, spent.requests, spent.cost)
        await run_questions(args, store, config, budget, spent)
    stored = store.done_keys()
    complete = all(
        RecordKey(TASK, f"q{q:03d}", MODEL, PROMPT_VERSION, i) in stored
        for q in range(args.questions)
        for i in range(args.samples)
    )
    print(f"requests={budget.requests} cost={budget.cost:.6f}", flush=True)
    return 0 if complete else 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--run-id", default="run")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-choices", type=int, default=3)
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--max-cost", type=float, default=None)
    parser.add_argument("--api-key-env", default=None)
    return asyncio.run(collect(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
