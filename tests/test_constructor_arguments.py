"""Every public constructor refuses a wrongly typed argument with ConfigurationError naming it.

Callers from notebooks and untyped code pass ``"false"`` where a bool belongs (and
``bool("false")`` is ``True``), a string where a mapping belongs, a number where a string
belongs. The cases are derived from each constructor's own annotations, so a parameter
added later is covered without touching this file: for every parameter, a value that
matches none of its annotated types must raise :class:`ConfigurationError` whose message
names the parameter, never be accepted and never raise an untyped error.
"""

from __future__ import annotations

import collections.abc
import inspect
import os
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import mbxai
from mbxai import ConfigurationError
from mbxai.testing import FakeModel

#: Values tried, in order; the first that fits none of a parameter's types is used.
CANDIDATES: list[Any] = ["false", 12345, 2.5, object(), ["x"], {"x": object()}]


def _chat(flavour: str) -> Any:
    cls = mbxai.AsyncOpenRouterClient if flavour == "async" else mbxai.OpenRouterClient
    return cls(token="test", transport=FakeModel())


def _required(cls: type, tmp: Path) -> dict[str, Any]:
    """The valid required arguments of each constructor."""
    flavour = "async" if cls.__name__.startswith("Async") else "sync"
    name = cls.__name__.removeprefix("Async")
    if name in ("ToolClient", "MCPClient"):
        return {"openrouter_client": _chat(flavour)}
    if name == "AgentClient":
        return {"ai_client": _chat(flavour)}
    if name == "FileSessionHandler":
        return {"directory": tmp}
    if name == "SQLSessionHandler":
        return {"url": f"sqlite:///{tmp / 'sessions.db'}"}
    if name == "OpenRouterClient":
        return {"token": "test"}
    if name == "ImageClient":
        return {"api_key": "test"}
    return {}


CONSTRUCTORS = [
    "AsyncOpenRouterClient",
    "OpenRouterClient",
    "AsyncToolClient",
    "ToolClient",
    "AsyncMCPClient",
    "MCPClient",
    "AsyncAgentClient",
    "AgentClient",
    "AsyncImageClient",
    "ImageClient",
    "AsyncFileSessionHandler",
    "FileSessionHandler",
    "AsyncRedisSessionHandler",
    "RedisSessionHandler",
    "AsyncSQLSessionHandler",
    "SQLSessionHandler",
    "InMemorySessionHandler",
    "MCPServer",
]

#: (constructor, parameter): why no wrongly typed value exists for it.
UNCHECKABLE = {
    ("AgentClient", "session_handler"): "any object with the protocol's methods (checked)",
    ("AgentClient", "ai_client"): "any client with parse() (checked by duck typing)",
}


def _hints(function: Any) -> dict[str, Any]:
    """The evaluated parameter annotations; one naming a type imported only for type
    checkers (``Redis``) counts as ``Any``."""
    namespace = dict(vars(inspect.getmodule(function)))
    hints: dict[str, Any] = {}
    for name, raw in function.__annotations__.items():
        try:
            hints[name] = eval(raw, namespace) if isinstance(raw, str) else raw  # noqa: S307
        except NameError:
            hints[name] = Any
    return hints


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _fits(value: Any, annotation: Any) -> bool:
    """Whether ``value`` would pass as ``annotation`` (generously: any doubt counts as a fit)."""
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    base = origin if origin is not None else annotation
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base in (collections.abc.Sequence, collections.abc.Iterable, list, tuple):
        return isinstance(value, list | tuple)
    if base is collections.abc.Callable:
        return callable(value)
    if base is os.PathLike:
        return isinstance(value, os.PathLike)
    if isinstance(base, type):
        return isinstance(value, base)
    return True  # a forward reference or a construct we do not model: assume it fits


def _cases() -> list[Any]:
    cases = []
    for name in CONSTRUCTORS:
        cls = getattr(mbxai, name)
        hints = _hints(cls.__init__)
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.name == "self" or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                continue
            if (name.removeprefix("Async"), param.name) in UNCHECKABLE:
                continue
            annotation = hints.get(param.name, Any)
            members = _members(annotation)
            bad = next(
                (c for c in CANDIDATES if not any(_fits(c, m) for m in members)),
                inspect.Parameter.empty,
            )
            if bad is inspect.Parameter.empty:
                continue  # every candidate fits (Any): nothing to refuse
            cases.append(pytest.param(name, param.name, bad, id=f"{name}-{param.name}"))
    return cases


@pytest.mark.parametrize(("constructor", "parameter", "bad"), _cases())
def test_a_wrongly_typed_argument_is_refused_by_name(
    constructor: str, parameter: str, bad: Any, tmp_path: Path
) -> None:
    cls = getattr(mbxai, constructor)
    kwargs = _required(cls, tmp_path)
    kwargs[parameter] = bad
    with pytest.raises(ConfigurationError) as info:
        cls(**kwargs)
    assert parameter in str(info.value), str(info.value)


def test_the_worst_case_the_ssrf_guard_cannot_be_turned_off_by_a_string() -> None:
    with pytest.raises(ConfigurationError, match="allow_private_urls"):
        mbxai.ImageClient(api_key="test", allow_private_urls="false")  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", ["", "Async"])
@pytest.mark.parametrize(
    ("store", "url"),
    [
        ("SQLSessionHandler", "not a database url"),
        ("SQLSessionHandler", "sqlite+nodriver:///sessions.db"),
        ("SQLSessionHandler", "mysql://user:hunter2@db/app"),  # no driver installed here
        ("RedisSessionHandler", "http://user:hunter2@cache:6379/0"),
        ("RedisSessionHandler", "redis://cache:notaport/0"),
    ],
)
def test_a_bad_store_url_is_a_configuration_error(flavour: str, store: str, url: str) -> None:
    with pytest.raises(ConfigurationError, match="url") as info:
        getattr(mbxai, flavour + store)(url)
    assert "hunter2" not in str(info.value)
