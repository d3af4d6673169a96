"""The escape hatch: what unasync cannot rename, written by hand in both flavours.

Each async helper here has a sync twin whose name the code generator maps it to
(``async_sleep`` -> ``sleep``, ``AsyncLock`` -> ``Lock``, ...). Hand-written async code
calls the async name; the generated sync package then calls the sync one. This module
and ``mbxai._mcp_sessions`` (the MCP session owners, built on these pieces) are the only
ones that import anyio.

The sync side never runs an event loop in the caller's thread: async-only work (an
async tool on a sync client, the async-only MCP SDK) goes to one background thread that
owns a loop, so the sync API also works inside Jupyter or any running loop.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import inspect
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    import anyio
    import anyio.abc
    import anyio.from_thread
    import anyio.to_thread
else:

    class _Anyio:
        """anyio, imported on first use: the clients construct and call through asyncio
        directly, so importing them does not pay for anyio (and what it pulls in)."""

        def __getattr__(self, name: str) -> Any:
            import anyio
            import anyio.abc
            import anyio.from_thread
            import anyio.to_thread

            globals()["anyio"] = anyio
            return getattr(anyio, name)

    anyio = _Anyio()

__all__ = [
    "AsyncDeadline",
    "AsyncEvent",
    "AsyncLock",
    "Deadline",
    "Event",
    "Lock",
    "async_call_blocking",
    "async_call_user_code",
    "async_ensure_asyncio",
    "async_fail_at",
    "async_gather",
    "async_getaddrinfo",
    "async_run_in_context",
    "async_sleep",
    "call_abandoned",
    "call_blocking",
    "call_user_code",
    "fail_at",
    "gather",
    "getaddrinfo",
    "io_deadline",
    "run_context_blocking",
    "run_coroutine_blocking",
    "run_in_context",
    "sleep",
]

T = TypeVar("T")
P = ParamSpec("P")


# -- sleeping ---------------------------------------------------------------------------


async def async_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


# -- deadlines on network I/O -----------------------------------------------------------

#: The monotonic time by which the sync network I/O running in this context must end
#: (``None``: no deadline). Set by :func:`fail_at`; mbxai's sync HTTP transport
#: (``mbxai._http``) bounds every socket wait by it.
io_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "mbxai_io_deadline", default=None
)


class async_fail_at:  # used like a function: `async with async_fail_at(at):`
    """Cancel the block once the monotonic clock reaches ``at`` (``None``: never); it then
    raises ``TimeoutError``. Use it around awaits that do not yield (not across the
    ``yield`` of an async generator).

    On asyncio this is ``asyncio.timeout_at`` (one timer, cheap enough for every request),
    elsewhere (trio) an anyio cancel scope.
    """

    __slots__ = ("_anyio", "_asyncio", "_at")

    def __init__(self, at: float | None) -> None:
        self._at = at
        self._asyncio: asyncio.Timeout | None = None
        self._anyio: AbstractContextManager[Any] | None = None

    async def __aenter__(self) -> None:
        if self._at is None:
            return
        left = max(0.0, self._at - time.monotonic())
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio
            self._anyio = anyio.fail_after(left)
            self._anyio.__enter__()
        else:
            self._asyncio = asyncio.timeout_at(loop.time() + left)
            await self._asyncio.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._asyncio is not None:
            await self._asyncio.__aexit__(exc_type, exc, tb)  # raises TimeoutError, if so
            return None
        if self._anyio is not None:
            return self._anyio.__exit__(exc_type, exc, tb)
        return None


class fail_at:  # the sync twin of a function, named as one
    """Sync twin of :func:`async_fail_at`. Blocking I/O cannot be cancelled, so ``at`` is
    published in :data:`io_deadline` for the block: mbxai's sync HTTP transport cuts every
    socket wait short there (a timeout error), and code between reads checks it."""

    __slots__ = ("_at", "_token")

    def __init__(self, at: float | None) -> None:
        self._at = at

    def __enter__(self) -> None:
        self._token = io_deadline.set(self._at)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        io_deadline.reset(self._token)


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
    asyncio extension) runs on another event loop such as trio. Async only: its callers
    mark the call ``# async only``, so the sync twins (which need no event loop) have none."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from ._errors import ConfigurationError

        raise ConfigurationError(
            f"{what} runs on asyncio only (its client library does); on trio use its sync "
            f"twin (the same name without 'Async'): AsyncAgentClient calls a sync session "
            f"handler in worker threads"
        ) from None


# -- calling user functions that may be sync or async ------------------------------------


async def async_call_user_code(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    timeout: float | None = None,
    *,
    abandon_on_cancel: bool = False,
) -> Any:
    """Call a user function: await it if async, else run it in a worker thread.

    With ``timeout`` (seconds), a call still running then raises ``TimeoutError``; a sync
    function's thread cannot be stopped and is abandoned (it finishes in the background).
    ``abandon_on_cancel`` abandons the thread likewise when an enclosing scope is
    cancelled (a caller's timeout around a wrapper of the function), instead of waiting
    for it to return.
    """
    if timeout is None:
        return await _call(fn, kwargs, abandon=abandon_on_cancel)
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


#: Set in the thread of a call run with a timeout from sync code; set when the caller
#: stopped waiting for it (see :func:`call_abandoned`).
_abandoned: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "mbxai_call_abandoned", default=None
)


def call_abandoned() -> bool:
    """Whether the caller of the function running now stopped waiting for it (its timeout
    passed). Only a sync call with a timeout can be abandoned while it still runs: async
    code that is cancelled never resumes. A wrapper checks this before recording the
    outcome of work its caller has given up on."""
    flag = _abandoned.get()
    return flag is not None and flag.is_set()


def call_user_code(
    fn: Callable[..., Any],
    kwargs: dict[str, Any],
    timeout: float | None = None,
    *,
    abandon_on_cancel: bool = False,
) -> Any:
    """Call a user function from sync code; async ones run on the background loop.

    With ``timeout``, the call runs in a daemon thread (in a copy of the caller's context)
    and ``TimeoutError`` is raised if it has not returned by then (``abandon_on_cancel``
    is for the async twin's signature: sync code is never cancelled).
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
    abandoned = threading.Event()
    context = contextvars.copy_context()
    context.run(_abandoned.set, abandoned)

    def target() -> None:
        try:
            outcome.append((True, context.run(call_user_code, fn, kwargs)))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=target, name="mbxai-tool", daemon=True).start()
    if not done.wait(timeout):
        abandoned.set()
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
_portal: anyio.from_thread.BlockingPortal | None = None
_portal_thread: threading.Thread | None = None
#: Contexts entered on the background loop and not exited yet (an MCPClient nobody
#: closed): exited at interpreter exit, within a bound.
_open_contexts: set[_BackgroundContext[Any]] = set()
#: At interpreter exit: how long the contexts still open may take to exit politely, then
#: how long the loop may take to cancel what is left and end. Past that the process exits
#: anyway: the loop's thread is a daemon, nothing waits for it.
_EXIT_CLOSE_TIMEOUT = 3.0
_EXIT_STOP_TIMEOUT = 2.0


def _get_portal() -> anyio.from_thread.BlockingPortal:
    global _portal, _portal_thread
    with _portal_lock:
        if _portal is None:
            ready: Future[anyio.from_thread.BlockingPortal] = Future()

            async def serve() -> None:
                async with anyio.from_thread.BlockingPortal() as portal:
                    ready.set_result(portal)
                    await portal.sleep_until_stopped()

            def run() -> None:
                try:
                    anyio.run(serve)
                except BaseException as exc:  # reported to the thread that started it
                    if not ready.done():
                        ready.set_exception(exc)

            # A daemon thread, joined with a bound at exit (not anyio's start_blocking_portal,
            # whose exit waits for every task: an unclosed MCP session would keep the
            # process alive forever).
            thread = threading.Thread(target=run, name="mbxai-portal", daemon=True)
            thread.start()
            _portal = ready.result()
            _portal_thread = thread
            atexit.register(_stop_portal)
        return _portal


def _stop_portal() -> None:
    """At interpreter exit: exit what is still open on the background loop (an unclosed
    MCP client's sessions), then cancel what is left and stop the loop, each bounded."""
    global _portal, _portal_thread
    with _portal_lock:
        portal, thread = _portal, _portal_thread
        _portal = _portal_thread = None
        contexts = list(_open_contexts)
    if portal is None:
        return
    deadline = time.monotonic() + _EXIT_CLOSE_TIMEOUT
    leaving = []
    for context in contexts:
        with contextlib.suppress(Exception):
            leaving.append(context.leave_soon(portal))
    for task in leaving:
        with contextlib.suppress(BaseException):  # timed out, failed or cancelled: go on
            task.result(max(deadline - time.monotonic(), 0.0))
    try:
        portal.start_task_soon(portal.stop, True).result(_EXIT_STOP_TIMEOUT)
    except BaseException:  # the loop does not answer: leave its (daemon) thread behind
        return
    if thread is not None:
        thread.join(_EXIT_STOP_TIMEOUT)


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
    session owner, say) is entered and exited by the same task, as anyio requires. One
    never exited is exited at interpreter exit, within a few seconds, so it cannot keep
    the process alive.
    """
    return _BackgroundContext(cm)


class _BackgroundContext(AbstractContextManager[T]):
    """``cm`` entered, then exited, by one task on the background loop."""

    def __init__(self, cm: AbstractAsyncContextManager[T]) -> None:
        self._cm = cm
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._task: Future[bool | None] | None = None
        self._leave: anyio.Event | None = None
        self._exit_info: tuple[Any, Any, Any] = (None, None, None)

    def __enter__(self) -> T:
        portal = _get_portal()
        self._portal = portal
        self._task, value = portal.start_task(self._run, name="mbxai-background-context")
        return value  # type: ignore[no-any-return]

    async def _run(self, *, task_status: anyio.abc.TaskStatus[T]) -> bool | None:
        self._leave = anyio.Event()
        value = await self._cm.__aenter__()
        with _portal_lock:
            _open_contexts.add(self)
        try:
            task_status.started(value)
            await self._leave.wait()
        finally:
            with _portal_lock:
                _open_contexts.discard(self)
            # Cancelled at exit: the (None, None, None) exit; cm bounds its own cleanup.
            suppress = await self._cm.__aexit__(*self._exit_info)
        return suppress

    def leave_soon(self, portal: anyio.from_thread.BlockingPortal) -> Future[bool | None]:
        """Ask the task to exit ``cm`` without waiting; the future ends when it has."""
        assert self._task is not None
        assert self._leave is not None
        portal.start_task_soon(self._leave.set)
        return self._task

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        portal, task, leave = self._portal, self._task, self._leave
        if portal is None or task is None or leave is None:
            return None
        self._exit_info = (exc_type, exc, tb)
        try:
            portal.call(leave.set)
        except RuntimeError:  # the background loop stopped (interpreter exit): it was exited
            return None
        return task.result()


# -- name resolution ---------------------------------------------------------------------


class _InContext:
    """Awaits ``function()`` with every step of it run in ``context``."""

    __slots__ = ("_context", "_function")

    def __init__(self, context: contextvars.Context, function: Callable[[], Awaitable[Any]]):
        self._context = context
        self._function = function

    def __await__(self) -> Any:
        steps = self._context.run(self._function).__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                if error is None:
                    request = self._context.run(steps.send, value)
                else:
                    request = self._context.run(steps.throw, error)
            except StopIteration as stop:
                return stop.value
            try:
                value, error = (yield request), None  # to the event loop and back
            except BaseException as exc:
                value, error = None, exc


async def async_run_in_context(
    context: contextvars.Context, function: Callable[[], Awaitable[T]]
) -> T:
    """Await ``function()`` inside ``context``: what it sets in context variables stays
    there, not in the caller's context (a generator resumed step by step, such as the
    agent's event stream, that sets them across its ``yield``s)."""
    result: T = await _InContext(context, function)
    return result


def run_in_context(context: contextvars.Context, function: Callable[[], T]) -> T:
    """The sync twin of :func:`async_run_in_context`: ``function()`` run in ``context``."""
    return context.run(function)


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


# -- deadlines ---------------------------------------------------------------------------


class AsyncDeadline:
    """One time limit on a block of async code, however many steps it takes.

    ``with deadline:`` cancels the block where it waits once ``seconds`` have passed and
    raises ``TimeoutError`` (``anyio.fail_after``). ``remaining()`` is the time left,
    ``check()`` raises ``TimeoutError`` once none is; ``call(fn, *args)`` awaits
    ``fn(*args)`` and ``watch(stream)`` does nothing: cancellation already interrupts
    whatever the block waits for. The sync twin enforces the same limit without
    cancellation.
    """

    __slots__ = ("_end", "_scope", "_seconds")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._end = time.monotonic() + seconds
        self._scope: AbstractContextManager[Any] | None = None

    def __enter__(self) -> AsyncDeadline:
        self._end = time.monotonic() + self._seconds
        self._scope = anyio.fail_after(self._seconds)
        self._scope.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        scope, self._scope = self._scope, None
        return scope.__exit__(exc_type, exc, tb) if scope is not None else None

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def check(self) -> None:
        if time.monotonic() >= self._end:
            raise TimeoutError(f"not done within {self._seconds:g} s")

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)``; the enclosing ``with`` bounds it."""
        return await fn(*args)

    def watch(self, stream: Any) -> None:
        """Nothing to do: cancelling the block interrupts a pending socket operation."""


class Deadline:
    """Sync twin of :class:`AsyncDeadline`: the same limit, enforced where code blocks.

    Blocking calls cannot be cancelled, so ``call(fn, *args)`` runs ``fn`` in a daemon
    thread and stops waiting for it when the time is up (``TimeoutError``), and the
    socket of every network stream given to ``watch`` (an httpcore stream) is shut down
    then, so a read or write blocked on it returns at once with an error. ``check()``
    between steps turns that error into ``TimeoutError``.
    """

    __slots__ = ("_done", "_end", "_expired", "_lock", "_seconds", "_sockets", "_timer")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        self._expired = False
        self._done = False

    def __enter__(self) -> Deadline:
        self._end = time.monotonic() + self._seconds
        self._timer = threading.Timer(self._seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._done = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    def check(self) -> None:
        if time.monotonic() >= self._end:
            raise TimeoutError(f"not done within {self._seconds:g} s")

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a daemon thread, waited for only as long as time remains."""
        self.check()
        result: T = _call_in_daemon(lambda: fn(*args), {}, self.remaining())
        return result

    def watch(self, stream: Any) -> None:
        """Shut the stream's socket down when the time is up (a duplicate of it is kept,
        so the stream's owner still closes its own)."""
        sock = stream.get_extra_info("socket")
        if not isinstance(sock, socket.socket):
            return
        try:
            watched = sock.dup()
        except OSError:
            return
        with self._lock:
            if not self._done and not self._expired:
                self._sockets.append(watched)
                return
            expired = self._expired
        if expired:
            _shutdown(watched)
        watched.close()

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            if self._done:
                return
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its owner, or never connected
        sock.shutdown(socket.SHUT_RDWR)
