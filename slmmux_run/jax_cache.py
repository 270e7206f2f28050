"""JAX's persistent compilation cache for the runner's programs: compile once per machine.

Place in the layers: runner (it chooses a folder on disk, so it cannot live in the theory).
A fresh ``slmmux plan`` process spends most of its time compiling the same XLA programs (the
answer model's SVI loop, the posterior draws, the samplers); with the cache on, the second
process loads them from disk. A program (the CLI's ``main``, a benchmark child) calls
:func:`enable_compilation_cache` once, before its first JAX computation.

Where: ``$SLMMUX_JAX_CACHE`` when set (an empty value switches the cache off), else the user's
cache folder ``$XDG_CACHE_HOME/slmmux/jax`` (``~/.cache/slmmux/jax`` without XDG_CACHE_HOME).
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

    >>> str(cache_folder({"SLMMUX_JAX_CACHE": "/tmp/jc"})), cache_folder({"SLMMUX_JAX_CACHE": ""})
    ('/tmp/jc', None)
    >>> str(cache_folder({"XDG_CACHE_HOME": "/c"}))
    '/c/slmmux/jax'
    """
    environ = os.environ if environ is None else environ
    if CACHE_ENV in environ:
        value = environ[CACHE_ENV].strip()
        return Path(value).expanduser() if value else None
    base = environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache"
    return root / "slmmux" / "jax"


def enable_compilation_cache(environ=None) -> Path | None:
    """Point JAX's persistent compilation cache at :func:`cache_folder` (created if missing).

    Call it once per process before the first JAX computation (JAX opens the cache at its
    first compile). A default folder that cannot be created (read-only home) leaves the cache
    off silently: a plan must not fail for want of a cache.

    Args:
      environ: the environment (default ``os.environ``).

    Returns:
      the folder in use, or None when the cache is off.

    Raises:
      UserError: ``$SLMMUX_JAX_CACHE`` names something that is not a writable folder.
    """
    import jax

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
                                f"it to a folder, or to an empty value to switch the cache off)")
            folder = None
    jax.config.update("jax_compilation_cache_dir", None if folder is None else str(folder))
    jax.config.update("jax_enable_compilation_cache", folder is not None)
    if folder is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
