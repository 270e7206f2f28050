"""The subset search on hand-counted toy tables and the arithmetic of REFERENCE_NUMBERS §A.7.

Every expected value below was counted by hand from the tables in this file (the counting is
written next to each table), never produced by the code under test.
"""

import itertools

import numpy as np
import pytest

from slmmux_theory.planning.search import (
    SearchConfig,
    SearchLabels,
    all_subsets,
    counts_from_samples,
    pool_runs,
    score_subsets,
    search_labels,
    search_subsets,
)

# Slots: 0 = c (gold), 1 = w1, 2 = w2, 3 = ⊥.  Three samples per (model, question).
C, W1, W2, B = 0, 1, 2, 3
SAMPLES = np.array(
    [
        # model 0
        [[C, C, C], [C, W1, W1], [W1, W1, W1], [B, B, B], [C, C, W1], [W2, W1, B]],
        # model 1
        [[W1, W1, W1], [C, C, B], [C, C, C], [C, W1, W2], [W2, W2, W2], [B, B, B]],
        # model 2
        [[C, W1, B], [W2, W2, W2], [W1, W1, B], [C, C, W2], [B, B, B], [C, C, C]],
    ]
)
COUNTS = counts_from_samples(SAMPLES, 4)

# Hand labels (questions q0..q5):
#   r = 2 correct:  m0 {q0, q4}        m1 {q1, q2}        m2 {q3, q5}
#   r = 1 correct:  m0 {q0, q1, q4}    m1 {q1, q2, q3}    m2 {q0, q3, q5}
#   consistently wrong, default: m0 {q2}      m1 {q0, q4}      m2 {q1}
#   ... all-⊥ counted:          m0 {q2, q3}  m1 {q0, q4, q5}  m2 {q1, q4}


def as_mask(*question_sets):
    mask = np.zeros((len(question_sets), 6), dtype=bool)
    for model, questions in enumerate(question_sets):
        mask[model, list(questions)] = True
    return mask


def test_labels_by_hand():
    labels = search_labels(COUNTS)
    np.testing.assert_array_equal(labels.correct, as_mask({0, 4}, {1, 2}, {3, 5}))
    np.testing.assert_array_equal(labels.consistently_wrong, as_mask({2}, {0, 4}, {1}))
    loose = search_labels(COUNTS, SearchConfig(robust_level=1))
    np.testing.assert_array_equal(loose.correct, as_mask({0, 1, 4}, {1, 2, 3}, {0, 3, 5}))
    with_blank = search_labels(COUNTS, SearchConfig(abstention_is_wrong=True))
    np.testing.assert_array_equal(
        with_blank.consistently_wrong, as_mask({2, 3}, {0, 4, 5}, {1, 4})
    )


def test_single_sample_is_never_consistently_wrong():
    labels = search_labels(np.array([[[0, 1, 0], [0, 0, 1], [0, 2, 0]]]))
    assert labels.consistently_wrong.tolist() == [[False, False, True]]


def test_table_counts_per_dataset_lambda_one():
    # Subsets {0,1}, {0,2}, {1,2}, {0,1,2} with r = 2:
    #   {0,1}: correct ∪ = {q0,q1,q2,q4} (u=4); wrong ∪ = {q0,q2,q4}, all inside → c = 3
    #   {0,2}: correct ∪ = {q0,q3,q4,q5} (u=4); wrong ∪ = {q1,q2} → c = 0
    #   {1,2}: correct ∪ = {q1,q2,q3,q5} (u=4); wrong ∪ = {q0,q1,q4} → c = 1 (q1)
    #   {0,1,2}: u = 6, wrong ∪ = {q0,q1,q2,q4} → c = 4
    result = search_subsets(COUNTS, min_size=1, max_size=3, return_table=True)
    table = result.table
    np.testing.assert_array_equal(table.union_count, [2, 2, 2, 4, 4, 4, 6])
    np.testing.assert_array_equal(table.contradiction_count, [0, 0, 0, 3, 0, 1, 4])
    np.testing.assert_allclose(
        table.objective, [2 / 6, 2 / 6, 2 / 6, 1 / 6, 4 / 6, 3 / 6, 2 / 6], atol=1e-15
    )
    # K = 1: three-way tie on O and union -> the lexicographically first singleton.
    assert [choice.subset for choice in result.best] == [(0,), (0, 2), (0, 1, 2)]
    k3 = result.best[2]
    assert (k3.union_count, k3.contradiction_count) == (6, 4)
    assert k3.union_accuracy == pytest.approx(1.0)
    assert k3.penalty == pytest.approx(4 / 6)


