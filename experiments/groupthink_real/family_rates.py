"""How discussion moves change from one arithmetic family to the next (descriptive, issue 6).

For the three studies (``easy``: ``transcripts.jsonl``; ``easy-word``: ``transfer/``;
``medium``: ``blind_medium/``) and every agent-round t >= 2, the empirical rate of the moves the
groupthink model has parameters for, beside the mean probability of the correct answer that the
agents' models give on the same questions in their independent samples (16 per question, no
pseudo-count). This was computed AFTER the blind check of ``blind_medium/`` (it explains a
failure, it does not test anything):

* ``wrong → correct, no correct peer``: a wrong agent none of whose peers showed the correct
  answer gives it (private re-derivation);
* ``wrong → correct, correct peer shown``: recognition plus the social pull toward it;
* ``correct kept, no correct peer``: a correct agent alone with its answer keeps it;
* ``correct kept, a correct peer``: the same with support;
* ``ratio to p``: the first rate divided by the mean p(correct) of those agents' models on
  those questions (1 = re-derivation as good as a fresh independent sample).

    python -m experiments.groupthink_real.family_rates [--study-dir DIR] [--out family_rates.json]

(also the step ``family-rates`` of ``python -m experiments.groupthink_real.run``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from slmmux_run.sampling.discussion_samples import complete_discussions, sample_answers
from slmmux_run.sampling.discussion import transcript_slots
from slmmux_run.sampling.discussion_files import TranscriptStore
from slmmux_run.data.records import RecordStore
from slmmux_theory.precision import enable_x64

from experiments.files import stored_jsonl

HERE = Path(__file__).resolve().parent
#: Family name -> folder inside the study folder.
STUDIES = {"easy": ".", "easy-word": "transfer", "medium": "blind_medium"}


def _rate(mask_events, mask_chances) -> dict:
    chances = int(mask_chances.sum())
    events = int((mask_events & mask_chances).sum())
    return {"rate": events / chances if chances else float("nan"), "events": events,
            "chances": chances}


def family_rates(folder: Path) -> dict:
    """Empirical move rates of one study (see the module docstring)."""
    turns = TranscriptStore(stored_jsonl(folder, "transcripts")).turns()
    debates = complete_discussions(turns, "debate")
    debate_turns = [t for group in debates.values() for t in group]
    answers_by_key, _ = sample_answers(list(RecordStore(stored_jsonl(folder, "samples")).latest().values()))
    slots = transcript_slots(debate_turns, samples=answers_by_key, max_answers=7, smoothing=0.0)
    answers, probs = np.asarray(slots.answers), np.asarray(slots.probs)
    previous, following = answers[:, :-1], answers[:, 1:]  # [debates, rounds-1, agents]
    correct_prev = previous == 0
    peers_correct = (correct_prev.sum(axis=-1, keepdims=True) - correct_prev) > 0
    wrong_prev = ~correct_prev
    now_correct = following == 0
    p_correct = np.broadcast_to(probs[:, None, :, 0], previous.shape)
    alone_wrong = wrong_prev & ~peers_correct
    return {
        "debates": len(debates),
        "mean_p_correct_per_agent": probs[:, :, 0].mean(axis=0).round(4).tolist(),
        "wrong_to_correct_no_correct_peer": _rate(now_correct, alone_wrong),
        "wrong_to_correct_correct_peer_shown": _rate(now_correct, wrong_prev & peers_correct),
        "correct_kept_no_correct_peer": _rate(now_correct, correct_prev & ~peers_correct),
        "correct_kept_with_correct_peer": _rate(now_correct, correct_prev & peers_correct),
        "ratio_to_p_wrong_alone": float(
            (now_correct & alone_wrong).sum() / max(p_correct[alone_wrong].sum(), 1e-12)),
    }


def main(argv=None) -> int:
    enable_x64()  # the theory computes in float64
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default=str(HERE),
                        help="the study folder (families in ., transfer/, blind_medium/)")
    parser.add_argument("--out", default=str(HERE / "family_rates.json"))
    args = parser.parse_args(argv)
    folders = {name: Path(args.study_dir) / sub for name, sub in STUDIES.items()}
    result = {name: family_rates(folder) for name, folder in folders.items()
              if stored_jsonl(folder, "transcripts").is_file()}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    head = ("wrong→correct alone", "wrong→correct shown", "correct kept alone",
            "correct kept supported", "ratio to p")
    print("| family | debates | p(correct) per agent | " + " | ".join(head) + " |")
    print("|---|---|---|" + "---|" * len(head))
    for name, r in result.items():
        cells = [f"{100 * r[k]['rate']:.1f} ({r[k]['events']}/{r[k]['chances']})" for k in (
            "wrong_to_correct_no_correct_peer", "wrong_to_correct_correct_peer_shown",
            "correct_kept_no_correct_peer", "correct_kept_with_correct_peer")]
        print(f"| {name} | {r['debates']} | "
              f"{', '.join(f'{p:.2f}' for p in r['mean_p_correct_per_agent'])} | "
              + " | ".join(cells) + f" | {r['ratio_to_p_wrong_alone']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
