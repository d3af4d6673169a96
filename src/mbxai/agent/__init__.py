"""The planning agent: ``AgentClient`` / ``AsyncAgentClient`` and their data model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import *  # noqa: F403
from .models import __all__ as _models_all

if TYPE_CHECKING:
    from .._async.agent import AsyncAgentClient
    from .._async.sessions import (
        AsyncFileSessionHandler,
        AsyncRedisSessionHandler,
        AsyncSQLSessionHandler,
    )
    from .._sync.agent import AgentClient
    from .._sync.sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler

#: The shipped session stores, by module (imported lazily like the clients).
_STORES = {
    "AsyncFileSessionHandler": "_async",
    "AsyncRedisSessionHandler": "_async",
    "AsyncSQLSessionHandler": "_async",
    "FileSessionHandler": "_sync",
    "RedisSessionHandler": "_sync",
    "SQLSessionHandler": "_sync",
}

__all__ = [
    "AgentClient",
    "AsyncAgentClient",
    "AsyncFileSessionHandler",
    "AsyncRedisSessionHandler",
    "AsyncSQLSessionHandler",
    "FileSessionHandler",
    "RedisSessionHandler",
    "SQLSessionHandler",
    *_models_all,
]


def __getattr__(name: str) -> Any:
    # The clients are imported lazily: they import this package's models.
    if name == "AsyncAgentClient":
        from .._async.agent import AsyncAgentClient

        return AsyncAgentClient
    if name == "AgentClient":
        from .._sync.agent import AgentClient

        return AgentClient
    if name in _STORES:
        import importlib

        return getattr(importlib.import_module(f"mbxai.{_STORES[name]}.sessions"), name)
    raise AttributeError(name)
