"""``slmmux reproduce``: every figure and table of the book into one folder, with a summary."""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.cli_args import check_output_folder, int_in, names_in
from slmmux_run.cli_catalog import REPRODUCE_STEPS, reproduce_steps

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="regenerate every figure and table from computation and stored records",
        description="Run the steps of the main job (the theory's claims, replays of stored "
        "samples, the plan, the held-out check, the groupthink study, the local runs) into one "
        "folder; print each claim beside the paper's value and ours, and write summary.md and "
        "summary.json.",
    )
    parser.add_argument("--out", default="out/reproduce", help="output folder")
    parser.add_argument("--data-dir", default=None,
                        help="shared data directory (must exist when given; without it, "
                        "steps whose data is absent are skipped with the reason)")
    parser.add_argument("--experiments-dir", default=None,
                        help="the committed experiments (default $SLMMUX_EXPERIMENTS_DIR, else "
                             "the checkout's experiments/; steps that need it are skipped "
                             "without one)")
    parser.add_argument("--steps", default=None,
                        type=names_in(reproduce_steps, what="step"),
                        help=f"comma-separated subset of {', '.join(REPRODUCE_STEPS)} "
                        "(default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller grids (for tests)")
    parser.add_argument("--jobs", type=int_in(1, len(REPRODUCE_STEPS)), default=None,
                        help="steps run at once, each in its own process (default: the usable "
                        "cores, at most 3: beyond that the longest step alone sets the time); "
                        "1: one after the other in this process. The results are the same")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from slmmux_run.data.paths import data_dir
    from slmmux_run.errors import UserError
    from slmmux_run.replay_report import markdown_table, text_table
    from slmmux_run.reproduce import STEPS, Context, run_steps

    names = None
    if args.steps:
        names = [n.strip() for n in args.steps.split(",") if n.strip()]
        unknown = [n for n in names if n not in STEPS]
        if unknown:
            raise UserError(f"--steps: unknown step(s) {unknown}; choose from {list(STEPS)}")
    if args.data_dir is not None:
        data_dir(args.data_dir)  # a named folder that is missing is an error, not skipped steps
    if args.experiments_dir is not None and not Path(args.experiments_dir).is_dir():
        raise UserError(f"--experiments-dir {args.experiments_dir}: not a folder (it does not "
                        f"exist, or is a file)")
    out = check_output_folder(args.out, "--out")
    out.mkdir(parents=True, exist_ok=True)
    if args.jobs is None:
        from slmmux_run.reproduce.parallel import default_jobs

        args.jobs = default_jobs()
    results = run_steps(Context(out=out, data_dir=args.data_dir, quick=args.quick,
                                 experiments=args.experiments_dir), names, jobs=args.jobs)
    rows = [row for result in results for row in result.summary]
    header = ("claim", "paper", "ours-theory", "ours-real")
    cells = [(row.claim, row.paper, row.theory, row.real) for row in rows]
    print()
    print(text_table(header, cells))  # wrapped at spaces to the terminal, never cut
    print()
    print(text_table(("step", "seconds", "figures", "tables"),
                     [(r.name, f"{r.seconds:.1f}", len(r.figures), len(r.tables)) for r in results]))
    skipped = [r for r in results if r.note]
    for r in skipped:
        print(f"skipped {r.name}: {r.note}")
    summary = {
        "rows": [row.__dict__ for row in rows],
        "steps": [{"name": r.name, "seconds": r.seconds, "figures": [str(f) for f in r.figures],
                   "tables": [str(t) for t in r.tables], "note": r.note} for r in results],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "summary.md").write_text(markdown_table(header, cells) + "\n")
    print(f"\nfigures and tables in {out}; summary in {out / 'summary.md'}")
    return 0
