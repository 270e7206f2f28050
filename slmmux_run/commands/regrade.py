"""``slmmux regrade``: regrade a samples file with the equivalence grader into an output folder.

Calls :func:`slmmux_run.data.regrade_file.regrade_file` and prints, per model, the sample
accuracy before (the file's ``is_correct``) and after, and how many vote groups were merged.
"""

from __future__ import annotations

import time

from slmmux_run.cli_args import add_records_argument

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "regrade",
        help="regrade a samples file's answers with the equivalence grader, merging equal ones",
        description="Grade every distinct answer of a shared samples file against its gold with "
        "the equivalence grader (exact, numeric, symbolic), merge answers it finds equal into "
        "one vote group, and write the regraded file (same schema, answers replaced by group "
        "labels, the input kept as raw_answers) into --out. Prints accuracy before and after "
        "and merged vote groups per model.",
    )
    add_records_argument(parser, alias=True,
                         help="shared samples file with 'answers' lists (JSONL or .jsonl.gz)")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder; the file is written as <name>.regraded.jsonl")  # fmt: skip
    parser.set_defaults(handler=run)


def run(args) -> int:
    from slmmux_run.data.regrade_file import regrade_file

    start = time.perf_counter()
    report = regrade_file(args.records, args.out)
    seconds = time.perf_counter() - start
    print(f"regraded {report.source} -> {report.output} in {seconds:.1f} s")
    print(f"{'model':34} {'samples':>8} {'acc before':>10} {'acc after':>10} "
          f"{'wrong->right':>12} {'right->wrong':>12} {'answers':>8} {'merged':>7}")  # fmt: skip
    for model in report.models:
        print(f"{model.model:34} {model.samples:8d} {model.accuracy_before:10.4f} "
              f"{model.accuracy_after:10.4f} {model.wrong_to_right:12d} "
              f"{model.right_to_wrong:12d} {model.distinct_answers:8d} {model.groups_merged:7d}")
    print(f"all models: {report.distinct_answers} distinct answers per question (summed) form "
          f"{report.groups} vote groups ({report.distinct_answers - report.groups} merged)")
    return 0
