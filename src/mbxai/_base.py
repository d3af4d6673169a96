"""The flavour-free half of the OpenRouter client: configuration, request building and
response decoding. Both the async client and its generated sync twin call into this
module, so only the sending differs between them.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import httpx
import pydantic_core
from pydantic import BaseModel, SecretStr, ValidationError

from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
)
from ._logging import register_secret
from ._registry import DEFAULT_MODEL, OpenRouterModel, resolve_model
from ._retry import RetryPolicy, parse_retry_after, should_retry_header
from ._sse import ServerSentEvent
from ._structured import MODES, StructuredMode, structured_chain
from ._types import ChatCompletion, ChatCompletionChunk
from ._version import __version__

__all__ = [
    "DONE",
    "ClientConfig",
    "api_error",
    "build_chat_body",
    "check_base_url",
    "check_retry_settings",
    "decode_completion",
    "decode_event",
    "http_timeout",
    "retry_options",
]

DEFAULT_BASE_URL: Final = "https://openrouter.ai/api/v1"
DEFAULT_HEADERS: Final[Mapping[str, str]] = {
    "HTTP-Referer": "https://github.com/mbxai/mbxai",
    "X-Title": "mbxai",
}
_USER_AGENT: Final = f"mbxai/{__version__} python/{platform.python_version()}"
_ERROR_CLASSES: Final[dict[int, type[OpenRouterAPIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}

C = TypeVar("C", bound=ChatCompletion)


class _Done:
    def __repr__(self) -> str:
        return "DONE"


#: Returned by :func:`decode_event` for the ``[DONE]`` sentinel that ends a stream.
DONE: Final = _Done()


@dataclass(frozen=True, slots=True, repr=False)
class ClientConfig:
    """Everything a client needs to build requests, resolved and checked once."""

    token: SecretStr | None
    base_url: str
    model: str
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    max_retries: int
    retry_initial_delay: float
    retry_max_delay: float
    max_retry_after: float
    parse_retries: int
    #: The structured-output modes ``parse`` tries, in order (``mbxai._structured``).
    structured_output: tuple[StructuredMode, ...] = MODES
    chat_url: str = field(init=False)
    request_headers: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chat_url", f"{self.base_url}/chat/completions")
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            **self.headers,
        }
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        object.__setattr__(self, "request_headers", headers)

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={self.base_url!r}, model={self.model!r}, "
            f"token={'***' if self.token else None}, max_retries={self.max_retries})"
        )

    @classmethod
    def create(
        cls,
        *,
        token: str | None,
        model: str | OpenRouterModel | None,
        base_url: str | None,
        default_headers: Mapping[str, str | None] | None,
        max_retries: int,
        retry_initial_delay: float,
        retry_max_delay: float,
        max_retry_after: float,
        timeout: float | httpx.Timeout | None,
        parse_retries: int,
        structured_output: Any = "auto",
    ) -> ClientConfig:
        """Apply environment fallbacks and check every argument, naming what is wrong."""
        token = token if token is not None else os.environ.get("OPENROUTER_API_KEY")
        if token is not None and not isinstance(token, str):
            raise ConfigurationError(f"token must be a string, got {type(token).__name__}")
        token = token.strip() if token else None
        url = check_base_url(base_url or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL)
        if token is None and httpx.URL(url).host == "openrouter.ai":
            raise ConfigurationError(
                "no OpenRouter API key: pass token=... or set OPENROUTER_API_KEY "
                "(or point base_url / OPENROUTER_BASE_URL at an endpoint that needs none)"
            )
        check_retry_settings(
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
        )
        if (
            not isinstance(parse_retries, int)
            or isinstance(parse_retries, bool)
            or parse_retries < 0
        ):
            raise ConfigurationError(f"parse_retries must be an int >= 0, got {parse_retries!r}")
        headers = dict(DEFAULT_HEADERS)
        for key, header in (default_headers or {}).items():
            if key.lower() == "authorization":
                raise ConfigurationError("pass the API key as token=..., not as a header")
            if header is None:
                headers.pop(key, None)
            else:
                headers[key] = header
        register_secret(token)
        return cls(
            token=SecretStr(token) if token else None,
            base_url=url,
            model=resolve_model(model) if model is not None else DEFAULT_MODEL,
            headers=headers,
            timeout=http_timeout(timeout),
            max_retries=max_retries,
            retry_initial_delay=float(retry_initial_delay),
            retry_max_delay=float(retry_max_delay),
            max_retry_after=float(max_retry_after),
            parse_retries=parse_retries,
            structured_output=structured_chain(structured_output),
        )


# -- checks and settings shared by every client (chat, images) ---------------------------


def check_base_url(url: str) -> str:
    """``url`` without its trailing slash, checked to be an http(s) URL with a host."""
    url = url.rstrip("/") if isinstance(url, str) else url
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url is not a valid URL: {url!r}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {url!r}")
    return url


def check_retry_settings(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> None:
    """Check the retry arguments every client takes, naming the one that is wrong."""
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}")
    for name, value in (
        ("retry_initial_delay", retry_initial_delay),
        ("retry_max_delay", retry_max_delay),
        ("max_retry_after", max_retry_after),
    ):
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"{name} must be a number >= 0, got {value!r}")
    if retry_max_delay < retry_initial_delay:
        raise ConfigurationError(
            f"retry_max_delay ({retry_max_delay}) must be >= retry_initial_delay "
            f"({retry_initial_delay})"
        )


def http_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout=`` argument (connecting never waits over 10 s)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None or (isinstance(timeout, int | float) and timeout > 0):
        return httpx.Timeout(timeout, connect=min(timeout or 10.0, 10.0))
    raise ConfigurationError(
        f"timeout must be seconds > 0, an httpx.Timeout or None, got {timeout!r}"
    )


def retry_options(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> dict[str, Any]:
    """Keyword arguments for ``stamina.retry_context``: mbxai's retry policy and backoff.

    ``max_retries`` counts retries after the first attempt; jitter is as large as the
    first delay, and a server's ``Retry-After`` (capped) replaces the backoff.
    """
    return {
        "on": RetryPolicy(max_retry_after),
        "attempts": max_retries + 1,
        "timeout": None,
        "wait_initial": retry_initial_delay,
        "wait_max": retry_max_delay,
        "wait_jitter": retry_initial_delay,
    }


def _message_param(index: int, message: Any) -> Any:
    if isinstance(message, BaseModel):
        to_param = getattr(message, "to_param", None)
        return to_param() if to_param else message.model_dump(exclude_none=True)
    if not isinstance(message, Mapping) or "role" not in message:
        raise ConfigurationError(
            f"messages[{index}] must be a mapping with a 'role' key "
            f"(like {{'role': 'user', 'content': '...'}}), got {message!r:.80}"
        )
    return message


def build_chat_body(
    model: str, messages: Sequence[Any], params: Mapping[str, Any], *, stream: bool
) -> bytes:
    """Serialise a chat completion request. ``None`` params are left out."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise ConfigurationError(
            f"messages must be a list of message dicts, got {type(messages).__name__}"
        )
    if not messages:
        raise ConfigurationError("messages must not be empty")
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message_param(i, m) for i, m in enumerate(messages)],
    }
    for key, value in params.items():
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return pydantic_core.to_json(body)


