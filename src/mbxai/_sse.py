"""An incremental Server-Sent Events decoder (pure, no I/O), per the WHATWG spec.

Fed one line at a time (without its line terminator), it returns each complete event
once its terminating blank line arrives. Comment lines (``: OPENROUTER PROCESSING``)
are ignored, multi-line ``data`` is joined with newlines.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["LineDecoder", "SSEDecoder", "ServerSentEvent"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    __slots__ = ("_data", "_event", "_id", "_retry")

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        """Consume one line; return an event when ``line`` is the blank line that ends one."""
        if not line:
            return self._dispatch()
        if line[0] == ":":
            return None
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def flush(self) -> ServerSentEvent | None:
        """End of stream: return the last event if the server omitted the final blank line."""
        return self._dispatch()

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data and not self._event:
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self._id,
            retry=self._retry,
        )
        self._event = ""
        self._data = []
        return event


class LineTooLongError(ValueError):
    """A line grew past the decoder's limit without a line break."""


class LineDecoder:
    """Splits a byte stream into text lines (``\\n``, ``\\r\\n`` or ``\\r``), incrementally.

    Unlike reading lines through httpx, a line may not grow past ``max_line`` characters:
    a server that never sends a line break cannot make the client buffer without limit.
    """

    __slots__ = ("_buffer", "_decoder", "_max", "_pending_cr")

    def __init__(self, max_line: int) -> None:
        self._buffer = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_cr = False
        self._max = max_line

    def feed(self, data: bytes) -> list[str]:
        return self._split(self._decoder.decode(data))

    def flush(self) -> list[str]:
        lines = self._split(self._decoder.decode(b"", final=True))
        if self._buffer:
            lines.append(self._buffer)
            self._buffer = ""
        return lines

    def _split(self, text: str) -> list[str]:
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the \n of a \r\n split across two reads
        if text:
            self._pending_cr = text.endswith("\r")
        parts = _NEWLINE.split(self._buffer + text)
        self._buffer = parts.pop()
        if len(self._buffer) > self._max or any(len(part) > self._max for part in parts):
            raise LineTooLongError(f"a line longer than {self._max} characters")
        return parts
