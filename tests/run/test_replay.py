"""Tests of slmmux_run.replay (sample sets through the theory's replay engine) and ``slmmux mux``
on hand-made record files (the engine itself: tests/theory/engines/test_replay*.py).

Expected values are worked out by hand in the comments, or by brute force over every draw of
the recorded samples (exact replay), never by the code under test.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_run.errors import UserError
from slmmux_run.data.record_samples import load_records
from slmmux_run.replay import (
    evaluation_folds,
    exact_replay,
    literal_replay,
    replay_table,
)
from slmmux_run.data.records import RecordStore
from tests.run.hand_records import hand_records
from tests.theory.reference_rules import replay_by_hand



def test_literal_replay_matches_the_rules_worked_by_hand():
    sample_set = load_records(hand_records()).sample_set
    key = jax.random.PRNGKey(0)
    # No ties anywhere at k = 3, so every outcome is forced:
    # SLM-MUX: q1 b (3/3) -> 8 wrong; q2 a (3/3) -> 5 right; q3 b (2/3 > 1/3) -> 2 wrong.
    assert literal_replay(sample_set, "slm-mux", 3, key)[0].tolist() == [0, 1, 0]
    # Agent Forest pooled: q1 8:4 > 7:2; q2 5:3 > 4:2; q3 2:2 > 9:1, 1:1.
    assert literal_replay(sample_set, "agent-forest", 3, key)[0].tolist() == [0, 1, 0]
    assert literal_replay(sample_set, "self-consistency", 3, key, model=0)[0].tolist() == [1, 1, 1]
    assert literal_replay(sample_set, "self-consistency", 3, key, model=1)[0].tolist() == [0, 0, 0]
    assert literal_replay(sample_set, "oracle", 3, key)[0].tolist() == [1, 1, 1]
    # ModelSwitch: q2 a is unanimous -> stop at a (3 samples). q1: entropy weights
    # w_a = 1/3 + 2/3 (1 - H(2/3, 1/3)) = 0.3878, w_b = 1: 8 scores 0.388 + 3 > 7's 0.776.
    # q3: a has one valid sample (w_a = 1), b: 2 has 2 w_b, w_b = 1/3 + 2/3 (1 - 0.918) = 0.388,
    # so 9 scores 1.0 against 2's 0.776 and 1's 0.388: right.
    correct, spent = literal_replay(sample_set, "model-switch", 3, key)
    assert correct.tolist() == [0, 1, 1]
    assert spent.tolist() == [6, 3, 6]


def test_literal_replay_uses_only_the_first_k_samples():
    sample_set = load_records(hand_records()).sample_set
    # At k = 1: a says 7, 5, 9 (all right), b says 8, 4, 1 (all wrong).
    key = jax.random.PRNGKey(3)
    assert literal_replay(sample_set, "self-consistency", 1, key, model=0)[0].tolist() == [1, 1, 1]
    # SLM-MUX at k = 1: both confidences are 1/1, ties go to priority: b first -> all wrong.
    assert literal_replay(sample_set, "slm-mux", 1, key, priority=np.array([1, 0]))[0].tolist() \
        == [0, 0, 0]  # fmt: skip
    assert literal_replay(sample_set, "slm-mux", 1, key, priority=np.array([0, 1]))[0].tolist() \
        == [1, 1, 1]  # fmt: skip








@pytest.mark.parametrize("k", [1, 2])
def test_exact_replay_is_the_mean_over_every_k_subset(k):
    # The records glue must give the theory's exact replay of the slots it builds.
    sample_set = load_records(hand_records()).sample_set
    expected = replay_by_hand(sample_set.samples, sample_set.num_answers, k, priority=[0, 1])
    validation = np.array([0.9, 0.1])  # ranks a first, as priority [0, 1]
    got = {
        "slm-mux": exact_replay(sample_set, "slm-mux", k, validation=validation)[0],
        "agent-forest": exact_replay(sample_set, "agent-forest", k)[0],
        "sc-a": exact_replay(sample_set, "self-consistency", k, model=0)[0],
        "oracle": exact_replay(sample_set, "oracle", k)[0],
        "switch": exact_replay(sample_set, "model-switch", k)[0],
    }
    for rule in expected:
        np.testing.assert_allclose(got[rule], expected[rule], atol=1e-9, err_msg=rule)


def test_exact_replay_leaves_questions_beyond_the_slot_limit_out():
    sample_set = load_records(hand_records()).sample_set
    # q2 and q3 use 2 wrong slots (A = 4), q1 one (A = 3): a limit of 3 keeps only q1.
    correct, _ = exact_replay(sample_set, "agent-forest", 3, max_slots=3)
    assert np.isnan(correct[1:]).all() and correct[0] == 0.0


def test_evaluation_folds_are_disjoint_and_cover_the_questions():
    for fraction, cross_fit in [(0.3, False), (0.5, True), (0.25, True)]:
        folds = evaluation_folds(20, fraction, seed=4, cross_fit=cross_fit)
        for validation, evaluation in folds:
            assert not set(validation) & set(evaluation)
            if cross_fit:
                assert sorted(set(validation) | set(evaluation)) == list(range(20))
        evaluated = np.concatenate([e for _, e in folds])
        assert len(evaluated) == len(set(evaluated))
        assert len(evaluated) == (20 if cross_fit else 14)
    assert evaluation_folds(5, 0.0, 0)[0][0].size == 0
    with pytest.raises(UserError):
        evaluation_folds(5, 1.0, 0)


def test_replay_table_ranks_ties_on_validation_questions_only():
    loaded = load_records(hand_records())
    rows, split = replay_table(loaded, ["slm-mux"], [1], validation_fraction=0.34, seed=1)
    fold = split["folds"][0]
    assert fold["validation_questions"] == 1 and fold["evaluation_questions"] == 2
    # Whichever question validates, a is right on every recorded sample there except q3's
    # failure and ⊥, b never: a ranks first, and at k = 1 a's first samples are all right.
    assert fold["validation_accuracy"]["b"] == 0.0
    assert rows[0].literal == 1.0 and rows[0].questions == 2


def test_mux_command_writes_table_and_json(tmp_path, capsys):
    path = tmp_path / "records.jsonl"
    RecordStore(path).append_many(hand_records())
    out = tmp_path / "mux.json"
    code = main(["mux", "--records", str(path), "--rule", "all", "--k", "3",
                 "--validation-split", "0", "--json", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "agent-forest" in printed and "1 failed requests" in printed
    payload = json.loads(out.read_text())
    by_rule = {(r["rule"], tuple(r["models"])): r for r in payload["rows"]}
    # k = 3 is every recorded sample: literal and exact agree on forced outcomes.
    assert by_rule[("slm-mux", ("a", "b"))]["literal"] == pytest.approx(1 / 3)
    assert by_rule[("slm-mux", ("a", "b"))]["exact"] == pytest.approx(1 / 3)
    assert by_rule[("model-switch", ("a", "b"))]["literal_samples"] == pytest.approx(5.0)
    assert payload["failures"]["a"]["failed"] == 1


def test_mux_command_rejects_bad_k(tmp_path):
    path = tmp_path / "records.jsonl"
    RecordStore(path).append_many(hand_records())
    assert main(["mux", "--records", str(path), "--k", "4"]) == 2


def test_user_mistakes_become_one_line_user_errors():
    sample_set = load_records(hand_records()).sample_set
    with pytest.raises(UserError, match="only 3 samples are recorded"):
        literal_replay(sample_set, "slm-mux", 4, jax.random.PRNGKey(0))
    with pytest.raises(UserError, match="unknown rule"):
        literal_replay(sample_set, "debate", 1, jax.random.PRNGKey(0))
    with pytest.raises(UserError, match="needs k recorded samples"):
        exact_replay(sample_set, "slm-mux", 4)
    with pytest.raises(UserError, match="leaves a part empty"):
        replay_table(load_records(hand_records()), ["slm-mux"], [1], validation_fraction=0.01)
