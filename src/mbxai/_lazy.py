"""Names of a package loaded on first use, for ``mbxai`` and ``mbxai.agent``.

A package lists its lazy names in one table, module -> names, and imports the same names
under ``TYPE_CHECKING`` for type checkers; :func:`attach` gives it the module
``__getattr__`` and ``__dir__`` to install under ``if not TYPE_CHECKING:``, so a type
checker sees only the real imports and ``from mbxai import Nope`` fails there too.
``tests/test_public_api.py`` checks that the table and the typed imports agree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["attach"]


def attach(
    package: str, table: Mapping[str, Sequence[str]], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, loading ``table``'s names (relative
    module -> names it defines) on first access and keeping them as module attributes."""
    where = {name: module for module, names in table.items() for name in names}
    shown = sorted(set(public))

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(shown))

    return __getattr__, __dir__
