"""Reproduce step ``theory``: the binary-majority claims beside exact categorical values.

Runner layer: the rows come from :func:`slmmux_run.theory_claims.write_theory_claims` (the
library behind ``slmmux theory``); this step only turns them into summary rows.
"""

from __future__ import annotations

from slmmux_run.reproduce.context import Context, StepResult, SummaryRow

__all__ = ["step_theory"]


def step_theory(context: Context) -> StepResult:
    """The binary-majority claims beside exact categorical values (slmmux theory)."""
    from slmmux_run.theory_claims import write_theory_claims

    written = write_theory_claims(context.out / "theory")
    by_claim: dict[str, list] = {}
    for row in written.rows:
        by_claim.setdefault(row.claim, []).append(row)
    voting = by_claim["voting helps iff p>0.5"]
    mux = by_claim["SLM-MUX ~ A(k, p_max)"]
    summary = [
        SummaryRow(
            "voting helps only if p > 0.5 (binary majority)",
            "stated for all N",
            f"holds at {sum(r.holds for r in voting)}/{len(voting)} grid points "
            "(fails for even N and dispersed errors)",
            "—",
        ),
        SummaryRow(
            "SLM-MUX accuracy ≈ A(k, p_max)",
            "approximation",
            f"max |A(k,p_max) − exact| = {max(abs(r.paper - r.exact) for r in mux):.3f}",
            "—",
        ),
    ]
    return StepResult("theory", figures=[written.figure], tables=[written.table], summary=summary)
