"""Names of a package loaded on first use, for ``mbxai`` and ``mbxai.agent``.

A package lists its lazy names in one table, module -> names, and imports the same names
under ``TYPE_CHECKING`` for type checkers; :func:`attach` gives it the module
``__getattr__`` and ``__dir__`` to install under ``if not TYPE_CHECKING:``, so a type
checker sees only the real imports and ``from mbxai import Nope`` fails there too.
``tests/test_public_api.py`` checks that the table and the typed imports agree.

The first lazy name loaded imports httpx without its command-line client
(:func:`import_httpx_without_cli`), which ``import httpx`` otherwise loads whenever click,
rich and pygments happen to be installed: about half of the clients' import time then.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["attach", "import_httpx_without_cli"]


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
        import_httpx_without_cli()
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(shown))

    return __getattr__, __dir__


def import_httpx_without_cli() -> None:
    """Import httpx, if nothing has yet, without ``httpx._main`` (its command-line client:
    click, rich and pygments, when installed), which no client needs.

    ``httpx.main`` then imports that module when called, so it still works; only its first
    call pays for it. ``import httpx._main`` works as before.
    """
    if "httpx" in sys.modules:
        return
    blocked = "httpx._main" not in sys.modules
    if blocked:
        # None in sys.modules: `from ._main import main` fails, httpx defines its fallback
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if blocked:
            del sys.modules["httpx._main"]
    if blocked:
        httpx.main = _httpx_main  # type: ignore[assignment]  # the fallback httpx defined


def _httpx_main(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``, its module imported on first call."""
    from httpx._main import main

    return main(*args, **kwargs)
