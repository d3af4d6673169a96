"""The escape hatch: what unasync cannot rename, written by hand in both flavours.

Each async helper here has a sync twin whose name the code generator maps it to
(``async_sleep`` -> ``sleep``, ``AsyncLock`` -> ``Lock``, ...). Hand-written async code
calls the async name; the generated sync package then calls the sync one. This module
and ``mbxai._mcp_compat`` (the MCP session owners, built on these pieces) are the only
ones that import anyio.

The sync side never runs an event loop in the caller's thread: async-only work (an
async tool on a sync client, the async-only MCP SDK) goes to one background thread that
owns a loop, so the sync API also works inside Jupyter or any running loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import inspect
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

__all__ = [
    "AsyncEvent",
    "AsyncLock",
    "Event",
    "Lock",
    "async_call_blocking",
    "async_call_tool",
    "async_ensure_asyncio",
    "async_gather",
    "async_getaddrinfo",
    "async_sleep",
    "call_blocking",
    "call_tool",
    "ensure_asyncio",
    "gather",
    "getaddrinfo",
    "run_context_blocking",
    "run_coroutine_blocking",
    "sleep",
]

T = TypeVar("T")
P = ParamSpec("P")


# -- sleeping ---------------------------------------------------------------------------


async def async_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


# -- locks ------------------------------------------------------------------------------


class AsyncLock:
    """A task lock for async code (anyio: asyncio and trio)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = anyio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()


class Lock:
    """A thread lock with the same shape as :class:`AsyncLock`."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()


# -- events ------------------------------------------------------------------------------


class AsyncEvent:
    """A flag tasks can wait for until it is set (anyio: asyncio and trio)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = anyio.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set; ``False`` if ``timeout`` seconds passed first."""
        with anyio.move_on_after(timeout):
            await self._event.wait()
        return self._event.is_set()


class Event:
    """A thread event with the same shape as :class:`AsyncEvent`."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set; ``False`` if ``timeout`` seconds passed first."""
        return self._event.wait(timeout)


# -- blocking work ----------------------------------------------------------------------


async def async_call_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking function in a worker thread so the event loop keeps running."""
    return await anyio.to_thread.run_sync(lambda: fn(*args), abandon_on_cancel=False)


def call_blocking(fn: Callable[..., T], *args: Any) -> T:
    """Sync twin of :func:`async_call_blocking`: the caller's thread may block, so just call."""
    return fn(*args)


# -- asyncio-only client libraries --------------------------------------------------------


