"""MCP sessions, each owned by one task: the escape hatch for the async-only ``mcp`` SDK.

The official SDK is async-only, and its transports and ``ClientSession`` are context
managers holding task groups and cancel scopes. Entering one in a task and leaving it in
another is what fails with "Attempted to exit cancel scope in a different task"
(python-sdk #577, pydantic-ai #2818). So each server gets a :class:`_SessionOwner`: one
long-lived task that enters the transport and the session, serves the calls sent to it
through a memory stream, reconnects with backoff when the server drops, and leaves the
context managers itself on close. Callers only ever send it a call and wait (bounded) for
the answer, so one failing server cannot take down the others or the caller.

Both flavours share that owner:

* :class:`AsyncMCPConnections` runs the owner tasks in a task group of the caller's event
  loop, entered by ``async with AsyncMCPClient(...)``;
* :class:`MCPConnections` (its sync twin, the name the code generator maps it to) runs the
  same owners on mbxai's background event loop and blocks on it through
  ``mbxai._concurrency`` — never an event loop in the caller's thread, so the sync client
  works inside Jupyter or any running loop.

This module and ``mbxai._concurrency`` are the only modules that import anyio. The ``mcp``
SDK itself is imported lazily, when a server is connected.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TextIO

import anyio
import anyio.lowlevel
import anyio.to_thread
import pydantic_core

from ._concurrency import run_context_blocking, run_coroutine_blocking
from ._errors import (
    ClientClosedError,
    ConfigurationError,
    MBXAIError,
    MCPAuthError,
    MCPConnectionError,
    MCPRequestError,
    MCPResponseTooLargeError,
    MCPServerError,
    MCPToolError,
    MCPTooManyToolsError,
    UsageLimitExceeded,
)
from ._logging import get_logger, register_secret
from ._mcp import Budget, ServerSpec, describe_error, require_sdk, resource_size
from ._mcp_interactive import ElicitationRequest, MCPSampling, elicitation_result
from ._version import __version__

__all__ = [
    "AsyncMCPConnection",
    "AsyncMCPConnections",
    "MCPConnection",
    "MCPConnections",
    "ServerHandlers",
]

#: Told a server's new tool list (selected and capped), its version and a time budget
#: after a tools/list_changed notification (or a reconnection) changed it. Runs in a
#: worker thread, so it may do the heavy work (building schemas), checking the budget;
#: returns the quick step that puts the result in place, run in the owner task (or None).
ToolsChanged = Callable[[Sequence[Any], int, Budget], Callable[[], None] | None]

#: Background reconnection: first wait, doubling up to the cap, for this many attempts.
#: After that the server is retried only when a call for it arrives.
_BACKOFF_FIRST: Final = 0.25
_BACKOFF_MAX: Final = 30.0
_BACKGROUND_ATTEMPTS: Final = 6
#: How long a closing owner may take to leave its session politely before it is cancelled.
_CLOSE_GRACE: Final = 5.0
#: Bounds on what one server's tools/list makes us read and hold: pages, tools looked at
#: (past either the listing is cut, with a warning), the description kept of a tool and
#: the size of its schema (a larger one is skipped: it would go into every request).
_MAX_LIST_PAGES: Final = 1_000
_MAX_LISTED_TOOLS: Final = 100_000
_MAX_DESCRIPTION: Final = 8_192
_MAX_SCHEMA_BYTES: Final = 65_536
#: While reading a long listing, let the event loop run every this many tools.
_CHECKPOINT_EVERY: Final = 256
#: Seconds between two listings after tools/list_changed notifications.
_RELIST_PAUSE: Final = 0.5
_SSE_IDLE_TIMEOUT: Final = 300.0  # the SDK's default for event streams that may stay quiet
#: Bounds on a server's resource and prompt listings (pages, items kept).
_MAX_ITEMS: Final = 10_000
#: Elicitations of one server waiting for an answer at once; more are cancelled at once.
_MAX_ELICITATIONS: Final = 8
_TOO_LARGE: Final = "byte limit"  # in the SDK's and our messages for oversized messages


@dataclass(frozen=True, slots=True)
class ServerHandlers:
    """What the client answers when a server asks (each ``None``: refused, not announced).

    ``sample`` and ``elicit`` are sync or async functions: sync ones run in a worker
    thread. ``sample`` gets the SDK's ``CreateMessageRequestParams`` and returns a
    ``CreateMessageResult`` (wire form), raising ``ValueError`` to refuse; ``elicit`` gets
    an :class:`ElicitationRequest` and returns what :func:`elicitation_result` accepts.
    """

    sample: Callable[[Any], Any] | None = None
    sampling: MCPSampling | None = None
    elicit: Callable[[ElicitationRequest], Any] | None = None
    elicitation_timeout: float = 300.0
    roots: tuple[tuple[str, str | None], ...] | None = None

    @property
    def longest_wait(self) -> float:
        """The longest a server's request may keep one of our calls waiting."""
        waits = [0.0]
        if self.elicit is not None:
            waits.append(self.elicitation_timeout)
        if self.sampling is not None:
            waits.append(self.sampling.timeout)
        return max(waits)


