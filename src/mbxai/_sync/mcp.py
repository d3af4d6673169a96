# This file is generated from src/mbxai/_async/mcp.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The MCP client: the tools of Model Context Protocol servers, in the tool loop."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar

from pydantic import SecretStr

from .._compat import MCPSeedCompat
from .._errors import ConfigurationError
from .._logging import get_logger
from .._mcp import (
    DEFAULT_TIMEOUT,
    MCPConnectionError,
    MCPServerInfo,
    MCPToolError,
    format_call_result,
    model_tool_name,
    server_spec,
)
from .._mcp_compat import MCPConnection, MCPConnections
from .._tools import build_tool
from .client import OpenRouterClient
from .tools import ToolClient

__all__ = ["MCPClient"]


class _Mounted:
    """A registered server: its connection and its tools' registry names."""

    __slots__ = ("connection", "names", "namespace")

    def __init__(self, connection: MCPConnection, namespace: bool) -> None:
        self.connection = connection
        self.namespace = namespace
        #: registry name -> the server's tool name
        self.names: dict[str, str] = {}


class MCPClient(ToolClient, MCPSeedCompat):
    """A tool client that also offers the tools of MCP servers to the model.

    ``register_mcp_server`` connects with the official ``mcp`` SDK (``pip install
    'mbxai[mcp]'``) over Streamable HTTP, SSE or stdio, performs the initialize handshake,
    lists the server's tools and registers them next to your local tools: their JSON
    schema is the server's ``inputSchema`` as is, and the model's calls go to the server.
    Results come back to the model as text (``structuredContent`` as JSON), and a
    server's error results (``isError``) as errors.

    Each server's session is owned by one task of the ``with`` block, which enters
    and leaves the SDK's context managers itself; a dropped server is reconnected with
    bounded backoff, and while it is down its tools answer the model "server X
    unavailable: ..." while the other servers keep working. Every wait is bounded by the
    server's ``timeout``. When a server announces that its tools changed
    (``notifications/tools/list_changed``), they are listed again and re-registered.

    Use it as ``with MCPClient(openrouter_client) as client:``; leaving the
    block disconnects every server and closes the wrapped client.

    Args:
        openrouter_client: The chat client that talks to the model.
        **options: The tool client's options (``max_tool_rounds``, ...), passed on to
            :class:`ToolClient`.
    """

    #: The sync client's async twin shares the tool registry (MCP tools included), not
    #: the connections: those stay with the sync client, whose tools work from the twin.
    _twin_shared: ClassVar[tuple[str, ...]] = ("_tools",)

    def __init__(self, openrouter_client: OpenRouterClient, **options: Any) -> None:
        super().__init__(openrouter_client, **options)
        self._connections = MCPConnections()
        self._servers: dict[str, _Mounted] = {}

    def __repr__(self) -> str:
        names = [tool.name for tool in self._tools]
        return (
            f"{type(self).__name__}(client={self._client!r}, "
            f"mcp_servers={list(self._servers)!r}, tools={names!r})"
        )

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> MCPClient:
        self._connections.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._connections.__exit__(exc_type, exc, tb)
        finally:
            self._servers.clear()
            self._client.close()

    def close(self) -> None:
        """Disconnect every MCP server and close the wrapped client."""
        try:
            self._connections.close()
        finally:
            self._servers.clear()
            self._client.close()

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
            )
            for name, mounted in self._servers.items()
        }

    def register_mcp_server(
        self,
        name: str,
        target: Any,
        *,
        headers: Mapping[str, str] | None = None,
        token: str | SecretStr | None = None,
        transport: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        namespace: bool = False,
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
            token: A bearer token for this server (``Authorization: Bearer ...``).
            transport: ``"http"``, ``"sse"`` or ``"stdio"`` to override the guess.
            timeout: Seconds allowed for connecting (handshake and tool listing included)
                and for each tool call; past it the model is told the server did not
                answer.
            namespace: Always name the tools ``<server>__<tool>``. By default a tool keeps
                its own name unless that is taken (by a local tool or another server's),
                and only then gets the ``<server>__<tool>`` name. Names are made valid
                for the model (``^[a-zA-Z0-9_-]{1,64}$``) and stay stable while the client
                lives.

        Raises:
            ConfigurationError: Bad arguments, a name already registered, no ``mcp`` SDK,
                or an ``MCPClient`` used outside its ``with`` block.
            MCPConnectionError: The server could not be reached or did not complete the
                handshake and tool listing in time; nothing is left running.
        """
        spec = server_spec(
            name, target, headers=headers, token=token, transport=transport, timeout=timeout
        )
        if name in self._servers:
            raise ConfigurationError(f"an MCP server named {name!r} is already registered")
        connection = self._connections.connect(spec, lambda tools: self._mount_tools(name, tools))
        mounted = _Mounted(connection, bool(namespace))
        self._servers[name] = mounted
        self._mount_tools(name, connection.tools)
        get_logger().info("mcp.registered", server=name, tools=sorted(mounted.names))
        return list(mounted.names)

    def unregister_mcp_server(self, name: str) -> None:
        """Remove a server's tools and disconnect it (a stdio server's process ends)."""
        mounted = self._servers.pop(name, None)
        if mounted is None:
            raise ConfigurationError(f"no MCP server named {name!r} is registered")
        for tool_name in mounted.names:
            if tool_name in self._tools:
                self._tools.remove(tool_name)
        mounted.connection.close()

    # -- tools ----------------------------------------------------------------------------

    def _mount_tools(self, server: str, tools: Sequence[Any]) -> None:
        """(Re-)register ``server``'s tools, keeping the names they already had."""
        mounted = self._servers.get(server)
        if mounted is None:
            return
        previous = {mcp_name: model_name for model_name, mcp_name in mounted.names.items()}
        for old_name in mounted.names:
            if old_name in self._tools:
                self._tools.remove(old_name)
        names: dict[str, str] = {}
        for mcp_tool in tools:
            taken = {tool.name for tool in self._tools}
            kept = previous.get(mcp_tool.name)
            model_name = (
                kept
                if kept is not None and kept not in taken
                else model_tool_name(server, mcp_tool.name, taken, namespace=mounted.namespace)
            )
            try:
                tool = build_tool(
                    model_name,
                    mcp_tool.description or "",
                    self._tool_function(server, mcp_tool.name),
                    mcp_tool.input_schema,
                )
            except ConfigurationError as exc:  # one malformed tool does not hide the others
                get_logger().warning(
                    "mcp.tool_skipped", server=server, tool=mcp_tool.name, error=str(exc)
                )
                continue
            self._tools.add(tool)
            names[model_name] = mcp_tool.name
        mounted.names = names

    def _tool_function(self, server: str, tool: str) -> Callable[..., Any]:
        def call_mcp_tool(**arguments: Any) -> str:
            return self._call_mcp_tool(server, tool, arguments)

        return call_mcp_tool

    def _call_mcp_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> str:
        mounted = self._servers.get(server)
        if mounted is None:
            raise MCPConnectionError(f"server {server!r} unavailable: it was unregistered")
        result = mounted.connection.call_tool(tool, arguments)
        text, is_error = format_call_result(result)
        if is_error:
            raise MCPToolError(text)
        return text
