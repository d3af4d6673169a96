"""Python functions as a real MCP server, on the official ``mcp`` SDK.

:class:`MCPServer` takes functions the way the tool client does (``register_tool`` or the
``@server.tool`` decorator): the JSON schema comes from the signature and docstring, and
the caller's arguments are checked by the same validator before the function runs. It
serves them over Streamable HTTP (:meth:`MCPServer.serve_http` in a background thread,
:meth:`MCPServer.run_http` in the foreground, :meth:`MCPServer.http_app` as an ASGI app)
or stdio (:meth:`MCPServer.run_stdio`), speaking MCP through the SDK's low-level server.

It also serves resources (``register_resource`` / ``@server.resource``: fixed URIs, and
templates such as ``notes://{name}``) and prompts (``register_prompt`` /
``@server.prompt``). Inside a tool, :func:`request_context` gives the SDK's request
context, to ask the client for a completion (sampling), for user input (elicitation) or
for its roots.

Needs ``pip install 'mbxai[mcp]'``; importing this module does not import ``mcp``.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hmac
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, Literal, TypeVar, overload

from pydantic import SecretStr

from . import _json
from ._checks import check_int, check_number, check_str
from ._concurrency import async_call_user_code
from ._errors import ConfigurationError, MCPServerStartError
from ._function_schema import Tool, build_tool
from ._logging import get_logger, register_secret
from ._mcp import describe_error, require_sdk, tool_result_payload
from ._tools import ToolRegistry

__all__ = [
    "MCPServer",
    "MCPServerStartError",
    "RunningMCPServer",
    "request_context",
    "request_headers",
]

F = TypeVar("F", bound=Callable[..., Any])
HTTPTransport = Literal["http", "sse"]

_STARTUP_TIMEOUT: Final = 30.0
_NOTIFY_TIMEOUT: Final = 5.0
_MAX_SESSIONS: Final = 1000
_headers: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "mbxai_mcp_request_headers", default=None
)
_context: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "mbxai_mcp_request_context", default=None
)
_TEMPLATE_VARIABLE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_PROMPT_ARGUMENT: Final = 65_536


def request_headers() -> Mapping[str, str] | None:
    """The HTTP headers of the MCP request being served, inside a tool of an
    :class:`MCPServer` (lower-case names); ``None`` over stdio or outside a call.

    For tools that act for the caller: read its credentials or tenant from here.
    """
    return _headers.get()


def request_context() -> Any:
    """The SDK's context of the MCP request being served, inside a tool of an
    :class:`MCPServer` (``None`` outside a call).

    Its ``session`` sends the client requests of its own, tied to the call
    (``related_request_id=ctx.request_id``): ``await ctx.session.create_message(...)``
    (sampling), ``await ctx.session.elicit_form(...)`` (elicitation), ``await
    ctx.session.list_roots()``. Async tools only: the call waits for the answer.
    """
    return _context.get()


class _Resource:
    """A served resource (``uri``), or a template of them (``uri`` with ``{name}`` parts)."""

    __slots__ = ("description", "function", "mime_type", "name", "pattern", "uri")

    def __init__(
        self,
        uri: str,
        function: Callable[..., Any],
        name: str | None,
        description: str | None,
        mime_type: str | None,
    ) -> None:
        self.uri = uri
        self.function = function
        self.name = name or uri
        self.description = description
        self.mime_type = mime_type
        self.pattern: re.Pattern[str] | None = None
        if _TEMPLATE_VARIABLE.search(uri):
            parts = _TEMPLATE_VARIABLE.split(uri)
            regex = "".join(
                f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part)
                for index, part in enumerate(parts)
            )
            self.pattern = re.compile(regex)


class _Prompt:
    """A served prompt: a function of string arguments returning its messages."""

    __slots__ = ("arguments", "description", "function", "name", "tool")

    def __init__(self, name: str, description: str | None, function: Callable[..., Any]) -> None:
        self.tool = build_tool(name, description, function)
        self.name = name
        self.description = self.tool.description or None
        self.function = function
        properties = self.tool.parameters.get("properties") or {}
        required = set(self.tool.parameters.get("required") or ())
        #: (name, description, required) of each argument.
        self.arguments = [
            (key, (value or {}).get("description"), key in required)
            for key, value in properties.items()
        ]


class MCPServer:
    """An MCP server whose tools are Python functions (sync or async).

    Args:
        name: The server's name, sent to clients in the handshake.
        version: Its version, sent with the name.
        instructions: Text telling clients (and their models) how to use the server.
        token: When set, HTTP requests must carry ``Authorization: Bearer <token>``;
            others get 401. (stdio has no such check: whoever starts the process owns it.)
    """

    def __init__(
        self,
        name: str = "mbxai",
        *,
        version: str = "",
        instructions: str | None = None,
        token: str | SecretStr | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"MCPServer name must be a non-empty string, got {name!r}")
        check_str("MCPServer version", version)
        check_str("MCPServer instructions", instructions, none=True)
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if secret is not None and (not isinstance(secret, str) or not secret.strip()):
            raise ConfigurationError(
                f"MCPServer token must be a non-empty string or SecretStr, got "
                f"{type(secret).__name__}"
            )
        register_secret(secret)
        self.name = name
        self.version = version
        self.instructions = instructions
        self._token = secret
        self._tools = ToolRegistry()
        self._resources: dict[str, _Resource] = {}
        self._prompts: dict[str, _Prompt] = {}
        # Connected clients to tell when the tools change: session key -> (loop, session).
        self._sessions: dict[str, tuple[asyncio.AbstractEventLoop, Any]] = {}
        self._sessions_lock = threading.Lock()
        self._notifying: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        names = [tool.name for tool in self._tools]
        auth = ", token=***" if self._token else ""
        return f"MCPServer(name={self.name!r}, tools={names!r}{auth})"

    # -- tools ------------------------------------------------------------------------------

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The served tools by name (a snapshot)."""
        return self._tools.mapping()

    def register_tool(
        self,
        name: str,
        description: str | None,
        function: Callable[..., Any],
        schema: Mapping[str, Any] | None = None,
    ) -> Tool:
        """Serve ``function`` as the tool ``name``; connected clients are told the tools
        changed.

        The schema is generated from the signature and docstring, or ``schema`` is used
        as given (arguments then checked with ``jsonschema``), exactly as for
        :meth:`mbxai.ToolClient.register_tool`. A return value goes back as text (JSON
        for non-strings) and, for objects, as ``structuredContent`` too; an exception, or
        arguments that fail validation, as an error result (``isError``).
        """
        tool = self._tools.add(build_tool(name, description, function, schema))
        self._announce_tools()
        return tool

    @overload
    def tool(self, function: F, /) -> F: ...

    @overload
    def tool(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        function: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Any:
        """Decorator form of :meth:`register_tool`: ``@server.tool`` or
        ``@server.tool(name=..., description=...)``; the function is returned unchanged."""

        def register(fn: F) -> F:
            self.register_tool(
                name if name is not None else getattr(fn, "__name__", ""), description, fn, schema
            )
            return fn

        return register if function is None else register(function)

    def unregister_tool(self, name: str) -> Tool:
        """Stop serving a tool (connected clients are told) and return it."""
        tool = self._tools.remove(name)
        self._announce_tools()
        return tool

    # -- resources and prompts ----------------------------------------------------------------

    @property
    def resources(self) -> Mapping[str, str | None]:
        """The served resources and templates: URI -> description (a snapshot)."""
        return {uri: resource.description for uri, resource in self._resources.items()}

    @property
    def prompts(self) -> Mapping[str, str | None]:
        """The served prompts: name -> description (a snapshot)."""
        return {name: prompt.description for name, prompt in self._prompts.items()}

    def register_resource(
        self,
        uri: str,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
    ) -> None:
        """Serve what ``function`` (sync or async) returns as the resource ``uri``.

        A ``uri`` with ``{name}`` parts (``notes://{topic}``) is a template: the function
        gets the parts of the URI read as keyword arguments (strings). It returns text
        (``str``), binary data (``bytes``, sent base64) or anything JSON-serialisable (sent
        as JSON text). An exception is the client's error.
        """
        check_str("resource uri", uri, empty=False)
        if not callable(function):
            raise ConfigurationError(f"resource {uri!r}: function must be callable")
        check_str("resource name", name, none=True)
        check_str("resource description", description, none=True)
        check_str("resource mime_type", mime_type, none=True)
        if "://" not in uri:
            raise ConfigurationError(f"resource uri must have a scheme (notes://...), got {uri!r}")
        self._resources[uri] = _Resource(uri, function, name, description, mime_type)

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of :meth:`register_resource` (the description defaults to the
        docstring's first paragraph)."""

        def register(fn: F) -> F:
            doc = (fn.__doc__ or "").strip().split("\n\n")[0].strip() or None
            self.register_resource(
                uri,
                fn,
                name=name or getattr(fn, "__name__", None),
                description=description if description is not None else doc,
                mime_type=mime_type,
            )
            return fn

        return register

    def unregister_resource(self, uri: str) -> None:
        """Stop serving a resource (or template)."""
        if self._resources.pop(uri, None) is None:
            raise ConfigurationError(f"no resource {uri!r} is served")

    def register_prompt(
        self, name: str, function: Callable[..., Any], *, description: str | None = None
    ) -> None:
        """Serve ``function`` (sync or async) as the prompt ``name``.

        Its parameters are the prompt's arguments (strings; required unless they have a
        default; described by the docstring's ``Args:``). It returns the messages: a
        string (one user message), or a list of strings and ``{"role": "user" |
        "assistant", "content": str}`` dicts.
        """
        check_str("prompt name", name, empty=False)
        if not callable(function):
            raise ConfigurationError(f"prompt {name!r}: function must be callable")
        self._prompts[name] = _Prompt(name, description, function)

    @overload
    def prompt(self, function: F, /) -> F: ...

    @overload
    def prompt(
        self, function: None = None, /, *, name: str | None = None, description: str | None = None
    ) -> Callable[[F], F]: ...

    def prompt(
        self,
        function: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Decorator form of :meth:`register_prompt`: ``@server.prompt`` or
        ``@server.prompt(name=..., description=...)``."""

        def register(fn: F) -> F:
            self.register_prompt(
                name if name is not None else getattr(fn, "__name__", ""),
                fn,
                description=description,
            )
            return fn

        return register if function is None else register(function)

    # -- serving ------------------------------------------------------------------------------

    def http_app(
        self, *, path: str | None = None, host: str = "127.0.0.1", transport: HTTPTransport = "http"
    ) -> Any:
        """The server as an ASGI app (Starlette), to serve with any ASGI server or mount in
        an application.

        Args:
            path: The endpoint: ``/mcp`` for Streamable HTTP, ``/sse`` for SSE by default.
            host: Where it will listen; on loopback the SDK's DNS-rebinding protection is on.
            transport: ``"http"`` (Streamable HTTP) or ``"sse"`` (the older SSE transport,
                its messages posted to ``<path>/messages/``).

        Build it in the event loop (thread) that serves it: the SDK creates its locks on
        construction.
        """
        path = _endpoint(path, transport)
        check_str("host", host, empty=False)
        if transport == "sse":
            app = self._sse_app(path, host)
        else:
            app = self._lowlevel().streamable_http_app(streamable_http_path=path, host=host)
        return _RequireToken(app, self._token) if self._token else app

    def serve_http(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str | None = None,
        transport: HTTPTransport = "http",
    ) -> RunningMCPServer:
        """Serve HTTP from a background thread (its own event loop) and return once it
        accepts connections. ``port=0`` picks a free port; the URL is on the returned
        :class:`RunningMCPServer`, which stops the server on ``stop()`` or at the end of a
        ``with`` block. ``path`` and ``transport`` are as for :meth:`http_app`."""
        path = _endpoint(path, transport)
        _check_address(host, port)
        return RunningMCPServer(
            lambda: self.http_app(path=path, host=host, transport=transport), host, port, path
        )

    def run_http(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        path: str | None = None,
        transport: HTTPTransport = "http",
    ) -> None:
        """Serve HTTP in this thread until interrupted (uvicorn)."""
        _check_address(host, port)
        import uvicorn

        app = self.http_app(path=path, host=host, transport=transport)
        uvicorn.run(app, host=host, port=port, ws="none")

    def _sse_app(self, path: str, host: str) -> Any:
        from mcp.server.lowlevel.server import NotificationOptions
        from mcp.server.sse import SseServerTransport
        from mcp.server.transport_security import TransportSecuritySettings
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route

        security = None
        if host in ("127.0.0.1", "localhost", "::1"):  # as the SDK does for Streamable HTTP
            security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
                allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
            )
        messages = path.rstrip("/") + "/messages/"
        sse = SseServerTransport(messages, security_settings=security)
        server = self._lowlevel()
        options = server.create_initialization_options(NotificationOptions(tools_changed=True))

        async def events(scope: Any, receive: Any, send: Any) -> None:
            async with sse.connect_sse(scope, receive, send) as (read_stream, write_stream):
                await server.run(read_stream, write_stream, options)

        return Starlette(
            routes=[
                Route(path, endpoint=_ASGIEndpoint(events), methods=["GET"]),
                Mount(messages, app=sse.handle_post_message),
            ]
        )

    def run_stdio(self) -> None:
        """Serve over this process's stdin/stdout until the client closes them."""
        asyncio.run(self._serve_stdio())

    async def _serve_stdio(self) -> None:
        from mcp.server.lowlevel.server import NotificationOptions
        from mcp.server.stdio import stdio_server

        server = self._lowlevel()
        options = server.create_initialization_options(NotificationOptions(tools_changed=True))
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, options)

    # -- the SDK's low-level server ---------------------------------------------------------------

    def _lowlevel(self) -> Any:
        """A fresh SDK server answering tools/list and tools/call from this registry."""
        require_sdk()
        from mcp.server.lowlevel import Server

        return Server(
            self.name,
            version=self.version,
            instructions=self.instructions,
            on_list_tools=self._on_list_tools,
            on_call_tool=self._on_call_tool,
            on_list_resources=self._on_list_resources,
            on_list_resource_templates=self._on_list_resource_templates,
            on_read_resource=self._on_read_resource,
            on_list_prompts=self._on_list_prompts,
            on_get_prompt=self._on_get_prompt,
        )

    async def _on_list_tools(self, ctx: Any, params: Any) -> Any:
        from mcp.types import ListToolsResult
        from mcp.types import Tool as WireTool

        self._remember(ctx)
        return ListToolsResult(
            tools=[
                WireTool(
                    name=tool.name,
                    description=tool.description or None,
                    input_schema=tool.parameters,
                )
                for tool in self._tools
            ]
        )

    async def _on_call_tool(self, ctx: Any, params: Any) -> Any:
        from mcp import MCPError
        from mcp.types import INVALID_PARAMS, CallToolResult, TextContent

        self._remember(ctx)
        tool = self._tools.get(params.name)
        if tool is None:  # a protocol error, as the MCP spec asks for unknown tools
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")

        def error(text: str) -> Any:
            return CallToolResult(content=[TextContent(text=text)], is_error=True)

        try:
            kwargs = tool.validate_arguments(_json.dumps(params.arguments or {}))
        except ValueError as exc:
            return error(str(exc))
        reset = _headers.set(_headers_of(ctx))
        reset_context = _context.set(ctx)
        try:
            value = await async_call_user_code(tool.function, kwargs)
        except Exception as exc:  # the caller's model gets it, as with local tools
            return error(describe_error(exc))
        finally:
            _context.reset(reset_context)
            _headers.reset(reset)
        text, structured = tool_result_payload(value)
        return CallToolResult(content=[TextContent(text=text)], structured_content=structured)

    async def _on_list_resources(self, ctx: Any, params: Any) -> Any:
        from mcp.types import ListResourcesResult, Resource

        return ListResourcesResult(
            resources=[
                Resource(
                    uri=item.uri,
                    name=item.name,
                    description=item.description,
                    mime_type=item.mime_type,
                )
                for item in list(self._resources.values())
                if item.pattern is None
            ]
        )

    async def _on_list_resource_templates(self, ctx: Any, params: Any) -> Any:
        from mcp.types import ListResourceTemplatesResult, ResourceTemplate

        return ListResourceTemplatesResult(
            resource_templates=[
                ResourceTemplate(
                    uri_template=item.uri,
                    name=item.name,
                    description=item.description,
                    mime_type=item.mime_type,
                )
                for item in list(self._resources.values())
                if item.pattern is not None
            ]
        )

    async def _on_read_resource(self, ctx: Any, params: Any) -> Any:
        from mcp import MCPError
        from mcp.types import (
            INTERNAL_ERROR,
            BlobResourceContents,
            ReadResourceResult,
            TextResourceContents,
        )

        uri = str(params.uri)
        found, arguments = self._find_resource(uri)
        if found is None:  # the spec's "resource not found"
            raise MCPError(code=-32002, message=f"Resource not found: {uri}")
        reset = _headers.set(_headers_of(ctx))
        reset_context = _context.set(ctx)
        try:
            value = await async_call_user_code(found.function, arguments)
        except Exception as exc:
            raise MCPError(code=INTERNAL_ERROR, message=describe_error(exc)) from None
        finally:
            _context.reset(reset_context)
            _headers.reset(reset)
        content: Any
        if isinstance(value, bytes | bytearray):
            content = BlobResourceContents(
                uri=uri,
                mime_type=found.mime_type or "application/octet-stream",
                blob=base64.b64encode(bytes(value)).decode(),
            )
        elif isinstance(value, str):
            content = TextResourceContents(uri=uri, mime_type=found.mime_type, text=value)
        else:
            text, _ = tool_result_payload(value)
            content = TextResourceContents(
                uri=uri, mime_type=found.mime_type or "application/json", text=text
            )
        return ReadResourceResult(contents=[content])

    def _find_resource(self, uri: str) -> tuple[_Resource | None, dict[str, Any]]:
        exact = self._resources.get(uri)
        if exact is not None and exact.pattern is None:
            return exact, {}
        for item in list(self._resources.values()):
            if item.pattern is not None:
                match = item.pattern.fullmatch(uri)
                if match is not None:
                    return item, match.groupdict()
        return None, {}

    async def _on_list_prompts(self, ctx: Any, params: Any) -> Any:
        from mcp.types import ListPromptsResult, Prompt, PromptArgument

        return ListPromptsResult(
            prompts=[
                Prompt(
                    name=prompt.name,
                    description=prompt.description,
                    arguments=[
                        PromptArgument(name=name, description=text, required=required)
                        for name, text, required in prompt.arguments
                    ],
                )
                for prompt in list(self._prompts.values())
            ]
        )

    async def _on_get_prompt(self, ctx: Any, params: Any) -> Any:
        from mcp import MCPError
        from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, GetPromptResult

        prompt = self._prompts.get(params.name)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
        given = dict(params.arguments or {})
        if any(len(str(value)) > _MAX_PROMPT_ARGUMENT for value in given.values()):
            raise MCPError(code=INVALID_PARAMS, message="a prompt argument is too long")
        try:
            kwargs = prompt.tool.validate_arguments(_json.dumps(given))
        except ValueError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
        try:
            value = await async_call_user_code(prompt.function, kwargs)
            messages = _prompt_messages(value)
        except Exception as exc:
            raise MCPError(code=INTERNAL_ERROR, message=describe_error(exc)) from None
        return GetPromptResult(description=prompt.description, messages=messages)

    # -- telling clients the tools changed ----------------------------------------------------

    def _remember(self, ctx: Any) -> None:
        """Keep the request's session (and its loop) to notify it of tool changes."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # served on another event loop than asyncio: no notifications
            return
        request = getattr(ctx, "request", None)
        query = getattr(request, "query_params", None) or {}
        key = (
            (_headers_of(ctx) or {}).get("mcp-session-id")  # Streamable HTTP
            or query.get("session_id")  # SSE
            or f"connection-{id(loop)}"  # stdio: one connection per process
        )
        with self._sessions_lock:
            self._sessions.pop(key, None)
            self._sessions[key] = (loop, ctx.session)
            while len(self._sessions) > _MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]

    def _announce_tools(self) -> None:
        """Send ``notifications/tools/list_changed`` to every remembered session."""
        with self._sessions_lock:
            sessions = list(self._sessions.items())
        for key, (loop, session) in sessions:
            try:
                # A fresh context: the caller's (maybe another event loop's) stays out.
                loop.call_soon_threadsafe(
                    self._notify_soon, key, session, context=contextvars.Context()
                )
            except RuntimeError:  # its loop is closed: the server stopped
                self._forget(key)

    def _notify_soon(self, key: str, session: Any) -> None:
        task = asyncio.ensure_future(self._notify(key, session))
        self._notifying.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._notifying.discard)

    async def _notify(self, key: str, session: Any) -> None:
        try:
            await asyncio.wait_for(session.send_tool_list_changed(), _NOTIFY_TIMEOUT)
        except Exception as exc:  # the client left
            get_logger().debug("mcp_server.notify_failed", error=describe_error(exc))
            self._forget(key)

    def _forget(self, key: str) -> None:
        with self._sessions_lock:
            self._sessions.pop(key, None)


def _prompt_messages(value: Any) -> list[Any]:
    """A prompt function's return value as ``PromptMessage``s."""
    from mcp.types import PromptMessage, TextContent

    items = [value] if isinstance(value, str | Mapping) else list(value)
    messages = []
    for item in items:
        if isinstance(item, str):
            role, text = "user", item
        elif isinstance(item, Mapping) and item.get("role") in ("user", "assistant"):
            role, text = str(item["role"]), str(item.get("content", ""))
        else:
            raise TypeError(
                "a prompt returns a string or a list of strings and "
                f"{{'role': 'user' | 'assistant', 'content': str}} dicts, not {item!r:.60}"
            )
        messages.append(PromptMessage(role=role, content=TextContent(text=text)))  # type: ignore[arg-type]
    return messages


def _check_address(host: Any, port: Any) -> None:
    check_str("host", host, empty=False)
    check_int("port", port, minimum=0)
    if port > 65535:
        raise ConfigurationError(f"port must be an int from 0 to 65535, got {port!r}")


def _endpoint(path: str | None, transport: str) -> str:
    if transport not in ("http", "sse"):
        raise ConfigurationError(f"transport must be 'http' or 'sse', got {transport!r}")
    if path is None:
        return "/sse" if transport == "sse" else "/mcp"
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigurationError(f"path must start with '/', got {path!r}")
    return path


class _ASGIEndpoint:
    """An ASGI callable Starlette routes to as is (a plain function would get a Request)."""

    def __init__(self, app: Callable[[Any, Any, Any], Awaitable[None]]) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


def _headers_of(ctx: Any) -> Mapping[str, str] | None:
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    return {str(k).lower(): str(v) for k, v in headers.items()}


class _RequireToken:
    """ASGI middleware: HTTP requests without the bearer token get 401."""

    def __init__(self, app: Any, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            given = b""
            for key, value in scope.get("headers") or ():
                if key.lower() == b"authorization":
                    given = value
            if not hmac.compare_digest(given, self._expected):
                body = b'{"error":"unauthorized: a valid bearer token is required"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)


class RunningMCPServer:
    """An :class:`MCPServer` serving Streamable HTTP from a background thread.

    Attributes:
        url: The endpoint clients connect to (``http://host:port/path``).
        host: The address it listens on.
        port: The port it listens on (the free one picked for ``port=0``).
    """

    def __init__(self, app: Callable[[], Any], host: str, port: int, path: str) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # Rebinding right after a previous server on this port died is allowed.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise MCPServerStartError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.host = host
        self.port: int = sock.getsockname()[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"http://{shown}:{self.port}{path}"
        self._sock = sock
        self._app = app
        self._server: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"mbxai-mcp-server-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._started():
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                why = describe_error(self._error) if self._error else "it did not start in time"
                raise MCPServerStartError(f"the MCP server on port {self.port} failed: {why}")
            time.sleep(0.01)

    def _started(self) -> bool:
        return self._server is not None and bool(self._server.started)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the constructor
            self._error = exc
        finally:
            self._sock.close()

    async def _serve(self) -> None:
        import uvicorn

        # Built here, in the serving loop: the SDK makes its locks and streams on creation.
        config = uvicorn.Config(
            self._app(),
            log_config=None,  # leave the application's logging alone
            log_level="warning",
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        await self._server.serve(sockets=[self._sock])

    def __repr__(self) -> str:
        return f"RunningMCPServer(url={self.url!r})"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open sessions are closed) and wait for the thread to end."""
        check_number("timeout", timeout, positive=True)
        server = self._server
        if server is not None:
            server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive() and server is not None:
            server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningMCPServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
