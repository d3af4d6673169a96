"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated)."""

from .client import AsyncOpenRouterClient
from .streaming import AsyncStream

__all__ = ["AsyncOpenRouterClient", "AsyncStream"]
