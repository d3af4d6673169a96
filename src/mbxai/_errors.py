"""The exception hierarchy: every error mbxai raises derives from :class:`MBXAIError`.

Errors carry what a caller needs to act on them (status, body, request id, the raw
model output that failed validation) and never the API key or request headers.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "InternalServerError",
    "MBXAIError",
    "NotFoundError",
    "OpenRouterAPIError",
    "OpenRouterConnectionError",
    "OpenRouterTimeoutError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamError",
    "StructuredOutputError",
]


class MBXAIError(Exception):
    """Base class of every error raised by mbxai."""


class ConfigurationError(MBXAIError, ValueError):
    """An argument or setting is invalid; the message names which one and why."""


class ClientClosedError(MBXAIError, RuntimeError):
    """The client was used after ``close()``/``aclose()`` or its ``with`` block ended."""


class OpenRouterConnectionError(MBXAIError):
    """The endpoint could not be reached (DNS, refused connection, TLS, dropped socket)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class OpenRouterTimeoutError(OpenRouterConnectionError):
    """The endpoint did not answer within the configured timeout."""


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
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
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
