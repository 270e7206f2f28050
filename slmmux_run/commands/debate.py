"""``slmmux debate``: groupthink report, cross-fit, frozen prediction and its check, live runs.

A thin command: it parses the flags, calls one function of :mod:`slmmux_run.debate_study` (which
reads the files and calls the theory in :mod:`slmmux_theory.discussion`), and writes and prints
what :mod:`slmmux_run.debate_report` formats. Actions:

* ``report``: fit on a seeded half of the questions, predict the held-out half, compare debate
  with SLM-MUX, Agent Forest and the single models at equal tokens; writes ``report.md``,
  ``result.json`` and ``figure.png`` into ``--out``;
* ``crossfit``: pool the held-out checks of two reports fitted on complementary halves;
* ``predict``: fit on every debate of one or more studies and predict debates on new questions
  from their independent samples only (a frozen ``prediction.json``, committed before the new
  debates are analysed);
* ``check``: new debates against a frozen prediction (never refits);
* ``run``: run debates (or MoA / MAV) against served models of a config, resumably, with
  ``--max-requests`` / ``--max-cost`` for the transcript file; exit 3, with the commonest error
  and a hint, when every turn failed, and exit 3 when a cap stopped it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slmmux_run.cli_args import (
    MAX_POSTERIOR_DRAWS, MAX_STEPS, ListedStore, add_cap_arguments, add_task_arguments,
    check_output_file, check_output_folder, int_in, names_in, number_in, task_options,
    token_limit,
)
from slmmux_run.cli_catalog import DEBATE_MODELS, DISCUSSION_VARIANTS
from slmmux_run.errors import UserError
from slmmux_run.progress import Progress

__all__ = ["register", "run"]

_VARIANTS = ", ".join(DISCUSSION_VARIANTS)

def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``debate`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "debate",
        help="discussion methods: groupthink report from stored debate transcripts",
        description="Reproduce the debate vs SLM-MUX vs Agent Forest table and figure from "
        "stored transcripts and independent samples, without calling any model.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    report = actions.add_parser(
        "report", help="fit, predict, compare; write table and figure",
        description="Fit the groupthink model on a seeded half of the questions, predict the "
        "held-out half, and compare debate with SLM-MUX, Agent Forest and the single models at "
        "equal tokens; writes report.md, result.json and figure.png into --out.")
    report.add_argument("--transcripts", required=True, help="debate transcripts (JSONL)")
    report.add_argument("--samples", default=None,
                        help="independent samples (record JSONL; default samples.jsonl beside "
                        "the transcripts)")  # fmt: skip
    report.add_argument("--config", default=None,
                        help="TOML with a [report] table (default config.toml beside the "
                        "transcripts, if any)")  # fmt: skip
    report.add_argument("--models", default=None,
                        help="models of the independent samples, in SLM-MUX tie order "
                        f"(default: {','.join(DEBATE_MODELS)})")
    report.add_argument("--out", required=True, help="output folder")
    report.add_argument("--fit-steps", type=int_in(1, MAX_STEPS), default=None,
                        help="SVI steps (override)")
    report.add_argument("--draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=None,
                        help="posterior draws used")
    report.add_argument("--swap-halves", action="store_true",
                        help="fit on the complementary half of the seeded split and predict the "
                        "usual fit half (second fold of a 2-fold cross-fit; the smoothing and "
                        "the variant are then chosen on that fold's own fit half)")
    report.add_argument("--variants", default=None,
                        type=names_in(lambda: DISCUSSION_VARIANTS, what="variant"),
                        help="comma-separated model variants to fit and compare (default: the "
                        f"[report] table's 'variants', else all: {_VARIANTS})")
    crossfit = actions.add_parser(
        "crossfit", help="pool the held-out checks of two reports fitted on complementary halves",
        description="Pool the held-out checks of two reports fitted on complementary question "
        "halves (a report and its --swap-halves twin) into one cross-fitted check; writes "
        "crossfit.md and crossfit.json into --out.")
    crossfit.add_argument("--folds", nargs="+", required=True,
                          help="result.json of each fold (e.g. a report and its --swap-halves "
                          "twin)")  # fmt: skip
    crossfit.add_argument("--out", required=True, help="output folder (crossfit.md, .json)")
    live = actions.add_parser(
        "run", help="run debates (or MoA / MAV) against served models",
        description="Run debates (or mixture of agents, multi-agent verification) on a task "
        "against the served models of --config, appending every turn to --transcripts; resumes "
        "where a previous run stopped. Exit 3, with the commonest error and a hint, when every "
        "turn failed.")
    live.add_argument("--config", required=True, help="model config TOML")
    live.add_argument("--agents", required=True,
                      help="model of each agent, comma-separated (a model may repeat)")
    live.add_argument("--method", choices=("debate", "moa", "mav"), default="debate",
                      help="debate, mixture of agents (moa) or multi-agent verification (mav)")
    live.add_argument("--rounds", type=int_in(1, 100), default=3,
                      help="debate rounds / MoA layers + 1 / MAV candidates")
    live.add_argument("--temperature", type=number_in(0), default=0.7,
                      help="sampling temperature (>= 0)")
    live.add_argument("--seed", type=int, default=0, help="run seed (per-question seeds)")
    live.add_argument("--max-tokens", type=token_limit, default=20,
                      help="completion limit per turn")
    live.add_argument("--presentation", choices=("index", "shuffled"), default="index",
                      help="order of the other agents' replies in a prompt: agent index or a "
                      "seeded shuffle")
    live.add_argument("--transcripts", required=True, help="transcript JSONL (appended to)")
    add_cap_arguments(live, store="transcript file", flag="--transcripts", holds="turns")
    add_task_arguments(live)
    predict = actions.add_parser(
        "predict", help="fit on every debate of a study; predict debates on new questions from "
        "their independent samples only (frozen prediction.json)",
        description="Fit the groupthink model on every debate of one or more studies and "
        "predict debates on new questions from their independent samples only; writes a frozen "
        "prediction.json into --out, to be committed before the new debates are analysed.")
    predict.add_argument("--transcripts", required=True, nargs="+",
                         help="fitted studies' transcripts (JSONL; several studies are pooled)")
    predict.add_argument("--samples", default=None, nargs="+",
                         help="fitted studies' independent samples, one per transcripts file "
                         "(default samples.jsonl beside each)")  # fmt: skip
    predict.add_argument("--target-samples", required=True,
                         help="independent samples of the same models on the new questions")
    predict.add_argument("--config", default=None,
                         help="TOML with a [report] table (default config.toml beside the "
                         "transcripts)")  # fmt: skip
    predict.add_argument("--debates-per-question", type=int_in(1, 10_000), default=2,
                         help="debates planned per new question (for the predictive interval)")
    predict.add_argument("--variants", default=None,
                         type=names_in(lambda: DISCUSSION_VARIANTS, what="variant"),
                         help="comma-separated variants to choose among, by the largest "
                         "in-sample miss (default: the [report] table's 'variants', else all: "
                         f"{_VARIANTS})")
    predict.add_argument("--fit-steps", type=int_in(1, MAX_STEPS), default=None,
                         help="SVI steps (override)")
    predict.add_argument("--draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=None,
                         help="posterior draws used")
    predict.add_argument("--out", required=True, help="output folder (prediction.json)")
    check = actions.add_parser(
        "check", help="new debates against a frozen prediction.json",
        description="Compare new debates with a frozen prediction.json of 'debate predict' "
        "(never refits): is each measure within --tolerance points? Writes check.md and "
        "check.json into --out.")
    check.add_argument("--prediction", required=True, help="prediction.json of `debate predict`")
    check.add_argument("--transcripts", required=True, help="the new debates (JSONL)")
    check.add_argument("--samples", default=None,
                       help="independent samples on the new questions (default samples.jsonl "
                       "beside the transcripts)")  # fmt: skip
    check.add_argument("--tolerance", type=number_in(0), default=3.0,
                       help="target, percentage points")
    check.add_argument("--out", required=True, help="output folder (check.md, check.json)")
    parser.set_defaults(handler=run, interrupt_keeps=lambda args: (
        args.transcripts if args.action == "run" else None))


def _out(path: str) -> Path:
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _check_paths(args: argparse.Namespace) -> None:
    """Outputs checked before any fit or request: a result is never lost to a bad --out."""
    if args.action == "run":
        from slmmux_run.sampling.discussion_files import read_turns

        path = check_output_file(args.transcripts, "--transcripts")
        if path.is_file() and path.stat().st_size and not read_turns(path):
            raise UserError(f"--transcripts {path}: not a transcript file (no discussion turns "
                            f"in it); it is left untouched: choose another file")
    else:
        check_output_folder(args.out, "--out")


def _report(args: argparse.Namespace) -> int:
    from slmmux_run import debate_report, debate_study

    models = args.models.split(",") if args.models else list(debate_study.MODELS)
    with Progress("debate report: fit the variants, check on the held-out half"):
        result = debate_study.report(
            args.transcripts, args.samples, args.config, models=models,
            fit_steps=args.fit_steps, draws=args.draws,
            swap_halves=getattr(args, "swap_halves", False),
            variant_names=getattr(args, "variants", None))  # fmt: skip
    _, text = debate_report.write_report(result, _out(args.out))
    print(text)
    return 0


def _crossfit(args: argparse.Namespace) -> int:
    from slmmux_run import debate_report, debate_study

    with Progress("debate crossfit: one fit per fold"):
        folds, pooled, names = debate_study.crossfit(args.folds)
    print(debate_report.write_crossfit(folds, pooled, names, _out(args.out)))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from slmmux_run import debate_report, debate_study

    with Progress("debate predict: fit on every debate, predict the new questions"):
        result = debate_study.predict(
            args.transcripts, args.target_samples, args.samples, args.config,
            debates_per_question=args.debates_per_question, variant_names=args.variants,
            fit_steps=args.fit_steps, draws=args.draws)  # fmt: skip
    debate_report.write_json(_out(args.out) / "prediction.json", result)
    print(debate_report.format_prediction(result, args.debates_per_question))
    return 0


def _check(args: argparse.Namespace) -> int:
    from slmmux_run import debate_report, debate_study

    frozen, checked = debate_study.check(args.prediction, args.transcripts, args.samples,
                                         tolerance=args.tolerance / 100)  # fmt: skip
    _, text = debate_report.write_check(frozen, checked, _out(args.out))
    print(text)
    return 0


def _live(args: argparse.Namespace) -> int:
    import sys

    from slmmux_run.debate_live import run_live
    from slmmux_run.sampling.failures import failure_line

    result = run_live(
        args.config, [m.strip() for m in args.agents.split(",") if m.strip()], args.task,
        task_options(args), method=args.method, rounds=args.rounds,
        temperature=args.temperature, seed=args.seed, max_tokens=args.max_tokens,
        presentation=args.presentation, transcripts=args.transcripts,
        max_requests=args.max_requests, max_cost=args.max_cost,
        report_line=lambda line: print(line, flush=True))  # fmt: skip
    if result.failures.all_failed:  # every turn failed: the "wrong" answers above are not results
        print(f"slmmux debate: {failure_line(result.failures, 'turns')}", file=sys.stderr)
        return 3
    return 3 if result.stopped_by_cap else 0  # a cap left discussions unrun, as collect says


_ACTIONS = {"report": _report, "crossfit": _crossfit, "predict": _predict, "check": _check,
            "run": _live}


def run(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate <action>`` (``report`` when no action is set)."""
    action = getattr(args, "action", "report")
    _check_paths(argparse.Namespace(**{**vars(args), "action": action}))
    return _ACTIONS[action](args)
