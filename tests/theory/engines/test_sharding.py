"""Sharding the question axis over two forced host devices gives identical results."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np
    import slmmux_theory
    slmmux_theory.enable_x64()
    from slmmux_theory.engines.exact import multinomial_counts, mux_levels, mux_subset_accuracy, MuxLevels
    from slmmux_theory.engines.sharding import shard_questions, question_mesh
    assert len(jax.devices()) == 2, jax.devices()
    probs = np.random.default_rng(0).dirichlet(np.ones(5), size=(6, 10))
    levels = mux_levels(multinomial_counts(probs, 3))
    subsets = np.array([[0, 1, -1], [2, 3, 4], [5, 0, 2]])
    priority = np.arange(6)
    single = np.asarray(mux_subset_accuracy(levels, subsets, priority))
    sharded_levels = MuxLevels(*(shard_questions(x, axis=1) for x in levels))
    assert len(sharded_levels.level.sharding.device_set) == 2
    sharded = mux_subset_accuracy(sharded_levels, subsets, priority)
    np.testing.assert_array_equal(single, np.asarray(sharded))
    print("identical", single.shape)
    """
)


def test_two_host_devices_give_identical_results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    root = Path(__file__).resolve().parents[3]
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "identical" in result.stdout
