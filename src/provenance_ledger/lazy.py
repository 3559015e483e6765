"""A package's names imported on first use (PEP 562 module ``__getattr__``).

A command then loads only the modules it runs: ``from ..ledger import Home`` does not import
the audit, the folder scanner and the similarity index with it (README "Speed": the CLI's
start-up). The names stay importable as before; type checkers see the real imports, which each
package repeats under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import import_module
from typing import Any


def exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of ``package``: each name of ``modules`` (name -> submodule, e.g.
    ``{"Home": "home"}``) is imported from its submodule when first asked for. No name may
    be that of a submodule: importing a submodule binds its name in the package."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # the next look-up is a plain attribute
        return value

    return __getattr__


@contextmanager
def hidden(*modules: str) -> Iterator[None]:
    """Inside the block, importing any of ``modules`` not imported yet fails as if it were not
    installed (``ImportError``): for a library that loads an optional package only to support
    it, when this package never gives it that package's values (sqlite-utils and numpy's
    number types). They are importable again after the block."""
    absent = [m for m in modules if m not in sys.modules]
    sys.modules.update(dict.fromkeys(absent, None))  # type: ignore[arg-type]
    try:
        yield
    finally:
        for m in absent:
            if sys.modules.get(m, m) is None:
                del sys.modules[m]