class _Call:
    """One tool call (or other request) on its way to an owner, and its answer."""

    __slots__ = (
        "abandoned",
        "arguments",
        "done",
        "error",
        "name",
        "queued_at",
        "result",
        "retried",
        "run",
        "scope",
    )

    def __init__(
        self,
        name: str,
        arguments: dict[str, Any],
        run: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> None:
        self.name = name
        self.arguments = arguments
        #: For a request that is no tool call: what to do with the SDK's client.
        self.run = run
        self.queued_at = anyio.current_time()
        self.done = anyio.Event()
        self.result: Any = None
        self.error: MCPServerError | None = None
        self.scope: anyio.CancelScope | None = None
        self.abandoned = False
        self.retried = False

    def succeed(self, result: Any) -> None:
        if not self.done.is_set():
            self.result = result
            self.done.set()

    def fail(self, error: MCPServerError) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()

    def abandon(self) -> None:
        """The caller stopped waiting: skip the call, or cancel it if it is running."""
        self.abandoned = True
        if self.scope is not None:
            self.scope.cancel()


class _Listing:
    """A server's tool list as selected for registration."""

    __slots__ = ("cut", "dropped", "listed", "selected", "tools")

    def __init__(
        self, tools: list[Any], *, listed: int, selected: int, dropped: int, cut: bool
    ) -> None:
        self.tools = tools
        #: Tools the server listed (up to the bounds), passing the filters, left out by the cap.
        self.listed = listed
        self.selected = selected
        self.dropped = dropped
        #: Whether the listing was longer than the bounds and read only in part.
        self.cut = cut


class _SessionOwner:
    """One MCP server's connection, owned by the task running :meth:`run`.

    Only that task enters and leaves the SDK's transport and ``ClientSession``. Other
    tasks talk to it through :meth:`call` (a memory stream and an event per call).
    """

    def __init__(
        self,
        spec: ServerSpec,
        on_tools_changed: ToolsChanged,
        handlers: ServerHandlers | None = None,
    ) -> None:
        self.spec = spec
        self.handlers = handlers or ServerHandlers()
        #: Server requests (sampling, elicitation) being answered now: calls waiting on
        #: them get more time.
        self.serving = 0
        #: Why OAuth failed, when it did (registration raises MCPAuthError with it).
        self.auth_error: str | None = None
        #: An OAuth authorization waiting for a human (registration waits for it).
        self.authorizing = False
        self._elicitations = 0
        self._sampling_slots = anyio.Semaphore(
            self.handlers.sampling.max_concurrent if self.handlers.sampling is not None else 1
        )
        #: The server's tools selected for registration (filters and cap applied).
        self.tools: list[Any] = []
        #: Counts every change of :attr:`tools`.
        self.version = 0
        #: Tools the server listed last time, and those the cap left out.
        self.listed = 0
        self.dropped = 0
        self.connected = False
        self.closing = False
        self.last_error: str | None = None
        #: Why the first connection was refused for good (too many tools, a failing
        #: tool_filter): register_mcp_server raises it as it is.
        self.fatal: MBXAIError | None = None
        #: Sessions established so far (more than one: it reconnected).
        self.connections = 0
        self._on_tools_changed = on_tools_changed
        self._published = 0
        self._changed = anyio.Event()
        self._send, self._receive = anyio.create_memory_object_stream[_Call](math.inf)
        self._inflight: set[_Call] = set()
        self._wake = anyio.Event()
        self._refresh = anyio.Event()
        self._first = anyio.Event()
        self._done = anyio.Event()
        self._scope: anyio.CancelScope | None = None

    # -- the owner task ---------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve calls, reconnect with bounded backoff; never raises."""
        log = get_logger()
        failures = 0
        try:
            while not self.closing:
                started = anyio.current_time()
                was_connected, reason = await self._connect_and_serve()
                if self._stopping():
                    break
                self.connected = False
                self.last_error = reason
                self._fail_inflight(f"the connection was lost during the call ({reason})")
                if was_connected:
                    log.warning("mcp.disconnected", server=self.spec.name, reason=reason)
                    failures = 0
                    delay = 0.0  # it was up a moment ago: try again at once
                else:
                    failures += 1
                    # Calls that waited through this attempt fail now; a call that came
                    # during it gets an attempt of its own, at once.
                    newer = self._fail_queued(reason, before=started)
                    if not self._first.is_set():
                        return  # the first connection failed: register_mcp_server reports it
                    log.warning(
                        "mcp.reconnect_failed",
                        server=self.spec.name,
                        reason=reason,
                        attempt=failures,
                    )
                    if newer:
                        delay = 0.0
                    elif failures < _BACKGROUND_ATTEMPTS:
                        delay = min(_BACKOFF_FIRST * 2 ** (failures - 1), _BACKOFF_MAX)
                    else:
                        delay = math.inf  # from now on, only a call wakes it
                self._wake = anyio.Event()
                if delay:
                    with anyio.move_on_after(delay):
                        await self._wake.wait()
        except Exception as exc:  # a bug here must not take the caller's task group down
            self.last_error = describe_error(exc)
            log.error("mcp.owner_failed", server=self.spec.name, error=self.last_error)
        finally:
            self.connected = False
            self._send.close()
            why = "the MCP client was closed" if self.closing else self.last_error
            self._fail_queued(why or "the connection ended")
            self._receive.close()
            self._fail_inflight(why or "the connection ended")
            self._first.set()
            self._done.set()

    async def _connect_and_serve(self) -> tuple[bool, str]:
        """One connection: handshake, tool listing, then calls until it ends.

        Returns whether the server was reached and why the connection ended. Connecting
        (handshake and listing included) is bounded by the server's timeout.
        """
        from mcp import Client
        from mcp.types import Implementation

        spec = self.spec
        connected = False
        reason = "the MCP client was closed"
        scope = anyio.CancelScope(deadline=anyio.current_time() + spec.timeout)
        self._scope = scope
        try:
            with scope:
                async with contextlib.AsyncExitStack() as stack:
                    transport = await _open_transport(spec, stack, self._oauth_provider())
                    handlers = self.handlers
                    client = await stack.enter_async_context(
                        Client(
                            transport,
                            mode="legacy",  # the initialize handshake every server speaks
                            cache=None,
                            read_timeout_seconds=spec.timeout,
                            message_handler=self._on_message,
                            client_info=Implementation(name="mbxai", version=__version__),
                            sampling_callback=self._on_sampling if handlers.sample else None,
                            elicitation_callback=self._on_elicitation if handlers.elicit else None,
                            list_roots_callback=(
                                self._on_list_roots if handlers.roots is not None else None
                            ),
                        )
                    )
                    first = not self._first.is_set()
                    try:
                        listing = await self._list_tools(client)
                    except MBXAIError as exc:  # ours (a failing tool_filter): final at first
                        self.fatal = exc if first else None
                        raise
                    cap = spec.selection.max_tools
                    if first and listing.dropped and cap is not None:
                        self.fatal = MCPTooManyToolsError(
                            spec.name, listing.selected, cap, cut=listing.cut
                        )
                        raise self.fatal
                    scope.deadline = math.inf
                    connected = True
                    self._store(listing)
                    if first:
                        self._published = self.version  # the registrar mounts this list
                    self.connected = True
                    self.connections += 1
                    self.last_error = None
                    self._first.set()
                    get_logger().info(
                        "mcp.connected",
                        server=spec.name,
                        tools=len(listing.tools),
                        listed=listing.listed,
                    )
                    reason = await self._serve(client, transport.ended)
                    # Leaving the session (a DELETE to the server, stopping a process) is
                    # bounded too.
                    scope.deadline = anyio.current_time() + spec.timeout
        except Exception as exc:
            reason = str(self.fatal) if self.fatal is not None else describe_error(exc)
        if scope.cancelled_caught and not connected and not self.closing:
            reason = f"no answer within {spec.timeout:g} s"
        if self.auth_error is not None and not connected:
            reason = f"OAuth failed: {self.auth_error}"
        return connected, reason

    async def _serve(self, client: Any, ended: anyio.Event) -> str:
        """Run the calls sent to this owner, concurrently, until the connection ends."""
        reason = "the MCP client was closed"
        async with anyio.create_task_group() as tg:

            def lose(why: str) -> None:
                nonlocal reason
                reason = why
                tg.cancel_scope.cancel()

            async def watch_end() -> None:
                await ended.wait()
                lose("the server closed the connection")

            tg.start_soon(watch_end)
            tg.start_soon(self._refresh_tools, client)
            tg.start_soon(self._publish_tools)
            async for call in self._receive:
                if self.closing:
                    call.fail(MCPConnectionError(self.unavailable("the MCP client was closed")))
                elif not call.abandoned:
                    tg.start_soon(self._run_call, client, call, ended, lose)
            tg.cancel_scope.cancel()  # the stream was closed: the client is closing
        return reason

    async def _run_call(
        self, client: Any, call: _Call, ended: anyio.Event, lose: Callable[[str], None]
    ) -> None:
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        spec = self.spec
        if call.abandoned:
            return
        if ended.is_set():  # not sent: the next connection serves it
            self._requeue(call)
            lose("the server closed the connection")
            return
        self._inflight.add(call)
        result: Any = None  # set unless the scope was cancelled, when it is not read
        what = "calling" if call.run is None else "the request"
        try:
            with anyio.CancelScope() as scope:
                call.scope = scope
                if call.run is None:
                    result = await client.call_tool(
                        call.name,
                        call.arguments,
                        read_timeout_seconds=spec.timeout + self.handlers.longest_wait,
                    )
                else:
                    result = await call.run(client)
        except MBXAIError as exc:  # ours, from a request's checks (too large...)
            self._inflight.discard(call)
            call.fail(
                exc if isinstance(exc, MCPServerError) else MCPRequestError(describe_error(exc))
            )
        except MCPError as exc:
            self._inflight.discard(call)
            if _TOO_LARGE in str(exc.message):
                call.fail(
                    MCPResponseTooLargeError(
                        f"server {spec.name!r}: the answer to {call.name!r} is larger than the "
                        f"client accepts (max_message_bytes={spec.max_message_bytes})",
                        limit=spec.max_message_bytes,
                    )
                )
            elif _session_gone(exc):
                # The server restarted and forgot the session, so it never ran the call:
                # send it once more on a new session.
                if call.retried:
                    call.fail(MCPConnectionError(self.unavailable(exc.message)))
                else:
                    call.retried = True
                    self._requeue(call)
                lose(f"the server ended the session ({exc.message})")
            elif exc.code == CONNECTION_CLOSED:
                call.fail(
                    MCPConnectionError(self.unavailable("the connection closed during the call"))
                )
                lose("the connection closed")
            elif exc.code == REQUEST_TIMEOUT:
                call.fail(
                    MCPConnectionError(self.unavailable(f"no answer within {spec.timeout:g} s"))
                )
            elif call.run is None:
                call.fail(
                    MCPToolError(f"server {spec.name!r} rejected the call of {call.name!r}: {exc}")
                )
            else:
                call.fail(MCPRequestError(f"server {spec.name!r} refused {call.name}: {exc}"))
        except Exception as exc:
            self._inflight.discard(call)
            error = MCPToolError if call.run is None else MCPRequestError
            call.fail(
                error(f"server {spec.name!r}: {what} {call.name!r} failed: {describe_error(exc)}")
            )
        else:
            self._inflight.discard(call)
            if scope.cancelled_caught:
                call.fail(MCPConnectionError(self.unavailable("the call was abandoned")))
            else:
                call.succeed(result)

    async def _refresh_tools(self, client: Any) -> None:
        """Re-list the tools whenever the server says they changed (bounded by the
        timeout; on failure the tools registered stay as they are). Notifications that
        come while a listing runs, or within a short pause after it, make one listing:
        a server announcing changes non-stop cannot keep the client listing."""
        while True:
            await self._refresh.wait()
            self._refresh = anyio.Event()
            try:
                with anyio.fail_after(self.spec.timeout):
                    listing = await self._list_tools(client)
            except Exception as exc:
                error = "timed out" if isinstance(exc, TimeoutError) else describe_error(exc)
                get_logger().warning(
                    "mcp.list_tools_failed", server=self.spec.name, error=self.spec.mask.text(error)
                )
            else:
                self._store(listing)
            await anyio.sleep(_RELIST_PAUSE)

    async def _list_tools(self, client: Any) -> _Listing:
        """The server's tools, page by page, through the filters and the cap.

        Only what is kept is held: the selected tools (those registered now first, so a
        growing list does not push them out), at most ``max_tools`` of them; the rest is
        only counted. A tool listed twice counts once; one with an oversized schema is
        skipped; long descriptions are clipped. The loop runs every few hundred tools.
        """
        spec = self.spec
        selection = spec.selection
        cap = selection.max_tools
        registered = {tool.name for tool in self.tools}
        seen: set[str] = set()
        kept: list[tuple[int, Any]] = []  # (position, tool) of tools registered now
        new: list[tuple[int, Any]] = []
        listed = selected = 0
        cut = False
        cursor: str | None = None
        for _ in range(_MAX_LIST_PAGES):  # a server paging forever cannot hang the connection
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                if listed >= _MAX_LISTED_TOOLS:
                    cut = True
                    break
                listed += 1
                if listed % _CHECKPOINT_EVERY == 0:
                    await anyio.lowlevel.checkpoint()
                if tool.name in seen or not selection.accepts(tool):
                    continue
                seen.add(tool.name)
                if tool.name in registered:
                    bounded = self._bounded(tool)
                    if bounded is not None:
                        selected += 1
                        kept.append((listed, bounded))
                elif cap is None or len(new) < cap:
                    bounded = self._bounded(tool)
                    if bounded is not None:
                        selected += 1
                        new.append((listed, bounded))
                else:
                    selected += 1  # beyond the cap: counted, not held
            cursor = page.next_cursor
            if cut or cursor is None:
                break
        else:
            cut = True
        if cut:
            get_logger().warning(
                "mcp.tool_list_cut",
                server=spec.name,
                listed=listed,
                pages=_MAX_LIST_PAGES,
                max_tools_listed=_MAX_LISTED_TOOLS,
            )
        room = len(new) if cap is None else max(cap - len(kept), 0)
        chosen = sorted(kept[: cap if cap is not None else None] + new[:room], key=_position)
        tools = [tool for _, tool in chosen]
        return _Listing(
            tools, listed=listed, selected=selected, dropped=selected - len(tools), cut=cut
        )

    def _bounded(self, tool: Any) -> Any:
        """``tool`` with its description clipped, or None when its schema is too large."""
        size = len(pydantic_core.to_json(tool.input_schema, fallback=str))
        if size > _MAX_SCHEMA_BYTES:
            get_logger().warning(
                "mcp.tool_skipped",
                server=self.spec.name,
                tool=tool.name,
                error=f"its input schema has {size} bytes (at most {_MAX_SCHEMA_BYTES})",
            )
            return None
        description = tool.description
        if isinstance(description, str) and len(description) > _MAX_DESCRIPTION:
            tool = tool.model_copy(update={"description": description[:_MAX_DESCRIPTION] + "…"})
        return tool

    # -- what the server asks of the client ---------------------------------------------------

    async def _on_sampling(self, context: Any, params: Any) -> Any:
        """A server's ``sampling/createMessage``: run by the client's :class:`MCPSampling`,
        within its limits, caps, concurrency and timeout; refused with an error otherwise."""
        from mcp.types import (
            INTERNAL_ERROR,
            INVALID_PARAMS,
            INVALID_REQUEST,
            CreateMessageResult,
            ErrorData,
        )

        spec, policy, sample = self.spec, self.handlers.sampling, self.handlers.sample
        assert policy is not None
        assert sample is not None
        log = get_logger()
        why = policy.admit()
        if why is not None:
            log.warning("mcp.sampling_refused", server=spec.name, reason=why)
            return ErrorData(code=INVALID_REQUEST, message=why)
        self.serving += 1
        try:
            with anyio.fail_after(policy.timeout):
                async with self._sampling_slots:
                    raw = await _invoke(sample, params)
            return CreateMessageResult.model_validate(raw)
        except TimeoutError:
            policy.refuse()
            log.warning("mcp.sampling_timeout", server=spec.name, timeout=policy.timeout)
            return ErrorData(
                code=INTERNAL_ERROR, message=f"sampling took longer than {policy.timeout:g} s"
            )
        except UsageLimitExceeded as exc:
            policy.refuse()
            log.warning("mcp.sampling_refused", server=spec.name, reason=str(exc))
            return ErrorData(
                code=INVALID_REQUEST,
                message=f"the client's sampling limit for this server is reached ({exc.limit})",
            )
        except ValueError as exc:  # the request is over a cap, or refused by approve=
            policy.refuse()
            log.warning("mcp.sampling_refused", server=spec.name, reason=str(exc)[:300])
            return ErrorData(code=INVALID_PARAMS, message=str(exc)[:500])
        except Exception as exc:
            policy.refuse()
            error = spec.mask.text(describe_error(exc))
            log.error("mcp.sampling_failed", server=spec.name, error=error)
            return ErrorData(code=INTERNAL_ERROR, message=f"sampling failed: {error}"[:500])
        finally:
            self.serving -= 1

    async def _on_elicitation(self, context: Any, params: Any) -> Any:
        """A server's ``elicitation/create``: the client's handler answers, within the
        elicitation timeout (then: "cancel"); at most a few wait at once."""
        from mcp.types import INVALID_PARAMS, ElicitResult, ErrorData

        spec, elicit = self.spec, self.handlers.elicit
        assert elicit is not None
        log = get_logger()
        try:
            request = ElicitationRequest.of(spec.name, params)
        except ValueError as exc:
            return ErrorData(code=INVALID_PARAMS, message=str(exc))
        if self._elicitations >= _MAX_ELICITATIONS:
            log.warning("mcp.elicitation_refused", server=spec.name, reason="too many at once")
            return ElicitResult(action="cancel")
        self._elicitations += 1
        self.serving += 1
        try:
            answer: Any = None
            with anyio.move_on_after(self.handlers.elicitation_timeout) as scope:
                answer = await _invoke(elicit, request)
            if scope.cancelled_caught:
                log.warning(
                    "mcp.elicitation_timeout",
                    server=spec.name,
                    id=request.id,
                    timeout=self.handlers.elicitation_timeout,
                )
                return ElicitResult(action="cancel")
            return ElicitResult.model_validate(elicitation_result(request, answer))
        except Exception as exc:  # the handler failed, or its answer does not fit the form
            log.error(
                "mcp.elicitation_failed", server=spec.name, id=request.id, error=describe_error(exc)
            )
            return ElicitResult(action="cancel")
        finally:
            self._elicitations -= 1
            self.serving -= 1

    async def _on_list_roots(self, context: Any) -> Any:
        from mcp.types import ListRootsResult, Root

        return ListRootsResult(
            roots=[
                Root.model_validate({"uri": uri, "name": name})
                for uri, name in self.handlers.roots or ()
            ]
        )

    # -- OAuth ----------------------------------------------------------------------------------

    def _oauth_provider(self) -> Any:
        """The SDK's ``OAuthClientProvider`` for this server (None without ``auth=``): its
        tokens masked and kept secret, its authorization step completed through
        :class:`~mbxai._mcp_auth.MCPOAuth`, its failures remembered for the error."""
        spec, oauth = self.spec, self.spec.auth
        if oauth is None:
            return None
        from mcp.client.auth import OAuthClientProvider
        from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

        from ._mcp_auth import callback_result

        owner = self
        waiting: dict[str, Any] = {}

        class Storage:
            """The application's store, every token it hands out hidden from the model."""

            async def get_tokens(self) -> Any:
                tokens = await oauth.storage.get_tokens()
                _hide_tokens(spec, tokens)
                return tokens

            async def set_tokens(self, tokens: Any) -> None:
                _hide_tokens(spec, tokens)
                await oauth.storage.set_tokens(tokens)

            async def get_client_info(self) -> Any:
                return await oauth.storage.get_client_info()

            async def set_client_info(self, client_info: Any) -> None:
                await oauth.storage.set_client_info(client_info)

        async def redirect(url: str) -> None:
            waiting["pending"] = oauth.begin(url)
            get_logger().info("mcp.oauth_authorize", server=spec.name)

        async def callback() -> Any:
            pending = waiting.pop("pending")
            owner.authorizing = True
            scope = owner._scope
            if scope is not None and not owner.connected:
                scope.deadline = math.inf  # connecting waits for the human, not the server
            try:
                with anyio.move_on_after(oauth.authorization_timeout):
                    if oauth.authorize is not None:
                        given = await _invoke(oauth.authorize, pending.url)
                        if given is not None:
                            pending.result = callback_result(given)
                            pending.done.set()
                    while not pending.done.is_set():  # noqa: ASYNC110 - set from any thread
                        await anyio.sleep(0.05)
            finally:
                owner.authorizing = False
                oauth.end(pending)
                if scope is not None and not owner.connected:
                    scope.deadline = anyio.current_time() + spec.timeout
            if pending.result is None:
                why = pending.error or (
                    f"the authorization was not completed within {oauth.authorization_timeout:g} s"
                )
                raise _AuthorizationFailed(why)
            code, state = pending.result
            return AuthorizationCodeResult(code=code, state=state)

        class Provider(OAuthClientProvider):
            async def async_auth_flow(self, request: Any) -> Any:
                flow = super().async_auth_flow(request)
                try:
                    outgoing = await flow.__anext__()
                    while True:
                        response = yield outgoing
                        outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    error = spec.mask.text(describe_error(exc))
                    owner.auth_error = error.splitlines()[0][:300] if error else "failed"
                    get_logger().warning(
                        "mcp.oauth_failed", server=spec.name, error=owner.auth_error
                    )
                    raise
                finally:
                    # Closed here, in this task: the SDK's flow holds a lock across its
                    # yields, which only the task that took it may release.
                    await flow.aclose()

        return Provider(
            server_url=spec.url or "",
            client_metadata=OAuthClientMetadata.model_validate(oauth.client_metadata_fields()),
            storage=Storage(),
            redirect_handler=redirect,
            callback_handler=callback,
        )

    async def _on_message(self, message: Any) -> None:
        """The session's handler for server notifications (and transport errors)."""
        if isinstance(message, Exception):
            get_logger().debug(
                "mcp.transport_error", server=self.spec.name, error=describe_error(message)
            )
        elif getattr(message, "method", None) == "notifications/tools/list_changed":
            self._refresh.set()

    def _store(self, listing: _Listing) -> None:
        """Keep a new listing; a changed tool list gets a new version, to be published."""
        self.listed = listing.listed
        self.dropped = listing.dropped
        if listing.dropped and self._first.is_set():
            get_logger().warning(
                "mcp.tools_dropped",
                server=self.spec.name,
                tools=listing.selected,
                max_tools=self.spec.selection.max_tools,
                dropped=listing.dropped,
            )
        if listing.tools != self.tools:  # pydantic models compare by value
            self.tools = listing.tools
            self.version += 1
            self._changed.set()

    async def _publish_tools(self) -> None:
        """Hand every new version of the tool list to the client, in order."""
        while True:
            while self._published == self.version:
                await self._changed.wait()
                self._changed = anyio.Event()
            self._published = self.version
            await self._hand_over(self.tools, self.version)

    async def _hand_over(self, tools: list[Any], version: int) -> None:
        """The client's heavy work in a worker thread (the loop keeps running), bounded by
        the timeout and stopped if the connection ends; its quick step here."""
        budget = Budget(self.spec.timeout)
        try:
            apply = await anyio.to_thread.run_sync(
                functools.partial(self._on_tools_changed, tools, version, budget),
                abandon_on_cancel=True,
            )
            if apply is not None:
                apply()
        except Exception as exc:
            error = "timed out" if isinstance(exc, TimeoutError) else describe_error(exc)
            get_logger().error(
                "mcp.tools_changed_failed", server=self.spec.name, error=self.spec.mask.text(error)
            )
        finally:
            budget.cancel()  # a thread left behind by a cancellation stops at its next tool

    def _requeue(self, call: _Call) -> None:
        try:
            self._send.send_nowait(call)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            call.fail(MCPConnectionError(self.unavailable("the MCP client was closed")))

    def _fail_queued(self, why: str, *, before: float = math.inf) -> bool:
        """Fail the waiting calls queued before ``before``; whether newer ones wait on."""
        newer: list[_Call] = []
        while True:
            try:
                call = self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            if call.queued_at < before:
                call.fail(MCPConnectionError(self.unavailable(why)))
            elif not call.abandoned:
                newer.append(call)
        for call in newer:
            self._requeue(call)
        return bool(newer)

    def _fail_inflight(self, why: str) -> None:
        calls, self._inflight = self._inflight, set()
        for call in calls:
            call.fail(MCPConnectionError(self.unavailable(why)))

    def _stopping(self) -> bool:
        return self.closing  # set by aclose() while this task awaited

    # -- what other tasks call ----------------------------------------------------------------

    def unavailable(self, why: str) -> str:
        return f"server {self.spec.name!r} unavailable: {why}"

    async def wait_connected(self) -> bool:
        """Wait for the first connection attempt; whether it succeeded (an OAuth
        authorization waiting for a human gets its own time)."""
        bound = 2 * self.spec.timeout + _CLOSE_GRACE
        deadline = anyio.current_time() + bound
        while not self._first.is_set() and anyio.current_time() < deadline:
            with anyio.move_on_after(min(0.25, max(deadline - anyio.current_time(), 0))):
                await self._first.wait()
            if self.authorizing:
                deadline = anyio.current_time() + bound
        return self.connected

    async def call(
        self,
        name: str,
        arguments: dict[str, Any],
        run: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> Any:
        """Call a tool (or make another request: ``run``) through the owner and wait, at
        most the timeout, for the result. While the server's own requests made during the
        call (sampling, elicitation) are answered, the wait is extended, up to their
        bounds."""
        spec = self.spec
        call = _Call(name, arguments, run)
        if self.closing:
            raise MCPConnectionError(self.unavailable("the MCP client was closed"))
        try:
            self._send.send_nowait(call)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise MCPConnectionError(self.unavailable("the MCP client was closed")) from None
        if not self.connected:
            self._wake.set()  # a waiting owner reconnects now rather than after its backoff
        deadline = anyio.current_time() + spec.timeout
        extended = anyio.current_time() + spec.timeout + self.handlers.longest_wait
        while not call.done.is_set():
            with anyio.move_on_after(max(deadline - anyio.current_time(), 0)):
                await call.done.wait()
            if call.done.is_set() or not self.serving or anyio.current_time() >= extended:
                break
            deadline = min(anyio.current_time() + 0.25, extended)
        if not call.done.is_set():
            call.abandon()
            why = f"no answer within {spec.timeout:g} s"
            if not self.connected and self.last_error:
                why += f" (last error: {self.last_error})"
            pending = spec.auth.pending_url if spec.auth is not None else None
            if pending is not None:
                raise MCPAuthError(
                    self.unavailable(f"{why}; waiting for OAuth authorization at {pending}"),
                    server=spec.name,
                    authorization_url=pending,
                )
            raise MCPConnectionError(self.unavailable(why))
        if call.error is not None:
            raise call.error
        return call.result

    async def aclose(self) -> None:
        """Leave the session politely (bounded), then cancel whatever is left."""
        if not self.closing:
            self.closing = True
            self._send.close()  # the serving loop ends and leaves the session
            self._wake.set()
            if not self.connected and self._scope is not None:
                self._scope.cancel()  # still connecting: no session to leave
        with anyio.move_on_after(_CLOSE_GRACE):
            await self._done.wait()
        if not self._done.is_set() and self._scope is not None:
            self._scope.cancel()
            with anyio.move_on_after(_CLOSE_GRACE):
                await self._done.wait()


# -- the SDK's transports ----------------------------------------------------------------------


class _WatchedReadStream:
    """The transport's read stream, setting ``ended`` when the server's side closes."""

    def __init__(self, inner: Any, ended: anyio.Event) -> None:
        self._inner = inner
        self._ended = ended

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended.set()
            raise

    async def aclose(self) -> None:
        self._ended.set()
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedReadStream:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._ended.set()
        return await self._inner.__aexit__(exc_type, exc, tb)  # type: ignore[no-any-return]


class _WatchedTransport:
    """An SDK transport whose read side reports its end: a dead stdio server is noticed
    at once, not at the next call."""

    def __init__(self, inner: AbstractAsyncContextManager[Any]) -> None:
        self._inner = inner
        self.ended = anyio.Event()

    async def __aenter__(self) -> tuple[Any, Any]:
        read, write = await self._inner.__aenter__()
        return _WatchedReadStream(read, self.ended), write

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self.ended.set()
        return await self._inner.__aexit__(exc_type, exc, tb)


async def _open_transport(
    spec: ServerSpec, stack: contextlib.AsyncExitStack, auth: Any = None
) -> _WatchedTransport:
    """The SDK transport for ``spec`` (not entered yet); an HTTP client goes on ``stack``.

    Over HTTP no message larger than ``max_message_bytes`` is read: a JSON body is cut
    there (the request fails), as is an event of an event stream (the SDK's bound)."""
    if spec.transport == "stdio":
        from mcp import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=spec.command or "",
            args=list(spec.args),
            env=dict(spec.env) if spec.env is not None else None,
            cwd=spec.cwd,
        )
        return _WatchedTransport(stdio_client(params, errlog=_errlog()))
    assert spec.url is not None
    if spec.transport == "sse":
        from mcp.client.sse import sse_client

        return _WatchedTransport(
            sse_client(
                spec.url,
                headers=dict(spec.headers),
                timeout=spec.timeout,
                sse_read_timeout=_SSE_IDLE_TIMEOUT,
                auth=auth,
            )
        )
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    # Headers (and the token) go on this server's own HTTP client: no other server sees them.
    http = await stack.enter_async_context(
        httpx2.AsyncClient(
            headers=dict(spec.headers),
            timeout=httpx2.Timeout(spec.timeout, read=_SSE_IDLE_TIMEOUT),
            auth=auth,
            transport=_capped_transport_class()(spec.max_message_bytes),
        )
    )
    return _WatchedTransport(
        streamable_http_client(
            spec.url, http_client=http, max_sse_event_size=spec.max_message_bytes
        )
    )


class _AuthorizationFailed(Exception):
    """The OAuth authorization step was not completed (in time, or at all)."""


def _hide_tokens(spec: ServerSpec, tokens: Any) -> None:
    """Keep a server's OAuth tokens out of logs and out of what the model sees."""
    for value in (getattr(tokens, "access_token", None), getattr(tokens, "refresh_token", None)):
        if isinstance(value, str) and value:
            register_secret(value)
            spec.mask.add(value)


@functools.cache
def _capped_transport_class() -> type[Any]:
    """An httpx2 transport whose non-streaming bodies (JSON answers, OAuth endpoints) are
    read at most to a limit (an event stream's events are bounded by the SDK); made on
    first use, since httpx2 comes with the optional SDK."""
    import httpx2

    class CappedStream(httpx2.AsyncByteStream):
        def __init__(self, inner: Any, limit: int) -> None:
            self._inner = inner
            self._limit = limit

        async def __aiter__(self) -> Any:
            seen = 0
            async for chunk in self._inner:
                seen += len(chunk)
                if seen > self._limit:
                    raise httpx2.StreamError(
                        f"the response exceeded the {self._limit} {_TOO_LARGE} (max_message_bytes)"
                    )
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    class CappedTransport(httpx2.AsyncBaseTransport):
        def __init__(self, limit: int) -> None:
            self._inner = httpx2.AsyncHTTPTransport()
            self._limit = limit

        async def handle_async_request(self, request: Any) -> Any:
            response = await self._inner.handle_async_request(request)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                response.stream = CappedStream(response.stream, self._limit)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

    return CappedTransport


async def _invoke(fn: Callable[..., Any], *args: Any) -> Any:
    """Call the application's handler: an async one here, a sync one in a worker thread
    (left behind if the wait for it is cancelled); an awaitable it returns is awaited."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    ):
        return await fn(*args)
    result = await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=True)
    if inspect.isawaitable(result):
        result = await result
    return result


_devnull: TextIO | None = None


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: ours, or nowhere when ours is no real file
    (Jupyter's, a captured one)."""
    global _devnull
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        if _devnull is None:
            _devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open for every server
        return _devnull
    return sys.stderr


def _position(item: tuple[int, Any]) -> int:
    return item[0]


async def _paged(attribute: str, client: Any) -> list[Any]:
    """Every page of a listing (``resources``, ``resource_templates``, ``prompts``), at
    most ``_MAX_LIST_PAGES`` pages and ``_MAX_ITEMS`` items (past either: cut, logged)."""
    method = {
        "resources": client.list_resources,
        "resource_templates": client.list_resource_templates,
        "prompts": client.list_prompts,
    }[attribute]
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(_MAX_LIST_PAGES):
        page = await method(cursor=cursor)
        items.extend(getattr(page, attribute))
        cursor = page.next_cursor
        if cursor is None or len(items) >= _MAX_ITEMS:
            break
        await anyio.lowlevel.checkpoint()
    if cursor is not None:
        get_logger().warning("mcp.list_cut", listing=attribute, kept=min(len(items), _MAX_ITEMS))
    return items[:_MAX_ITEMS]


def _masked_copy(exc: MCPServerError, message: str) -> MCPServerError:
    """``exc`` again with ``message`` (credentials masked), its attributes kept."""
    copy = type(exc).__new__(type(exc))
    copy.__dict__.update(exc.__dict__)
    copy.args = (message,)
    return copy


def _session_gone(exc: Any) -> bool:
    """Whether a Streamable HTTP server answered that it no longer knows the session
    (HTTP 404: it restarted, or the session idled out)."""
    from mcp.types import INVALID_REQUEST

    message = str(exc.message).lower()
    return (
        exc.code == INVALID_REQUEST
        and "session" in message
        and ("not found" in message or "terminated" in message or "expired" in message)
    )


# -- the two flavours -----------------------------------------------------------------------


class AsyncMCPConnection:
    """A connected MCP server for the async client: its tools, and calls to them."""

    __slots__ = ("_detach", "_owner")

    def __init__(self, owner: _SessionOwner, detach: Callable[[_SessionOwner], None]) -> None:
        self._owner = owner
        self._detach = detach

    @property
    def spec(self) -> ServerSpec:
        return self._owner.spec

    @property
    def tools(self) -> list[Any]:
        """The server's tools (``mcp.types.Tool``) selected for registration, as last
        listed."""
        return list(self._owner.tools)

    @property
    def version(self) -> int:
        """Counts the changes of :attr:`tools`."""
        return self._owner.version

    @property
    def listed(self) -> int:
        return self._owner.listed

    @property
    def dropped(self) -> int:
        return self._owner.dropped

    @property
    def connected(self) -> bool:
        return self._owner.connected

    @property
    def last_error(self) -> str | None:
        error = self._owner.last_error
        return None if error is None else self.spec.mask.text(error)

    @property
    def connections(self) -> int:
        return self._owner.connections

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool; its ``CallToolResult``, or :class:`MCPConnectionError` /
        :class:`MCPToolError` within the server's timeout (the server's credentials
        masked in its message)."""
        return await self._request(name, arguments)

    async def _request(
        self,
        name: str,
        arguments: dict[str, Any],
        run: Callable[[Any], Awaitable[Any]] | None = None,
    ) -> Any:
        try:
            return await self._owner.call(name, arguments, run)
        except MCPServerError as exc:
            masked = self.spec.mask.text(str(exc))
            if masked == str(exc):
                raise
            error = _masked_copy(exc, masked)
            raise error from None

    async def list_resources(self) -> list[Any]:
        """The server's resources (``mcp.types.Resource``), every page (bounded)."""
        found: list[Any] = await self._request(
            "resources/list", {}, functools.partial(_paged, "resources")
        )
        return found

    async def list_resource_templates(self) -> list[Any]:
        """The server's resource templates (``mcp.types.ResourceTemplate``), every page."""
        found: list[Any] = await self._request(
            "resources/templates/list", {}, functools.partial(_paged, "resource_templates")
        )
        return found

    async def read_resource(self, uri: str) -> Any:
        """A resource's ``ReadResourceResult``; :class:`MCPResponseTooLargeError` past
        ``max_resource_bytes`` (decoded), :class:`MCPRequestError` when refused."""
        spec = self.spec

        async def read(client: Any) -> Any:
            result = await client.read_resource(uri)
            size = resource_size(result)
            if size > spec.max_resource_bytes:
                raise MCPResponseTooLargeError(
                    f"server {spec.name!r}: resource {uri!r:.200} has {size} bytes, more than "
                    f"max_resource_bytes={spec.max_resource_bytes}",
                    limit=spec.max_resource_bytes,
                )
            return result

        return await self._request(f"resources/read {uri!r:.200}", {}, read)

    async def list_prompts(self) -> list[Any]:
        """The server's prompts (``mcp.types.Prompt``), every page (bounded)."""
        found: list[Any] = await self._request(
            "prompts/list", {}, functools.partial(_paged, "prompts")
        )
        return found

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> Any:
        """A prompt's ``GetPromptResult`` (its content bounded like a resource's)."""
        spec = self.spec

        async def get(client: Any) -> Any:
            result = await client.get_prompt(name, arguments)
            size = resource_size(result)
            if size > spec.max_resource_bytes:
                raise MCPResponseTooLargeError(
                    f"server {spec.name!r}: prompt {name!r:.100} has {size} bytes, more than "
                    f"max_resource_bytes={spec.max_resource_bytes}",
                    limit=spec.max_resource_bytes,
                )
            return result

        return await self._request(f"prompts/get {name!r:.100}", {}, get)

    async def aclose(self) -> None:
        """Disconnect this server (its owner task leaves the session and ends)."""
        self._detach(self._owner)
        with anyio.CancelScope(shield=True):
            await self._owner.aclose()


