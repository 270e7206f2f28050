"""``slmmux mux``: apply the theory's rules to stored samples, or sample on demand (``--live``).

``--records`` takes a record file of ``slmmux collect`` or a shared samples file (either schema,
plain or ``.jsonl.gz``; see :func:`slmmux_run.data.sample_files.load_record_set`).

Offline: literal replay of the first k recorded samples and the exact expectation over drawing k
of them (see :mod:`slmmux_theory.engines.replay_table`), accuracy ± standard error over the evaluation
questions, failures reported apart. Live: ModelSwitch samples model j+1 only when model j was
not unanimous, through the client, with the record file as the cache; when every sample of the
run failed there is nothing to score: the commonest error and a hint go to stderr, exit 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slmmux_run.cli_args import (
    MAX_SAMPLES, ListedStore, add_cap_arguments, add_records_argument, add_task_arguments,
    check_output_file, int_in, names_in, number_in, token_limit,
)
from slmmux_run.cli_catalog import live_rules, replay_rules, rule_names
from slmmux_run.errors import UserError

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``mux`` subcommand."""
    parser = subparsers.add_parser(
        "mux",
        help="apply SLM-MUX, Agent Forest, self-consistency, ModelSwitch or the oracle to records",
        description="Replay orchestration rules on stored samples (literal first-k replay and "
        "exact expectation over k-subsets), or run them live with --live.",
    )
    add_records_argument(parser, help="records of 'slmmux collect' or a shared samples file "
                         "(JSONL or .jsonl.gz); with --live, the record file sampled into")
    parser.add_argument("--rule", default="all", action=ListedStore,
                        type=names_in(rule_names, also=("all",), what="rule"),
                        lists={"names": rule_names, "replay": replay_rules, "live": live_rules},
                        help="comma-separated rules among %(names)s, or all (%(replay)s); "
                        "with --live one rule: %(live)s; a rule that learns weights, a "
                        "threshold or an answer law is refused (slmmux compare learns them on "
                        "held-out questions)")
    parser.add_argument("--k", default=None,
                        help="samples per model: one value, a list '1,3,5' or a range '1-5' "
                        "(default: every k up to the recorded samples); with --live one value "
                        f"(default {LIVE_K})")
    parser.add_argument("--models", default=None, help="models in order (default: all recorded)")
    parser.add_argument("--task-name", default=None, help="task in the records, when several")
    parser.add_argument("--validation-split", type=number_in(0, 1, below=True), default=0.3,
                        help="share of questions ranking models for SLM-MUX ties, in [0, 1) "
                        "(0: list order)")
    parser.add_argument("--cross-fit", action="store_true",
                        help="evaluate every question, each fold ranked on the other folds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the ties")
    parser.add_argument("--predict", action="store_true",
                        help="add the theory's plug-in prediction (in-sample)")
    parser.add_argument("--json", default=None, help="write the results here")
    live = parser.add_argument_group("live")
    live.add_argument("--live", action="store_true", help="sample on demand through the client")
    live.add_argument("--config", default=None, help="model config TOML (required with --live)")
    live.add_argument("--temperature", type=number_in(0), default=0.7,
                      help="sampling temperature (>= 0)")
    live.add_argument("--max-tokens", type=token_limit, default=64,
                      help="completion limit per sample")
    add_cap_arguments(live, flag="--records")
    add_task_arguments(parser, task_required=False)
    parser.set_defaults(handler=run,
                        interrupt_keeps=lambda args: args.records if args.live else None)


LIVE_K = 5
"""Samples per model of ``mux --live`` without ``--k``."""


def _live_k(text: str | None) -> int:
    if text is None:
        return LIVE_K
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"--live samples one k: --k must be one integer, got {text!r}") from None
    if not 1 <= value <= MAX_SAMPLES:
        raise UserError(f"--k must be in 1..{MAX_SAMPLES}, got {value}")
    return value


def _ks(text: str | None, recorded: int) -> list[int]:
    if not text:
        return list(range(1, recorded + 1))
    try:
        if "-" in text:
            low, high = (int(part) for part in text.split("-"))
            values = list(range(low, high + 1))
        else:
            values = [int(part) for part in text.split(",")]
    except ValueError:
        raise UserError(f"--k {text!r} is not a number, a list or a range") from None
    if not values or min(values) < 1 or max(values) > recorded:
        raise UserError(f"--k must lie in 1..{recorded} (samples recorded), got {text!r}")
    return values


def _rules(text: str) -> list[str]:
    if text == "all":
        return list(replay_rules())
    rules = [r.strip() for r in text.split(",")]
    names = rule_names()  # checked before any heavy import: a typo fails at once
    for rule in rules:
        if rule not in names:
            raise UserError(f"unknown rule {rule!r}; choose among {', '.join(names)}")
    return rules


def _refuse_learned(rules: list[str]) -> None:
    """Refuse a rule that learns options beyond the tie ranks: the replay would score it with
    untrained defaults, a number no one should read as the rule's accuracy."""
    from slmmux_theory.rules.registry import RULES

    for rule in rules:
        if RULES[rule].learn is not None:
            raise UserError(
                f"--rule {rule} learns its options (model weights, stopping threshold or answer "
                "law) from validation questions, which the replay does not fit; its table would "
                "show untrained defaults. 'slmmux compare --records FILE --k K --json OUT' "
                "learns them on one question fold and scores the other (cross-fit)")


