# This file is generated from src/mbxai/_async/__init__.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated).

Modules load on first use, so importing one client does not import the others.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .agent import AgentClient
    from .client import OpenRouterClient
    from .images import ImageClient
    from .mcp import MCPClient
    from .sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler
    from .streaming import Stream
    from .tools import ToolClient, ToolStream

_LAZY: dict[str, str] = {
    "AgentClient": ".agent",
    "FileSessionHandler": ".sessions",
    "ImageClient": ".images",
    "MCPClient": ".mcp",
    "OpenRouterClient": ".client",
    "RedisSessionHandler": ".sessions",
    "SQLSessionHandler": ".sessions",
    "Stream": ".streaming",
    "ToolClient": ".tools",
    "ToolStream": ".tools",
}

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


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
