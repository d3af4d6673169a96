"""mbxai: LLM applications on OpenRouter and any OpenAI-compatible endpoint.

Every client exists twice with the same API: ``AsyncX`` (hand-written, for ``await``)
and ``X`` (generated from it, for plain calls, safe inside Jupyter and running loops).
"""

from ._async import AsyncOpenRouterClient, AsyncStream
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    MBXAIError,
    NotFoundError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    StructuredOutputError,
)
from ._registry import OpenRouterModel, list_models, register_model
from ._sync import OpenRouterClient, Stream
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ParsedChatCompletion,
    ToolCall,
    Usage,
)
from ._version import __version__

__all__ = [
    "AsyncOpenRouterClient",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ClientClosedError",
    "ConfigurationError",
    "InternalServerError",
    "MBXAIError",
    "NotFoundError",
    "OpenRouterAPIError",
    "OpenRouterClient",
    "OpenRouterConnectionError",
    "OpenRouterModel",
    "OpenRouterTimeoutError",
    "ParsedChatCompletion",
    "PermissionDeniedError",
    "RateLimitError",
    "Stream",
    "StreamError",
    "StructuredOutputError",
    "ToolCall",
    "Usage",
    "__version__",
    "list_models",
    "register_model",
]
