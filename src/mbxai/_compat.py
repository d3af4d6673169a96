"""Seed compatibility: ``acreate``/``achat``/``aparse`` and ``async with`` on *sync* clients.

The original mbxai let sync clients be awaited. Generated sync classes inherit
:class:`SeedCompat` (the twin of the empty :class:`AsyncSeedCompat` that hand-written
async classes inherit), which builds the matching async client once, from the same
constructor arguments, and delegates to it. No client logic is duplicated here.
"""

from __future__ import annotations

import functools
import importlib
from types import TracebackType
from typing import Any, ClassVar

import httpx

__all__ = ["AsyncMCPSeedCompat", "AsyncSeedCompat", "MCPSeedCompat", "SeedCompat"]


class AsyncSeedCompat:
    """Base of hand-written async clients. Adds nothing; its sync twin adds the a-methods."""

    __slots__ = ()


class SeedCompat:
    """Base of generated sync clients: the seed's awaitable methods, via the async twin."""

    #: Attributes the async twin shares by reference (e.g. a tool registry).
    _twin_shared: ClassVar[tuple[str, ...]] = ()
    #: Constructor arguments of this instance, set by its ``__init__``.
    _twin_args: dict[str, Any]
    _async_twin_instance: Any = None

    def _async_twin(self) -> Any:
        """The async client equivalent to this sync one, built on first use."""
        twin = self._async_twin_instance
        if twin is None:
            twin = _async_class_of(type(self))(
                **{key: _to_async(value) for key, value in self._twin_args.items()}
            )
            for name in self._twin_shared:
                setattr(twin, name, getattr(self, name))
            self._async_twin_instance = twin
        return twin

    async def acreate(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`create`, for code written against the seed's sync client."""
        return await self._async_twin().create(*args, **kwargs)

    async def achat(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`chat`, for code written against the seed's sync client."""
        return await self._async_twin().chat(*args, **kwargs)

    async def aparse(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`parse`, for code written against the seed's sync client."""
        return await self._async_twin().parse(*args, **kwargs)

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
        """Close the async twin (if one was made) and this client."""
        twin = self._async_twin_instance
        if twin is not None:
            self._async_twin_instance = None
            await twin.aclose()
        close = getattr(self, "close", None)
        if close is not None:
            close()


class AsyncMCPSeedCompat:
    """Base of the hand-written MCP client. Adds nothing; its sync twin adds
    ``aregister_mcp_server``."""

    __slots__ = ()


class MCPSeedCompat:
    """Base of the generated sync MCP client: the seed's ``await aregister_mcp_server(...)``."""

    __slots__ = ()

    async def aregister_mcp_server(self, *args: Any, **kwargs: Any) -> Any:
        """Awaitable :meth:`register_mcp_server`, for code written against the seed.

        The sync registration runs in a worker thread, so the server's connection belongs
        to this client (its owner task runs on mbxai's background loop) and its tools are
        in the registry this client shares with its async twin (``achat`` uses them too).
        """
        from ._concurrency import async_call_blocking

        register = self.register_mcp_server  # type: ignore[attr-defined]
        return await async_call_blocking(functools.partial(register, *args, **kwargs))


def _async_class_of(cls: type) -> type:
    for klass in cls.__mro__:
        module = klass.__module__
        if module.startswith("mbxai._sync"):
            twin_module = importlib.import_module("mbxai._async" + module[len("mbxai._sync") :])
            return getattr(twin_module, "Async" + klass.__name__)  # type: ignore[no-any-return]
    raise TypeError(f"{cls.__name__} is not a generated mbxai sync client")


def _to_async(value: Any) -> Any:
    if isinstance(value, SeedCompat):
        return value._async_twin()
    if isinstance(value, httpx.Client):
        return None  # a sync connection pool cannot serve async requests: the twin makes its own
    if isinstance(value, httpx.BaseTransport) and not isinstance(value, httpx.AsyncBaseTransport):
        return None
    return value