def async_ensure_asyncio(what: str) -> None:
    """Fail clearly when code built on an asyncio-only library (redis.asyncio, SQLAlchemy's
    asyncio extension) runs on another event loop such as trio."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from ._errors import ConfigurationError

        raise ConfigurationError(
            f"{what} runs on asyncio only (its client library does); on trio use its sync "
            f"twin (the same name without 'Async'): AsyncAgentClient calls a sync session "
            f"handler in worker threads"
        ) from None


def ensure_asyncio(what: str) -> None:
    """Sync twin of :func:`async_ensure_asyncio`: sync code uses the sync client libraries,
    which need no event loop, so there is nothing to check."""


# -- calling user functions that may be sync or async ------------------------------------


async def async_call_tool(
    fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None = None
) -> Any:
    """Call a user function: await it if async, else run it in a worker thread.

    With ``timeout`` (seconds), a call still running then raises ``TimeoutError``; a sync
    function's thread cannot be stopped and is abandoned (it finishes in the background).
    """
    if timeout is None:
        return await _call(fn, kwargs, abandon=False)
    try:
        with anyio.fail_after(timeout):
            return await _call(fn, kwargs, abandon=True)
    except TimeoutError:
        raise TimeoutError(f"no result within {timeout:g} s") from None


async def _call(fn: Callable[..., Any], kwargs: dict[str, Any], *, abandon: bool) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(**kwargs)
    result = await anyio.to_thread.run_sync(lambda: fn(**kwargs), abandon_on_cancel=abandon)
    if inspect.isawaitable(result):  # a sync callable that returned an awaitable
        return await result
    return result


def call_tool(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float | None = None) -> Any:
    """Call a user function from sync code; async ones run on the background loop.

    With ``timeout``, the call runs in a daemon thread (in a copy of the caller's context)
    and ``TimeoutError`` is raised if it has not returned by then.
    """
    if timeout is not None:
        return _call_in_daemon(fn, kwargs, timeout)
    if inspect.iscoroutinefunction(fn):
        return run_coroutine_blocking(fn, **kwargs)
    result = fn(**kwargs)
    if inspect.isawaitable(result):
        return run_coroutine_blocking(_await, result)
    return result


def _call_in_daemon(fn: Callable[..., Any], kwargs: dict[str, Any], timeout: float) -> Any:
    outcome: list[Any] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.append((True, context.run(call_tool, fn, kwargs)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=target, name="mbxai-tool", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError(f"no result within {timeout:g} s")
    ok, value = outcome[0]
    if ok:
        return value
    raise value


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


# -- running several things at once ------------------------------------------------------


async def async_gather(thunks: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the thunks concurrently in a task group; results keep the input order."""
    results: list[Any] = [None] * len(thunks)

    async def run(index: int, thunk: Callable[[], Awaitable[T]]) -> None:
        results[index] = await thunk()

    async with anyio.create_task_group() as tg:
        for index, thunk in enumerate(thunks):
            tg.start_soon(run, index, thunk)
    return results


def gather(thunks: Sequence[Callable[[], T]]) -> list[T]:
    """Sync twin of :func:`async_gather`: the thunks run concurrently in threads."""
    if len(thunks) <= 1:
        return [thunk() for thunk in thunks]
    with ThreadPoolExecutor(max_workers=min(len(thunks), 32), thread_name_prefix="mbxai") as pool:
        # Each thread runs in a copy of the caller's context, as tasks in a task group do.
        futures = [pool.submit(contextvars.copy_context().run, thunk) for thunk in thunks]
        return [future.result() for future in futures]


# -- the background event loop for sync callers of async-only code -----------------------

_portal_lock = threading.Lock()
_portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
_portal: anyio.from_thread.BlockingPortal | None = None


def _get_portal() -> anyio.from_thread.BlockingPortal:
    global _portal, _portal_cm
    with _portal_lock:
        if _portal is None:
            _portal_cm = anyio.from_thread.start_blocking_portal(name="mbxai-portal")
            _portal = _portal_cm.__enter__()
            atexit.register(_stop_portal)
        return _portal


def _stop_portal() -> None:
    global _portal, _portal_cm
    with _portal_lock:
        if _portal_cm is not None:
            _portal_cm.__exit__(None, None, None)
        _portal = None
        _portal_cm = None


def run_coroutine_blocking(fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(*args, **kwargs)`` on mbxai's background event loop and wait for the result.

    Safe to call from any thread, including one whose own event loop is running.
    """

    async def call() -> T:
        return await fn(*args, **kwargs)

    return _get_portal().call(call)


def run_context_blocking(cm: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
    """A sync context manager that enters and exits ``cm`` on mbxai's background event loop.

    Both happen in one task there, so a task group or cancel scope inside ``cm`` (an MCP
    session owner, say) is entered and exited by the same task, as anyio requires.
    """
    return _get_portal().wrap_async_context_manager(cm)


# -- name resolution ---------------------------------------------------------------------


async def async_getaddrinfo(host: str, port: int) -> list[str]:
    """The IP addresses ``host`` resolves to, looked up without blocking the event loop.

    Raises ``OSError`` (``socket.gaierror``) when the name does not resolve.
    """
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def getaddrinfo(host: str, port: int) -> list[str]:
    """Sync twin of :func:`async_getaddrinfo` (``socket.getaddrinfo`` in the caller's thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
