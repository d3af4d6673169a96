"""mbxai: LLM applications on OpenRouter and any OpenAI-compatible endpoint.

Every client exists twice with the same API: ``AsyncX`` (hand-written, for ``await``)
and ``X`` (generated from it, for plain calls, safe inside Jupyter and running loops).

Everything is importable from here; modules load on first use, so ``import mbxai``
stays fast (clients, the agent and optional integrations are imported when touched).
"""

import importlib as _importlib
import typing as _typing

from ._errors import (
    AgentError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    HumanResponseError,
    InternalServerError,
    MBXAIError,
    MBXAIWarning,
    NotFoundError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    SessionConflictError,
    SessionCorruptError,
    SessionNotFoundError,
    SessionStoreError,
    StreamError,
    StructuredOutputError,
    ToolLoopLimitError,
)
from ._registry import (
    OpenRouterModel,
    list_models,
    register_model,
)
from ._version import __version__

if _typing.TYPE_CHECKING:
    from ._async.agent import (
        AsyncAgentClient,
    )
    from ._async.client import (
        AsyncOpenRouterClient,
    )
    from ._async.images import (
        AsyncImageClient,
    )
    from ._async.mcp import (
        AsyncMCPClient,
    )
    from ._async.sessions import (
        AsyncFileSessionHandler,
        AsyncRedisSessionHandler,
        AsyncSQLSessionHandler,
    )
    from ._async.streaming import (
        AsyncStream,
    )
    from ._async.tools import (
        AsyncToolClient,
        AsyncToolStream,
    )
    from ._images import (
        GeneratedImage,
        ImageResponse,
        ImageUsage,
    )
    from ._mcp import (
        MCPConnectionError,
        MCPServerError,
        MCPServerInfo,
        MCPToolError,
        MCPTooManyToolsError,
    )
    from ._sync.agent import (
        AgentClient,
    )
    from ._sync.client import (
        OpenRouterClient,
    )
    from ._sync.images import (
        ImageClient,
    )
    from ._sync.mcp import (
        MCPClient,
    )
    from ._sync.sessions import (
        FileSessionHandler,
        RedisSessionHandler,
        SQLSessionHandler,
    )
    from ._sync.streaming import (
        Stream,
    )
    from ._sync.tools import (
        ToolClient,
        ToolStream,
    )
    from ._tools import (
        Tool,
    )
    from ._types import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        ParsedChatCompletion,
        ParsedToolChatCompletion,
        ToolCall,
        ToolChatCompletion,
        Usage,
    )
    from .agent.models import (
        AgentEvent,
        AgentResponse,
        AgentState,
        AsyncSessionHandler,
        DialogOption,
        GoalEvaluation,
        HumanInLoopRequest,
        HumanInLoopResponse,
        HumanInLoopResponseBatch,
        HumanInteractionType,
        InMemorySessionHandler,
        RequirementAnalysis,
        SessionHandler,
        Task,
        TaskStatus,
        TodoList,
        TokenSummary,
        TokenUsage,
        ToolAnalysis,
    )
    from .mcp_server import (
        MCPServer,
    )

