"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated)."""

from .agent import AsyncAgentClient
from .client import AsyncOpenRouterClient
from .images import AsyncImageClient
from .mcp import AsyncMCPClient
from .sessions import AsyncFileSessionHandler, AsyncRedisSessionHandler, AsyncSQLSessionHandler
from .streaming import AsyncStream
from .tools import AsyncToolClient, AsyncToolStream

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