class AsyncMCPConnections:
    """The MCP server sessions of one async client: one owner task per server, in the task
    group of the client's ``async with`` block (entered and left by the same task)."""

    def __init__(self) -> None:
        self._tg: Any = None
        self._owners: list[_SessionOwner] = []
        self._closed = False

    async def __aenter__(self) -> AsyncMCPConnections:
        if self._tg is not None:
            raise ConfigurationError("this MCP client is already open (nested `async with`)")
        if self._closed:
            raise ClientClosedError("this MCP client was closed; create a new one")
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tg, self._tg = self._tg, None
        try:
            with anyio.CancelScope(shield=True):
                await self.aclose()
        finally:
            if tg is not None:
                # Every owner has ended, so the group is empty. What the block raised is
                # not passed in: it propagates as it is, not wrapped in an exception group.
                await tg.__aexit__(None, None, None)

    async def connect(
        self,
        spec: ServerSpec,
        on_tools_changed: ToolsChanged,
        handlers: ServerHandlers | None = None,
    ) -> AsyncMCPConnection:
        """Start ``spec``'s owner task and wait for its first connection.

        Raises :class:`MCPConnectionError` naming the server when it cannot be reached
        (:class:`MCPAuthError` when its OAuth failed).
        """
        require_sdk()
        if self._closed:
            raise ClientClosedError("this MCP client was closed; create a new one")
        if self._tg is None:
            raise ConfigurationError(
                "AsyncMCPClient connects MCP servers inside `async with AsyncMCPClient(...) as "
                "client:` - each server's session is owned by a task of that block, so it is "
                "entered and left by the same task (use MCPClient to connect without one)"
            )
        owner = _SessionOwner(spec, on_tools_changed, handlers)
        self._owners.append(owner)
        self._tg.start_soon(owner.run, name=f"mbxai-mcp-{spec.name}")
        try:
            connected = await owner.wait_connected()
        except BaseException:
            self._detach(owner)
            with anyio.CancelScope(shield=True):
                await owner.aclose()
            raise
        if not connected:
            self._detach(owner)
            await owner.aclose()
            if owner.fatal is not None:
                raise owner.fatal
            why = spec.mask.text(owner.last_error or "no answer in time")
            if owner.auth_error is not None:
                raise MCPAuthError(
                    f"could not connect to MCP server {spec.name!r} ({spec.where}): {why}",
                    server=spec.name,
                )
            raise MCPConnectionError(
                f"could not connect to MCP server {spec.name!r} ({spec.where}): {why}"
            )
        return AsyncMCPConnection(owner, self._detach)

    def _detach(self, owner: _SessionOwner) -> None:
        with contextlib.suppress(ValueError):
            self._owners.remove(owner)

    async def aclose(self) -> None:
        """Disconnect every server (concurrently, each bounded). The task group itself is
        left by the ``async with`` block that entered it."""
        self._closed = True
        owners, self._owners = self._owners, []
        if owners:
            async with anyio.create_task_group() as tg:
                for owner in owners:
                    tg.start_soon(owner.aclose)


