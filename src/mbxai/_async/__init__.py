"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated).

Modules load on first use, so importing one client does not import the others.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .agent import AsyncAgentClient
    from .client import AsyncOpenRouterClient
    from .images import AsyncImageClient
    from .mcp import AsyncMCPClient
    from .sessions import AsyncFileSessionHandler, AsyncRedisSessionHandler, AsyncSQLSessionHandler
    from .streaming import AsyncStream
    from .tools import AsyncToolClient, AsyncToolStream

_LAZY: dict[str, str] = {
    "AsyncAgentClient": ".agent",
    "AsyncFileSessionHandler": ".sessions",
    "AsyncImageClient": ".images",
    "AsyncMCPClient": ".mcp",
    "AsyncOpenRouterClient": ".client",
    "AsyncRedisSessionHandler": ".sessions",
    "AsyncSQLSessionHandler": ".sessions",
    "AsyncStream": ".streaming",
    "AsyncToolClient": ".tools",
    "AsyncToolStream": ".tools",
}

__all__ = [
    "AsyncAgentClient",
    "AsyncFileSessionHandler",
    "AsyncImageClient",
    "AsyncMCPClient",
    "AsyncOpenRouterClient",
    "AsyncRedisSessionHandler",
    "AsyncSQLSessionHandler",
    "AsyncStream",
    "AsyncToolClient",
    "AsyncToolStream",
]


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