def test_per_union_correct_normalization():
    # {0,1}: 4/6 − 3/4; {0,2}: 4/6 − 0; {1,2}: 4/6 − 1/4; {0,1,2}: 1 − 4/6.
    config = SearchConfig(contradiction_normalization="per_union_correct")
    table = search_subsets(COUNTS, min_size=2, max_size=3, config=config, return_table=True).table
    np.testing.assert_allclose(
        table.objective, [4 / 6 - 3 / 4, 4 / 6, 4 / 6 - 1 / 4, 1 - 4 / 6], atol=1e-15
    )
    np.testing.assert_allclose(table.contradiction, [3 / 4, 0, 1 / 4, 4 / 6], atol=1e-15)


def test_half_lambda():
    # per_dataset, λ = 0.5: {0,1}: 4/6 − 1.5/6; {0,2}: 4/6; {1,2}: 4/6 − 0.5/6; all: 1 − 2/6.
    config = SearchConfig(contradiction_weight=0.5)
    result = search_subsets(COUNTS, min_size=2, max_size=3, config=config, return_table=True)
    np.testing.assert_allclose(
        result.table.objective, [2.5 / 6, 4 / 6, 3.5 / 6, 4 / 6], atol=1e-15
    )
    assert result.best[0].penalty == pytest.approx(0.0)
    assert result.best[1].penalty == pytest.approx(0.5 * 4 / 6)


def test_robust_level_one():
    # r = 1: singletons u = 3; {0,1}: u=5, c=3 (q0,q2,q4); {0,2}: u=5, c=1 (q1);
    # {1,2}: u=5, c=2 (q0,q1); all: u=6, wrong ∪ = {q0,q1,q2,q4} → c=4.
    config = SearchConfig(robust_level=1)
    result = search_subsets(COUNTS, config=config, return_table=True)
    np.testing.assert_array_equal(result.table.union_count, [3, 3, 3, 5, 5, 5, 6])
    np.testing.assert_array_equal(result.table.contradiction_count, [0, 0, 0, 3, 1, 2, 4])
    assert [choice.subset for choice in result.best] == [(0,), (0, 2), (0, 1, 2)]
    assert result.best[1].objective == pytest.approx(4 / 6)


def test_singletons_never_contradict():
    configs = [SearchConfig(robust_level=1), SearchConfig(), SearchConfig(abstention_is_wrong=True)]
    for config in configs:
        result = search_subsets(COUNTS, min_size=1, max_size=1, config=config, return_table=True)
        table = result.table
        assert table.contradiction_count.tolist() == [0, 0, 0]


def test_abstention_option_and_lexicographic_tie():
    # All-⊥ counted: {0,1}: u=4, c=3 (q0,q2,q4); {0,2}: u=4, c=2 (q3,q4); {1,2}: u=4, c=2
    # (q1,q5); all: u=6, wrong ∪ = every question → c = 6.
    config = SearchConfig(abstention_is_wrong=True)
    result = search_subsets(COUNTS, min_size=2, max_size=3, config=config, return_table=True)
    np.testing.assert_array_equal(result.table.contradiction_count, [3, 2, 2, 6])
    # {0,2} and {1,2} tie on O (2/6) and on union (4): the earlier subset wins.
    assert result.best[0].subset == (0, 2)
    assert result.best[0].objective == pytest.approx(2 / 6)
    assert result.best[1].objective == pytest.approx(0.0)


def test_all_negative_size_still_returns_a_subset():
    # λ = 3 with all-⊥ counted: O = 4/6 − 3·{3,2,2}/6 = −5/6, −2/6, −2/6; K = 3: 1 − 3 = −2.
    config = SearchConfig(abstention_is_wrong=True, contradiction_weight=3.0)
    result = search_subsets(COUNTS, min_size=2, max_size=3, config=config)
    assert result.best[0].subset == (0, 2)
    assert result.best[0].objective == pytest.approx(-2 / 6)
    assert result.best[1].subset == (0, 1, 2)
    assert result.best[1].objective == pytest.approx(-2.0)


def test_equal_objective_prefers_higher_union():
    # Hand labels, |D| = 10, per_union_correct: model 0 is right on q0 only (O = 1/10);
    # model 1 is right on q1..q5 and (labels given directly) wrong-flagged on q1, q2:
    # O = 5/10 − 2/5 = 1/10 as rationals, 0.09999999999999998 in floats. Rule 2 picks model 1.
    correct = np.zeros((2, 10), dtype=bool)
    correct[0, 0] = True
    correct[1, 1:6] = True
    wrong = np.zeros((2, 10), dtype=bool)
    wrong[1, 1:3] = True
    config = SearchConfig(contradiction_normalization="per_union_correct")
    result = search_subsets(labels=SearchLabels(correct, wrong), max_size=1, config=config)
    assert result.best[0].subset == (1,)
    assert result.best[0].union_count == 5


