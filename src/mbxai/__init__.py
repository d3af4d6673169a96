"""mbxai: LLM applications on OpenRouter and any OpenAI-compatible endpoint.

Every client exists twice with the same API: ``AsyncX`` (hand-written, for ``await``)
and ``X`` (generated from it, for plain calls, safe inside Jupyter and running loops).

Everything is importable from here. The errors and the model registry load with the
package; everything else loads on first use (``_LAZY``), so ``import mbxai`` stays fast.
"""

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
    MCPConnectionError,
    MCPServerError,
    MCPToolError,
    MCPTooManyToolsError,
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
    UsageLimitExceeded,
)
from ._registry import OpenRouterModel, list_models, register_model
from ._version import __version__

#: The names loaded on first use, by the module that defines them. The imports under
#: TYPE_CHECKING say the same to type checkers (tests/test_public_api.py compares them).
_LAZY: dict[str, tuple[str, ...]] = {
    "._async.agent": ("AsyncAgentClient",),
    "._async.client": ("AsyncOpenRouterClient",),
    "._async.images": ("AsyncImageClient",),
    "._async.mcp": ("AsyncMCPClient",),
    "._async.sessions": (
        "AsyncFileSessionHandler",
        "AsyncRedisSessionHandler",
        "AsyncSQLSessionHandler",
    ),
    "._async.streaming": ("AsyncStream",),
    "._async.tools": (
        "AsyncToolClient",
        "AsyncToolStream",
    ),
    "._images": (
        "GeneratedImage",
        "ImageResponse",
        "ImageUsage",
    ),
    "._mcp": ("MCPServerInfo",),
    "._sync.agent": ("AgentClient",),
    "._sync.client": ("OpenRouterClient",),
    "._sync.images": ("ImageClient",),
    "._sync.mcp": ("MCPClient",),
    "._sync.sessions": (
        "FileSessionHandler",
        "RedisSessionHandler",
        "SQLSessionHandler",
    ),
    "._sync.streaming": ("Stream",),
    "._sync.tools": (
        "ToolClient",
        "ToolStream",
    ),
    "._content": (
        "ContentPart",
        "audio_part",
        "image_part",
        "pdf_part",
        "text_part",
        "user_message",
    ),
    "._function_schema": ("Tool",),
    "._openrouter": (
        "CacheControl",
        "FileParserPlugin",
        "GenerationStats",
        "MaxPrice",
        "ModelInfo",
        "ProviderPreferences",
        "Reasoning",
        "ResponseHealingPlugin",
        "WebPlugin",
    ),
    "._usage": ("UsageLimits",),
    "._types": (
        "ChatCompletion",
        "ChatCompletionChunk",
        "ChatCompletionMessage",
        "CostDetails",
        "ParsedChatCompletion",
        "ParsedToolChatCompletion",
        "PendingApproval",
        "ToolApproval",
        "ToolCall",
        "ToolChatCompletion",
        "Usage",
    ),
    ".agent.models": (
        "AgentEvent",
        "AgentResponse",
        "AgentState",
        "AsyncSessionHandler",
        "DialogOption",
        "GoalEvaluation",
        "HumanInLoopRequest",
        "HumanInLoopResponse",
        "HumanInLoopResponseBatch",
        "HumanInteractionType",
        "InMemorySessionHandler",
        "RequirementAnalysis",
        "SessionHandler",
        "Task",
        "TaskStatus",
        "TodoList",
        "TokenSummary",
        "TokenUsage",
        "ToolAnalysis",
    ),
    ".mcp_server": ("MCPServer",),
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
    "CacheControl",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ClientClosedError",
    "ConfigurationError",
    "ContentPart",
    "CostDetails",
    "DialogOption",
    "FileParserPlugin",
    "FileSessionHandler",
    "GeneratedImage",
    "GenerationStats",
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
    "MaxPrice",
    "ModelInfo",
    "NotFoundError",
    "OpenRouterAPIError",
    "OpenRouterClient",
    "OpenRouterConnectionError",
    "OpenRouterModel",
    "OpenRouterTimeoutError",
    "ParsedChatCompletion",
    "ParsedToolChatCompletion",
    "PendingApproval",
    "PermissionDeniedError",
    "ProviderPreferences",
    "RateLimitError",
    "Reasoning",
    "RedisSessionHandler",
    "RequirementAnalysis",
    "ResponseHealingPlugin",
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
    "ToolApproval",
    "ToolCall",
    "ToolChatCompletion",
    "ToolClient",
    "ToolLoopLimitError",
    "ToolStream",
    "Usage",
    "UsageLimitExceeded",
    "UsageLimits",
    "WebPlugin",
    "__version__",
    "audio_part",
    "image_part",
    "list_models",
    "pdf_part",
    "register_model",
    "text_part",
    "user_message",
]

if _typing.TYPE_CHECKING:
    from ._async.agent import AsyncAgentClient
    from ._async.client import AsyncOpenRouterClient
    from ._async.images import AsyncImageClient
    from ._async.mcp import AsyncMCPClient
    from ._async.sessions import (
        AsyncFileSessionHandler,
        AsyncRedisSessionHandler,
        AsyncSQLSessionHandler,
    )
    from ._async.streaming import AsyncStream
    from ._async.tools import AsyncToolClient, AsyncToolStream
    from ._content import (
        ContentPart,
        audio_part,
        image_part,
        pdf_part,
        text_part,
        user_message,
    )
    from ._function_schema import Tool
    from ._images import GeneratedImage, ImageResponse, ImageUsage
    from ._mcp import MCPServerInfo
    from ._openrouter import (
        CacheControl,
        FileParserPlugin,
        GenerationStats,
        MaxPrice,
        ModelInfo,
        ProviderPreferences,
        Reasoning,
        ResponseHealingPlugin,
        WebPlugin,
    )
    from ._sync.agent import AgentClient
    from ._sync.client import OpenRouterClient
    from ._sync.images import ImageClient
    from ._sync.mcp import MCPClient
    from ._sync.sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler
    from ._sync.streaming import Stream
    from ._sync.tools import ToolClient, ToolStream
    from ._types import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessage,
        CostDetails,
        ParsedChatCompletion,
        ParsedToolChatCompletion,
        PendingApproval,
        ToolApproval,
        ToolCall,
        ToolChatCompletion,
        Usage,
    )
    from ._usage import UsageLimits
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
    from .mcp_server import MCPServer
else:
    from ._lazy import attach as _attach

    __getattr__, __dir__ = _attach(__name__, _LAZY, __all__)
