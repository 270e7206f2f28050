"""``slmmux compare``: every registered rule and every SLM-MUX pair on a samples file.

Parses the flags, calls :func:`slmmux_run.compare_study.compare_study`, writes its JSON
(``{"rows": [{"rule", "models", "k", "accuracy", "stderr", "mean_tokens"}, ...]}``) and prints
the best deployable rows per k.
"""

from __future__ import annotations

import json
import sys

from slmmux_run.cli_args import MAX_SAMPLES, add_records_argument, int_in
from slmmux_run.errors import UserError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``compare`` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="every rule side by side on a samples file: cross-fitted accuracy and real tokens",
        description="For k = 1..K: every registered rule on all models of the file and SLM-MUX "
        "on every pair, as cross-fitted test accuracy (two question folds from --seed; tie "
        "ranks and learned weights from the other fold) with a standard error clustered by "
        "question and the mean real tokens per question.",
    )
    add_records_argument(parser, alias=True)
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), required=True,
                        help="the largest k (samples per model): every k = 1..K is compared")
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the draws")
    parser.add_argument("--draws", type=int_in(2), default=100,
                        help="random draws of k samples per question for the subsampled rules")
    parser.add_argument("--json", required=True, metavar="OUT", help="write the rows here")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from slmmux_run.compare_study import compare_json, compare_study

    if args.draws < 2:
        raise UserError(f"--draws must be >= 2, got {args.draws}")
    result = compare_study(args.records, args.k, args.seed, args.draws, progress=sys.stderr)
    try:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(compare_json(result), handle, indent=1)
    except OSError as error:
        raise UserError(f"{args.json}: cannot write ({error.strerror})") from None
    for k in range(1, args.k + 1):
        rows = [r for r in result.rows if r.k == k and result.rule_kinds[r.rule] == "deployable"]
        best = max(rows, key=lambda r: r.accuracy)
        print(f"k={k}: best {best.rule} on {len(best.models)} model(s) {best.accuracy:.4f} "
              f"± {best.stderr:.4f}" + (f", {best.mean_tokens:.0f} tokens/question"
                                          if best.mean_tokens is not None else ""))
    print(f"{len(result.rows)} rows in {result.seconds:.0f} s -> {args.json}")
    return 0