def test_higher_union_breaks_objective_tie():
    # per_dataset λ = 1, |D| = 6: model 0 u=3, c=0 → 3/6; model 1 u=4 and (hand labels) c=1 → 3/6.
    correct = as_mask({0, 1, 2}, {0, 1, 2, 3})
    wrong = as_mask(set(), {3})
    result = search_subsets(labels=SearchLabels(correct, wrong), max_size=1)
    assert result.best[0].subset == (1,)


def test_all_subsets_order_and_brute_force_counts():
    subsets = all_subsets(4, 1, 4)
    expected = [s for size in range(1, 5) for s in itertools.combinations(range(4), size)]
    assert [tuple(int(m) for m in row if m >= 0) for row in subsets] == expected
    rng = np.random.default_rng(0)
    labels = SearchLabels(rng.random((4, 30)) < 0.4, rng.random((4, 30)) < 0.3)
    table = score_subsets(labels, subsets)
    for row, u, c in zip(subsets, table.union_count, table.contradiction_count):
        members = [int(m) for m in row if m >= 0]
        some_right = [any(labels.correct[m, q] for m in members) for q in range(30)]
        some_wrong = [any(labels.consistently_wrong[m, q] for m in members) for q in range(30)]
        assert u == sum(some_right)
        assert c == sum(r and w for r, w in zip(some_right, some_wrong))


def test_sample_pool_runs():
    # One (model, question), two runs of two samples: [c, w1] and [c, w1] → per run one gold
    # copy (not correct at r = 2), pooled two (correct). [w1, w1] then [w2, w2] is consistently
    # wrong per run but not pooled.
    runs = np.array(
        [
            [[[1, 1, 0, 0], [0, 2, 0, 0]]],
            [[[1, 1, 0, 0], [0, 0, 2, 0]]],
        ]
    )
    per_run = search_labels(runs, SearchConfig(sample_pool="per_run", run=1))
    pooled = search_labels(runs, SearchConfig(sample_pool="pooled"))
    assert per_run.correct.tolist() == [[False, False]]
    assert per_run.consistently_wrong.tolist() == [[False, True]]
    assert pooled.correct.tolist() == [[True, False]]
    assert pooled.consistently_wrong.tolist() == [[False, False]]
    np.testing.assert_array_equal(pool_runs(runs, "pooled"), runs.sum(axis=0))


def test_rejects_bad_options():
    with pytest.raises(ValueError, match="contradiction_normalization"):
        SearchConfig(contradiction_normalization="per_question")
    with pytest.raises(ValueError, match="robust_level"):
        SearchConfig(robust_level=0)
    with pytest.raises(ValueError, match="min_size"):
        search_subsets(COUNTS, min_size=0)
    with pytest.raises(ValueError, match="run must lie"):
        pool_runs(np.zeros((2, 1, 1, 2), dtype=int), "per_run", run=2)


@pytest.mark.parametrize(
    "size, union, contradictions, printed_union, printed_score, printed_penalty",
    [
        (448, 181, 19, 0.4040, 0.2990, 0.1050),  # GPQA, K = 2
        (500, 442, 6, 0.884, 0.8704, 0.0136),  # GSM8K, K = 2
        (500, 342, 8, 0.684, 0.6606, 0.0234),  # MATH, K = 2
    ],
)
def test_reference_a7_penalties(
    size, union, contradictions, printed_union, printed_score, printed_penalty
):
    # REFERENCE_NUMBERS §A.7: build validation counts with the derived (u, c) of the best K = 2
    # pair. Model 0 is right (3 × gold) on the first `union - 10` questions, model 1 on the
    # next 10, and model 1 repeats one wrong answer on the first `contradictions` questions;
    # every other sample is ⊥ (not consistently wrong by default). A third model, right on 5
    # new questions but repeating a wrong answer on 100 of model 0's, must lose: {0, 2} scores
    # (first + 5)/|D| − 100/(first + 5) < 0 and {1, 2} at most 15/|D|.
    counts = np.zeros((3, size, 3), dtype=np.int64)
    counts[..., 2] = 3
    first = union - 10
    counts[0, :first] = [3, 0, 0]
    counts[1, first:union] = [3, 0, 0]
    counts[1, :contradictions] = [0, 3, 0]
    counts[2, union : union + 5] = [3, 0, 0]
    counts[2, :100] = [0, 3, 0]
    config = SearchConfig(contradiction_normalization="per_union_correct")
    choice = search_subsets(counts, min_size=2, max_size=2, config=config).best[0]
    assert choice.subset == (0, 1)
    assert (choice.union_count, choice.contradiction_count) == (union, contradictions)
    assert round(choice.union_accuracy, 4) == pytest.approx(printed_union)
    assert round(choice.objective, 4) == pytest.approx(printed_score)
    assert round(choice.penalty, 4) == pytest.approx(printed_penalty)
    # The paper's written per-|D| normalization does not give the printed penalty.
    text = search_subsets(counts, min_size=2, max_size=2).best[0]
    assert round(text.penalty, 4) != pytest.approx(printed_penalty)
