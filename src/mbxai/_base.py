"""The flavour-free half of the OpenRouter client: configuration, request building and
response decoding. Both the async client and its generated sync twin call into this
module, so only the sending differs between them.
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, TypeVar

import httpx
import pydantic_core
from pydantic import BaseModel, SecretStr, ValidationError

from ._checks import check_int, check_number, check_str, check_str_mapping
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
from ._http import (
    ACCEPT_ENCODING,
    NO_DEADLINE,
    Deadline,
    SafeURL,
    is_event_stream,
    request_seconds,
    split_credentials,
)
from ._logging import redact_url, register_secret
from ._registry import DEFAULT_MODEL, OpenRouterModel, resolve_model
from ._retry import RetryPolicy, parse_retry_after, should_retry_header
from ._sse import LineDecoder, LineTooLongError, ServerSentEvent, SSEDecoder
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
    "stream_open_error",
    "transport_errors",
]

DEFAULT_BASE_URL: Final = "https://openrouter.ai/api/v1"
DEFAULT_HEADERS: Final[Mapping[str, str]] = {
    "HTTP-Referer": "https://github.com/mbxai/mbxai",
    "X-Title": "mbxai",
}
_USER_AGENT: Final = f"mbxai/{__version__} python/{platform.python_version()}"
#: What a header name may be made of (RFC 9110 ``token``).
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
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
    #: Seconds a stream may take from its request to its end (``None``: no limit).
    stream_timeout: float | None = 1800.0
    #: SSE lines in a row without a chunk after which a stream counts as stuck.
    max_stream_idle_lines: int = 10_000
    #: The chat completions URL, without the base URL's ``user:password@``.
    chat_url: str = field(init=False)
    request_headers: Mapping[str, str] = field(init=False)
    #: Seconds one request may take in all under ``timeout`` (``None``: no limit).
    request_seconds: float | None = field(init=False)

    def __post_init__(self) -> None:
        url, basic = split_credentials(f"{self.base_url}/chat/completions")
        object.__setattr__(self, "chat_url", url)
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
            **self.headers,
        }
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        if basic is not None:
            # credentials in the URL win, as they do in httpx (which sent them before)
            headers["Authorization"] = basic
        object.__setattr__(self, "request_headers", headers)
        object.__setattr__(self, "request_seconds", request_seconds(self.timeout))

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={redact_url(self.base_url)!r}, model={self.model!r}, "
            f"token={'***' if self.token else None}, max_retries={self.max_retries})"
        )

    def deadline(self, timeout: httpx.Timeout | None) -> Deadline:
        """The deadline of one request (``timeout``: this call's, else the client's)."""
        seconds = self.request_seconds if timeout is None else request_seconds(timeout)
        return NO_DEADLINE if seconds is None else Deadline.after(seconds, "timeout")

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
        stream_timeout: float | None = 1800.0,
        max_stream_idle_lines: int = 10_000,
    ) -> ClientConfig:
        """Apply environment fallbacks and check every argument, naming what is wrong."""
        token = token if token is not None else os.environ.get("OPENROUTER_API_KEY")
        if token is not None and not isinstance(token, str):
            raise ConfigurationError(f"token must be a string, got {type(token).__name__}")
        token = token.strip() if token else None
        if base_url is not None:
            check_str("base_url", base_url)
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
        check_int("parse_retries", parse_retries, minimum=0)
        headers = dict(DEFAULT_HEADERS)
        for key, header in check_headers("default_headers", default_headers).items():
            if key.lower() == "authorization":
                raise ConfigurationError("pass the API key as token=..., not as a header")
            if header is None:
                headers.pop(key, None)
            else:
                headers[key] = header
        if stream_timeout is not None:
            stream_timeout = _check_seconds("stream_timeout", stream_timeout)
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
            stream_timeout=stream_timeout,
            max_stream_idle_lines=check_int(
                "max_stream_idle_lines", max_stream_idle_lines, minimum=1
            ),
        )


# -- checks and settings shared by every client (chat, images) ---------------------------


def check_base_url(url: str) -> str:
    """``url`` without its trailing slash, checked to be an http(s) URL with a host.

    A URL with ``user:password@`` comes back as a :class:`~mbxai._http.SafeURL`, whose repr
    hides them; no message here shows them either.
    """
    check_str("base_url", url)
    url = url.rstrip("/")
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        reason = redact_url(str(exc))
        raise ConfigurationError(f"base_url is not a valid URL: {shown!r} ({reason})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {shown!r}")
    return SafeURL(url) if parsed.userinfo else url


def check_headers(name: str, headers: Any) -> dict[str, str | None]:
    """``headers`` as a dict of header name -> value (``None``: remove), checked: a mapping
    of valid header names to strings without line breaks."""
    checked: dict[str, str | None] = check_str_mapping(name, headers, values_none=True)
    for key, value in checked.items():
        if not _HEADER_NAME.match(key):
            raise ConfigurationError(f"{name}: {key!r} is not a valid header name")
        if value is not None and any(c in value for c in "\r\n\0"):
            raise ConfigurationError(f"{name}[{key!r}] must not contain line breaks or NUL")
    return checked


def _check_seconds(name: str, value: Any) -> float:
    seconds: float = check_number(name, value, positive=True)
    if math.isinf(seconds):
        raise ConfigurationError(f"{name} must be a finite number of seconds (None: no limit)")
    return seconds


def check_retry_settings(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> None:
    """Check the retry arguments every client takes, naming the one that is wrong."""
    check_int("max_retries", max_retries, minimum=0)
    for name, value in (
        ("retry_initial_delay", retry_initial_delay),
        ("retry_max_delay", retry_max_delay),
        ("max_retry_after", max_retry_after),
    ):
        check_number(name, value, minimum=0)
        if math.isinf(value):
            raise ConfigurationError(f"{name} must be a finite number of seconds")
    if retry_max_delay < retry_initial_delay:
        raise ConfigurationError(
            f"retry_max_delay ({retry_max_delay}) must be >= retry_initial_delay "
            f"({retry_initial_delay})"
        )


def http_timeout(timeout: float | httpx.Timeout | None, name: str = "timeout") -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout=`` argument (connecting never waits over 10 s).

    A number is also the deadline of the whole request (see :meth:`ClientConfig.deadline`).
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None, connect=10.0)
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and timeout > 0
        and math.isfinite(timeout)
    ):
        return httpx.Timeout(timeout, connect=min(timeout, 10.0))
    raise ConfigurationError(
        f"{name} must be a finite number of seconds > 0, an httpx.Timeout or None, "
        f"got {timeout!r} ({type(timeout).__name__})"
    )


def retry_options(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> dict[str, Any]:
    """mbxai's retry policy and backoff, named as ``stamina.retry_context`` names them
    (:meth:`mbxai._retry.RetrySchedule.from_options` turns them into the schedule the
    clients follow; stamina's loop itself is not used, see ``mbxai._retry``).

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
    if content.startswith(b"\xef\xbb\xbf"):  # a byte order mark before the JSON
        content = content[3:]
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


class transport_errors:  # used like a function: `with transport_errors(url, deadline):`
    """Turn httpx's transport failures inside the block, and ``TimeoutError`` (the
    ``deadline`` of the block passed), into mbxai's typed errors."""

    __slots__ = ("_deadline", "_stream", "_url")

    def __init__(
        self, url: httpx.URL | str | None, deadline: Deadline = NO_DEADLINE, *, stream: bool = False
    ) -> None:
        self._url = url
        self._deadline = deadline
        self._stream = stream

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        shown = None if self._url is None else str(self._url)
        deadline, stream = self._deadline, self._stream
        if isinstance(exc, TimeoutError):
            if deadline.at is None:
                what = "stream" if stream else "request"
                raise OpenRouterTimeoutError(f"{what} timed out", url=shown) from None
            raise deadline.error(shown, stream=stream) from None
        if isinstance(exc, httpx.TimeoutException):
            if deadline.expired():
                raise deadline.error(shown, stream=stream) from exc
            what = "stream" if stream else "request"
            raise OpenRouterTimeoutError(f"{what} timed out: {exc!r}", url=shown) from exc
        if isinstance(exc, httpx.TransportError):
            what = "stream interrupted" if stream else "connection failed"
            raise OpenRouterConnectionError(f"{what}: {exc!r}", url=shown) from exc


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


def stream_open_error(
    status: int, headers: Mapping[str, str], content: bytes
) -> OpenRouterAPIError:
    """The typed error for an answer to a stream request that is not a stream to read: an
    error status (whatever its body), or HTTP 200 with a body that is not Server-Sent
    Events (a JSON error object, an HTML page, a completion that ignored ``stream``)."""
    body = _decode_body(content)
    if isinstance(body, str) and is_event_stream(headers):
        body = _sse_error_body(content) or body  # an error status sent as an event stream
    if (isinstance(body, dict) and "error" in body) or status >= 400:
        return api_error(status, headers, body)
    kind = headers.get("content-type") or "no content type"
    return StreamError(
        f"the endpoint answered a stream request with {kind!r}, not an event stream",
        status_code=status,
        body=body,
        request_id=headers.get("x-request-id"),
    )


def stray_text_error(text: str) -> OpenRouterAPIError | None:
    """The typed error in text a stream carried outside any SSE field (an endpoint that
    labels a JSON error body ``text/event-stream``), if that text is one."""
    body = _decode_body(text.encode())
    if isinstance(body, dict) and "error" in body:
        return api_error(200, {}, body, cls=StreamError)
    return None


def _sse_error_body(content: bytes) -> Any:
    """The first error object in the events of ``content``, if there is one."""
    lines = LineDecoder(len(content) + 1)
    events = SSEDecoder()
    try:
        for line in [*lines.feed(content), *lines.flush(), ""]:
            event = events.feed(line)
            if event is None:
                continue
            body = _decode_body(event.data.encode())
            if isinstance(body, dict) and "error" in body:
                return body
            if event.event == "error":
                return {"error": {"message": body}}
    except LineTooLongError:  # pragma: no cover - the limit is the whole content
        pass
    return None
