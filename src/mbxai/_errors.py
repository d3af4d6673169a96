"""The exception hierarchy: every error mbxai raises derives from :class:`MBXAIError`.

Errors carry what a caller needs to act on them (status, body, request id, the raw
model output that failed validation) and never the API key or request headers.
"""

from __future__ import annotations

from typing import Any

from ._logging import redact

__all__ = [
    "AgentError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "FetchError",
    "HumanResponseError",
    "InternalServerError",
    "LineTooLongError",
    "LocalModelServerError",
    "MBXAIError",
    "MBXAIWarning",
    "MCPAuthError",
    "MCPConnectionError",
    "MCPRequestError",
    "MCPResponseTooLargeError",
    "MCPServerError",
    "MCPServerStartError",
    "MCPTooManyToolsError",
    "MCPToolError",
    "NotFoundError",
    "OpenRouterAPIError",
    "OpenRouterConnectionError",
    "OpenRouterTimeoutError",
    "PermissionDeniedError",
    "RateLimitError",
    "SessionConflictError",
    "SessionCorruptError",
    "SessionNotFoundError",
    "SessionStoreError",
    "StreamError",
    "StructuredOutputError",
    "ToolLoopLimitError",
    "ToolOutcomeUnknown",
    "UsageLimitExceeded",
]


class MBXAIError(Exception):
    """Base class of every error raised by mbxai."""


class MBXAIWarning(UserWarning):
    """A setting that works but will surprise you later (``warnings.warn`` category)."""


class ConfigurationError(MBXAIError, ValueError):
    """An argument or setting is invalid; the message names which one and why."""


class ClientClosedError(MBXAIError, RuntimeError):
    """The client was used after ``close()``/``aclose()`` or its ``with`` block ended."""