def _decode_body(content: bytes) -> Any:
    try:
        return pydantic_core.from_json(content) if content else None
    except ValueError:
        return content.decode("utf-8", "replace")[:2000]


def _error_details(body: Any) -> tuple[str | None, Any]:
    """The (message, code) of an OpenAI/OpenRouter error body, when it has one."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            raw = (
                (error.get("metadata") or {}).get("raw")
                if isinstance(error.get("metadata"), dict)
                else None
            )
            text = str(message) if message else None
            if raw and text and str(raw) not in text:
                text = f"{text}: {str(raw)[:500]}"
            return text, error.get("code")
        if isinstance(error, str):
            return error, None
    return None, None


def api_error(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    cls: type[OpenRouterAPIError] | None = None,
) -> OpenRouterAPIError:
    """Build the typed error for an error response (status from HTTP or from the body)."""
    message, code = _error_details(body)
    effective = status
    if status < 400 and isinstance(code, int) and 400 <= code < 600:
        effective = code
    if cls is None:
        cls = _ERROR_CLASSES.get(effective) or (
            InternalServerError if effective >= 500 else OpenRouterAPIError
        )
    if not message:
        message = body if isinstance(body, str) and body else f"HTTP {effective} from the endpoint"
    return cls(
        str(message),
        status_code=effective,
        body=body,
        request_id=headers.get("x-request-id") or headers.get("x-generation-id"),
        code=code,
        retry_after=parse_retry_after(headers),
        should_retry=should_retry_header(headers),
    )


@contextlib.contextmanager
def transport_errors(url: httpx.URL | str) -> Iterator[None]:
    """Turn httpx's transport failures inside the block into mbxai's typed errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise OpenRouterTimeoutError(f"request timed out: {exc!r}", url=str(url)) from exc
    except httpx.TransportError as exc:
        raise OpenRouterConnectionError(f"connection failed: {exc!r}", url=str(url)) from exc


def decode_completion(status: int, headers: Mapping[str, str], content: bytes, cls: type[C]) -> C:
    """Turn an HTTP response into a completion, or raise its typed error.

    Covers error statuses, HTTP 200 with an ``error`` object, and bodies that are not JSON.
    """
    if status >= 400:
        raise api_error(status, headers, _decode_body(content))
    try:
        completion = cls.model_validate_json(content)
    except ValidationError as exc:
        body = _decode_body(content)
        if isinstance(body, dict) and "error" in body:
            raise api_error(status, headers, body) from None
        raise OpenRouterAPIError(
            "the endpoint's response is not a chat completion "
            f"({exc.errors(include_url=False)[0]['msg']})",
            status_code=status,
            body=body,
            request_id=headers.get("x-request-id"),
        ) from None
    extra = completion.model_extra
    if extra and extra.get("error"):
        raise api_error(status, headers, {"error": extra["error"]})
    return completion


def decode_event(event: ServerSentEvent) -> ChatCompletionChunk | _Done | None:
    """Turn one SSE event into a chunk, ``DONE``, ``None`` (nothing to yield) or a StreamError."""
    data = event.data
    if data == "[DONE]":
        return DONE
    if event.event == "error":
        body = _decode_body(data.encode())
        raise api_error(
            200,
            {},
            body if isinstance(body, dict) else {"error": {"message": body}},
            cls=StreamError,
        )
    if not data:
        return None
    try:
        chunk = ChatCompletionChunk.model_validate_json(data)
    except ValidationError:
        body = _decode_body(data.encode())
        if isinstance(body, dict) and "error" in body:
            raise api_error(200, {}, body, cls=StreamError) from None
        raise StreamError(f"malformed stream event: {data[:200]!r}", body=body) from None
    extra = chunk.model_extra
    if extra and extra.get("error"):
        raise api_error(200, {}, {"error": extra["error"]}, cls=StreamError)
    return chunk
