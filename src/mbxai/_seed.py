"""The seed's API on sync clients: ``acreate``/``achat``/``aparse``, ``async with`` and
``aregister_mcp_server``.

The original mbxai let its sync clients be awaited. Generated sync classes inherit
:class:`SeedMethods` (the twin of the empty :class:`AsyncSeedMethods` that hand-written
async classes inherit); each awaitable method runs the sync method itself in a worker
thread. So an awaited call is served exactly like a plain one: by this client's own
transport or ``http_client``, its tools and its MCP connections, with nothing copied and
no second client to keep in step. A stream comes back as an async iterator whose chunks
are read in worker threads.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from ._concurrency import async_call_blocking

__all__ = ["AsyncMCPSeedMethods", "AsyncSeedMethods", "MCPSeedMethods", "SeedMethods"]


class AsyncSeedMethods:
    """Base of hand-written async clients. Adds nothing; its sync twin adds the a-methods."""

    __slots__ = ()


async def _in_thread(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    result = await async_call_blocking(functools.partial(method, *args, **kwargs))
    if hasattr(result, "__next__") and callable(getattr(result, "close", None)):
        return ThreadedStream(result)  # a sync stream: iterate it with `async for`
    return result


class SeedMethods:
    """Base of generated sync clients: the seed's awaitable methods, each the sync method
    run in a worker thread (the event loop keeps running meanwhile)."""

    __slots__ = ()

    async def acreate(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`create`, for code written against the seed's sync client."""
        return await _in_thread(self.create, *args, **kwargs)  # type: ignore[attr-defined]

    async def achat(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`chat`, for code written against the seed's sync client."""
        return await _in_thread(self.chat, *args, **kwargs)  # type: ignore[attr-defined]

    async def aparse(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`parse`, for code written against the seed's sync client."""
        return await _in_thread(self.parse, *args, **kwargs)  # type: ignore[attr-defined]

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Awaitable :meth:`close`."""
        await async_call_blocking(self.close)  # type: ignore[attr-defined]


class ThreadedStream:
    """A sync stream (``Stream``, ``ToolStream``) iterated with ``async for``: each chunk
    is read in a worker thread. ``usage`` and the other attributes are the stream's."""

    __slots__ = ("_stream",)

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return f"ThreadedStream({self._stream!r})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        chunk = await async_call_blocking(next, self._stream, _END)
        if chunk is _END:
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        await async_call_blocking(self._stream.close)

    async def __aenter__(self) -> ThreadedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


_END = object()


class AsyncMCPSeedMethods:
    """Base of the hand-written MCP client. Adds nothing; its sync twin adds
    ``aregister_mcp_server``."""

    __slots__ = ()


class MCPSeedMethods:
    """Base of the generated sync MCP client: the seed's ``await aregister_mcp_server(...)``."""

    __slots__ = ()

    async def aregister_mcp_server(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`register_mcp_server`, for code written against the seed.

        The sync registration runs in a worker thread, so the server's connection belongs
        to this client (its owner task runs on mbxai's background loop).
        """
        register = self.register_mcp_server  # type: ignore[attr-defined]
        return await async_call_blocking(functools.partial(register, *args, **kwargs))
