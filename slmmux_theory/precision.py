"""64-bit floating point: switched on explicitly by the programs, checked where it matters.

Theory layer, no I/O. JAX computes in float32 unless ``jax_enable_x64`` is set. The exact engine
sums probabilities over thousands of count vectors and the tests compare accuracies to 1e-9, so
float32 would silently change the published numbers. Importing :mod:`slmmux_theory` does not
touch JAX's global configuration; the programs do it once, at their start: the ``slmmux`` CLI's
``main``, :func:`slmmux_run.reproduce.run_steps`, the book's pages (first cell), the experiment
scripts and the root ``conftest.py`` (tests and doctests) call :func:`enable_x64`.

The exact engine's count laws call :func:`require_x64`, which raises :class:`Float64Required`
when 64-bit mode is off instead of returning float32 numbers. A context manager that switches
64-bit mode on only inside the engine would work with ``jax.jit`` (its cache key includes the
flag: measured, a function traced in float32 is traced again in float64 inside
``jax.enable_x64(True)``), but arrays the caller built before entering are already float32 and
results would leave in a different precision from the caller's, so the numbers would depend on
where a caller created its inputs. One switch at program start, and an error otherwise, keeps
every number identical to the run that set it.

>>> enable_x64()
>>> x64_enabled()
True
>>> require_x64("this doctest")
"""

from __future__ import annotations

import jax

__all__ = ["Float64Required", "enable_x64", "require_x64", "x64_enabled"]


class Float64Required(RuntimeError):
    """Raised by a computation that needs 64-bit floats while JAX runs in 32-bit mode."""


def enable_x64() -> None:
    """Switch JAX to 64-bit floats and integers for the whole program (idempotent).

    Call it once at the program's start, before any array is built: arrays created earlier keep
    their float32 values.
    """
    jax.config.update("jax_enable_x64", True)


def x64_enabled() -> bool:
    """Whether JAX currently builds float64 arrays (global flag or ``jax.enable_x64`` context)."""
    return bool(jax.config.jax_enable_x64)


def require_x64(computation: str) -> None:
    """Raise :class:`Float64Required` unless 64-bit mode is on.

    Args:
      computation: what needs float64, named in the error message.

    Raises:
      Float64Required: when ``jax_enable_x64`` is off.
    """
    if not x64_enabled():
        raise Float64Required(
            f"{computation} needs 64-bit floats (probabilities are summed over thousands of "
            "count vectors) but JAX is in 32-bit mode: call slmmux_theory.enable_x64() once "
            "at the start of the program"
        )
