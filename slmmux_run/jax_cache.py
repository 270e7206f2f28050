"""JAX's persistent compilation cache for the runner's programs: compile once per machine.

Place in the layers: runner (it chooses a folder on disk, so it cannot live in the theory).
A fresh ``slmmux plan`` process spends most of its time compiling the same XLA programs (the
answer model's SVI loop, the posterior draws, the samplers); with the cache on, the second
process loads them from disk. A program (the CLI's ``main``, a benchmark child) calls
:func:`enable_compilation_cache` once, before its first JAX computation.

Where: ``$SLMMUX_JAX_CACHE`` when set (an empty value or ``off`` switches the cache off), else
``jax/`` in the package's cache folder (:func:`slmmux_run.sampling.serve.cache_root`:
``$SLMMUX_CACHE_DIR``, else ``$XDG_CACHE_HOME/slmmux``, else ``~/.cache/slmmux``). The main job
keeps a cache JAX was already given (its own ``JAX_COMPILATION_CACHE_DIR``, as the test suite
sets): ``enable_compilation_cache(keep_existing=True)``. The cache changes no number: a loaded
program is the program that would have been compiled.
Every compile is cached, the small ones too (``jax_persistent_cache_min_compile_time_secs``
0): a plan compiles ~150 small programs of a fraction of a second each, which add up.
"""

from __future__ import annotations

import os
from pathlib import Path

from slmmux_run.errors import UserError

__all__ = ["CACHE_ENV", "cache_folder", "enable_compilation_cache"]

CACHE_ENV = "SLMMUX_JAX_CACHE"


def cache_folder(environ=None) -> Path | None:
    """The compilation-cache folder the environment asks for (None: switched off).

    Args:
      environ: the environment (default ``os.environ``).

    >>> str(cache_folder({"SLMMUX_JAX_CACHE": "/tmp/jc"})), cache_folder({"SLMMUX_JAX_CACHE": "off"})
    ('/tmp/jc', None)
    >>> str(cache_folder({"XDG_CACHE_HOME": "/c"}))
    '/c/slmmux/jax'
    """
    from slmmux_run.sampling.serve import cache_root

    environ = os.environ if environ is None else environ
    if CACHE_ENV in environ:
        value = environ[CACHE_ENV].strip()
        return Path(value).expanduser() if value and value.lower() != "off" else None
    return cache_root(environ) / "jax"


def enable_compilation_cache(environ=None, keep_existing: bool = False) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_folder` (created if missing).

    Call it once per process before the first JAX computation (JAX opens the cache at its
    first compile). A default folder that cannot be created (read-only home) leaves the cache
    off silently: a plan must not fail for want of a cache.

    Args:
      environ: the environment (default ``os.environ``).
      keep_existing: leave a cache folder JAX already has as it is (the main job: the test
        suite gives JAX its own).

    Returns:
      the folder in use (JAX's own when kept), or None when the cache is off.

    Raises:
      UserError: ``$SLMMUX_JAX_CACHE`` names something that is not a writable folder.
    """
    import jax

    if keep_existing and jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    environ = os.environ if environ is None else environ
    folder = cache_folder(environ)
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            usable = os.access(folder, os.W_OK | os.X_OK)
        except OSError:
            usable = False
        if not usable:
            if CACHE_ENV in environ:
                raise UserError(f"${CACHE_ENV}: {str(folder)!r} is not a writable folder (set "
                                f"it to a folder, or to off to switch the cache off)")
            folder = None
    jax.config.update("jax_compilation_cache_dir", None if folder is None else str(folder))
    jax.config.update("jax_enable_compilation_cache", folder is not None)
    if folder is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