#: Public name -> the module defining it, imported on first access.
_LAZY: dict[str, str] = {
    "AgentClient": "._sync.agent",
    "AgentEvent": ".agent.models",
    "AgentResponse": ".agent.models",
    "AgentState": ".agent.models",
    "AsyncAgentClient": "._async.agent",
    "AsyncFileSessionHandler": "._async.sessions",
    "AsyncImageClient": "._async.images",
    "AsyncMCPClient": "._async.mcp",
    "AsyncOpenRouterClient": "._async.client",
    "AsyncRedisSessionHandler": "._async.sessions",
    "AsyncSQLSessionHandler": "._async.sessions",
    "AsyncSessionHandler": ".agent.models",
    "AsyncStream": "._async.streaming",
    "AsyncToolClient": "._async.tools",
    "AsyncToolStream": "._async.tools",
    "ChatCompletion": "._types",
    "ChatCompletionChunk": "._types",
    "ChatCompletionMessage": "._types",
    "DialogOption": ".agent.models",
    "FileSessionHandler": "._sync.sessions",
    "GeneratedImage": "._images",
    "GoalEvaluation": ".agent.models",
    "HumanInLoopRequest": ".agent.models",
    "HumanInLoopResponse": ".agent.models",
    "HumanInLoopResponseBatch": ".agent.models",
    "HumanInteractionType": ".agent.models",
    "ImageClient": "._sync.images",
    "ImageResponse": "._images",
    "ImageUsage": "._images",
    "InMemorySessionHandler": ".agent.models",
    "MCPClient": "._sync.mcp",
    "MCPConnectionError": "._mcp",
    "MCPServer": ".mcp_server",
    "MCPServerError": "._mcp",
    "MCPServerInfo": "._mcp",
    "MCPTooManyToolsError": "._mcp",
    "MCPToolError": "._mcp",
    "OpenRouterClient": "._sync.client",
    "ParsedChatCompletion": "._types",
    "ParsedToolChatCompletion": "._types",
    "RedisSessionHandler": "._sync.sessions",
    "RequirementAnalysis": ".agent.models",
    "SQLSessionHandler": "._sync.sessions",
    "SessionHandler": ".agent.models",
    "Stream": "._sync.streaming",
    "Task": ".agent.models",
    "TaskStatus": ".agent.models",
    "TodoList": ".agent.models",
    "TokenSummary": ".agent.models",
    "TokenUsage": ".agent.models",
    "Tool": "._tools",
    "ToolAnalysis": ".agent.models",
    "ToolCall": "._types",
    "ToolChatCompletion": "._types",
    "ToolClient": "._sync.tools",
    "ToolStream": "._sync.tools",
    "Usage": "._types",
}

__all__ = [
    "AgentClient",
    "AgentError",
    "AgentEvent",
    "AgentResponse",
    "AgentState",
    "AsyncAgentClient",
    "AsyncFileSessionHandler",
    "AsyncImageClient",
    "AsyncMCPClient",
    "AsyncOpenRouterClient",
    "AsyncRedisSessionHandler",
    "AsyncSQLSessionHandler",
    "AsyncSessionHandler",
    "AsyncStream",
    "AsyncToolClient",
    "AsyncToolStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ClientClosedError",
    "ConfigurationError",
    "DialogOption",
    "FileSessionHandler",
    "GeneratedImage",
    "GoalEvaluation",
    "HumanInLoopRequest",
    "HumanInLoopResponse",
    "HumanInLoopResponseBatch",
    "HumanInteractionType",
    "HumanResponseError",
    "ImageClient",
    "ImageResponse",
    "ImageUsage",
    "InMemorySessionHandler",
    "InternalServerError",
    "MBXAIError",
    "MBXAIWarning",
    "MCPClient",
    "MCPConnectionError",
    "MCPServer",
    "MCPServerError",
    "MCPServerInfo",
    "MCPTooManyToolsError",
    "MCPToolError",
    "NotFoundError",
    "OpenRouterAPIError",
    "OpenRouterClient",
    "OpenRouterConnectionError",
    "OpenRouterModel",
    "OpenRouterTimeoutError",
    "ParsedChatCompletion",
    "ParsedToolChatCompletion",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisSessionHandler",
    "RequirementAnalysis",
    "SQLSessionHandler",
    "SessionConflictError",
    "SessionCorruptError",
    "SessionHandler",
    "SessionNotFoundError",
    "SessionStoreError",
    "Stream",
    "StreamError",
    "StructuredOutputError",
    "Task",
    "TaskStatus",
    "TodoList",
    "TokenSummary",
    "TokenUsage",
    "Tool",
    "ToolAnalysis",
    "ToolCall",
    "ToolChatCompletion",
    "ToolClient",
    "ToolLoopLimitError",
    "ToolStream",
    "Usage",
    "__version__",
    "list_models",
    "register_model",
]


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mbxai' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
