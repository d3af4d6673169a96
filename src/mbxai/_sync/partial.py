# This file is generated from src/mbxai/_async/partial.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Streamed structured output: the partial objects of a ``parse(..., stream=True)`` call."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

from pydantic import BaseModel

from .._errors import StreamError
from .._partial import PartialUpdate
from .._types import ParsedChatCompletion

__all__ = ["PartialStream"]

T = TypeVar("T", bound=BaseModel)


class PartialStream(Generic[T]):
    """The objects of a streamed structured reply as its JSON arrives; iterate it once.

    Each item is an instance of the response model: while the reply streams, a partial
    one (the fields that arrived so far, the others ``None``; no validators run), and
    last the final object, validated in full. When the final reply does not validate,
    the model is asked again (``parse_retries``) and the partial objects start over:
    :attr:`attempt` counts the replies. Requests are sent as you iterate, within the
    client's stream limits (``stream_timeout``, ``max_stream_idle_lines``,
    ``max_response_bytes``); a failure mid-way raises its typed error and leaves
    :attr:`final` ``None``.

    After the stream, :attr:`final` is the completion ``parse`` would have returned
    (:meth:`get_final` reads the rest of the stream and returns it). Leaving an
    ``with`` block, or :meth:`close`, stops reading and releases the connection.
    """

    def __init__(self, updates: Generator[PartialUpdate[T], None]) -> None:
        self._updates = updates
        #: Which reply the objects now come from (1, then 2 after a re-ask...).
        self.attempt = 1
        #: The finished call's completion (``None`` until the stream ends with it).
        self.final: ParsedChatCompletion[T] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} attempt={self.attempt} finished={self.final is not None}>"

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            update = self.next_update()
            if update.object is not None:
                return update.object

    def next_update(self) -> PartialUpdate[T]:
        """The next thing the stream produced: answer text, a partial object, a tool
        round (tool clients), or the end (:attr:`PartialUpdate.final`). For callers that
        show more than the objects, such as the agent's event stream."""
        update = self._updates.__next__()
        self.attempt = update.attempt
        if update.final is not None:
            self.final = update.final  # type: ignore[assignment]
        return update

    def get_final(self) -> ParsedChatCompletion[T]:
        """Read the rest of the stream; the completion, with the validated object in
        ``choices[0].message.parsed`` (``None`` for a tool loop paused for approvals)."""
        for _ in self:
            pass
        if self.final is None:  # pragma: no cover - a finished stream always has one
            raise StreamError("the structured stream ended without a result")
        return self.final

    def __enter__(self) -> PartialStream[T]:
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
        self._updates.close()
