"""Does an agent's switching to a peer's answer depend on its confidence in its own answer?

Issue 6 check (no new model code): for every agent-round t >= 2 where some peer's previous
answer is valid (not ⊥) and differs from the agent's own previous answer, did the agent switch
to one of those peer answers? Binned by the agent's *own-answer probability* — the probability
its model's independent answer distribution (16 samples, pseudo-count ``--smoothing``) puts on
the slot it holds — separately for the report's seeded halves A (pre-registered fit half) and B
(held-out half), with the switch probability the committed main fits (fold A: state_law fitted
on A; fold B: state_law_by_model fitted on B; posterior means from ``report*/result.json``)
expect on the same agent-rounds. ⊥ holders are tabulated apart (their "confidence" is the
probability of giving no answer).

    python -m experiments.groupthink_real.confidence_check [--study-dir DIR]

(also the step ``confidence`` of ``python -m experiments.groupthink_real.run``).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from slmmux_run.debate_study import halves
from slmmux_run.sampling.discussion_samples import complete_discussions, sample_answers
from slmmux_run.sampling.discussion import transcript_slots
from slmmux_run.sampling.discussion_files import TranscriptStore
from slmmux_run.data.records import RecordStore
from slmmux_theory.discussion.model import discussion_params, last_peer_weights, next_answer_probabilities
from slmmux_theory.precision import enable_x64

from experiments.files import stored_jsonl

HERE = Path(__file__).resolve().parent
BINS = ((0.0, 0.3), (0.3, 0.7), (0.7, 1.01))


def fitted_params(result_path: Path):
    """Posterior-mean DiscussionParams of a committed report's main fit."""
    model = json.loads(result_path.read_text())["model"]
    par = model["parameters"]
    return discussion_params(
        par["conformity"]["mean"], par["majority_weight"]["mean"], 0.0,
        par["conformity_when_correct"]["mean"], recognition=par["recognition"]["mean"],
        private_law=np.asarray(model["private_law"]["mean"]),
    )  # fmt: skip


def agent_rounds(slots, params):
    """Per agent-round with a differing valid peer answer: (debate, own p, own slot, switched,
    expected switch probability, some differing peer answer is the correct slot)."""
    answers, probs, num_answers = slots.answers, slots.probs, slots.num_answers
    last_peer = last_peer_weights(answers.shape[2])
    rows = []
    for d in range(answers.shape[0]):
        prev = jnp.asarray(answers[d, :-1])
        moves = np.asarray(next_answer_probabilities(prev, jnp.asarray(probs[d]), params, last_peer))
        for t in range(answers.shape[1] - 1):
            for i in range(answers.shape[2]):
                own = answers[d, t, i]
                targets = {answers[d, t, j] for j in range(answers.shape[2])
                           if j != i and answers[d, t, j] != num_answers - 1
                           and answers[d, t, j] != own}  # fmt: skip
                if not targets:
                    continue
                rows.append((d, probs[d, i, own], own, answers[d, t + 1, i] in targets,
                             sum(moves[t, i, a] for a in targets), 0 in targets))
    return np.array(rows, dtype=float)


def logistic_slope(switched, log_confidence, offset, clusters):
    """ML fit of logit P(switch) = offset + a + b · log_confidence.

    Returns ((a, b), naive standard errors, cluster-robust standard errors): the naive ones
    (inverse Hessian) treat agent-rounds as independent; the robust ones (sandwich with the
    scores summed per cluster, here per question) allow the rounds, agents and 4 debates of a
    question to be correlated.
    """
    from scipy.optimize import minimize

    design = np.stack([np.ones_like(log_confidence), log_confidence], axis=1)

    def loss(beta):
        eta = offset + design @ beta
        return np.sum(np.logaddexp(0.0, eta) - switched * eta)

    beta = minimize(loss, np.zeros(2), method="BFGS").x
    prob = 1.0 / (1.0 + np.exp(-(offset + design @ beta)))
    hessian = design.T @ (design * (prob * (1 - prob))[:, None])
    inverse = np.linalg.inv(hessian)
    scores = design * (switched - prob)[:, None]
    _, cluster = np.unique(clusters, return_inverse=True)
    summed = np.zeros((cluster.max() + 1, 2))
    np.add.at(summed, cluster, scores)
    robust = inverse @ (summed.T @ summed) @ inverse
    return beta, np.sqrt(np.diag(inverse)), np.sqrt(np.diag(robust))


