"""The MCP client: the tools of Model Context Protocol servers, in the tool loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from .._checks import check_bool
from .._concurrency import async_call_blocking
from .._errors import ConfigurationError, MCPConnectionError, MCPToolError
from .._function_schema import Tool, build_tool
from .._logging import get_logger
from .._mcp import (
    DEFAULT_MAX_TOOLS,
    DEFAULT_TIMEOUT,
    ApprovalRule,
    Budget,
    MCPServerInfo,
    RenamedTool,
    ServerSpec,
    approval_rules,
    format_call_result,
    model_tool_name,
    server_spec,
)
from .._mcp_sessions import AsyncMCPConnection, AsyncMCPConnections
from .._seed import AsyncMCPSeedMethods
from .client import AsyncOpenRouterClient
from .tools import AsyncToolClient

__all__ = ["AsyncMCPClient"]


class _Mounted:
    """A registered server: its connection and its tools' registry names."""

    __slots__ = ("approval", "connection", "names", "namespace", "version")

    def __init__(
        self,
        connection: AsyncMCPConnection,
        namespace: bool,
        approval: Callable[[str], ApprovalRule],
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        #: The server's tool name -> its ``requires_approval`` rule.
        self.approval = approval
        #: registry name -> the server's tool name
        self.names: dict[str, str] = {}
        #: The version of the server's tool list registered now (-1: none yet).
        self.version = -1


class _Plan:
    """A server's tools built for the registry (in a worker thread), to put in place."""

    __slots__ = ("mounted", "tools", "version")

    def __init__(self, mounted: _Mounted, version: int, tools: dict[str, tuple[str, Tool]]) -> None:
        self.mounted = mounted
        self.version = version
        #: registry name -> (the server's tool name, the tool)
        self.tools = tools


class AsyncMCPClient(AsyncToolClient, AsyncMCPSeedMethods):
    """A tool client that also offers the tools of MCP servers to the model.

    ``register_mcp_server`` connects with the official ``mcp`` SDK (``pip install
    'mbxai[mcp]'``) over Streamable HTTP, SSE or stdio, performs the initialize handshake,
    lists the server's tools and registers them next to your local tools: their JSON
    schema is the server's ``inputSchema`` as is, and the model's calls go to the server.
    Results come back to the model as text (``structuredContent`` as JSON), and a
    server's error results (``isError``) as errors.

    Each server's session is owned by one task of the ``async with`` block, which enters
    and leaves the SDK's context managers itself; a dropped server is reconnected with
    bounded backoff, and while it is down its tools answer the model "server X
    unavailable: ..." while the other servers keep working. Every wait is bounded by the
    server's ``timeout``. When a server announces that its tools changed
    (``notifications/tools/list_changed``), they are listed again and re-registered.

    Use it as ``async with AsyncMCPClient(openrouter_client) as client:``; leaving the
    block disconnects every server and closes the wrapped client.

    Args:
        openrouter_client: The chat client that talks to the model.
        **options: The tool client's options (``max_tool_rounds``, ...), passed on to
            :class:`AsyncToolClient`.
    """

    def __init__(self, openrouter_client: AsyncOpenRouterClient, **options: Any) -> None:
        super().__init__(openrouter_client, **options)
        self._connections = AsyncMCPConnections()
        self._servers: dict[str, _Mounted] = {}
        #: Names being registered right now (two registrations of one name: one fails).
        self._pending: set[str] = set()
        # Registry changes for MCP tools: built in worker threads, put in place under this.
        self._mount_lock = threading.Lock()

    def __repr__(self) -> str:
        names = [tool.name for tool in self._tools]
        return (
            f"{type(self).__name__}(client={self._client!r}, "
            f"mcp_servers={list(self._servers)!r}, tools={names!r})"
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncMCPClient:
        await self._connections.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._connections.__aexit__(exc_type, exc, tb)
        finally:
            self._servers.clear()
            await self._client.aclose()

    async def aclose(self) -> None:
        """Disconnect every MCP server and close the wrapped client."""
        try:
            await self._connections.aclose()
        finally:
            self._servers.clear()
            await self._client.aclose()

    # -- servers --------------------------------------------------------------------------

    @property
    def mcp_servers(self) -> Mapping[str, MCPServerInfo]:
        """The registered MCP servers by name, with their state and tools (a snapshot)."""
        return {
            name: MCPServerInfo(
                name=name,
                transport=mounted.connection.spec.transport,
                where=mounted.connection.spec.where,
                connected=mounted.connection.connected,
                tools=dict(mounted.names),
                last_error=mounted.connection.last_error,
                connections=mounted.connection.connections,
                listed=mounted.connection.listed,
                dropped=mounted.connection.dropped,
            )
            for name, mounted in list(self._servers.items())
        }

    async def register_mcp_server(
        self,
        name: str,
        target: Any,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | SecretStr | None = None,
        transport: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        namespace: bool = False,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] | None = None,
        tool_filter: Callable[[Any], bool] | None = None,
        max_tools: int | None = DEFAULT_MAX_TOOLS,
        requires_approval: ApprovalRule | Mapping[str, ApprovalRule] = False,
    ) -> list[str]:
        """Connect to an MCP server and register its tools; returns their registry names.

        Args:
            name: The server's name (1-48 letters, digits, ``_`` or ``-``).
            target: Where the server is. A URL is Streamable HTTP (a bare base URL such
                as ``http://localhost:8000`` means its ``/mcp`` endpoint); a URL whose path
                ends in ``/sse``, or ``transport="sse"``, is the older SSE transport. A
                command (a string, split like a shell would, or a list of arguments) or an
                ``mcp.StdioServerParameters`` is started and spoken to over stdio; the
                process ends when the server is unregistered or the client closes.
            headers: HTTP headers sent with every request to this server, and no other.
                Their values are credentials: masked in what the server sends back.
            token: A bearer token for this server (``Authorization: Bearer ...``); the
                model never sees it, even when the server echoes it (it is replaced by
                ``[hidden]`` in the server's results and errors).
            transport: ``"http"``, ``"sse"`` or ``"stdio"`` to override the guess.
            timeout: Seconds allowed for registering (handshake, tool listing and building
                the tools included) and for each tool call; past it the model is told the
                server did not answer.
            namespace: Always name the tools ``<server>__<tool>``. By default a tool keeps
                its own name unless that is taken (by a local tool or another server's),
                and only then gets the ``<server>__<tool>`` name. Names are made valid
                for the model (``^[a-zA-Z0-9_-]{1,64}$``) and stay stable while the client
                lives.
            allow: Register only these of the server's tools: their own names or fnmatch
                patterns (``["search", "get_*"]``). ``None``: all.
            deny: Never register these (names or patterns); wins over ``allow``.
            tool_filter: Called with each ``mcp.types.Tool`` that passed ``allow`` and
                ``deny``; register it only if it returns True.
            max_tools: At most this many of the server's tools (after the filters);
                ``None`` for no cap. A server offering more is refused with
                :class:`MCPTooManyToolsError`; if its list grows past the cap later, the
                tools registered stay and only the first new ones up to the cap are added
                (a warning is logged, and ``mcp_servers[name].dropped`` counts the rest).
                Filters and cap apply to every new list the server announces.
            requires_approval: The server's tools run only once a human approved the
                call: ``True`` for all of them, a function of a call's arguments deciding
                per call, or a mapping of the server's own tool names to either (tools
                not named need none). See :meth:`register_tool`.

        Raises:
            ConfigurationError: Bad arguments, a name already registered, no ``mcp`` SDK,
                or an ``AsyncMCPClient`` used outside its ``async with`` block.
            MCPTooManyToolsError: The server offers more tools than ``max_tools``.
            MCPConnectionError: The server could not be reached or its tools were not
                listed and registered within ``timeout``; nothing is left running.
        """
        spec = server_spec(
            name,
            target,
            headers=headers,
            token=token,
            transport=transport,
            timeout=timeout,
            allow=allow,
            deny=deny,
            tool_filter=tool_filter,
            max_tools=max_tools,
        )
        namespace = check_bool("namespace", namespace)
        approval = approval_rules(name, requires_approval)
        with self._mount_lock:
            if name in self._servers or name in self._pending:
                raise ConfigurationError(f"an MCP server named {name!r} is already registered")
            self._pending.add(name)
        try:
            return await self._register(spec, namespace, approval)
        finally:
            with self._mount_lock:
                self._pending.discard(name)

    async def _register(
        self, spec: ServerSpec, namespace: bool, approval: Callable[[str], ApprovalRule]
    ) -> list[str]:
        name = spec.name
        budget = Budget(spec.timeout)
        connection = await self._connections.connect(
            spec, lambda tools, version, work: self._prepare_tools(name, tools, version, work)
        )
        mounted = _Mounted(connection, namespace, approval)
        with self._mount_lock:
            self._servers[name] = mounted
        try:
            # The server's list may change while its tools are built: build until the
            # latest one is in place (a newer one is put in place by whoever built it).
            while mounted.version < connection.version:
                version, tools = connection.version, connection.tools
                plan = await async_call_blocking(self._plan_tools, mounted, tools, version, budget)
                self._apply_plan(plan)
        except BaseException as exc:
            self._unmount(name, mounted)
            await connection.aclose()
            if isinstance(exc, TimeoutError):
                raise MCPConnectionError(
                    f"could not register MCP server {name!r} ({spec.where}): its "
                    f"{len(connection.tools)} tools were not registered within "
                    f"{spec.timeout:g} s (timeout=)"
                ) from None
            raise
        get_logger().info("mcp.registered", server=name, tools=sorted(mounted.names))
        return list(mounted.names)

    async def unregister_mcp_server(self, name: str) -> None:
        """Remove a server's tools and disconnect it (a stdio server's process ends)."""
        mounted = self._servers.get(name)
        if mounted is None:
            raise ConfigurationError(f"no MCP server named {name!r} is registered")
        self._unmount(name, mounted)
        await mounted.connection.aclose()

    # -- tools ----------------------------------------------------------------------------

    def _prepare_tools(
        self, server: str, tools: Sequence[Any], version: int, budget: Budget
    ) -> Callable[[], None] | None:
        """The connection's callback for a changed tool list (in a worker thread)."""
        mounted = self._servers.get(server)
        if mounted is None:  # not registered yet (the registrar builds it) or gone
            return None
        plan = self._plan_tools(mounted, tools, version, budget)
        return lambda: self._apply_plan(plan)

    def _plan_tools(
        self, mounted: _Mounted, tools: Sequence[Any], version: int, budget: Budget
    ) -> _Plan:
        """Build ``tools`` for the registry, keeping the names they already had.

        The heavy part (a schema checked per tool) runs in a worker thread, without the
        registry: only names are read here, under the lock. ``budget`` bounds it.
        """
        spec = mounted.connection.spec
        server, mask = spec.name, spec.mask
        with self._mount_lock:
            own = set(mounted.names)
            taken = {tool.name for tool in self._tools if tool.name not in own}
            previous = {mcp_name: model_name for model_name, mcp_name in mounted.names.items()}
        built: dict[str, tuple[str, Tool]] = {}
        for mcp_tool in tools:
            budget.check()
            kept = previous.get(mcp_tool.name)
            model_name = (
                kept
                if kept is not None and kept not in taken
                else model_tool_name(
                    server, mask.text(mcp_tool.name), taken, namespace=mounted.namespace
                )
            )
            tool = self._build_tool(spec.name, model_name, mcp_tool, mask, mounted.approval)
            if tool is None:
                continue
            taken.add(model_name)
            built[model_name] = (mcp_tool.name, tool)
        return _Plan(mounted, version, built)

    def _build_tool(
        self,
        server: str,
        model_name: str,
        mcp_tool: Any,
        mask: Any,
        approval: Callable[[str], ApprovalRule],
    ) -> Tool | None:
        try:
            return build_tool(
                model_name,
                mask.text(mcp_tool.description or ""),
                self._tool_function(server, mcp_tool.name),
                mask.data(mcp_tool.input_schema),
                requires_approval=approval(mcp_tool.name),
            )
        except Exception as exc:  # one malformed tool does not hide the others
            get_logger().warning(
                "mcp.tool_skipped", server=server, tool=mcp_tool.name, error=str(exc)[:500]
            )
            return None

    def _apply_plan(self, plan: _Plan) -> None:
        """Put built tools in place of the server's previous ones (quick: no schema work).

        A plan older than what is registered is dropped; a name another tool took since
        it was built gets a new one (rebuilt, rare).
        """
        mounted = plan.mounted
        with self._mount_lock:
            server = mounted.connection.spec.name
            if self._servers.get(server) is not mounted or plan.version <= mounted.version:
                return
            for old_name in mounted.names:
                if old_name in self._tools:
                    self._tools.remove(old_name)
            names: dict[str, str] = {}
            for model_name, (mcp_name, tool) in plan.tools.items():
                if model_name in self._tools:  # taken meanwhile (a local tool registered)
                    taken = {t.name for t in self._tools} | set(plan.tools)
                    renamed = model_tool_name(
                        server,
                        mounted.connection.spec.mask.text(mcp_name),
                        taken,
                        namespace=True,
                    )
                    rebuilt = self._build_tool(
                        server,
                        renamed,
                        RenamedTool(mcp_name, tool),
                        mounted.connection.spec.mask,
                        mounted.approval,
                    )
                    if rebuilt is None:
                        continue
                    model_name, tool = renamed, rebuilt
                self._tools.add(tool)
                names[model_name] = mcp_name
            mounted.names = names
            mounted.version = plan.version

    def _unmount(self, server: str, mounted: _Mounted) -> None:
        """Remove a server and its tools from the registry."""
        with self._mount_lock:
            if self._servers.get(server) is mounted:
                del self._servers[server]
            for tool_name in mounted.names:
                if tool_name in self._tools:
                    self._tools.remove(tool_name)
            mounted.names = {}

    def _tool_function(self, server: str, tool: str) -> Callable[..., Any]:
        async def call_mcp_tool(**arguments: Any) -> str:
            return await self._call_mcp_tool(server, tool, arguments)

        return call_mcp_tool

    async def _call_mcp_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        mounted = self._servers.get(server)
        if mounted is None:
            raise MCPConnectionError(f"server {server!r} unavailable: it was unregistered")
        result = await mounted.connection.call_tool(tool, arguments)
        # In a worker thread: masking a result of megabytes must not stall the loop.
        text, is_error = await async_call_blocking(
            format_call_result, result, mounted.connection.spec.mask
        )
        if is_error:
            raise MCPToolError(text)
        return text
