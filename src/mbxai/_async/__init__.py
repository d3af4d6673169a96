"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated)."""

from .agent import AsyncAgentClient
from .client import AsyncOpenRouterClient
from .streaming import AsyncStream

__all__ = ["AsyncAgentClient", "AsyncOpenRouterClient", "AsyncStream"]
