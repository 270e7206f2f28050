"""Test-wide settings.

Hypothesis runs derandomized by default so that CI on a clean checkout is reproducible (the
suite must fail only when the code is wrong, never by the luck of a draw). Set
``SLMMUX_HYPOTHESIS=explore`` to search with fresh random examples on every run; a
counterexample found that way is pinned with ``@example`` in the test.

JAX compilations are kept in a persistent cache (``$SLMMUX_TEST_JAX_CACHE``, default a folder
in the system's temporary directory; ``off`` disables it). Most of the suite's time is XLA
compiling the same small NumPyro and exact-engine programs again in different tests and in
the second pytest run of ``.ci/run`` (the slow tests), and in the subprocesses (book kernels,
CLI) that inherit the environment variables set here. Measured on ``tests/theory/test_predict.py``:
115 s CPU cold, 31 s with the cache warm. Cache keys include the program and the JAX version,
so a hit never changes a result.
"""

import os
import tempfile
from pathlib import Path

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(
    "explore" if os.environ.get("SLMMUX_HYPOTHESIS") == "explore" else "reproducible"
)

_cache = os.environ.get("SLMMUX_TEST_JAX_CACHE",
                        str(Path(tempfile.gettempdir()) / "slmmux-test-jax-cache"))
if _cache != "off":
    # Environment variables first, so that subprocesses started by tests use the cache too.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
