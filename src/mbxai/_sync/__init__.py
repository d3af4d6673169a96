# This file is generated from src/mbxai/_async/__init__.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The clients, one module each (``mbxai._async`` is hand-written, ``mbxai._sync`` generated).

Modules load on first use, so importing one client does not import the others.
"""

import typing as _typing

#: The names loaded on first use, by the module that defines them (see ``mbxai``).
_LAZY: dict[str, tuple[str, ...]] = {
    ".agent": ("AgentClient",),
    ".client": ("OpenRouterClient",),
    ".images": ("ImageClient",),
    ".mcp": ("MCPClient",),
    ".sessions": ("FileSessionHandler", "RedisSessionHandler", "SQLSessionHandler"),
    ".streaming": ("Stream",),
    ".tools": ("ToolClient", "ToolStream"),
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

if _typing.TYPE_CHECKING:
    from .agent import AgentClient
    from .client import OpenRouterClient
    from .images import ImageClient
    from .mcp import MCPClient
    from .sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler
    from .streaming import Stream
    from .tools import ToolClient, ToolStream
else:
    from .._lazy import attach as _attach

    __getattr__, __dir__ = _attach(__name__, _LAZY, __all__)
