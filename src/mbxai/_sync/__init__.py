# This file is generated from src/mbxai/_async/__init__.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated)."""

from .agent import AgentClient
from .client import OpenRouterClient
from .images import ImageClient
from .mcp import MCPClient
from .sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler
from .streaming import Stream
from .tools import ToolClient, ToolStream

__all__ = [
    "AgentClient",
    "FileSessionHandler",
    "ImageClient",
    "MCPClient",
    "OpenRouterClient",
    "RedisSessionHandler",
    "SQLSessionHandler",
    "Stream",
    "ToolClient",
    "ToolStream",
]
