"""JAX's persistent compilation cache for the main job: compiled programs kept between runs.

Runner layer. Much of a cold ``slmmux reproduce`` is XLA compiling the theory's jitted programs
(the answer-model and debate-model fits above all); JAX can keep them on disk and load them in
the next run instead of compiling again. The folder is ``$SLMMUX_JAX_CACHE``, else ``jax/`` in
the package's cache directory (``$SLMMUX_CACHE_DIR``, else ``$XDG_CACHE_HOME/slmmux``, else
``~/.cache/slmmux``); ``SLMMUX_JAX_CACHE=off`` turns it off. A cache JAX was already given (its
own ``JAX_COMPILATION_CACHE_DIR``, as the test suite sets) is left as it is. The cache changes
no number: a loaded program is the program that would have been compiled.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["JAX_CACHE_ENV", "compilation_cache_dir", "enable_compilation_cache"]

JAX_CACHE_ENV = "SLMMUX_JAX_CACHE"
#: Compilations shorter than this are not written (JAX's default of 1 s misses most of ours).
MIN_COMPILE_SECONDS = 0.1


def compilation_cache_dir() -> Path | None:
    """The cache folder the main job uses, or None when ``$SLMMUX_JAX_CACHE`` is ``off``.

    >>> import os
    >>> os.environ[JAX_CACHE_ENV] = "off"; compilation_cache_dir() is None
    True
    >>> os.environ[JAX_CACHE_ENV] = "/tmp/x"; str(compilation_cache_dir())
    '/tmp/x'
    >>> del os.environ[JAX_CACHE_ENV]
    """
    value = os.environ.get(JAX_CACHE_ENV, "").strip()
    if value.lower() == "off":
        return None
    if value:
        return Path(value)
    from slmmux_run.sampling.serve import cache_dir

    return cache_dir() / "jax"


def enable_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`compilation_cache_dir` (once).

    Returns:
      the folder in use (JAX's own when it already had one), or None when off.
    """
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current:
        return Path(current)
    folder = compilation_cache_dir()
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
