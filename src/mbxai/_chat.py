"""The chat completions API without I/O: the request body, and the response (a completion,
a stream's events, or the typed error it stands for). The async chat client and its
generated sync twin call into this module, so only the sending differs between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from ._client_base import api_error, decode_body, decode_response
from ._content import message_with_parts
from ._errors import (
    ConfigurationError,
    LineTooLongError,
    OpenRouterAPIError,
    StreamError,
)
from ._http import (
    is_event_stream,
)
from ._openrouter import CacheControl, apply_cache
from ._sse import LineDecoder, ServerSentEvent, SSEDecoder
from ._types import ChatCompletion, ChatCompletionChunk

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_HEADERS",
    "DONE",
    "build_chat_body",
    "decode_completion",
    "decode_event",
    "stray_text_error",
    "stream_open_error",
]

DEFAULT_BASE_URL: Final = "https://openrouter.ai/api/v1"
DEFAULT_HEADERS: Final[Mapping[str, str]] = {
    "HTTP-Referer": "https://github.com/mbxai/mbxai",
    "X-Title": "mbxai",
}
C = TypeVar("C", bound=ChatCompletion)


class _Done:
    def __repr__(self) -> str:
        return "DONE"


#: Returned by :func:`decode_event` for the ``[DONE]`` sentinel that ends a stream.
DONE: Final = _Done()


def _message_param(index: int, message: Any) -> Any:
    if isinstance(message, BaseModel):
        to_param = getattr(message, "to_param", None)
        return to_param() if to_param else message.model_dump(exclude_none=True)
    if not isinstance(message, Mapping) or "role" not in message:
        raise ConfigurationError(
            f"messages[{index}] must be a mapping with a 'role' key "
            f"(like {{'role': 'user', 'content': '...'}}), got {message!r:.80}"
        )
    return message_with_parts(message)


def build_chat_body(
    model: str,
    messages: Sequence[Any],
    params: Mapping[str, Any],
    *,
    stream: bool,
    cache: CacheControl | None = None,
) -> bytes:
    """Serialise a chat completion request. ``None`` params are left out; with ``cache``,
    the messages carry prompt-cache breakpoints (:func:`~mbxai._openrouter.apply_cache`)."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise ConfigurationError(
            f"messages must be a list of message dicts, got {type(messages).__name__}"
        )
    if not messages:
        raise ConfigurationError("messages must not be empty")
    params_list = [_message_param(i, m) for i, m in enumerate(messages)]
    body: dict[str, Any] = {
        "model": model,
        "messages": apply_cache(params_list, cache) if cache is not None else params_list,
    }
    for key, value in params.items():
        if value is not None:
            body[key] = value
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return pydantic_core.to_json(body)


def decode_completion(status: int, headers: Mapping[str, str], content: bytes, cls: type[C]) -> C:
    """Turn an HTTP response into a completion, or raise its typed error.

    Covers error statuses, HTTP 200 with an ``error`` object, and bodies that are not JSON.
    """
    return decode_response(status, headers, content, cls, "a chat completion")


def decode_event(event: ServerSentEvent) -> ChatCompletionChunk | _Done | None:
    """Turn one SSE event into a chunk, ``DONE``, ``None`` (nothing to yield) or a StreamError."""
    data = event.data
    if data == "[DONE]":
        return DONE
    if event.event == "error":
        body = decode_body(data.encode())
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
        body = decode_body(data.encode())
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
    body = decode_body(content)
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
    body = decode_body(text.encode())
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
            body = decode_body(event.data.encode())
            if isinstance(body, dict) and "error" in body:
                return body
            if event.event == "error":
                return {"error": {"message": body}}
    except LineTooLongError:  # pragma: no cover - the limit is the whole content
        pass
    return None
