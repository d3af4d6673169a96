# This file is generated from src/mbxai/_async/streaming.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Streamed chat completions: an iterator of chunks over one HTTP response."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any

import httpx

from .. import _concurrency
from .._chat import DONE, decode_event, stray_text_error
from .._client_base import transport_errors
from .._errors import LineTooLongError, OpenRouterAPIError, StreamError
from .._http import NO_DEADLINE, BodyDecoder, Deadline
from .._sse import LineDecoder, SSEDecoder
from .._types import ChatCompletionChunk, Usage
from .._usage import UsageMeter
from .sending import next_chunk, raw_chunks

__all__ = ["Stream"]

#: Fields a Server-Sent Events line may have; text outside them is kept (a little) in case
#: it is a JSON error body sent under a ``text/event-stream`` label.
_SSE_FIELDS = frozenset({"data", "event", "id", "retry"})
_MAX_STRAY = 64 * 1024
#: After ``[DONE]``, how long and how much the rest of the body is read (normally just
#: its end, which lets the connection be reused) before the response is closed.
_DRAIN_SECONDS = 0.2
_DRAIN_BYTES = 64 * 1024


class Stream:
    """Chunks of a streamed completion, in order; iterate it once.

    ``chunk.choices[0].delta.content`` holds each new piece of text. Chunks without
    choices (the provider's final usage report) are not yielded; their usage is on
    :attr:`usage` once the stream is consumed. The HTTP response is closed when the
    stream ends, fails, or the ``with`` block exits.

    A stream always ends: it fails with :class:`OpenRouterTimeoutError` when no bytes
    arrive for the client's ``timeout`` or when it has not ended ``stream_timeout`` after
    its request, and with :class:`StreamError` after ``max_stream_idle_lines`` lines in a
    row without a chunk (a server sending only comments or keep-alives).
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        max_line: int = 32 * 1024 * 1024,
        deadline: Deadline = NO_DEADLINE,
        max_idle_lines: int | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self._response = response
        #: The usage limits this stream's usage counts against, once it is in.
        self._meter = meter
        # raises here, before any reading, for an encoding that cannot be decoded
        self._body = BodyDecoder(
            response.headers, response.status_code, limit=None, error=StreamError
        )
        self._max_line = max_line
        self._deadline = deadline
        self._max_idle = max_idle_lines
        self._idle = 0
        self._done = False
        self._events = SSEDecoder(max_line)
        self._seen_event = False
        self._stray: list[str] = []
        self._stray_size = 0
        self._iterator = self._chunks()
        #: The open span of this stream's request (``mbxai._tracing.ChatSpan``), if traced.
        self._trace: Any = None
        #: Token usage reported at the end of the stream (``None`` until then, or if not sent).
        self.usage: Usage | None = None
        #: The finish reason of the first choice, once seen.
        self.finish_reason: str | None = None

    def __repr__(self) -> str:
        return f"<Stream status={self._response.status_code} finished={self.finish_reason!r}>"

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if self._trace is None:
            return self._iterator.__next__()
        try:
            return self._iterator.__next__()
        except BaseException as exc:
            self._end_trace(exc)
            raise

    def _end_trace(self, exc: BaseException | None) -> None:
        trace, self._trace = self._trace, None
        if trace is not None:
            trace.stream_ended(self, exc)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self._response.close()
        self._end_trace(None)

    def _chunks(self) -> Generator[ChatCompletionChunk, None]:
        response = self._response
        url = response.request.url
        chunks = raw_chunks(response)
        body = self._body
        try:
            lines = LineDecoder(self._max_line)
            while not self._done:
                # a deadline per read: a cancel scope must not span the yields below
                with transport_errors(url, self._deadline, stream=True):
                    with _concurrency.fail_at(self._deadline.at):
                        data = next_chunk(chunks)
                    self._deadline.check()
                if data is None:
                    for piece in body.flush():
                        for line in lines.feed(piece):
                            if (chunk := self._line(line)) is not None:
                                yield chunk
                    for line in [*lines.flush(), ""]:
                        if (chunk := self._line(line)) is not None:
                            yield chunk
                    break
                for piece in body.feed(data):
                    for line in lines.feed(piece):
                        if (chunk := self._line(line)) is not None:
                            yield chunk
                        if self._ended():
                            break
                    if self._ended():
                        break
            if self._ended():
                self._drain(chunks)
        except LineTooLongError as exc:
            raise StreamError(f"stream event too large: {exc} (max_response_bytes)") from None
        finally:
            response.close()
            _finish(chunks)
        if self._meter is not None:
            meter, self._meter = self._meter, None
            meter.after_response(self.usage)
        if not self._done and self.finish_reason is None:
            raise self._unfinished()

    def _line(self, line: str) -> ChatCompletionChunk | None:
        """Take one line of the stream; the chunk it completes, if one is to be yielded."""
        if self._done:
            return None
        if not self._seen_event and line and line[0] != ":":
            name = line.partition(":")[0]
            if name not in _SSE_FIELDS and self._stray_size < _MAX_STRAY:
                self._stray.append(line)
                self._stray_size += len(line) + 1
        event = self._events.feed(line)
        if event is not None:
            self._seen_event = True
            result = decode_event(event)
            if result is DONE:
                self._done = True
                return None
            if isinstance(result, ChatCompletionChunk) and self._take(result):
                self._idle = 0
                return result
        self._idle += 1
        if self._max_idle is not None and self._idle > self._max_idle:
            raise StreamError(
                f"{self._max_idle} stream lines in a row brought no chunk (comments, "
                "keep-alives or empty events only): the stream is stuck "
                "(max_stream_idle_lines)"
            )
        return None

    def _ended(self) -> bool:
        """Whether ``[DONE]`` has come (a method: taking a line may set it)."""
        return self._done

    def _unfinished(self) -> OpenRouterAPIError:
        """The error for a stream that ended before ``[DONE]`` or a finish reason."""
        if self._stray:
            text = "\n".join(self._stray)
            error = stray_text_error(text)
            if error is not None:
                return error
            return StreamError(
                "the stream ended before the completion finished (no [DONE]); it held "
                f"text that is not Server-Sent Events: {text[:200]!r}"
            )
        return StreamError("the stream ended before the completion finished (no [DONE])")

    def _drain(self, chunks: Iterator[bytes]) -> None:
        """After ``[DONE]``: read what is left of the body (normally only its end, so the
        connection can be reused), but briefly and little; then it is simply closed."""
        drain = Deadline.after(_DRAIN_SECONDS, "drain").earliest(self._deadline)
        left = _DRAIN_BYTES
        try:
            with _concurrency.fail_at(drain.at):
                while left > 0 and not drain.expired():
                    data = next_chunk(chunks)
                    if data is None:
                        return
                    left -= len(data)
        except (TimeoutError, httpx.HTTPError):
            pass

    def _take(self, chunk: ChatCompletionChunk) -> bool:
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return False
        reason = chunk.choices[0].finish_reason
        if reason is not None:
            self.finish_reason = reason
        return True


def _finish(chunks: Iterator[bytes]) -> None:
    """Run the body's iterator to its end once the response is closed (it then ends or
    fails at once): httpx reads through nested async generators, and closing only the
    outer one would leave the inner ones to the garbage collector (which trio reports)."""
    try:
        with _concurrency.fail_at(time.monotonic() + _DRAIN_SECONDS):
            for _ in range(64):
                if next_chunk(chunks) is None:
                    return
    except Exception:  # noqa: S110 - the response is closed: any error ends it
        pass
