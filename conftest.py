"""Root pytest configuration: the tests and the packages' doctests are programs, so they switch
JAX to 64-bit mode once here, as the CLI's ``main`` does (importing ``slmmux_theory`` no longer
does it; see :mod:`slmmux_theory.precision`)."""

from slmmux_theory.precision import enable_x64

enable_x64()
