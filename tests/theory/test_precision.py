"""Tests for slmmux_theory.precision: importing changes no JAX setting; the programs switch on
64-bit mode; the exact engine refuses to build count laws in 32-bit mode."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from slmmux_theory.engines.exact import hypergeometric_counts, multinomial_counts
from slmmux_theory.precision import Float64Required, enable_x64, require_x64, x64_enabled

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str) -> subprocess.CompletedProcess:
    """Run a script in a fresh interpreter with JAX's 64-bit flag unset in the environment."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_importing_every_module_leaves_jax_64_bit_flag_unchanged():
    result = _run(
        """
        import importlib, pkgutil
        import jax
        before = bool(jax.config.jax_enable_x64)
        import slmmux_theory, slmmux_run
        names = []
        for package in (slmmux_theory, slmmux_run):
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(info.name)
                names.append(info.name)
                assert bool(jax.config.jax_enable_x64) == before, info.name
        print("unchanged", before, len(names))
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[:2] == ["unchanged", "False"]
    assert int(result.stdout.split()[2]) > 30  # every module was imported, not just the packages


def test_cli_main_switches_64_bit_mode_on():
    result = _run(
        """
        import jax
        from slmmux_run.cli import main
        assert not jax.config.jax_enable_x64
        code = main(["exact", "--input", "no-such-file.json", "--rule", "slm-mux", "--k", "3"])
        print(code, bool(jax.config.jax_enable_x64))
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == "True"


def test_exact_engine_refuses_32_bit_mode():
    probs = [[[0.5, 0.3, 0.2]]]
    with jax.enable_x64(False):
        assert not x64_enabled()
        with pytest.raises(Float64Required, match=r"multinomial_counts.*enable_x64\(\)"):
            multinomial_counts(probs, 3)
        with pytest.raises(Float64Required, match=r"hypergeometric_counts"):
            hypergeometric_counts(np.array([[[3, 1, 1]]]), 3)
        with pytest.raises(Float64Required, match="my computation"):
            require_x64("my computation")


def test_enabled_mode_gives_float64_count_laws():
    enable_x64()
    assert x64_enabled()
    require_x64("a test")  # no error
    law = multinomial_counts([[[0.5, 0.3, 0.2]]], 3)
    assert law.probs.dtype == np.float64
    np.testing.assert_allclose(float(law.probs.sum()), 1.0, rtol=0, atol=1e-12)  # float32: ~1e-7
