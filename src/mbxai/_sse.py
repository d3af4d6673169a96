"""An incremental Server-Sent Events decoder (pure, no I/O), per the WHATWG spec.

Fed one line at a time (without its line terminator), it returns each complete event
once its terminating blank line arrives. Comment lines (``: OPENROUTER PROCESSING``)
are ignored, multi-line ``data`` is joined with newlines.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from ._errors import LineTooLongError

__all__ = ["LineDecoder", "SSEDecoder", "ServerSentEvent"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Lines in, events out. With ``max_event``, an event whose data grows past that many
    characters raises :class:`LineTooLongError` (a server sending ``data:`` lines without
    the blank line that ends the event cannot make it buffer without limit)."""

    __slots__ = ("_data", "_event", "_id", "_max", "_retry", "_size")

    def __init__(self, max_event: int | None = None) -> None:
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._max = max_event
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
            self._size += len(value) + 1
            if self._max is not None and self._size > self._max:
                raise LineTooLongError(f"an event larger than {self._max} characters")
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
        self._size = 0
        return event


class LineDecoder:
    """Splits a byte stream into text lines (``\\n``, ``\\r\\n`` or ``\\r``), incrementally.

    Unlike reading lines through httpx, a line may not grow past ``max_line`` characters:
    a server that never sends a line break cannot make the client buffer without limit.
    Each piece of text is scanned once, so a long line arriving in many small pieces costs
    time in proportion to its length, not to its length squared.
    """

    __slots__ = ("_decoder", "_max", "_partial", "_partial_size", "_pending_cr")

    def __init__(self, max_line: int) -> None:
        self._partial: list[str] = []  # the unfinished last line, in pieces
        self._partial_size = 0
        # "utf-8-sig": a byte order mark opening the stream is dropped, as the spec says
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending_cr = False
        self._max = max_line

    def feed(self, data: bytes) -> list[str]:
        return self._split(self._decoder.decode(data))

    def flush(self) -> list[str]:
        lines = self._split(self._decoder.decode(b"", final=True))
        if self._partial:
            lines.append("".join(self._partial))
            self._partial = []
            self._partial_size = 0
        return lines

    def _split(self, text: str) -> list[str]:
        if self._pending_cr:
            self._pending_cr = False
            if text.startswith("\n"):
                text = text[1:]  # the \n of a \r\n split across two reads
        if not text:
            return []
        self._pending_cr = text.endswith("\r")
        parts = _NEWLINE.split(text)
        last = parts.pop()
        if parts and self._partial:
            parts[0] = "".join(self._partial) + parts[0]
            self._partial = []
            self._partial_size = 0
        if last:
            self._partial.append(last)
            self._partial_size += len(last)
        if self._partial_size > self._max or any(len(part) > self._max for part in parts):
            raise LineTooLongError(f"a line longer than {self._max} characters")
        return parts
