"""Streamed chat completions: an iterator of chunks over one HTTP response."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType

import httpx

from .._base import DONE, decode_event
from .._errors import OpenRouterConnectionError, OpenRouterTimeoutError, StreamError
from .._sse import LineDecoder, LineTooLongError, SSEDecoder
from .._types import ChatCompletionChunk, Usage

__all__ = ["AsyncStream"]


class AsyncStream:
    """Chunks of a streamed completion, in order; iterate it once.

    ``chunk.choices[0].delta.content`` holds each new piece of text. Chunks without
    choices (the provider's final usage report) are not yielded; their usage is on
    :attr:`usage` once the stream is consumed. The HTTP response is closed when the
    stream ends, fails, or the ``async with`` block exits.
    """

    def __init__(self, response: httpx.Response, *, max_line: int = 32 * 1024 * 1024) -> None:
        self._response = response
        self._max_line = max_line
        self._iterator = self._chunks()
        #: Token usage reported at the end of the stream (``None`` until then, or if not sent).
        self.usage: Usage | None = None
        #: The finish reason of the first choice, once seen.
        self.finish_reason: str | None = None

    def __repr__(self) -> str:
        return f"<AsyncStream status={self._response.status_code} finished={self.finish_reason!r}>"

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._iterator.__anext__()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await self._response.aclose()

    async def _chunks(self) -> AsyncGenerator[ChatCompletionChunk, None]:
        decoder = SSEDecoder()
        lines = LineDecoder(self._max_line)
        done = False
        try:
            # Read to the end even after [DONE] (servers close right after it): leaving
            # httpx's nested byte generators half-consumed upsets trio.
            async for data in self._response.aiter_bytes():
                for line in lines.feed(data):
                    event = decoder.feed(line)
                    if event is None or done:
                        continue
                    result = decode_event(event)
                    if result is DONE:
                        done = True
                    elif isinstance(result, ChatCompletionChunk) and self._take(result):
                        yield result
            for line in [*lines.flush(), ""]:
                event = decoder.feed(line)
                result = decode_event(event) if event is not None and not done else None
                if result is DONE:
                    done = True
                elif isinstance(result, ChatCompletionChunk) and self._take(result):
                    yield result
        except LineTooLongError as exc:
            raise StreamError(f"stream event too large: {exc} (max_response_bytes)") from None
        except httpx.TimeoutException as exc:
            raise OpenRouterTimeoutError(f"stream timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise OpenRouterConnectionError(f"stream interrupted: {exc}") from exc
        finally:
            await self._response.aclose()
        if not done and self.finish_reason is None:
            raise StreamError("the stream ended before the completion finished (no [DONE])")

    def _take(self, chunk: ChatCompletionChunk) -> bool:
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return False
        reason = chunk.choices[0].finish_reason
        if reason is not None:
            self.finish_reason = reason
        return True
