"""The packages' public API: every re-exported name resolves to its module's object, and
importing a package is light (names load on first use)."""

import importlib
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from slmmux_theory.lazy import lazy_exports

ROOT = Path(__file__).resolve().parents[1]

PACKAGES = [
    "slmmux_theory",
    "slmmux_theory.closed",
    "slmmux_theory.inference",
    "slmmux_theory.rules",
    "slmmux_theory.engines",
    "slmmux_theory.planning",
    "slmmux_theory.discussion",
    "slmmux_run",
    "slmmux_run.data",
    "slmmux_run.data.importers",
    "slmmux_run.sampling",
]


@pytest.mark.parametrize("package_name", PACKAGES)
def test_every_exported_name_resolves(package_name):
    package = importlib.import_module(package_name)
    assert package.__all__, package_name
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), f"{package_name}.{name} is a module"
        module = getattr(value, "__module__", None)
        if module is not None and module.startswith(package_name):
            # A function or class is the very object its defining module holds.
            assert getattr(importlib.import_module(module), name, value) is value, name
        assert name in dir(package)


def test_star_import_gives_the_listed_names():
    namespace = {}
    exec("from slmmux_theory.inference import *", namespace)
    assert set(importlib.import_module("slmmux_theory.inference").__all__) <= set(namespace)


def test_unknown_name_is_an_attribute_error():
    import slmmux_theory

    with pytest.raises(AttributeError, match="no_such_name"):
        slmmux_theory.no_such_name  # noqa: B018


def test_a_name_exported_twice_is_refused():
    with pytest.raises(ValueError, match="'x' exported by both"):
        lazy_exports("json", {"decoder": ["x"], "encoder": ["x"]})


def test_importing_the_packages_loads_no_numerical_library():
    packages = ", ".join(PACKAGES)
    script = (f"import sys, {packages}, slmmux_run.cli; "
              "print(sorted(m for m in ('jax', 'numpyro', 'sympy') if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