def main(argv=None) -> int:
    enable_x64()  # the theory computes in float64
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoothing", type=float, default=0.01)
    parser.add_argument("--study-dir", default=str(HERE),
                        help="folder of config.toml, the transcripts, samples and report*/")
    args = parser.parse_args(argv)
    study = Path(args.study_dir)
    settings = tomllib.loads((study / "config.toml").read_text())["report"]
    turns = TranscriptStore(stored_jsonl(study, "transcripts")).turns()
    debates = complete_discussions(turns, "debate")
    debate_turns = [t for g in debates.values() for t in g]
    records = list(RecordStore(stored_jsonl(study, "samples")).latest().values())
    answers_by_key, _ = sample_answers(records)
    slots = transcript_slots(debate_turns, samples=answers_by_key,
                             max_answers=int(settings["max_answers"]), smoothing=args.smoothing)
    half_a, half_b = halves(slots.question_ids, settings | {"swap_halves": False})
    in_a = np.array([q in set(half_a) for q in slots.question_ids])
    abstain = slots.num_answers - 1
    question_of = np.unique(np.asarray(slots.question_ids), return_inverse=True)[1]
    for fold, result in (("A", "report"), ("B", "report_swapped")):
        rows = agent_rounds(slots, fitted_params(study / result / "result.json"))
        print(f"\n## expected switch from the main fit of fold {fold} ({result}/result.json)")
        print("| half | own answer | own-answer prob. | n | switched | measured % | expected % "
              "| meas. − exp. |")
        print("|---|---|---|---|---|---|---|---|")
        for half, mask in (("A", in_a), ("B", ~in_a)):
            half_rows = rows[mask[rows[:, 0].astype(int)]]
            for kind, select in (("correct", half_rows[:, 2] == 0),
                                 ("wrong", (half_rows[:, 2] > 0) & (half_rows[:, 2] < abstain)),
                                 ("wrong, a peer correct", (half_rows[:, 2] > 0)
                                  & (half_rows[:, 2] < abstain) & (half_rows[:, 5] > 0)),
                                 ("wrong, no peer correct", (half_rows[:, 2] > 0)
                                  & (half_rows[:, 2] < abstain) & (half_rows[:, 5] == 0)),
                                 ("⊥", half_rows[:, 2] == abstain)):
                for low, high in BINS:
                    sub = half_rows[select & (half_rows[:, 1] >= low) & (half_rows[:, 1] < high)]
                    if not len(sub):
                        continue
                    meas, exp = sub[:, 3].mean(), sub[:, 4].mean()
                    print(f"| {half} | {kind} | [{low:.1f}, {min(high, 1):.1f}) | {len(sub)} | "
                          f"{int(sub[:, 3].sum())} | {100 * meas:.1f} ± "
                          f"{100 * np.sqrt(meas * (1 - meas) / len(sub)):.1f} | {100 * exp:.1f} | "
                          f"{100 * (meas - exp):+.1f} |")
        print(f"\nlogistic slope of switching on log own-answer probability (centred), fold {fold}: "
              "raw | with the fit's expected switch probability as offset; ± naive se "
              "(question-clustered se)")
        wrong = (rows[:, 2] > 0) & (rows[:, 2] < abstain)
        for kind, select in (("correct", rows[:, 2] == 0), ("wrong", wrong),
                             ("wrong, a peer correct", wrong & (rows[:, 5] > 0)),
                             ("wrong, no peer correct", wrong & (rows[:, 5] == 0))):
            centre = np.log(rows[select, 1]).mean()
            for half, mask in (("A", in_a), ("B", ~in_a), ("A+B", np.ones_like(in_a))):
                sub = rows[select & mask[rows[:, 0].astype(int)]]
                x = np.log(sub[:, 1]) - centre
                expected = np.clip(sub[:, 4], 1e-6, 1 - 1e-6)
                question = question_of[sub[:, 0].astype(int)]
                raw, raw_se, raw_rob = logistic_slope(sub[:, 3], x, np.zeros(len(sub)), question)
                off, off_se, off_rob = logistic_slope(
                    sub[:, 3], x, np.log(expected / (1 - expected)), question)
                print(f"  {kind:22s} {half:3s} n={len(sub):4d}  slope {raw[1]:+.2f} ± "
                      f"{raw_se[1]:.2f} ({raw_rob[1]:.2f}) | {off[1]:+.2f} ± {off_se[1]:.2f} "
                      f"({off_rob[1]:.2f})")
    # Confidence mix: all agent-rounds t >= 2's previous answers (the states agents revise from).
    print("\n## own-answer probability of the previous answer, all agent-rounds t >= 2")
    print("| half | own answer | n | mean | < 0.3 | 0.3–0.7 | > 0.7 |")
    print("|---|---|---|---|---|---|---|")
    own = np.take_along_axis(slots.probs[:, None], slots.answers[:, :-1, :, None], -1)[..., 0]
    for half, mask in (("A", in_a), ("B", ~in_a)):
        held = slots.answers[mask, :-1]
        p = own[mask]
        for kind, select in (("correct", held == 0), ("wrong", (held > 0) & (held < abstain)),
                             ("⊥", held == abstain), ("all", np.ones_like(held, bool))):
            v = p[select]
            shares = [np.mean((v >= lo) & (v < hi)) for lo, hi in BINS]
            print(f"| {half} | {kind} | {v.size} | {v.mean():.3f} | "
                  + " | ".join(f"{100 * s:.1f}" for s in shares) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