def _write_json(path: str | None, payload: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n")


def run(args: argparse.Namespace) -> int:
    """Replay (default) or run live."""
    check_output_file(args.json, "--json")
    if args.live:
        return _run_live(args)
    rules = _rules(args.rule)
    import dataclasses

    from slmmux_run.data.sample_files import load_record_set
    from slmmux_run.replay import replay_table
    from slmmux_run.replay_report import failure_summary, format_table

    _refuse_learned(rules)
    models = args.models.split(",") if args.models else None
    record_set = load_record_set(args.records, task=args.task_name, models=models)
    ks = _ks(args.k, record_set.sample_set.num_samples)
    rows, split = replay_table(record_set, rules, ks,
                               validation_fraction=args.validation_split, seed=args.seed,
                               cross_fit=args.cross_fit, predict=args.predict)  # fmt: skip
    failures = failure_summary(record_set)
    print(format_table(rows))
    partial = [r for r in rows if r.exact_questions < r.questions]
    if partial:  # an exact mean over the narrow questions alone is not the literal's peer
        print(f"exact: {len(partial)} rows cover fewer questions ((Nq), or n/a: none) — the "
              "enumeration of the other questions' count vectors does not fit in memory; "
              "fewer --models or a smaller --k cover more; compare with literal on the same "
              "questions only")
    for name, info in failures.items():
        print(f"{name}: per-sample accuracy {info['per_sample_accuracy']:.3f}, "
              f"{info['failed']} failed requests (counted wrong), {info['abstained']} no answer, "
              f"{info['missing']} missing, of {info['samples']} samples")  # fmt: skip
    _write_json(args.json, {"task": record_set.sample_set.task, "split": split,
                            "failures": failures,
                            "rows": [dataclasses.asdict(r) for r in rows]})  # fmt: skip
    return 0


def _run_live(args: argparse.Namespace) -> int:
    import asyncio  # here, not at the top: the parser (and --help) stays light
    import dataclasses

    from slmmux_run.cli_args import task_options, tasks_for_models
    from slmmux_run.data.record_samples import load_records
    from slmmux_run.data.records import RecordStore
    from slmmux_run.orchestrate import live_model_switch
    from slmmux_run.replay import mean_and_standard_error, replay_table
    from slmmux_run.replay_report import format_table
    from slmmux_run.sampling.client import Client
    from slmmux_run.sampling.collect import collect, estimate_plan, keys_of, plan_requests
    from slmmux_run.sampling.config import load_config
    from slmmux_run.progress import Progress
    from slmmux_run.sampling.failures import failure_line, summarize_failures
    from slmmux_run.sampling.spending import Budget, format_estimate
    from slmmux_run.sampling.spent import spent_in_records

    if not args.config:
        raise UserError("--live needs --config MODELS.toml")
    check_output_file(args.records, "--records")  # appended to: checked before any request
    k = _live_k(args.k)
    rules = _rules(args.rule)
    if len(rules) != 1 or rules[0] not in live_rules():
        raise UserError(f"--live runs one rule: --rule {' or --rule '.join(live_rules())}")
    config = load_config(args.config)
    if not args.models:
        raise UserError("--live needs --models a,b (in ModelSwitch's visiting order)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    tasks = tasks_for_models(config, args.task, task_options(args), models)
    store = RecordStore(args.records)
    spent = spent_in_records(store.records, config)  # the caps are for the record file
    budget = Budget(args.max_requests, args.max_cost, spent.requests, spent.cost)
    plan_by_model = {
        name: plan_requests({name: tasks[name]}, k, args.temperature, args.seed,
                            args.max_tokens)  # fmt: skip
        for name in models
    }
    full = plan_requests(tasks, k, args.temperature, args.seed, args.max_tokens)
    print(format_estimate(estimate_plan(config, full, store), "to send (at most)"))

    async def main(progress):
        async with Client(config, budget=budget, progress=progress, spent=spent) as client:
            if rules == ["model-switch"]:
                return await live_model_switch(client, store, plan_by_model, models)
            await collect(client, store, full)
            return None

    # ModelSwitch stops early, so its total is at most what is missing.
    to_send = sum(len(store.missing(keys_of(question))) for question in full)
    unit = "samples (at most)" if rules == ["model-switch"] else "samples"
    # One writer per record file, as in collect: a second run on --records is refused at once.
    with store.exclusive(), Progress(f"mux --live {rules[0]}", to_send, unit=unit) as progress:
        result = asyncio.run(main(progress))
    latest = store.latest()
    failures = summarize_failures(latest[key].error for question in full
                                  for key in keys_of(question) if key in latest)  # fmt: skip
    if failures.all_failed:  # an accuracy over failures only would be 0 by construction
        print(f"slmmux mux: {failure_line(failures)}", file=sys.stderr)
        return 3
    if result is None:  # SLM-MUX needs every model's samples: collect, then replay
        record_set = load_records(
            (r for r in store.latest().values() if r.task == tasks[models[0]].name), None, models
        )
        rows, split = replay_table(record_set, ["slm-mux"], [k],
                                   validation_fraction=args.validation_split, seed=args.seed,
                                   cross_fit=args.cross_fit)  # fmt: skip
        print(format_table(rows))
        _write_json(args.json, {"rule": "slm-mux", "split": split,
                                "requests_sent": budget.requests - spent.requests,
                                "rows": [dataclasses.asdict(r) for r in rows]})  # fmt: skip
        return 0
    accuracy, error, count = mean_and_standard_error(result.correct)
    print(f"model-switch live: accuracy {accuracy:.3f} ± {error:.3f} over {count} questions; "
          f"samples {result.samples_used} of at most {result.samples_max}; HTTP requests sent "
          f"{result.requests_sent} of at most {result.requests_max} (cached samples cost none)")
    _write_json(args.json, {
        "rule": "model-switch", "accuracy": accuracy, "standard_error": error,
        "questions": count, "models_used": result.models_used.tolist(),
        "samples_used": result.samples_used, "samples_max": result.samples_max,
        "requests_sent": result.requests_sent, "requests_max": result.requests_max,
    })  # fmt: skip
    return 0
