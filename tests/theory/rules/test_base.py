"""Selection rules on hand-made counts, unit values of the spec, jit/vmap and seed behaviour."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.rules.base import (
    MuxConfig,
    SwitchConfig,
    confidence_weighted_vote,
    entropy_weight,
    first_seen_positions,
    model_switch_select,
    mux_preset,
    mux_select,
    oracle_any_mode,
    oracle_any_sample,
    plurality_vote,
    pooled_vote,
    tie_priority,
)


def counts_of(*sequences, num_answers):
    return jnp.array([np.bincount(s, minlength=num_answers) for s in sequences])


@pytest.mark.parametrize(
    "letters, weight",
    [("aaab", 0.3915), ("bbcd", 0.2902), ("aaaab", 0.4225), ("aaaaaaab", 0.5244),
     ("aaaa", 1.0), ("abcd", 0.25), ("aabb", 0.25)],
)
def test_entropy_weight_unit_values(letters, weight):
    # B.11 of REFERENCE_NUMBERS.md; "a" is slot 0, the last slot is ⊥.
    counts = np.bincount(["abcd".index(c) for c in letters], minlength=5)
    assert abs(float(entropy_weight(jnp.array(counts))) - weight) < 5e-5


def test_entropy_weighted_vote_aaab_bbcd():
    # Pooled "aaab" + "bbcd": a scores 1.1746, b 0.9720, so a wins where a plain vote ties 3-3.
    counts = jnp.array([[3, 1, 0, 0, 0], [0, 2, 1, 1, 0]])
    w = entropy_weight(counts)
    assert abs(float(3 * w[0]) - 1.1746) < 1e-4
    assert abs(float(w[0] + 2 * w[1]) - 0.971949) < 1e-4
    first_seen = jnp.array([[0, 3, 4, 4, 4], [4, 0, 2, 3, 4]])
    both = SwitchConfig(stop_rule="unanimous")
    assert int(model_switch_select(counts, None, None, both, first_seen).answer) == 0
    plain = SwitchConfig(weighting="plain")
    # Plain majority ties a and b at 3; first seen (model 1's first sample) is a.
    assert int(model_switch_select(counts, None, None, plain, first_seen).answer) == 0


def test_model_switch_stops_on_unanimous_first_model_and_counts_cost():
    counts = jnp.array([[0, 4, 0], [4, 0, 0]])
    out = model_switch_select(counts, first_seen=jnp.zeros((2, 3), int))
    assert int(out.answer) == 1 and int(out.samples_spent) == 4 and int(out.stopped_at) == 0
    # An abstention breaks unanimity: the question goes to model 2 and the vote.
    counts = jnp.array([[0, 3, 1], [4, 0, 0]])
    out = model_switch_select(counts, first_seen=jnp.array([[4, 0, 3], [0, 4, 4]]))
    assert int(out.samples_spent) == 8 and int(out.stopped_at) == -1 and int(out.answer) == 0


def test_mux_paper_rule_and_ties():
    # Model 0: 2 of 3 on slot 1; model 1: 2 of 3 on slot 0 -> tie at 2/3, priority decides.
    counts = jnp.array([[0, 2, 1, 0], [2, 0, 1, 0]])
    assert int(mux_select(counts, jnp.array([0, 1])).answer) == 1
    assert int(mux_select(counts, jnp.array([1, 0])).answer) == 0
    priority = tie_priority([0.3, 0.7])
    out = mux_select(counts, priority)
    assert int(out.answer) == 0 and bool(out.tied) and int(out.model) == 1


def test_mux_abstains_when_no_valid_answer():
    counts = jnp.array([[0, 0, 3], [0, 0, 3]])
    out = mux_select(counts)
    assert int(out.answer) == 2 and int(out.model) == -1


def test_mux_denominators_differ_on_abstentions():
    # Model 0: 1 valid of 3 (confidence 1/3 by k, 1 by valid); model 1: 2 of 3 correct.
    counts = jnp.array([[0, 1, 2], [2, 1, 0]])
    assert int(mux_select(counts, config=mux_preset("paper")).answer) == 0
    assert int(mux_select(counts, config=mux_preset("framework")).answer) == 1


def test_first_seen_intra_tie_picks_earliest_sample():
    sequences = [[1, 0, 2, 3]]  # slots 1 and 0 tie once each... plus 2; earliest is slot 1
    counts = counts_of(*sequences, num_answers=4)
    first_seen = first_seen_positions(jnp.array(sequences), 4)
    config = mux_preset("original_code")
    assert int(mux_select(counts, None, None, config, first_seen).answer) == 1


def test_pooled_and_plurality_votes():
    counts = jnp.array([[2, 1, 0], [0, 2, 0]])
    first_seen = jnp.array([[0, 2, 3], [3, 0, 3]])
    assert int(pooled_vote(counts, tie="first_seen", first_seen=first_seen).answer) == 1
    assert int(plurality_vote(jnp.array([3, 1, 0])).answer) == 0
    assert int(plurality_vote(jnp.array([0, 0, 4])).answer) == 2  # all ⊥ -> abstain


def test_confidence_weighted_vote_sums_confidences():
    # Two models at 2/3 on slot 1 outweigh one at 3/3 on slot 0.
    counts = jnp.array([[3, 0, 0, 0], [0, 2, 1, 0], [0, 2, 1, 0]])
    assert int(confidence_weighted_vote(counts).answer) == 1


def test_oracles():
    counts = jnp.array([[0, 3, 0], [1, 2, 0]])
    assert bool(oracle_any_sample(counts))
    assert not bool(oracle_any_mode(counts))


def test_tie_priority_handles_missing_accuracy():
    assert tie_priority([np.nan, 0.2, 0.2]).tolist() == [2, 0, 1]
    assert tie_priority(None, 3).tolist() == [0, 1, 2]


def test_rules_jit_and_vmap_agree_with_eager():
    rng = np.random.default_rng(0)
    counts = jnp.array(rng.multinomial(3, [0.3, 0.3, 0.2, 0.2], size=(6, 3)))
    keys = jax.random.split(jax.random.PRNGKey(3), 6)
    first_seen = jnp.zeros_like(counts)
    for config in [MuxConfig(), MuxConfig(cross_model_tie="random"), mux_preset("framework")]:
        eager = [int(mux_select(c, None, k, config).answer) for c, k in zip(counts, keys)]
        mapped = jax.jit(jax.vmap(lambda c, k: mux_select(c, None, k, config).answer))(counts, keys)
        assert eager == mapped.tolist()
    eager = [int(model_switch_select(c, None, None, SwitchConfig(), f).answer) for c, f in zip(counts, first_seen)]
    mapped = jax.vmap(lambda c, f: model_switch_select(c, None, None, SwitchConfig(), f).answer)(counts, first_seen)
    assert eager == mapped.tolist()


def test_random_ties_reproducible_and_seed_dependent():
    counts = jnp.tile(jnp.array([[1, 1, 1, 0], [1, 1, 1, 0]]), (64, 1, 1))
    config = MuxConfig(cross_model_tie="random")

    def run(seed):
        keys = jax.random.split(jax.random.PRNGKey(seed), 64)
        return jax.vmap(lambda c, k: mux_select(c, None, k, config).answer)(counts, keys)

    assert run(1).tolist() == run(1).tolist()
    assert run(1).tolist() != run(2).tolist()
    assert set(run(1).tolist()) == {0, 1, 2}


def test_invalid_configuration_is_rejected():
    with pytest.raises(ValueError, match="cross_model_tie"):
        MuxConfig(cross_model_tie="best")
    with pytest.raises(ValueError, match="preset"):
        mux_preset("nope")
    with pytest.raises(ValueError, match="first_seen"):
        mux_select(jnp.array([[1, 1, 0]]), config=mux_preset("original_code"))
