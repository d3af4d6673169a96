"""The MCP client: the tools of Model Context Protocol servers, in the tool loop."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from .._checks import check_bool, check_number
from .._concurrency import async_call_blocking
from .._errors import ConfigurationError, MCPConnectionError, MCPToolError
from .._function_schema import Tool, build_tool
from .._logging import get_logger
from .._mcp import (
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_MAX_RESOURCE_BYTES,
    DEFAULT_MAX_TOOLS,
    DEFAULT_TIMEOUT,
    ApprovalRule,
    Budget,
    MCPServerInfo,
    RenamedTool,
    ServerSpec,
    approval_rules,
    format_call_result,
    format_resource,
    model_tool_name,
    prompt_messages,
    server_spec,
)
from .._mcp_auth import MCPOAuth
from .._mcp_interactive import (
    ElicitationHandler,
    MCPSampling,
    check_elicitation_handler,
    check_roots,
    completion_result,
    sampling_request,
)
from .._mcp_sessions import AsyncMCPConnection, AsyncMCPConnections, ServerHandlers
from .._seed import AsyncMCPSeedMethods
from .._usage import activate
from ..agent.models import HumanInLoopRequest, HumanInLoopResponse
from .client import AsyncOpenRouterClient
from .tools import AsyncToolClient

__all__ = ["AsyncMCPClient"]


class _Mounted:
    """A registered server: its connection and its tools' registry names."""

    __slots__ = (
        "approval",
        "connection",
        "elicitation",
        "names",
        "namespace",
        "resource_tool",
        "version",
    )

    def __init__(
        self,
        connection: AsyncMCPConnection,
        namespace: bool,
        approval: Callable[[str], ApprovalRule],
        elicitation: Any = None,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        #: The server's tool name -> its ``requires_approval`` rule.
        self.approval = approval
        #: The elicitation handler (asked for pending human requests when it has them).
        self.elicitation = elicitation
        #: registry name -> the server's tool name
        self.names: dict[str, str] = {}
        #: The version of the server's tool list registered now (-1: none yet).
        self.version = -1
        #: The registry name of the server's resource-reading tool (``resources_tool=``).
        self.resource_tool: str | None = None


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
        auth: MCPOAuth | None = None,
        sampling: MCPSampling | None = None,
        elicitation: ElicitationHandler | None = None,
        elicitation_timeout: float = 300.0,
        roots: Iterable[Any] | None = None,
        resources_tool: bool = False,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_resource_bytes: int = DEFAULT_MAX_RESOURCE_BYTES,
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
            auth: OAuth for a remote server (:class:`~mbxai.MCPOAuth`: token store,
                the authorization step); not with ``token``/``headers``.
            sampling: Answer the server's sampling requests with this
                :class:`~mbxai.MCPSampling` (a chat client of yours, under its usage
                limits); without it they are refused.
            elicitation: Answer the server's requests for user input: a function (sync or
                async) of an :class:`~mbxai.ElicitationRequest`, or a
                :class:`~mbxai.HumanElicitation` (human-in-the-loop requests, for agents);
                without it they are refused.
            elicitation_timeout: Seconds an elicitation may wait for its answer; then the
                server is told "cancel".
            roots: The folders (paths or ``file://`` URIs, or ``(path, name)`` pairs)
                the server is told it may work in when it asks; without it, it is told
                nothing.
            resources_tool: Also register a tool reading the server's resources
                (``<server>__read_resource``), its description listing them.
            max_message_bytes: The largest message read from an HTTP server (a JSON
                answer, an event); larger ones fail the request.
            max_resource_bytes: The largest resource (or prompt) kept, decoded.

        Raises:
            ConfigurationError: Bad arguments, a name already registered, no ``mcp`` SDK,
                or an ``AsyncMCPClient`` used outside its ``async with`` block.
            MCPTooManyToolsError: The server offers more tools than ``max_tools``.
            MCPConnectionError: The server could not be reached or its tools were not
                listed and registered within ``timeout``; nothing is left running.
            MCPAuthError: Its OAuth failed, or the authorization was not completed.
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
            auth=auth,
            max_message_bytes=max_message_bytes,
            max_resource_bytes=max_resource_bytes,
        )
        namespace = check_bool("namespace", namespace)
        resources_tool = check_bool("resources_tool", resources_tool)
        approval = approval_rules(name, requires_approval)
        handlers = self._handlers(name, sampling, elicitation, elicitation_timeout, roots)
        with self._mount_lock:
            if name in self._servers or name in self._pending:
                raise ConfigurationError(f"an MCP server named {name!r} is already registered")
            self._pending.add(name)
        try:
            names = await self._register(spec, namespace, approval, handlers)
            if resources_tool:
                names.append(await self._mount_resource_tool(name))
            return names
        finally:
            with self._mount_lock:
                self._pending.discard(name)

    def _handlers(
        self,
        server: str,
        sampling: Any,
        elicitation: Any,
        elicitation_timeout: Any,
        roots: Any,
    ) -> ServerHandlers:
        """``register_mcp_server``'s answers to the server's own requests, checked."""
        if sampling is not None and not isinstance(sampling, MCPSampling):
            raise ConfigurationError(
                f"MCP server {server!r}: sampling must be an MCPSampling, got "
                f"{type(sampling).__name__}"
            )
        if sampling is not None and self._sampling_flavour(sampling):
            raise ConfigurationError(
                f"MCP server {server!r}: MCPSampling needs a chat client of this flavour "
                f"({type(self._client).__name__}-like), got {type(sampling.client).__name__}"
            )
        check_number("elicitation_timeout", elicitation_timeout, positive=True)
        return ServerHandlers(
            sample=functools.partial(self._sample, server, sampling) if sampling else None,
            sampling=sampling,
            elicit=check_elicitation_handler(elicitation),
            elicitation_timeout=min(float(elicitation_timeout), 3600.0),
            roots=check_roots(roots),
        )

    async def _register(
        self,
        spec: ServerSpec,
        namespace: bool,
        approval: Callable[[str], ApprovalRule],
        handlers: ServerHandlers,
    ) -> list[str]:
        name = spec.name
        budget = Budget(spec.timeout)
        connection = await self._connections.connect(
            spec,
            lambda tools, version, work: self._prepare_tools(name, tools, version, work),
            handlers,
        )
        elicitation = handlers.elicit
        mounted = _Mounted(connection, namespace, approval, elicitation)
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

    def _sampling_flavour(self, sampling: MCPSampling) -> bool:
        """Whether ``sampling``'s client is of the other flavour than this client's."""
        return inspect.iscoroutinefunction(sampling.client.create) != (
            inspect.iscoroutinefunction(self._client.create)
        )

    async def _sample(self, server: str, policy: MCPSampling, params: Any) -> dict[str, Any]:
        """Answer a server's sampling request with the policy's client, under its meter."""
        request = sampling_request(server, params, policy)
        if policy.approve is not None and policy.approve(request) is not True:
            raise ValueError("the client's user refused this sampling request")
        options: dict[str, Any] = {"max_tokens": request.max_tokens}
        if policy.model is not None:
            options["model"] = policy.model
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.stop:
            options["stop"] = request.stop
        with activate(policy.meter):
            completion = await policy.client.create(request.messages, **options)
        get_logger().info("mcp.sampled", server=server, spent=policy.spent.model_dump())
        return completion_result(completion)

    # -- resources and prompts ------------------------------------------------------------

    def _connection(self, server: str) -> AsyncMCPConnection:
        mounted = self._servers.get(server)
        if mounted is None:
            raise ConfigurationError(f"no MCP server named {server!r} is registered")
        return mounted.connection

    async def list_resources(self, server: str) -> list[Any]:
        """The resources (``mcp.types.Resource``: ``uri``, ``name``, ``mime_type``...)
        the server ``server`` offers, every page (at most 10,000)."""
        with self._trace_mcp(server, "resources/list"):
            return await self._connection(server).list_resources()

    async def list_resource_templates(self, server: str) -> list[Any]:
        """The server's resource templates (``mcp.types.ResourceTemplate``:
        ``uri_template``...), every page."""
        with self._trace_mcp(server, "resources/templates/list"):
            return await self._connection(server).list_resource_templates()

    async def read_resource(self, server: str, uri: str) -> Any:
        """Read one of the server's resources: its ``mcp.types.ReadResourceResult``
        (``contents``: text or base64 blobs).

        Raises :class:`~mbxai.MCPResponseTooLargeError` past ``max_resource_bytes`` (or a
        message past ``max_message_bytes``), :class:`~mbxai.MCPRequestError` when the
        server refuses, :class:`MCPConnectionError` when it does not answer in time.
        """
        if not isinstance(uri, str) or not uri:
            raise ConfigurationError(f"uri must be a non-empty string, got {uri!r:.60}")
        with self._trace_mcp(server, "resources/read", uri=uri):
            return await self._connection(server).read_resource(uri)

    async def list_prompts(self, server: str) -> list[Any]:
        """The server's prompts (``mcp.types.Prompt``: ``name``, ``description``,
        ``arguments``), every page."""
        with self._trace_mcp(server, "prompts/list"):
            return await self._connection(server).list_prompts()

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, Any] | None = None
    ) -> Any:
        """Get one of the server's prompts, filled in with ``arguments`` (values sent as
        strings): its ``mcp.types.GetPromptResult``. :meth:`prompt_messages` gives it as
        chat messages."""
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"prompt name must be a non-empty string, got {name!r:.60}")
        if arguments is not None and not isinstance(arguments, Mapping):
            raise ConfigurationError("prompt arguments must be a mapping of names to values")
        values = None if arguments is None else {str(k): str(v) for k, v in arguments.items()}
        with self._trace_mcp(server, "prompts/get", name):
            return await self._connection(server).get_prompt(name, values)

    async def prompt_messages(
        self, server: str, name: str, arguments: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """One of the server's prompts as chat messages, ready for :meth:`chat` (the
        server's credentials masked)."""
        result = await self.get_prompt(server, name, arguments)
        return prompt_messages(result, self._connection(server).spec.mask)

    async def _mount_resource_tool(self, server: str) -> str:
        """Register ``<server>__read_resource``: the model reads the server's resources."""
        mounted = self._servers[server]
        spec = mounted.connection.spec
        try:
            listed = await mounted.connection.list_resources()
        except MCPConnectionError:
            raise
        except Exception as exc:  # a server without resources: the tool says so when used
            get_logger().warning("mcp.resources_unlisted", server=server, error=str(exc)[:300])
            listed = []
        shown = [
            f"- {spec.mask.text(str(resource.uri))}: "
            f"{spec.mask.text(resource.description or resource.name or '')}"[:200]
            for resource in listed[:50]
        ]
        more = f"\n(and {len(listed) - 50} more)" if len(listed) > 50 else ""
        description = f"Read a resource of the MCP server {server!r} by its URI." + (
            "\nIts resources:\n" + "\n".join(shown) + more if shown else ""
        )

        async def read_resource(uri: str) -> str:
            """Read a resource.

            Args:
                uri: The resource's URI
            """
            connection = self._connection(server)
            result = await connection.read_resource(uri)
            return await async_call_blocking(format_resource, result, connection.spec.mask)

        with self._mount_lock:
            taken = {tool.name for tool in self._tools}
            model_name = model_tool_name(server, "read_resource", taken, namespace=True)
            self._tools.add(build_tool(model_name, description, read_resource))
            mounted.resource_tool = model_name
        return model_name

    # -- requests waiting for a human -------------------------------------------------------

    def pending_human_requests(self) -> list[HumanInLoopRequest]:
        """What the registered servers wait on a human for now: their elicitations (with a
        :class:`~mbxai.HumanElicitation`) and OAuth authorizations (without an
        ``authorize`` function), as agent requests. Answer them with
        :meth:`answer_human_request`."""
        requests: list[HumanInLoopRequest] = []
        for mounted in list(self._servers.values()):
            for source in (mounted.elicitation, mounted.connection.spec.auth):
                pending = getattr(source, "pending_human_requests", None)
                if callable(pending):
                    requests.extend(pending())
        return requests

    def answer_human_request(self, response: HumanInLoopResponse) -> bool:
        """Deliver a human's answer to one of :meth:`pending_human_requests`; whether it
        was one of them (:class:`~mbxai.HumanResponseError` when it does not fit)."""
        for mounted in list(self._servers.values()):
            for source in (mounted.elicitation, mounted.connection.spec.auth):
                answer = getattr(source, "answer_human_request", None)
                if callable(answer) and answer(response):
                    return True
        return False

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
            for tool_name in [*mounted.names, mounted.resource_tool]:
                if tool_name is not None and tool_name in self._tools:
                    self._tools.remove(tool_name)
            mounted.names = {}
            mounted.resource_tool = None

    def _tool_function(self, server: str, tool: str) -> Callable[..., Any]:
        async def call_mcp_tool(**arguments: Any) -> str:
            with self._trace_mcp(server, "tools/call", tool):
                return await self._call_mcp_tool(server, tool, arguments)

        return call_mcp_tool

    def _trace_mcp(
        self, server: str, method: str, target: str | None = None, uri: str | None = None
    ) -> Any:
        """The span of an MCP request (see :meth:`mbxai._tracing.Telemetry.mcp_request`)."""
        mounted = self._servers.get(server)
        spec = mounted.connection.spec if mounted is not None else None
        transport, url = (spec.transport, spec.url) if spec else ("", None)
        return self._telemetry.mcp_request(method, server, transport, url, target, uri)

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
