"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated)."""

from .agent import AsyncAgentClient
from .client import AsyncOpenRouterClient
from .images import AsyncImageClient
from .streaming import AsyncStream
from .tools import AsyncToolClient, AsyncToolStream

__all__ = [
    "AsyncAgentClient",
    "AsyncImageClient",
    "AsyncOpenRouterClient",
    "AsyncStream",
    "AsyncToolClient",
    "AsyncToolStream",
]
