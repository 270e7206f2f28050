"""``slmmux theory``: the papers' theoretical claims beside exact values, as a table and a figure."""

from __future__ import annotations

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "theory", help="table of the paper's theoretical claims beside exact values, and a figure",
        description="Evaluate the papers' theoretical claims on a grid of settings with the "
        "exact engine, print where each holds, and write the table (JSON) and a figure.",
    )
    parser.add_argument("--out", default="out/theory", help="folder for the figure and JSON")
    parser.add_argument("--all-rows", action="store_true", help="print every grid row")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from slmmux_run.cli_args import check_output_folder
    from slmmux_run.theory_claims import write_theory_claims

    written = write_theory_claims(check_output_folder(args.out, "--out"))
    rows = written.rows
    print(f"{'claim':32} {'setting':48} {'paper':>8} {'exact':>8}  holds")
    by_claim: dict[str, list] = {}
    for row in rows:
        by_claim.setdefault(row.claim, []).append(row)
    for claim, members in by_claim.items():
        shown = members if args.all_rows else [r for r in members if not r.holds][:4] + [
            r for r in members if r.holds][:2]
        for r in shown:
            print(f"{r.claim:32} {r.setting:48} {r.paper:8.4f} {r.exact:8.4f}  {'yes' if r.holds else 'NO'}")
    print()
    print("summary: claim held at how many grid points")
    for claim, members in by_claim.items():
        held = sum(r.holds for r in members)
        gap = max(abs(r.paper - r.exact) for r in members)
        print(f"  {claim:32} {held:3d} / {len(members):3d}   largest |paper - exact| = {gap:.4f}")
    print(f"\nfigure: {written.figure}\ntable:  {written.table}")
    return 0
