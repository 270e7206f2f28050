"""Lazy re-exports for package ``__init__`` modules (PEP 562), so importing a package stays light.

Theory layer, no I/O; imports nothing but the standard library. A package lists the public names
of its modules once; each name is imported from its module on first access and then cached on
the package. ``import slmmux_theory`` therefore loads neither JAX, NumPyro nor SymPy, a module
can import a sibling without pulling in the whole package (no import cycles through
``__init__``), and ``from slmmux_theory import mux_accuracy_exact`` still works.

>>> getattr_, dir_, all_ = lazy_exports("json", {"decoder": ["JSONDecodeError"]})
>>> all_
['JSONDecodeError']
>>> getattr_("JSONDecodeError").__name__
'JSONDecodeError'
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Mapping, Sequence

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of a package that re-exports lazily.

    Args:
      package: the package's ``__name__``.
      exports: module path relative to the package (``"exact"``, ``"engines.exact"``) -> the
        public names it provides.

    Returns:
      (``__getattr__``, ``__dir__``, ``__all__``) to assign at the package's top level.

    Raises:
      ValueError: when two modules export the same name.
    """
    where: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in where:
                raise ValueError(f"{package}: {name!r} exported by both {where[name]!r} and {module!r}")
            where[name] = module

    def __getattr__(name: str):
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