class MCPConnection:
    """A connected MCP server for the sync client (the owner runs on mbxai's background
    event loop; calls block until it answers, bounded by the server's timeout)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: AsyncMCPConnection) -> None:
        self._inner = inner

    @property
    def spec(self) -> ServerSpec:
        return self._inner.spec

    @property
    def tools(self) -> list[Any]:
        return self._inner.tools

    @property
    def version(self) -> int:
        return self._inner.version

    @property
    def listed(self) -> int:
        return self._inner.listed

    @property
    def dropped(self) -> int:
        return self._inner.dropped

    @property
    def connected(self) -> bool:
        return self._inner.connected

    @property
    def last_error(self) -> str | None:
        return self._inner.last_error

    @property
    def connections(self) -> int:
        return self._inner.connections

    def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return run_coroutine_blocking(self._inner.call_tool, name, arguments)

    def list_resources(self) -> list[Any]:
        return run_coroutine_blocking(self._inner.list_resources)

    def list_resource_templates(self) -> list[Any]:
        return run_coroutine_blocking(self._inner.list_resource_templates)

    def read_resource(self, uri: str) -> Any:
        return run_coroutine_blocking(self._inner.read_resource, uri)

    def list_prompts(self) -> list[Any]:
        return run_coroutine_blocking(self._inner.list_prompts)

    def get_prompt(self, name: str, arguments: dict[str, str] | None = None) -> Any:
        return run_coroutine_blocking(self._inner.get_prompt, name, arguments)

    def close(self) -> None:
        run_coroutine_blocking(self._inner.aclose)


class MCPConnections:
    """The MCP server sessions of one sync client: the owners of
    :class:`AsyncMCPConnections`, run on mbxai's background event loop (started on the
    first connection, so no ``with`` block is needed)."""

    def __init__(self) -> None:
        self._hub = AsyncMCPConnections()
        self._running: AbstractContextManager[Any] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def __enter__(self) -> MCPConnections:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def connect(
        self,
        spec: ServerSpec,
        on_tools_changed: ToolsChanged,
        handlers: ServerHandlers | None = None,
    ) -> MCPConnection:
        require_sdk()
        with self._lock:
            if self._closed:
                raise ClientClosedError("this MCP client was closed; create a new one")
            if self._running is None:
                running = run_context_blocking(self._hub)
                running.__enter__()
                self._running = running
        return MCPConnection(
            run_coroutine_blocking(self._hub.connect, spec, on_tools_changed, handlers)
        )

    def close(self) -> None:
        """Disconnect every server and stop their owner tasks."""
        with self._lock:
            running, self._running = self._running, None
            self._closed = True
        if running is not None:
            running.__exit__(None, None, None)
