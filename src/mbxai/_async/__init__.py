"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated).

Modules load on first use, so importing one client does not import the others.
"""

import typing as _typing

#: The names loaded on first use, by the module that defines them (see ``mbxai``).
_LAZY: dict[str, tuple[str, ...]] = {
    ".agent": ("AsyncAgentClient",),
    ".client": ("AsyncOpenRouterClient",),
    ".images": ("AsyncImageClient",),
    ".mcp": ("AsyncMCPClient",),
    ".sessions": ("AsyncFileSessionHandler", "AsyncRedisSessionHandler", "AsyncSQLSessionHandler"),
    ".streaming": ("AsyncStream",),
    ".tools": ("AsyncToolClient", "AsyncToolStream"),
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

if _typing.TYPE_CHECKING:
    from .agent import AsyncAgentClient
    from .client import AsyncOpenRouterClient
    from .images import AsyncImageClient
    from .mcp import AsyncMCPClient
    from .sessions import AsyncFileSessionHandler, AsyncRedisSessionHandler, AsyncSQLSessionHandler
    from .streaming import AsyncStream
    from .tools import AsyncToolClient, AsyncToolStream
else:
    from .._lazy import attach as _attach

    __getattr__, __dir__ = _attach(__name__, _LAZY, __all__)
