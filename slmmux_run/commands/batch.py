"""``slmmux batch``: write a planned run as an OpenAI/vLLM batch input, read its output back.

``batch export`` plans the run as ``collect`` would and writes one batch line per request
(``custom_id``, ``method``, ``url``, ``body``); ``batch import`` joins the output to the input on
``custom_id`` and appends the records ``collect`` would have stored (see
:mod:`slmmux_run.sampling.batch`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from slmmux_run.cli_args import add_task_arguments, task_options, tasks_for_models
from slmmux_run.errors import UserError

__all__ = ["register", "run_export", "run_import"]

OPENAI_BATCH_LIMIT = 50_000
"""Most requests OpenAI's Batch API takes in one input file."""
CUSTOM_ID_LIMIT = 64
"""The longest ``custom_id`` some batch providers take (e.g. Together's documented limit)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``batch export`` and ``batch import``."""
    parser = subparsers.add_parser(
        "batch",
        help="write a planned run as an OpenAI/vLLM batch input file; read its output as records",
        description="Run the full sampling through a batch API (OpenAI Batch, vllm run-batch): "
        "'export' writes the requests 'collect' would send, 'import' turns the batch output "
        "into the records 'collect' would have stored.",
    )
    actions = parser.add_subparsers(dest="batch_command", metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the batch input file of a planned run",
        description="Plan (task, models, k, temperature, seed) as 'collect' does and write one "
        "JSONL line per request: custom_id (task, prompt version, model, question, samples), "
        "method, url, body. One file per model (a batch API takes one model per file): with "
        "several models, --out batch.jsonl becomes batch.<model>.jsonl. Samples already in "
        "--records are left out.",
    )  # fmt: skip
    export.add_argument("--config", required=True, help="model config TOML")
    export.add_argument("--models", required=True, help="model names, comma-separated")
    export.add_argument("--k", type=int, default=5, help="samples per model and question")
    export.add_argument("--temperature", type=float, default=0.7, help="sampling temperature")
    export.add_argument("--seed", type=int, default=0, help="run seed (per-question seeds)")
    export.add_argument("--max-tokens", type=int, default=64, help="completion limit per sample")
    export.add_argument("--question-ids", default=None, metavar="FILE",
                        help="only these questions: a text file with one question id per line")
    export.add_argument("--records", default=None, metavar="FILE",
                        help="record file whose stored samples are not exported again (a pilot)")
    export.add_argument("--out", required=True,
                        help="batch input file to write (JSONL); with several models, one file "
                        "per model named after it")
    add_task_arguments(export)
    export.set_defaults(handler=run_export)

    reader = actions.add_parser(
        "import", help="read a batch output back as records",
        description="Join the batch output to its input on custom_id (any order), check each "
        "prompt is the task's, extract and grade each answer, and append records to --out. "
        "Failed requests are stored as failures; samples already stored are skipped.",
    )  # fmt: skip
    reader.add_argument("--config", required=True, help="model config TOML (as for the export)")
    reader.add_argument("--input", required=True, action="append",
                        help="a batch input file written by export (repeat for several)")
    reader.add_argument("--output", required=True, action="append",
                        help="a batch output file (JSONL; repeat for several, any order)")
    reader.add_argument("--out", required=True, help="record file (JSONL, appended to)")
    add_task_arguments(reader)
    reader.set_defaults(handler=run_import)
    parser.set_defaults(handler=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _question_ids(path: str | None) -> list[str] | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"--question-ids {path}: cannot be read ({error.strerror})") from None
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        raise UserError(f"--question-ids {path}: holds no question id")
    if len(set(ids)) != len(ids):
        raise UserError(f"--question-ids {path}: a question id is listed twice")
    return ids


def _joined(read, paths: list[str], what: str) -> dict:
    """The lines of several files by custom_id; a custom_id in two files is an error."""
    joined: dict = {}
    where: dict[str, str] = {}
    for path in paths:
        for custom_id, line in read(path).items():
            if custom_id in joined:
                raise UserError(f"{path}:{line.line}: custom_id {custom_id!r} is also in "
                                f"{where[custom_id]} (each {what} line once)")  # fmt: skip
            joined[custom_id], where[custom_id] = line, path
    return joined


def run_export(args: argparse.Namespace) -> int:
    """Write the batch input; print what it holds."""
    from slmmux_run.data.records import RecordStore
    from slmmux_run.sampling.batch import export_run, select_questions
    from slmmux_run.sampling.config import load_config

    config = load_config(args.config)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    for model in models:
        config.model(model)
    options = task_options(args)
    ids = _question_ids(args.question_ids)
    if ids is not None:
        options["n_questions"] = None  # the listed ids choose the questions
    tasks = select_questions(tasks_for_models(config, args.task, options, models), ids,
                             args.question_ids)  # fmt: skip
    store = RecordStore(args.records) if args.records else None
    files = export_run(config, tasks, args.k, args.temperature, args.seed, args.max_tokens,
                       args.out, store=store)  # fmt: skip
    for model, written in zip(models, files):
        print(f"batch export: {model}: {written.lines} requests, {written.samples} samples -> "
              f"{written.path}")  # fmt: skip
        if written.lines > OPENAI_BATCH_LIMIT:
            print(f"note: OpenAI's Batch API takes at most {OPENAI_BATCH_LIMIT} requests per "
                  "file; split this file for it")  # fmt: skip
        if written.longest_id > CUSTOM_ID_LIMIT:
            print(f"note: custom_ids up to {written.longest_id} characters; OpenAI and vllm "
                  f"run-batch take them, providers with a {CUSTOM_ID_LIMIT}-character limit do "
                  "not (shorter model names and question ids help)")  # fmt: skip
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Append the batch's records; exit 3 when some samples failed or did not come back."""
    from slmmux_run.data.importers.openai_batch import read_batch_input, read_batch_output
    from slmmux_run.data.records import RecordStore
    from slmmux_run.sampling.batch import batch_models, import_batch
    from slmmux_run.sampling.config import load_config

    config = load_config(args.config)
    inputs = _joined(read_batch_input, args.input, "input")
    outputs = _joined(read_batch_output, args.output, "output")
    input_name, output_name = " + ".join(args.input), " + ".join(args.output)
    models = batch_models(inputs, input_name)
    tasks = tasks_for_models(config, args.task, task_options(args), models)
    store = RecordStore(args.out)
    with store.exclusive():
        done = import_batch(tasks, config, inputs, outputs, store, input_name=input_name,
                            output_name=output_name)  # fmt: skip
    print(f"batch import: {done.requests} requests; {done.stored} samples stored, {done.failed} "
          f"failed, {done.cached} already stored, {done.not_returned} not returned -> {args.out}")
    return 0 if done.failed == 0 and done.not_returned == 0 else 3
