"""Every registered rule against the brute-force reference and against Monte Carlo, and a toy
rule registered at run time flowing through both engines without touching any other file."""

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import ExactResult, hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.exact import exact_accuracy
from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
from slmmux_theory.rules import RULES, Rule, Selection, get_rule, register_rule, rule_names
from slmmux_theory.rules.base import MuxConfig, SwitchConfig
from slmmux_theory.rules.rule import RuleContext, fixed_cost_result
from tests.theory import reference_rules as ref

# Tiny cases, every sample sequence enumerated: (probs [models][answers] of one question, k,
# validation accuracies or None, the tie ranks they mean written out: best accuracy, then list
# order). The last slot is ⊥.
CASES = [
    ([[0.5, 0.3, 0.2], [0.3, 0.5, 0.2]], 3, None, [0, 1]),
    ([[0.4, 0.4, 0.2], [0.2, 0.6, 0.2]], 2, [0.3, 0.8], [1, 0]),
    ([[0.5, 0.2, 0.2, 0.1], [0.3, 0.3, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1]], 2, [0.5, 0.9, 0.5],
     [1, 0, 2]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("name", list(RULES))
def test_rule_equals_brute_force(name, case):
    probs, k, accuracy, priority = CASES[case]
    assert name in ref.REFERENCES, f"rule {name!r} has no brute-force reference"
    got = exact_accuracy(name, np.array(probs)[:, None], k, validation_accuracy=accuracy)
    want, spent = ref.expectation(
        probs, k, lambda seqs: ref.REFERENCES[name](seqs, len(probs[0]) - 1, priority))
    assert abs(float(got.per_question[0]) - want) < 1e-9, (got.per_question, want)
    assert abs(float(got.expected_samples[0]) - spent) < 1e-9
    cost = get_rule(name).cost(multinomial_counts(np.array(probs)[:, None], k),
                               RuleContext(validation_accuracy=accuracy))
    assert abs(float(cost[0]) - spent) < 1e-9


# Recorded samples of one question, [models][samples] (last slot 2 is ⊥), replayed k at a time,
# with validation accuracies and the tie ranks they mean.
REPLAY_CASES = [
    ([[0, 0, 1, 2], [1, 1, 0, 0]], 2, [0.5, 0.9], [1, 0]),
    ([[0, 1, 1], [1, 0, 2], [0, 2, 1]], 2, None, [0, 1, 2]),
    # Two agreeing models outweigh a more confident one: the confidence-weighted vote and
    # SLM-MUX part here.
    ([[1, 1, 1, 0], [0, 0, 1, 0], [0, 0, 2, 1]], 3, None, [0, 1, 2]),
]


@pytest.mark.parametrize("case", range(len(REPLAY_CASES)))
@pytest.mark.parametrize("name", list(RULES))
def test_rule_replay_equals_brute_force(name, case):
    recorded, k, accuracy, priority = REPLAY_CASES[case]
    pool = np.zeros((len(recorded), 1, 3), dtype=int)
    for m, seq in enumerate(recorded):
        np.add.at(pool[m, 0], seq, 1)
    got = exact_accuracy(name, hypergeometric_counts(pool, k), validation_accuracy=accuracy)
    want, spent = ref.replay_expectation(
        recorded, k, lambda seqs: ref.REFERENCES[name](seqs, 2, priority))
    assert abs(float(got.per_question[0]) - want) < 1e-9, (got.per_question, want)
    assert abs(float(got.expected_samples[0]) - spent) < 1e-9


OPTIONS = {
    "slm-mux": [{}, {"mux_config": MuxConfig("valid", "random", "random")},
                {"mux_config": MuxConfig("k", "first_seen", "validation_accuracy"),
                 "validation_accuracy": [0.2, 0.9, 0.5]}],
    "agent-forest": [{}, {"pooled_tie": "first_seen"}],
    "model-switch": [{}, {"switch_config": SwitchConfig(weighting="plain", tie="random")},
                     {"switch_config": SwitchConfig(stop_rule="majority_share", share_threshold=0.6),
                      "prior_weights": [2.0, 1.0, 1.0]}],
}


def _agree_within_standard_errors(exact, mc, label):
    assert abs(float(exact.accuracy) - float(mc.accuracy)) < 4 * float(mc.standard_error), label
    # Per question too, with a Bonferroni-style margin over the questions.
    gap = np.abs(np.asarray(exact.per_question) - np.asarray(mc.per_question))
    assert np.all(gap < 5 * np.asarray(mc.per_question_standard_error) + 1e-3), label
    assert abs(float(exact.expected_samples.mean()) - float(mc.expected_samples.mean())) < 0.1, label


@pytest.mark.parametrize("name", list(RULES))
def test_exact_matches_monte_carlo(name):
    # A stable seed per rule (str hash is salted per process).
    rng = np.random.default_rng(zlib.crc32(name.encode()) % 1000)
    probs = rng.dirichlet(np.ones(4) * 0.6, size=(3, 6))
    for options in OPTIONS.get(name, [{}]):
        exact = exact_accuracy(name, probs, 3, **options)
        mc = monte_carlo_accuracy(jax.random.PRNGKey(0), name, probs, 3, 3000, **options)
        _agree_within_standard_errors(exact, mc, options)


def test_unknown_rule_lists_the_registered_names():
    with pytest.raises(ValueError, match="unknown rule 'nope'; choose one of slm-mux, agent-forest"):
        get_rule("nope")
    with pytest.raises(ValueError, match="unknown rule"):
        monte_carlo_accuracy(jax.random.PRNGKey(0), "nope", [[[0.5, 0.5]]], 2, 10)


def test_registry_order_and_flags():
    # The published rules lead, in this order; a newly added rule is appended after them.
    assert rule_names()[:7] == ("slm-mux", "agent-forest", "self-consistency", "model-switch",
                                "oracle", "oracle-any-sample", "confidence-weighted")
    assert rule_names()[7:12] == ("weighted-vote-milp", "weighted-vote-log-odds", "bayes-stop",
                                  "bayes-stop-models", "posterior-optimal")
    assert rule_names(first_model_only=True) == ("self-consistency", "bayes-stop")
    assert rule_names(enumerates_products=True) == (
        "agent-forest", "model-switch", "confidence-weighted", "weighted-vote-milp",
        "weighted-vote-log-odds", "bayes-stop-models", "posterior-optimal", "vote-stop")
    assert rule_names(deployable=False) == ("oracle", "oracle-any-sample")
    assert rule_names(adaptive_cost=True) == ("model-switch", "bayes-stop", "bayes-stop-models",
                                              "vote-stop")
    assert [n for n, r in RULES.items() if r.select_sequence is not None] == [
        "bayes-stop", "bayes-stop-models", "vote-stop"]
    assert [n for n, r in RULES.items() if r.learn is not None] == [
        "weighted-vote-milp", "weighted-vote-log-odds", "bayes-stop", "bayes-stop-models",
        "posterior-optimal", "vote-stop"]
    assert all(RULES[name].name == name for name in RULES)
    with pytest.raises(ValueError, match="unknown rule flag"):
        rule_names(fast=True)
    with pytest.raises(ValueError, match="already registered"):
        register_rule(RULES["slm-mux"])


# A toy rule: answer the first model's first sample. Written here only, then registered.
def _first_sample_select(counts, first_seen, key, context):
    return Selection(jnp.argmin(first_seen[0]), counts[0].sum())


def _first_sample_exact(counts, context):
    # P(first sample correct) = E[c_0] / k under any exchangeable count law.
    share = jnp.asarray(counts.vectors[:, 0] / counts.k, dtype=jnp.float64)
    return fixed_cost_result(counts.probs[0] @ share, counts, context, _first_sample_cost)


def _first_sample_cost(counts, context):
    return jnp.full(counts.probs.shape[1], float(counts.k))


TOY = Rule("first-model-first-sample", _first_sample_select, _first_sample_exact,
           _first_sample_cost, first_model_only=True)


@pytest.fixture
def toy_registered():
    register_rule(TOY)
    yield TOY.name
    RULES.pop(TOY.name)


def test_runtime_registered_rule_flows_through_both_engines(toy_registered):
    assert rule_names()[-1] == toy_registered
    probs = np.random.default_rng(4).dirichlet(np.ones(3), size=(2, 5))
    exact = exact_accuracy(toy_registered, probs, 3)
    assert isinstance(exact, ExactResult)
    np.testing.assert_allclose(exact.per_question, probs[0, :, 0], atol=1e-12)
    np.testing.assert_allclose(exact.expected_samples, 3.0)
    want, _ = ref.expectation(probs[:, 0].tolist(), 2, lambda seqs: int(seqs[0][0] == 0))
    assert abs(float(exact_accuracy(toy_registered, probs[:, :1], 2).per_question[0]) - want) < 1e-9
    mc = monte_carlo_accuracy(jax.random.PRNGKey(1), toy_registered, probs, 3, 3000)
    _agree_within_standard_errors(exact, mc, toy_registered)
    # An exact replay of recorded samples goes through the same law.
    pool = np.array([[[2, 1, 1]], [[0, 3, 1]]])
    replay = exact_accuracy(toy_registered, hypergeometric_counts(pool, 2))
    assert abs(float(replay.accuracy) - 0.5) < 1e-12


def test_runtime_registered_rule_flows_through_replay(toy_registered):
    """Literal replay (rule.select) and exact replay (rule.exact) of recorded samples, and the
    replay table's per-model rows of a first_model_only rule, with no file but this one."""
    from slmmux_theory.engines.replay import exact_replay, literal_replay
    from slmmux_theory.engines.replay_table import replay_table

    # slot indices [models=2, questions=4, samples=3]; slot 0 correct, slot 2 = ⊥.
    samples = np.array([[[0, 1, 0], [1, 0, 0], [2, 2, 1], [0, 0, 0]],
                        [[1, 1, 1], [0, 1, 2], [0, 0, 1], [1, 0, 0]]])
    literal = literal_replay(samples[:, :, :2], 3, toy_registered, jax.random.PRNGKey(0), model=1)
    np.testing.assert_array_equal(literal.correct, (samples[1, :, 0] == 0).astype(float))
    np.testing.assert_array_equal(literal.spent, 2.0)
    counts = np.stack([np.bincount(row, minlength=3) for row in samples[0]])[None]
    exact = exact_replay(counts, toy_registered, 2)
    np.testing.assert_allclose(exact.correct, counts[0, :, 0] / 3, atol=1e-12)
    rows, _ = replay_table(samples, 3, ["a", "b"], [toy_registered], [1, 2],
                           validation_fraction=0.0)
    assert [(row.models, row.k) for row in rows] == [(("a",), 1), (("a",), 2), (("b",), 1),
                                                     (("b",), 2)]
    for row in rows:
        model = "ab".index(row.models[0])
        assert row.literal == pytest.approx(np.mean(samples[model, :, 0] == 0))
        assert row.exact == pytest.approx(np.mean(samples[model] == 0))
        assert row.literal_samples == row.k


def test_capability_flags_give_each_engine_its_rules():
    from slmmux_theory.engines.replay import PAIR_RULES
    from slmmux_theory.engines.replay_table import REPLAY_RULES
    from slmmux_theory.planning.budget import BUDGET_RULES
    from slmmux_theory.planning.heldout import HELDOUT_RULES
    from slmmux_theory.planning.plan import plan_rules

    assert PAIR_RULES == ("agent-forest", "model-switch")  # not confidence-weighted
    assert REPLAY_RULES == ("slm-mux", "agent-forest", "self-consistency", "model-switch", "oracle")
    assert BUDGET_RULES == ("slm-mux", "agent-forest", "model-switch")
    assert HELDOUT_RULES == ("slm-mux", "agent-forest", "self-consistency")
    assert set(plan_rules()) == {"slm-mux", "agent-forest", "model-switch", "self-consistency"}


def test_runtime_registered_pair_rule_reaches_the_pair_engine_and_the_plan():
    from slmmux_theory.engines.replay import pair_rule_values
    from slmmux_theory.planning.plan import plan_rules

    toy = register_rule(TOY._replace(name="toy-pair", first_model_only=False, pair_engine=True))
    try:
        assert plan_rules()[-1] == "toy-pair"
        counts = np.array([[[2, 1, 0], [0, 3, 0]], [[1, 1, 1], [3, 0, 0]]])
        values = pair_rule_values("toy-pair", counts, np.array([[1, 0], [0, 1]]), 2,
                                  cost_per_sample=[1.0, 5.0])
        np.testing.assert_allclose(values.accuracy, [counts[1, :, 0] / 3, counts[0, :, 0] / 3],
                                   atol=1e-12)
        np.testing.assert_allclose(values.cost, [[10.0, 10.0], [2.0, 2.0]])
    finally:
        RULES.pop(toy.name)