class OpenRouterConnectionError(MBXAIError):
    """The endpoint could not be reached (DNS, refused connection, TLS, dropped socket).

    ``url`` is the request's URL without any ``user:password@`` in it.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(redact(message))
        self.url = redact(url) if url is not None else None


class OpenRouterTimeoutError(OpenRouterConnectionError):
    """The endpoint did not answer, or did not finish its answer, within the configured
    time: a wait for data longer than ``timeout``, a request not complete within its
    ``timeout``, or a stream not ended within ``stream_timeout``."""


class OpenRouterAPIError(MBXAIError):
    """The endpoint answered with an error.

    Attributes:
        status_code: HTTP status, or the ``code`` of an error object sent with HTTP 200.
        body: The decoded error body (a dict when it was JSON, else the text).
        request_id: The provider's request id when one was sent, for support tickets.
        code: The provider's error code when given (may be a string or a number).
        retry_after: Seconds the server asked us to wait before retrying, if it said.
        should_retry: The server's explicit ``x-should-retry`` verdict, if it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        request_id: str | None = None,
        code: Any = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        # A provider may echo the request (and the key) back: scrub known secrets first.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = _redact_body(body)
        self.request_id = request_id
        self.code = code
        self.retry_after = retry_after
        self.should_retry = should_retry

    def __str__(self) -> str:
        parts = [self.message]
        if self.status_code is not None:
            parts.append(f"status={self.status_code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " | ".join(parts)


def _redact_body(body: Any) -> Any:
    if isinstance(body, str):
        return redact(body)
    if isinstance(body, dict):
        return {key: _redact_body(value) for key, value in body.items()}
    if isinstance(body, list):
        return [_redact_body(item) for item in body]
    return body


class BadRequestError(OpenRouterAPIError):
    """HTTP 400/422: the request was malformed or rejected by the model provider."""


class AuthenticationError(OpenRouterAPIError):
    """HTTP 401: the API key is missing, invalid or revoked."""


class PermissionDeniedError(OpenRouterAPIError):
    """HTTP 402/403: not allowed (insufficient credits, moderation, region)."""


class NotFoundError(OpenRouterAPIError):
    """HTTP 404: unknown model or route."""


class RateLimitError(OpenRouterAPIError):
    """HTTP 429: too many requests; retried, waiting as long as ``retry_after`` asks."""


class InternalServerError(OpenRouterAPIError):
    """HTTP 5xx: the provider failed; retried automatically."""


class StreamError(OpenRouterAPIError):
    """An error event arrived in the middle of a streamed response."""


class StructuredOutputError(MBXAIError):
    """The model's reply could not be validated into the requested type.

    Raised after the configured number of re-asks.

    Attributes:
        raw_output: The model's last reply, verbatim.
        errors: The validation errors of that reply (as Pydantic reports them).
        response_format: The type the reply had to match.
        attempts: How many replies were tried.
    """

    def __init__(
        self,
        message: str,
        *,
        raw_output: str | None,
        errors: list[Any] | None = None,
        response_format: type[Any] | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.raw_output = raw_output
        self.errors = errors or []
        self.response_format = response_format
        self.attempts = attempts


class AgentError(MBXAIError):
    """The agent cannot go on (for instance a failed run with no iterations left)."""

    def __init__(self, message: str, *, agent_id: str | None = None) -> None:
        super().__init__(message)
        self.agent_id = agent_id


class HumanResponseError(AgentError, ValueError):
    """A human response does not fit the pending request; the session was not changed."""


class SessionNotFoundError(AgentError, KeyError):
    """No session is stored under that ``agent_id`` (never created, deleted or expired)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "session not found"


class SessionConflictError(AgentError):
    """Someone else wrote the session since it was read (optimistic concurrency).

    Attributes:
        expected_version: The version this writer read.
        actual_version: The version found in the store (``None`` if the session is gone).
    """

    def __init__(
        self,
        message: str,
        *,
        agent_id: str | None = None,
        expected_version: int | None = None,
        actual_version: int | None = None,
    ) -> None:
        super().__init__(message, agent_id=agent_id)
        self.expected_version = expected_version
        self.actual_version = actual_version


class SessionStoreError(AgentError):
    """The session store failed (unreachable, disk full...); the cause is chained.

    Nothing was lost: the run resumes from its last saved step once the store is back.
    """


class SessionCorruptError(AgentError):
    """A stored session record cannot be read back; the message names the session."""


class LocalModelServerError(MBXAIError, RuntimeError):
    """The local model server of :mod:`mbxai.local` could not start or is not installed.

    The message says what failed and, for a server that did not come up, ends with the
    last lines of its log (llama.cpp explains load failures there).

    Attributes:
        log_tail: The last lines the server process logged ("" if it never ran).
        returncode: The server process's exit code when it exited, else ``None``.
    """

    def __init__(self, message: str, *, log_tail: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail
        self.returncode = returncode


class ToolLoopLimitError(MBXAIError):
    """The model kept calling tools past ``max_tool_rounds``.

    Attributes:
        transcript: The conversation up to the limit: the caller's messages, then every
            assistant reply and tool result. It can be sent again as it is (for example
            with ``tool_choice="none"`` to ask for an answer without more tools).
        pending_calls: The tool calls of the last reply, which were not run.
        rounds: How many rounds of tool calls did run.
        usage: Token usage summed over every request of the loop.
    """

    def __init__(
        self,
        message: str,
        *,
        transcript: list[dict[str, Any]],
        pending_calls: list[Any] | None = None,
        rounds: int = 0,
        usage: Any = None,
    ) -> None:
        super().__init__(message)
        self.transcript = transcript
        self.pending_calls = pending_calls or []
        self.rounds = rounds
        self.usage = usage


class ToolOutcomeUnknown(MBXAIError):
    """A tool call was claimed in an agent's journal but never recorded as finished (its
    process died, or it outlived its timeout): it may or may not have taken effect, so the
    agent does not run it again. The model is told so, as for any failing tool."""


class MCPServerError(MBXAIError):
    """Something went wrong with an MCP server; the message names the server."""


class MCPConnectionError(MCPServerError):
    """An MCP server could not be reached, dropped the connection, or did not answer in time.

    Raised by ``register_mcp_server`` when the first connection fails. During a chat the
    model gets it as the tool's result ("server X unavailable: ..."), not you.
    """


class MCPToolError(MCPServerError):
    """An MCP server answered a tool call with an error (``isError``, or a protocol error).

    During a chat the model gets it as the tool's result, so it can correct itself.
    """


class MCPTooManyToolsError(MCPServerError, ConfigurationError):
    """A server offers more tools than ``max_tools=`` (after ``allow=``/``deny=``/
    ``tool_filter=``), raised by ``register_mcp_server``; nothing is left registered.

    Attributes:
        server: The server's name.
        count: How many of its tools passed the filters (at least this many, when the
            server's listing was too long to read to its end).
        max_tools: The cap.
    """

    def __init__(self, server: str, count: int, max_tools: int, *, cut: bool = False) -> None:
        self.server = server
        self.count = count
        self.max_tools = max_tools
        many = f"at least {count}" if cut else str(count)
        super().__init__(
            f"MCP server {server!r} offers {many} tools (after allow=/deny=/tool_filter=), "
            f"more than max_tools={max_tools}: pick the ones the model needs with allow=, "
            "deny= or tool_filter=, or raise max_tools= (every registered schema is sent "
            "with every request)"
        )


class MCPServerStartError(MCPServerError, RuntimeError):
    """:meth:`MCPServer.serve_http` could not start listening."""


class FetchError(MBXAIError):
    """An input URL could not be downloaded; reported as ``success=False``, not raised."""

    def __init__(self, source: Any, reason: str) -> None:
        # source: the input (its ``label`` and credential-free ``display``).
        super().__init__(f"could not fetch {source.label} from {source.display}: {reason}")


class LineTooLongError(ValueError):
    """A line grew past the decoder's limit without a line break."""


class UsageLimitExceeded(MBXAIError):
    """A call reached one of its :class:`~mbxai.UsageLimits`; the request that would have
    gone past it was not sent.

    Attributes:
        limit: Which limit: ``"max_requests"``, ``"max_total_tokens"`` or ``"max_cost"``.
        usage: The usage reported so far under the limits (every count summed).
        requests: Requests sent so far under the limits.
        transcript: For a tool loop, the conversation up to the limit (send it again,
            with a higher limit, to go on); else ``None``.
        agent_id: For an agent, the session (saved; ``agent()`` with a higher limit
            resumes it); else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        usage: Any = None,
        requests: int = 0,
        transcript: list[dict[str, Any]] | None = None,
        agent_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.usage = usage
        self.requests = requests
        self.transcript = transcript
        self.agent_id = agent_id


class MCPAuthError(MCPConnectionError):
    """An MCP server's OAuth authorization failed or was not completed in time (junk
    tokens, a refused registration, a failing refresh nobody re-authorized).

    Attributes:
        server: The server's name.
        authorization_url: The URL a human was asked to open, when one was.
    """

    def __init__(
        self, message: str, *, server: str = "", authorization_url: str | None = None
    ) -> None:
        super().__init__(message)
        self.server = server
        self.authorization_url = authorization_url


class MCPRequestError(MCPServerError):
    """An MCP server refused or failed a request that is no tool call (listing or reading
    resources, getting a prompt), or answered it with something malformed."""


class MCPResponseTooLargeError(MCPRequestError):
    """What an MCP server sent is larger than the client accepts (a resource over
    ``max_resource_bytes``, a message over ``max_message_bytes``); nothing of it is kept.

    Attributes:
        limit: The cap, in bytes.
    """

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
