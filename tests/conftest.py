"""Test-wide settings.

After each test file (doctest modules included) JAX's in-memory caches of compiled programs are
cleared. Why: every compiled XLA CPU executable holds about 20 memory mappings, and one pytest
process compiling the whole suite reached Linux's default limit of 65,530 mappings per process
(``vm.max_map_count``) near 94 % of the quick suite, where the next compilation died with a
segmentation fault or an abort inside XLA (measured in session 11: 65,185 mappings seconds before
the crash, at the same doctest as CI's). Clearing drops the executables (300 compiled
functions: 6,500 mappings, 509 after ``jax.clear_caches()``); the cost is compiling again what a
later file shares with an earlier one.

Hypothesis runs derandomized by default so that CI on a clean checkout is reproducible (the
suite must fail only when the code is wrong, never by the luck of a draw). Set
``SLMMUX_HYPOTHESIS=explore`` to search with fresh random examples on every run; a
counterexample found that way is pinned with ``@example`` in the test.

JAX's persistent compilation cache is on in the suite, in ``$TMPDIR/slmmux-test-jax-cache-<uid>``
(``$SLMMUX_TEST_JAX_CACHE`` names another folder, or ``off``; the CLI's own cache,
``$SLMMUX_JAX_CACHE``, is then off too unless set). Session 10 switched it off after four "Fatal
Python error: Aborted" inside XLA's executable (de)serialiser, all near the end of a long pytest
process: most likely the mapping limit above. Session 11, with the clearing plugin: the whole
quick suite with the cache on from an empty folder, 2755 passed in 22:34 against 25:14 with it
off (the clearing makes later files compile again what earlier ones did; the cache turns that
into a read). With the cache on, what follows applies. Most of the suite's time is XLA
compiling the same small NumPyro and exact-engine programs again in different tests and in
the second pytest run of ``.ci/run`` (the slow tests), and in the subprocesses (book kernels,
CLI) that inherit the environment variables set here. Measured on ``tests/theory/test_predict.py``:
115 s CPU cold, 31 s with the cache warm. Cache keys include the program and the JAX version,
so a hit never changes a result.
"""

import gc
import os
import sys
import tempfile

from hypothesis import settings

settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(
    "explore" if os.environ.get("SLMMUX_HYPOTHESIS") == "explore" else "reproducible"
)

_cache = os.environ.get("SLMMUX_TEST_JAX_CACHE") or os.path.join(
    tempfile.gettempdir(), f"slmmux-test-jax-cache-{os.getuid()}")
if _cache == "off":
    # In-process CLI runs (plan, reproduce) would otherwise switch on the user's cache folder.
    os.environ.setdefault("SLMMUX_JAX_CACHE", "off")
else:
    # Environment variables first, so that subprocesses started by tests use the cache too.
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _cache)
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


class _ReleaseCompiledPrograms:
    """A plugin (registered globally, so doctest items under the packages get it too)."""

    def pytest_runtest_teardown(self, item, nextitem):
        if nextitem is not None and nextitem.path == item.path:
            return
        if "jax" in sys.modules:
            sys.modules["jax"].clear_caches()
        gc.collect()


def pytest_configure(config):
    config.pluginmanager.register(_ReleaseCompiledPrograms(), "slmmux-release-compiled-programs")
