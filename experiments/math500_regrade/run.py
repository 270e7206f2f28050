r"""Hand check of the MATH-500 regrade: a seeded sample of the answers where our grader and
upstream's string equality disagree, and of the wrong answers our grader merges.

Reads Best-of-∞'s MATH-500 file (data README, section F) row by row, regrades every question with
:func:`slmmux_run.data.regrade.regrade_question` (what every loader does to this file), and
lists the distinct (question, answer) pairs whose verdict changed (upstream wrong, ours right, or
the reverse) and the distinct wrong answers merged into another wrong answer's vote group. From
each list it draws a sample with ``numpy.random.default_rng(seed)`` and writes ``hand_check.md``:
answer, gold, upstream verdict, ours, and the hand verdict with its reason, read from
``hand_verdicts.json`` in this folder (typed in by a person who judged each pair
mathematically; the script never fills it). The summary counts how many verdicts of our grader
the hand check confirms.

Usage::

    python -m experiments.math500_regrade.run [--seed 0] [--count 50] [--merges 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from slmmux_run.data.jsonl_rows import natural_key, open_rows
from slmmux_run.data.paths import data_file
from slmmux_run.data.regrade import regrade_question
from slmmux_run.errors import UserError
from slmmux_run.sampling.grade import grade

__all__ = ["Disagreement", "disagreements", "main", "write_report"]

HERE = Path(__file__).resolve().parent
SAMPLES_FILE = "samples/boinf_math500_500x80_7models.jsonl"
VERDICTS = HERE / "hand_verdicts.json"


class Disagreement(NamedTuple):
    """One distinct answer of one question that the regrade treats differently from upstream.

    Attributes:
      kind: ``"verdict"`` (correctness changed) or ``"merge"`` (a wrong answer joined another
        wrong answer's vote group).
      question_id: the question.
      answer: the answer string as stored.
      gold: the question's gold.
      upstream: upstream's verdict (string equality), ``True`` = correct.
      ours: our verdict.
      label: the vote group the answer joined (the gold, or a wrong representative).
      samples: how many samples (all models) gave this answer.
      detail: what decided our verdict against the gold (the grader's layer and method).
    """

    kind: str
    question_id: str
    answer: str
    gold: str
    upstream: bool
    ours: bool
    label: str
    samples: int
    detail: str


def disagreements(path) -> list[Disagreement]:
    """Every changed verdict and every merged wrong answer, one per (question, answer)."""
    _, numbered = open_rows(path)
    by_question: dict[str, list[dict]] = {}
    for _, row in numbered:
        by_question.setdefault(row["question_id"], []).append(row)
    found: dict[tuple[str, str, str], Disagreement] = {}
    for question in sorted(by_question, key=natural_key):
        rows = by_question[question]
        gold = rows[0]["gold"].strip()
        answers = [[(a.strip() or None) if a is not None else None for a in r["answers"]]
                   for r in rows]  # fmt: skip
        regraded = regrade_question(answers, gold)
        for row, raw, labels, verdicts in zip(rows, answers, regraded.labels, regraded.correct):
            for answer, flag, label, ours in zip(raw, row["is_correct"], labels, verdicts):
                if answer is None:
                    continue
                if flag != ours:
                    kind = "verdict"
                elif not ours and label != answer:
                    kind = "merge"
                else:
                    continue
                key = (kind, question, answer)
                if key in found:
                    found[key] = found[key]._replace(samples=found[key].samples + 1)
                    continue
                verdict = grade(answer, gold, ("exact", "symbolic"))
                found[key] = Disagreement(kind, question, answer, gold, bool(flag), ours, label,
                                          1, f"{verdict.layer}: {verdict.detail}")  # fmt: skip
    return list(found.values())


def draw(items: list[Disagreement], count: int, seed: int) -> list[Disagreement]:
    """``count`` items without replacement, seeded, in file order."""
    generator = np.random.default_rng(seed)
    chosen = generator.choice(len(items), size=min(count, len(items)), replace=False)
    return [items[i] for i in sorted(chosen)]


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _verdict(value: bool) -> str:
    return "right" if value else "wrong"


def write_report(verdicts: list[Disagreement], merges: list[Disagreement], totals: dict,
                 hand: dict, seed: int, out: Path) -> dict:  # fmt: skip
    """Write ``hand_check.md``; return the counts of the summary."""
    lines = [
        "# MATH-500 regrade: hand check",
        "",
        "Written by `python -m experiments.math500_regrade.run` (seed "
        f"{seed}) from `{SAMPLES_FILE}`; the hand verdicts come from `hand_verdicts.json`.",
        "",
        f"Distinct (question, answer) pairs whose verdict changed: {totals['verdict']} "
        f"({totals['verdict_samples']} samples; upstream right and ours wrong: "
        f"{totals['right_to_wrong']}). Distinct wrong answers merged into another wrong "
        f"answer's vote group: {totals['merge']} ({totals['merge_samples']} samples).",
        "",
    ]
    summary = {}
    for title, items, kind in (
        (f"## {len(verdicts)} changed verdicts, drawn with seed {seed}", verdicts, "verdict"),
        (f"## {len(merges)} merged wrong answers, drawn with seed {seed}", merges, "merge"),
    ):
        lines += [title, ""]
        if kind == "verdict":
            lines += ["| q | answer | gold | upstream | ours (decided by) | samples | hand | reason |",
                      "|---|---|---|---|---|---:|---|---|"]
        else:
            lines += ["| q | answer | merged into | gold | samples | hand | reason |",
                      "|---|---|---|---|---:|---|---|"]
        confirmed = checked = 0
        for item in items:
            entry = hand.get(f"{kind}|{item.question_id}|{item.answer}")
            mark, reason = ("(not checked)", "") if entry is None else (entry["hand"], entry["reason"])
            if entry is not None:
                checked += 1
                # A merge is confirmed when the two answers are the same answer by hand.
                confirmed += (entry["hand"] == _verdict(item.ours)) if kind == "verdict" else (
                    entry["hand"] == "same")
            if kind == "verdict":
                lines.append(f"| {item.question_id} | {_cell(item.answer)} | {_cell(item.gold)} | "
                             f"{_verdict(item.upstream)} | {_verdict(item.ours)} ({item.detail}) | "
                             f"{item.samples} | {mark} | {reason} |")
            else:
                lines.append(f"| {item.question_id} | {_cell(item.answer)} | {_cell(item.label)} | "
                             f"{_cell(item.gold)} | {item.samples} | {mark} | {reason} |")
        summary[kind] = {"checked": checked, "confirmed": confirmed, "drawn": len(items)}
        what = "verdicts" if kind == "verdict" else "merges"
        lines += ["", f"Hand-checked {checked} of {len(items)}; the hand check confirms our "
                  f"{what} on **{confirmed} of {checked}**.", ""]
    (out / "hand_check.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="shared data folder (default: ../shared/data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples drawn")
    parser.add_argument("--count", type=int, default=50, help="changed verdicts to draw")
    parser.add_argument("--merges", type=int, default=20, help="merged wrong answers to draw")
    parser.add_argument("--out", default=str(HERE), help="folder of hand_check.md")
    args = parser.parse_args(argv)
    try:
        path = data_file(SAMPLES_FILE, args.data_dir)
    except UserError as error:
        print(f"math500_regrade: {error}", file=sys.stderr)
        return 2
    found = disagreements(path)
    changed = [d for d in found if d.kind == "verdict"]
    merged = [d for d in found if d.kind == "merge"]
    totals = {
        "verdict": len(changed), "verdict_samples": sum(d.samples for d in changed),
        "right_to_wrong": sum(d.upstream and not d.ours for d in changed),
        "merge": len(merged), "merge_samples": sum(d.samples for d in merged),
    }
    hand = {}
    if VERDICTS.is_file():
        for entry in json.loads(VERDICTS.read_text("utf-8")):
            hand[f"{entry['kind']}|{entry['question_id']}|{entry['answer']}"] = entry
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = write_report(draw(changed, args.count, args.seed), draw(merged, args.merges, args.seed),
                           totals, hand, args.seed, out)  # fmt: skip
    print(json.dumps({"totals": totals, "hand_check": summary}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
