"""Argument checks shared by every public constructor.

Callers from notebooks and untyped code pass ``"false"`` where a bool belongs or a string
where a mapping does; each check here raises :class:`ConfigurationError` naming the
argument and what it got, instead of accepting the value (``bool("false")`` is ``True``)
or failing later with an untyped error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeVar

from ._errors import ConfigurationError

__all__ = [
    "check_bool",
    "check_callable",
    "check_instance",
    "check_int",
    "check_number",
    "check_str",
    "check_str_mapping",
]

T = TypeVar("T")


def _got(value: Any) -> str:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{shown} ({type(value).__name__})"


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a real bool (``"false"`` and ``0`` are refused, not coerced)."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {_got(value)}")
    return value


def check_int(name: str, value: Any, *, minimum: int | None = None, none: bool = False) -> Any:
    """``value`` if it is an int (not a bool) of at least ``minimum`` (``None`` if allowed)."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int, got {_got(value)}")
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    positive: bool = False,
    none: bool = False,
) -> Any:
    """``value`` as a float if it is a finite real number within bounds."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"{name} must be a number, got {_got(value)}")
    if positive and not value > 0:
        raise ConfigurationError(f"{name} must be a number > 0, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def check_str(name: str, value: Any, *, none: bool = False, empty: bool = True) -> Any:
    """``value`` if it is a string (non-empty unless ``empty``; ``None`` if allowed)."""
    if value is None and none:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {_got(value)}")
    if not empty and not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string")
    return value


def check_str_mapping(name: str, value: Any, *, values_none: bool = False) -> dict[str, Any]:
    """``value`` as a dict of str -> str (or ``None`` values when allowed); ``None`` -> ``{}``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a mapping of strings, got {_got(value)}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"{name}: keys must be strings, got {_got(key)}")
        if not (isinstance(item, str) or (item is None and values_none)):
            raise ConfigurationError(f"{name}[{key!r}] must be a string, got {type(item).__name__}")
        out[key] = item
    return out


def check_callable(name: str, value: Any, *, none: bool = True) -> Any:
    """``value`` if it is callable (or ``None`` when allowed)."""
    if value is None and none:
        return None
    if not callable(value):
        raise ConfigurationError(f"{name} must be callable, got {_got(value)}")
    return value


def check_instance(
    name: str, value: Any, cls: type[T] | tuple[type[Any], ...], *, none: bool = True
) -> Any:
    """``value`` if it is an instance of ``cls`` (or ``None`` when allowed)."""
    if value is None and none:
        return None
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in cls) if isinstance(cls, tuple) else cls.__name__
        raise ConfigurationError(f"{name} must be a {names}, got {_got(value)}")
    return value
