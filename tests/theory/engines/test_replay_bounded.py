"""Tests of slmmux_theory.engines.replay.exact_replay in bounded memory: per-model rows compacted
on their own slots, enumerations too large for memory skipped (NaN), never attempted.

Expected values come from the brute-force references of ``tests/theory/reference_rules.py``
(every ordered draw of k of the recorded samples), never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from slmmux_theory.engines import replay
from slmmux_theory.rules.registry import RULES
from tests.theory.reference_rules import REFERENCES, replay_expectation

# Three models whose wrong answers never coincide: the question's union of slots (8) is much
# wider than any one model's row (at most 4), which is what made 13 models at k = 10 cost 10 GB.
ABSTAIN = 7
SAMPLES = np.array([
    [[0, 1, 1, 2], [1, 2, 2, 0], [0, 0, 1, ABSTAIN]],
    [[3, 0, 4, ABSTAIN], [3, 3, 0, 0], [4, 4, 4, 3]],
    [[5, 5, 6, 0], [0, 6, 5, 6], [0, 0, 0, 5]],
])
VALIDATION = np.array([0.9, 0.5, 0.1])  # tie ranks 0, 1, 2: model order
FACTORISED = [name for name, rule in RULES.items() if not rule.enumerates_products]


@pytest.mark.parametrize("name", FACTORISED)
def test_factorised_rules_replay_each_row_on_its_own_slots(name):
    rule = RULES[name]
    samples = SAMPLES[:1] if rule.first_model_only else SAMPLES
    counts = replay.sample_counts(samples, ABSTAIN + 1)
    got = replay.exact_replay(counts, name, 2, validation=VALIDATION[: len(samples)])
    for q in range(samples.shape[1]):
        expected, spent = replay_expectation(
            [samples[m, q].tolist() for m in range(len(samples))], 2,
            lambda seqs: REFERENCES[name](seqs, ABSTAIN, [0, 1, 2]))
        assert got.correct[q] == pytest.approx(expected, abs=1e-9), (name, q)
        assert got.spent[q] == pytest.approx(spent, abs=1e-9), (name, q)


def test_enumeration_sizes_by_hand():
    # Tuples of two models' count vectors at k = 2 over 3 slots: C(4, 2)^2 = 36, each holding
    # 2 x 3 counts.
    assert replay.enumeration_size("model-switch", 2, 2, 3) == 36 * 6
    # Pooled on three models, k = 1, 2 slots: vectors C(2, 1) = 2; pooled laws of one and two
    # models C(2, 1) = 2, C(3, 1) = 3: index tables 2*2 + 3*2 = 10.
    assert replay.enumeration_size("agent-forest", 3, 1, 2) == 10
    # A pooled pair goes through the V x V kernel.
    assert replay.enumeration_size("agent-forest", 2, 3, 4) == 20**2


def test_enumerations_over_the_memory_limit_are_skipped_not_attempted(monkeypatch):
    # Four models, k = 2. q0 uses one wrong slot (3 slots): pooled tables (6 + 15 + 28) * 6 =
    # 294 entries; q1 uses four (6 slots): (21 + 126 + 462) * 21 = 12,789. Both fall in the
    # narrow group; with a limit of 1,000 the group is split and only q0 is computed.
    monkeypatch.setattr(replay, "_MAX_CELLS", 1000)
    samples = np.array([
        [[0, 1, 0], [0, 1, 2]],
        [[1, 1, 0], [3, 4, 0]],
        [[0, 0, 1], [4, 4, 1]],
        [[0, 1, 1], [2, 0, 3]],
    ])
    counts = replay.sample_counts(samples, 6)
    values = replay.exact_replay(counts, "agent-forest", 2)
    assert np.isnan(values.correct[1]) and np.isnan(values.spent[1])
    expected, spent = replay_expectation([samples[m, 0].tolist() for m in range(4)], 2,
                                         lambda seqs: REFERENCES["agent-forest"](seqs, 5, None))
    assert values.correct[0] == pytest.approx(expected, abs=1e-9)
    assert values.spent[0] == pytest.approx(spent)


def test_without_a_limit_the_split_changes_nothing(monkeypatch):
    # The same four models with the default limit: both questions computed, q1 equal to its
    # brute-force expectation.
    samples = np.array([
        [[0, 1, 0], [0, 1, 2]],
        [[1, 1, 0], [3, 4, 0]],
        [[0, 0, 1], [4, 4, 1]],
        [[0, 1, 1], [2, 0, 3]],
    ])
    values = replay.exact_replay(replay.sample_counts(samples, 6), "agent-forest", 2)
    for q in range(2):
        expected, _ = replay_expectation([samples[m, q].tolist() for m in range(4)], 2,
                                         lambda seqs: REFERENCES["agent-forest"](seqs, 5, None))
        assert values.correct[q] == pytest.approx(expected, abs=1e-9)


def test_many_models_at_large_k_stay_within_the_cell_budget():
    # 13 models, 10 recorded samples each, every model with its own two wrong answers: the
    # union has 26 wrong slots (C(37, 27) ~ 3.5e8 count vectors per row, compacted together);
    # per row it is C(13, 3) = 286. At k = 10 every sample is drawn: model 0 holds 4 correct,
    # 3 + 3 wrong (mode correct, count 4); the others 2 correct, 4 + 4 wrong (mode count 4,
    # wrong). All tie at confidence 4/10 and model 0 ranks first: SLM-MUX is right for sure,
    # and so is the oracle.
    rows = [[0] * 4 + [1] * 3 + [2] * 3]
    rows += [[0] * 2 + [1 + 2 * m] * 4 + [2 + 2 * m] * 4 for m in range(1, 13)]
    counts = replay.sample_counts(np.array(rows)[:, None, :], 28)
    values = replay.exact_replay(counts, "slm-mux", 10, validation=np.linspace(1, 0, 13))
    assert values.correct[0] == pytest.approx(1.0)
    assert values.spent[0] == 130.0
    assert replay.exact_replay(counts, "oracle", 10).correct[0] == pytest.approx(1.0)


def test_the_replay_table_reports_each_row_as_it_finishes():
    from slmmux_theory.engines.replay_table import replay_table

    seen = []
    rows, _ = replay_table(SAMPLES, ABSTAIN + 1, ("a", "b", "c"), ["slm-mux", "self-consistency"],
                           [1, 2], validation_fraction=0.0, progress=seen.append)
    assert seen == ["slm-mux k=1", "slm-mux k=2"] + [
        f"self-consistency k={k} {m}" for m in "abc" for k in (1, 2)]
    assert len(rows) == len(seen)


def test_a_product_rule_on_many_models_is_skipped_not_attempted():
    # Seven models whose questions use no wrong answer: 2 slots, 2^7 tuples, tiny, but the
    # contraction over 7 operands is not tried (finding its path takes 5 s at 7 models, minutes at 8).
    samples = np.zeros((7, 2, 2), dtype=int)
    values = replay.exact_replay(replay.sample_counts(samples, 3), "model-switch", 1)
    assert np.isnan(values.correct).all()
    # Six models still run: every sample correct, ModelSwitch stops at the first model.
    values = replay.exact_replay(replay.sample_counts(samples[:6], 3), "model-switch", 1)
    np.testing.assert_allclose(values.correct, [1.0, 1.0])
