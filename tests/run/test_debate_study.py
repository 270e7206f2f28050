"""Tests of slmmux_run.debate_study (transfer: frozen prediction, check) and sample_slot_probs."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from slmmux_run.commands.debate import register, run
from slmmux_run.debate_study import check_prediction
from slmmux_run.sampling.discussion_samples import sample_slot_probs
from slmmux_run.sampling.discussion import Turn, transcript_slots
from slmmux_run.errors import UserError


def test_sample_slot_probs_orders_wrong_answers_over_all_models_and_smooths_seen_slots():
    # Wrong answers over both models: "7" x3, "5" x2, "9" x1 -> slots 1, 2, 3 (A = 5 merges
    # "9" into the last wrong slot, 3); ⊥ is slot 4. Smoothing 0.5 on every slot seen on the
    # question by either model (0, 1, 2, 3, 4) and always on the correct slot.
    samples = {("q", "a"): ["4", "7", "7", None], ("q", "b"): ["7", "5", "5", "9"]}
    probs = sample_slot_probs(samples, {"q": "4"}, ["q"], ["a", "b", "a"], 5, 0.5)
    a = np.array([1, 2, 0, 0, 1]) + 0.5
    b = np.array([0, 1, 2, 1, 0]) + 0.5
    np.testing.assert_allclose(probs[0, 0], a / a.sum())
    np.testing.assert_allclose(probs[0, 1], b / b.sum())
    np.testing.assert_allclose(probs[0, 2], probs[0, 0])


def test_sample_slot_probs_matches_transcript_slots_when_debates_add_no_answer():
    # With debates that show only answers the samples already hold, the debate-free layout
    # must equal the report's (so a prediction and its check put answers on the same slots).
    samples = {("q", "m"): ["2", "3", "3", "5", None, "2"]}
    turns = [Turn("debate", "d", "q", r, i, f"x{i}", "m", "", (), ans, ans, ans == "2", "2",
                  0, 0, 1, 0)
             for r, row in ((1, ("3", "2")), (2, ("3", "3"))) for i, ans in enumerate(row)]
    slots = transcript_slots(turns, samples=samples, max_answers=5, smoothing=0.1)
    probs = sample_slot_probs(samples, {"q": "2"}, ["q"], ["m", "m"], 5, 0.1)
    np.testing.assert_allclose(probs[0], slots.probs[0])


def test_sample_slot_probs_names_a_question_without_samples():
    with pytest.raises(UserError, match="'q2'"):
        sample_slot_probs({("q1", "m"): ["1"]}, {"q1": "1", "q2": "2"}, ["q1", "q2"], ["m"], 3, 0.1)


def _debate(question, replicate, rounds_answers, gold="2"):
    return [Turn("debate", f"debate-{question}-r{replicate}", question, r + 1, i, f"x{i}", "m", "",
                 (), ans, ans, ans == gold, gold, 0, 0, 1, 0)
            for r, row in enumerate(rounds_answers) for i, ans in enumerate(row)]


def _prediction(question_ids, debate_accuracy=0.5):
    measures = {m: {"mean": 0.5, "interval90": [0.4, 0.6], "predictive90": [0.3, 0.7]}
                for m in ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                          "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong")}
    measures["debate_accuracy"]["mean"] = debate_accuracy
    return {"debates_per_question": 1, "agent_models": ["m", "m"], "num_answers": 4,
            "smoothing": {"chosen": 0.1},
            "predictions": {str(n): {"question_ids": question_ids[:n], "measures": measures}
                            for n in (1, len(question_ids))}}


def test_check_uses_the_largest_fully_debated_prefix_and_measures_it():
    samples = [_record(q) for q in ("qa", "qb")]
    # qa: both agents right at the end (accuracy 1); qb not debated -> prefix of 1 question.
    turns = _debate("qa", 0, [("3", "2"), ("2", "2")])
    checked = check_prediction(_prediction(["qa", "qb"], debate_accuracy=0.98), turns, samples)
    assert checked["prefix"] == 1 and checked["debates"] == 1
    row = checked["rows"]["debate_accuracy"]
    assert row["measured"] == pytest.approx(1.0)
    assert row["abs_diff"] == pytest.approx(0.02) and row["within_tolerance"]
    assert checked["rows"]["flip_wrong_to_correct"]["measured"] == pytest.approx(1.0)
    turns += _debate("qb", 0, [("3", "3"), ("3", "3")])
    checked = check_prediction(_prediction(["qa", "qb"], debate_accuracy=0.9), turns, samples)
    assert checked["prefix"] == 2
    assert checked["rows"]["debate_accuracy"]["measured"] == pytest.approx(0.5)
    assert not checked["rows"]["debate_accuracy"]["within_tolerance"]  # 40 points off


def test_check_refuses_when_no_prefix_is_debated():
    with pytest.raises(UserError, match="no predicted question prefix"):
        check_prediction(_prediction(["qa", "qb"]), _debate("qz", 0, [("2", "2")]),
                         [_record("qa")])


class _Record:
    def __init__(self, question, answer, index):
        self.question_id, self.model, self.sample_index = question, "m", index
        self.answer, self.error, self.usage = answer, None, {}
        self.extra = {"gold": "2"}


def _record(question):
    return _Record(question, "2", 0)


def test_cli_check_reports_a_bad_prediction_file_by_name(tmp_path):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    bad = tmp_path / "prediction.json"
    bad.write_text(json.dumps({"predictions": {}}))
    transcripts = tmp_path / "t.jsonl"
    transcripts.write_text("")
    args = parser.parse_args(["debate", "check", "--prediction", str(bad), "--transcripts",
                              str(transcripts), "--out", str(tmp_path / "o")])
    with pytest.raises(UserError, match="prediction.json: field 'debates_per_question'"):
        run(args)


@pytest.mark.slow  # 24 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_predict_new_questions_end_to_end_on_a_tiny_study():
    # Fit study: 6 debates of 2 agents on 3 questions; targets: 3 new questions, one of which
    # lacks samples of the model and must be listed as skipped, never predicted. The round-1
    # (no-communication) plurality does not depend on any fitted parameter, so its prediction
    # must equal the exact plurality accuracy of the sample-based distributions.
    import jax
    import jax.numpy as jnp

    from slmmux_run.debate_study import DEFAULT_SETTINGS, predict_new_questions
    from slmmux_theory.discussion.model import independent_plurality_accuracy_exact

    rng = np.random.default_rng(0)
    fit_turns, fit_records = [], []
    for q in range(3):
        for r in range(2):
            rows = [tuple(str(rng.choice(["2", "3", "4"])) for _ in range(2)) for _ in range(2)]
            fit_turns += _debate(f"f{q}", r, rows)
        fit_records += [_Record(f"f{q}", str(rng.choice(["2", "3"])), i) for i in range(4)]
    target = [_Record("t0", a, i) for i, a in enumerate(["2", "2", "5", None])]
    target += [_Record("t1", a, i) for i, a in enumerate(["7", "2", "7", "7"])]
    target += [_Record("t2", "2", 0)]
    for record in target[-1:]:
        record.model = "other"
    settings = DEFAULT_SETTINGS | {"fit_steps": 20, "draws": 4, "variant_draws": 2,
                                   "simulated_debates": 2, "smoothing_grid": [0.1],
                                   "variants": ("state_law",)}
    result = predict_new_questions(fit_turns, fit_records, target, settings, 2)
    assert result["skipped_questions"] == ["t2"] and result["target_questions"] == 2
    prediction = result["predictions"]["2"]
    assert prediction["question_ids"] == ["t0", "t1"]
    probs = sample_slot_probs({("t0", "m"): ["2", "2", "5", None], ("t1", "m"): ["7", "2", "7", "7"]},
                              {"t0": "2", "t1": "2"}, ["t0", "t1"], ["m", "m"], 7, 0.1)
    expected = float(jnp.mean(jax.vmap(independent_plurality_accuracy_exact)(jnp.asarray(probs))))
    assert prediction["measures"]["independent_accuracy"]["mean"] == pytest.approx(expected, abs=1e-6)
    assert result["selection"]["name"] == "state_law"


def test_predict_names_a_samples_count_that_does_not_match_the_studies(tmp_path):
    from slmmux_run import debate_study

    files = []
    for name in ("a.jsonl", "b.jsonl", "s.jsonl"):
        (tmp_path / name).write_text("")
        files.append(str(tmp_path / name))
    with pytest.raises(UserError, match=r"--samples: give one file per --transcripts file \(2\)"):
        debate_study.fit_studies(files[:2], files[2:])
    pairs = debate_study.fit_studies(files[:2], files[2:] * 2)
    assert [str(t) for t, _ in pairs] == files[:2]
    with pytest.raises(UserError, match="--transcripts .*missing.jsonl does not exist"):
        debate_study.fit_studies([str(tmp_path / "missing.jsonl")], None)


def test_default_samples_are_the_plain_store_else_the_compressed_one(tmp_path):
    from slmmux_run import debate_study

    transcripts = tmp_path / "transcripts.jsonl.gz"
    transcripts.write_bytes(b"")
    with pytest.raises(UserError, match=r"--samples .*samples\.jsonl does not exist"):
        debate_study.fit_studies([str(transcripts)], None)
    (tmp_path / "samples.jsonl.gz").write_bytes(b"")
    assert debate_study.fit_studies([str(transcripts)], None)[0][1].name == "samples.jsonl.gz"
    assert debate_study.samples_beside(transcripts).name == "samples.jsonl.gz"
    (tmp_path / "samples.jsonl").write_text("")
    assert debate_study.fit_studies([str(transcripts)], None)[0][1].name == "samples.jsonl"
