"""The flavour-free half of MCP support: what needs no I/O and no ``mcp`` import.

Shared by the MCP client (``mbxai._async.mcp`` and its generated sync twin), the session
owner in ``mbxai._mcp_sessions`` and the server in ``mbxai.mcp_server``:

* :class:`ServerSpec` and :func:`server_spec`: what ``register_mcp_server`` was given,
  checked once (name, transport, URL normalisation, headers and token, which tools to
  take: :class:`ToolSelection`);
* :class:`Masker`: a server's credentials hidden in whatever it sends back;
* :class:`Budget`: the time registering (or re-registering) a server's tools may take;
* :func:`model_tool_name`: the name a server's tool gets in the tool registry (bare,
  namespaced ``server__tool`` on a collision, always valid for the model);
* :func:`format_call_result`: a ``CallToolResult`` as text for the model, credentials masked;
* :func:`tool_result_payload`: a Python return value as MCP text + ``structuredContent``;

The ``mcp`` SDK is an optional dependency (``pip install 'mbxai[mcp]'``): nothing here
imports it, so ``import mbxai`` stays light; :func:`require_sdk` says how to install it.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import importlib.util
import json
import re
import shlex
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import pydantic_core
from pydantic import BaseModel, SecretStr

from ._errors import ConfigurationError
from ._function_schema import Tool, check_requires_approval
from ._logging import register_secret
from ._masking import MASK, Masker

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_MAX_RESOURCE_BYTES",
    "DEFAULT_MAX_TOOLS",
    "DEFAULT_TIMEOUT",
    "MASK",
    "ApprovalRule",
    "Budget",
    "MCPServerInfo",
    "Masker",
    "RenamedTool",
    "ServerSpec",
    "ToolSelection",
    "TransportKind",
    "approval_rules",
    "describe_error",
    "format_call_result",
    "format_resource",
    "model_tool_name",
    "prompt_messages",
    "require_sdk",
    "resource_size",
    "server_spec",
    "tool_result_payload",
]

TransportKind = Literal["http", "sse", "stdio"]

#: Seconds allowed for registering (handshake, tool listing and building the tools
#: included) and for each call.
DEFAULT_TIMEOUT: Final = 30.0
#: The largest message (one JSON-RPC message, one event) read from an HTTP server, and
#: the largest resource (its contents decoded) kept from any server.
DEFAULT_MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
DEFAULT_MAX_RESOURCE_BYTES: Final = 8 * 1024 * 1024
#: Tools taken from one server unless ``max_tools=`` says otherwise. Every registered
#: schema is sent with every request, and OpenAI accepts at most 128 functions per request.
DEFAULT_MAX_TOOLS: Final = 128
#: Headers whose values are no credentials: everything else given in ``headers=`` is masked.
_PLAIN_HEADERS: Final = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "content-type",
        "mcp-protocol-version",
        "user-agent",
    }
)
_BAD_HEADER_CHARS: Final = re.compile(r"[\r\n\x00]")

_SERVER_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_TOOL_CHARS: Final = re.compile(r"[^A-Za-z0-9_-]")
_MAX_TOOL_NAME: Final = 64  # OpenAI's limit for function names
_SEPARATOR: Final = "__"
_CREDENTIAL_HEADER: Final = re.compile(r"auth|token|key|secret|cookie|session|password", re.I)
_TRANSPORTS: Final[Mapping[str, TransportKind]] = {
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamablehttp": "http",
    "sse": "sse",
    "stdio": "stdio",
}


# -- errors -------------------------------------------------------------------------------


def require_sdk() -> None:
    """Raise :class:`ConfigurationError` with the install hint when ``mcp`` is missing."""
    if importlib.util.find_spec("mcp") is None:
        raise ConfigurationError("MCP support needs the official MCP SDK: pip install 'mbxai[mcp]'")


# -- what register_mcp_server was given ------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class ServerSpec:
    """One MCP server to connect to, checked and normalised.

    ``headers`` (the token included, as ``Authorization: Bearer ...``) are sent to this
    server only and never appear in the repr, logs or errors; ``mask`` hides them in what
    the server sends back. ``selection`` says which of its tools to register.
    """

    name: str
    transport: TransportKind
    timeout: float
    #: The endpoint (``http``/``sse``), with ``/mcp`` added to a bare base URL.
    url: str | None = None
    #: The command and its arguments (``stdio``).
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = field(default=None, repr=False)
    cwd: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    selection: ToolSelection = field(default_factory=lambda: ToolSelection())
    mask: Masker = field(default_factory=lambda: Masker(()), repr=False)
    #: OAuth (an :class:`mbxai._mcp_auth.MCPOAuth`), for HTTP servers.
    auth: Any = field(default=None, repr=False)
    #: The largest message read from an HTTP server, and the largest resource kept.
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_resource_bytes: int = DEFAULT_MAX_RESOURCE_BYTES

    def __repr__(self) -> str:
        return f"ServerSpec(name={self.name!r}, transport={self.transport!r}, where={self.where!r})"

    @property
    def where(self) -> str:
        """The server's address for messages: the URL without credentials, or the command."""
        if self.url is not None:
            return _redact_url(self.url)
        return shlex.join([self.command or "", *self.args])


def server_spec(
    name: str,
    target: Any,
    *,
    headers: Mapping[str, str] | None = None,
    token: str | SecretStr | None = None,
    transport: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow: Any = None,
    deny: Any = None,
    tool_filter: Any = None,
    max_tools: Any = DEFAULT_MAX_TOOLS,
    auth: Any = None,
    max_message_bytes: Any = DEFAULT_MAX_MESSAGE_BYTES,
    max_resource_bytes: Any = DEFAULT_MAX_RESOURCE_BYTES,
) -> ServerSpec:
    """Check ``register_mcp_server``'s arguments and decide how to connect.

    ``target`` is a URL (Streamable HTTP; SSE for ``transport="sse"`` or a path ending in
    ``/sse``; a bare base URL such as ``http://localhost:8000`` means its ``/mcp``
    endpoint), a command (a string, split like a shell would, or a list of arguments),
    or an ``mcp.StdioServerParameters``. ``allow``, ``deny``, ``tool_filter`` and
    ``max_tools`` choose which of its tools to register (:class:`ToolSelection`).
    """
    if not isinstance(name, str) or not _SERVER_NAME.match(name):
        raise ConfigurationError(
            f"MCP server name {name!r} is invalid: use 1-48 letters, digits, '_' or '-' "
            "(it prefixes tool names on a collision)"
        )
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not timeout > 0
        or timeout == float("inf")
    ):
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    kind = _transport_kind(name, transport)
    extra = _auth_headers(name, headers, token)
    chosen = ToolSelection.checked(
        name, allow=allow, deny=deny, tool_filter=tool_filter, max_tools=max_tools
    )
    mask = Masker(_credentials(extra))
    for what, value in (
        ("max_message_bytes", max_message_bytes),
        ("max_resource_bytes", max_resource_bytes),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            raise ConfigurationError(
                f"MCP server {name!r}: {what} must be an int >= 1024 (bytes), got {value!r:.60}"
            )
    sizes = {"max_message_bytes": max_message_bytes, "max_resource_bytes": max_resource_bytes}
    if auth is not None:
        if type(auth).__name__ != "MCPOAuth" or not hasattr(auth, "bind"):
            raise ConfigurationError(
                f"MCP server {name!r}: auth must be an mbxai.MCPOAuth, got {type(auth).__name__}"
            )
        if extra:
            raise ConfigurationError(
                f"MCP server {name!r}: pass either auth= (OAuth) or token=/headers= "
                "credentials, not both"
            )

    if _is_stdio_parameters(target):
        _no_auth_for_stdio(name, auth)
        return _stdio_spec(
            name,
            kind,
            extra,
            float(timeout),
            target.command,
            list(target.args),
            env=target.env,
            cwd=None if target.cwd is None else str(target.cwd),
            selection=chosen,
            **sizes,
        )
    if isinstance(target, str) and _looks_like_url(target) and kind != "stdio":
        url, sse = _normalise_url(name, target, kind)
        if auth is not None:
            auth.bind(name)
        return ServerSpec(
            name=name,
            transport="sse" if sse else "http",
            timeout=float(timeout),
            url=url,
            headers=extra,
            selection=chosen,
            mask=mask,
            auth=auth,
            **sizes,
        )
    _no_auth_for_stdio(name, auth)
    if isinstance(target, str):
        if kind in ("http", "sse"):
            raise ConfigurationError(
                f"MCP server {name!r}: transport={transport!r} needs an http(s) URL, got {target!r}"
            )
        try:
            argv = shlex.split(target)
        except ValueError as exc:
            raise ConfigurationError(
                f"MCP server {name!r}: cannot split the command: {exc}"
            ) from None
        return _stdio_spec(
            name,
            kind,
            extra,
            float(timeout),
            argv[0] if argv else "",
            argv[1:],
            selection=chosen,
            **sizes,
        )
    if isinstance(target, Sequence) and not isinstance(target, bytes | bytearray):
        argv = list(target)
        if not all(isinstance(arg, str) for arg in argv):
            raise ConfigurationError(
                f"MCP server {name!r}: a command must be a list of strings, got {target!r}"
            )
        if kind in ("http", "sse"):
            raise ConfigurationError(
                f"MCP server {name!r}: transport={transport!r} needs an http(s) URL, got a command"
            )
        return _stdio_spec(
            name,
            kind,
            extra,
            float(timeout),
            argv[0] if argv else "",
            argv[1:],
            selection=chosen,
            **sizes,
        )
    raise ConfigurationError(
        f"MCP server {name!r}: target must be a URL, a command (string or list of "
        f"arguments) or mcp.StdioServerParameters, got {type(target).__name__}"
    )


def _no_auth_for_stdio(name: str, auth: Any) -> None:
    if auth is not None:
        raise ConfigurationError(
            f"MCP server {name!r}: auth= (OAuth) is for HTTP servers; a stdio server gets "
            "its credentials through its environment"
        )


def _transport_kind(name: str, transport: str | None) -> TransportKind | None:
    if transport is None:
        return None
    kind = _TRANSPORTS.get(str(transport).lower()) if isinstance(transport, str) else None
    if kind is None:
        raise ConfigurationError(
            f"MCP server {name!r}: transport must be 'http' (Streamable HTTP), 'sse' or "
            f"'stdio', got {transport!r}"
        )
    return kind


def _auth_headers(
    name: str, headers: Mapping[str, str] | None, token: str | SecretStr | None
) -> dict[str, str]:
    result: dict[str, str] = {}
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise ConfigurationError(
                f"MCP server {name!r}: headers must be a mapping, got {type(headers).__name__}"
            )
        for key, value in headers.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ConfigurationError(
                    f"MCP server {name!r}: header names and values must be strings (header {key!r})"
                )
            if not key or _BAD_HEADER_CHARS.search(key) or _BAD_HEADER_CHARS.search(value):
                raise ConfigurationError(
                    f"MCP server {name!r}: header {key!r} is empty or contains a line break or "
                    "NUL (it would not be one HTTP header)"
                )
            result[key] = value
    if token is not None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if not isinstance(secret, str) or not secret.strip():
            raise ConfigurationError(
                f"MCP server {name!r}: token must be a non-empty string or SecretStr, "
                f"got {type(secret).__name__}"
            )
        if _BAD_HEADER_CHARS.search(secret):
            raise ConfigurationError(
                f"MCP server {name!r}: token contains a line break or NUL (it cannot be sent "
                "in an HTTP header)"
            )
        if any(key.lower() == "authorization" for key in result):
            raise ConfigurationError(
                f"MCP server {name!r}: pass either token= or an Authorization header, not both"
            )
        result["Authorization"] = f"Bearer {secret}"
    for key, value in result.items():
        if _CREDENTIAL_HEADER.search(key):  # never logged, whatever field shows it
            register_secret(value.removeprefix("Bearer ").strip())
            register_secret(value)
    return result


def _is_stdio_parameters(target: Any) -> bool:
    """Whether ``target`` is an ``mcp.StdioServerParameters`` (without importing mcp)."""
    cls = type(target)
    return cls.__name__ == "StdioServerParameters" and cls.__module__.startswith("mcp")


def _stdio_spec(
    name: str,
    kind: TransportKind | None,
    headers: Mapping[str, str],
    timeout: float,
    command: str,
    args: list[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    selection: ToolSelection,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    max_resource_bytes: int = DEFAULT_MAX_RESOURCE_BYTES,
) -> ServerSpec:
    if kind not in (None, "stdio"):
        raise ConfigurationError(f"MCP server {name!r}: a command is run over stdio, not {kind}")
    if headers:
        raise ConfigurationError(
            f"MCP server {name!r}: headers and token are for HTTP servers; a stdio server "
            "gets its credentials through its environment (mcp.StdioServerParameters(env=...))"
        )
    if not command:
        raise ConfigurationError(f"MCP server {name!r}: the command is empty")
    return ServerSpec(
        name=name,
        transport="stdio",
        timeout=timeout,
        command=command,
        args=tuple(args),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        selection=selection,
        max_message_bytes=max_message_bytes,
        max_resource_bytes=max_resource_bytes,
    )


def _looks_like_url(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def _normalise_url(name: str, url: str, kind: TransportKind | None) -> tuple[str, bool]:
    """The endpoint to connect to, and whether it speaks SSE.

    A URL with no path (or just ``/``) is a server's base URL: its Streamable HTTP
    endpoint is ``/mcp`` (and ``/sse`` for ``transport="sse"``), the SDK servers' default.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigurationError(f"MCP server {name!r}: {_redact_url(url)!r} has no host")
    path = parts.path
    sse = kind == "sse" or (kind is None and path.rstrip("/").endswith("/sse"))
    if path in ("", "/"):
        path = "/sse" if sse else "/mcp"
    return urlunsplit(parts._replace(path=path)), sse


def _redact_url(url: str) -> str:
    """``url`` without a password (user info may carry credentials)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


# -- credentials, hidden in what a server sends back -------------------------------------------


def _credentials(headers: Mapping[str, str]) -> list[str]:
    """What to hide from the model: every header value but the plain ones, and a bearer
    token with and without its ``Bearer `` prefix."""
    found: list[str] = []
    for key, value in headers.items():
        if key.lower() in _PLAIN_HEADERS:
            continue
        found.append(value)
        scheme, _, rest = value.strip().partition(" ")
        if rest.strip() and scheme.lower() in ("bearer", "basic", "token", "bot"):
            found.append(rest.strip())
    return found


# -- which tools to take from a server -----------------------------------------------------------


def _patterns(server: str, what: str, value: Any) -> re.Pattern[str] | None:
    if value is None:
        return None
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"MCP server {server!r}: {what} must be a list of tool names or fnmatch patterns "
            f"(such as ['search', 'get_*']), got {value!r:.60} ({type(value).__name__})"
        )
    patterns = list(value)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ConfigurationError(
                f"MCP server {server!r}: {what} must hold non-empty strings, got {pattern!r:.60}"
            )
    if not patterns:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@dataclass(frozen=True, slots=True)
class ToolSelection:
    """Which of a server's tools are registered: its own tool names matched against
    ``allow`` (fnmatch patterns; ``None``: all) and ``deny`` (which wins), then the
    ``predicate`` (``tool_filter=``, given the ``mcp.types.Tool``), at most ``max_tools``
    of them (``None``: no cap)."""

    allow: re.Pattern[str] | None = None
    deny: re.Pattern[str] | None = None
    predicate: Callable[[Any], object] | None = None  # what it returns is checked
    max_tools: int | None = DEFAULT_MAX_TOOLS
    server: str = ""

    @classmethod
    def checked(
        cls,
        server: str,
        *,
        allow: Any = None,
        deny: Any = None,
        tool_filter: Any = None,
        max_tools: Any = DEFAULT_MAX_TOOLS,
    ) -> ToolSelection:
        """``register_mcp_server``'s filter arguments, checked."""
        if tool_filter is not None and not callable(tool_filter):
            raise ConfigurationError(
                f"MCP server {server!r}: tool_filter must be a callable taking an "
                f"mcp.types.Tool and returning True or False, got {type(tool_filter).__name__}"
            )
        if max_tools is not None and (
            isinstance(max_tools, bool) or not isinstance(max_tools, int) or max_tools < 1
        ):
            raise ConfigurationError(
                f"MCP server {server!r}: max_tools must be an int >= 1 or None (no cap), "
                f"got {max_tools!r:.60} ({type(max_tools).__name__})"
            )
        return cls(
            allow=_patterns(server, "allow", allow),
            deny=_patterns(server, "deny", deny),
            predicate=tool_filter,
            max_tools=max_tools,
            server=server,
        )

    def accepts(self, tool: Any) -> bool:
        """Whether ``tool`` (an ``mcp.types.Tool``) passes the filters (not the cap).

        Raises :class:`ConfigurationError` when ``tool_filter`` raises or returns no bool.
        """
        name = tool.name
        if self.deny is not None and self.deny.fullmatch(name):
            return False
        if self.allow is not None and not self.allow.fullmatch(name):
            return False
        if self.predicate is None:
            return True
        try:
            verdict = self.predicate(tool)
        except Exception as exc:
            raise ConfigurationError(
                f"MCP server {self.server!r}: tool_filter raised on tool {name!r}: "
                f"{describe_error(exc)}"
            ) from exc
        if not isinstance(verdict, bool):
            raise ConfigurationError(
                f"MCP server {self.server!r}: tool_filter must return True or False, got "
                f"{verdict!r:.60} for tool {name!r}"
            )
        return verdict


class Budget:
    """The time left for registering a server's tools, and a flag to give up early.

    Checked by the work done in a worker thread (building hundreds of tool schemas), so
    it stops at the deadline or when its caller went away.
    """

    __slots__ = ("cancelled", "deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def check(self) -> None:
        """Raise ``TimeoutError`` past the deadline (or once cancelled)."""
        if self.cancelled or time.monotonic() > self.deadline:
            raise TimeoutError(f"not done within {self.seconds:g} s")


@dataclass(frozen=True, slots=True)
class MCPServerInfo:
    """A registered MCP server, as :attr:`MCPClient.mcp_servers` reports it.

    Attributes:
        name: The name it was registered under.
        transport: ``"http"`` (Streamable HTTP), ``"sse"`` or ``"stdio"``.
        where: Its URL (credentials removed) or command.
        connected: Whether its session is up right now.
        tools: Registry name -> the server's own name of each of its tools.
        last_error: Why it is (or last was) disconnected.
        connections: Sessions established so far; more than one means it reconnected.
        listed: How many tools the server listed last time.
        dropped: Tools that passed the filters but were left out by ``max_tools`` after
            the server's list grew (registration itself refuses a server over the cap).
    """

    name: str
    transport: str
    where: str
    connected: bool
    tools: Mapping[str, str] = field(default_factory=dict)
    last_error: str | None = None
    connections: int = 0
    listed: int = 0
    dropped: int = 0


# -- tool names -----------------------------------------------------------------------------


def model_tool_name(server: str, tool: str, taken: Collection[str], *, namespace: bool) -> str:
    """The registry name of ``server``'s tool ``tool``.

    The tool's own name (made valid for the model: ``^[a-zA-Z0-9_-]{1,64}$``) unless it is
    ``taken`` (a local tool or another server's) or ``namespace`` is set; then
    ``server__tool``, and a numbered variant if even that is taken.
    """
    own = _valid_name(tool)
    if not namespace and own not in taken:
        return own
    spaced = _valid_name(f"{server}{_SEPARATOR}{tool}")
    if spaced not in taken:
        return spaced
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = spaced[: _MAX_TOOL_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1


def _valid_name(name: str) -> str:
    cleaned = _TOOL_CHARS.sub("_", name)[:_MAX_TOOL_NAME]
    return cleaned or "tool"


# -- results, client side -------------------------------------------------------------------


def format_call_result(result: Any, mask: Masker | None = None) -> tuple[str, bool]:
    """A ``CallToolResult`` as text for the model, and whether it is an error.

    ``structuredContent`` becomes JSON when present (its text twin is then redundant);
    otherwise the text blocks are joined. Images, audio and resources are summarised
    (kind, type, size, URI): the model gets a description, not megabytes of base64.
    An error result prefers its text, which is where servers explain the error.
    With ``mask``, the server's credentials are hidden in every piece before it is
    encoded or joined.
    """
    data: Mapping[str, Any]
    if isinstance(result, BaseModel):
        data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    elif isinstance(result, Mapping):
        data = result
    else:
        raise TypeError(f"not a CallToolResult: {type(result).__name__}")
    hide = mask or Masker(())
    is_error = bool(data.get("isError"))
    blocks = [b for b in data.get("content") or () if isinstance(b, Mapping)]
    texts = [hide.text(str(b.get("text", ""))) for b in blocks if b.get("type") == "text"]
    structured = data.get("structuredContent")
    parts: list[str] = []
    if structured is not None and not (is_error and texts):
        parts.append(pydantic_core.to_json(hide.data(structured), fallback=str).decode())
    elif texts:
        parts.append("\n".join(texts))
    parts.extend(hide.text(_summary(b)) for b in blocks if b.get("type") != "text")
    text = "\n".join(part for part in parts if part)
    return text or "(the tool returned no content)", is_error


def _summary(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind in ("image", "audio"):
        size = _decoded_size(block.get("data"))
        return f"[{kind}: {block.get('mimeType') or 'unknown type'}, {size}]"
    if kind == "resource_link":
        label = block.get("title") or block.get("name") or "resource"
        return f"[resource link: {label} <{block.get('uri')}>]"
    if kind == "resource":
        resource = block.get("resource") or {}
        uri = resource.get("uri")
        if "text" in resource:
            return f"[resource {uri}]\n{resource['text']}"
        size = _decoded_size(resource.get("blob"))
        return f"[resource {uri}: {resource.get('mimeType') or 'binary'}, {size}]"
    return f"[{kind or 'unknown'} content]"


def _decoded_size(data: Any) -> str:
    if not isinstance(data, str):
        return "no data"
    try:
        size = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        size = len(data)
    return f"{size} bytes"


def resource_size(result: Any) -> int:
    """The decoded size in bytes of a ``ReadResourceResult``'s contents, or of the text and
    data of a ``GetPromptResult``'s messages."""
    size = 0
    for content in getattr(result, "contents", None) or ():
        text = getattr(content, "text", None)
        if isinstance(text, str):
            size += len(text.encode("utf-8", "replace"))
        blob = getattr(content, "blob", None)
        if isinstance(blob, str):
            size += len(blob) * 3 // 4
    for message in getattr(result, "messages", None) or ():
        block = getattr(message, "content", None)
        for attribute in ("text", "data"):
            value = getattr(block, attribute, None)
            if isinstance(value, str):
                size += len(value)
        inner = getattr(block, "resource", None)
        if inner is not None:
            size += len(getattr(inner, "text", "") or "") + len(getattr(inner, "blob", "") or "")
    return size


def format_resource(result: Any, mask: Masker | None = None, max_chars: int = 100_000) -> str:
    """A ``ReadResourceResult`` as text for the model: its text contents (clipped to
    ``max_chars``), binary ones summarised; the server's credentials masked."""
    hide = mask or Masker(())
    parts: list[str] = []
    for content in getattr(result, "contents", None) or ():
        uri = str(getattr(content, "uri", ""))
        kind = getattr(content, "mime_type", None)
        text = getattr(content, "text", None)
        if isinstance(text, str):
            parts.append(f"[resource {uri}]\n{text}" if len(result.contents) > 1 else text)
        else:
            size = _decoded_size(getattr(content, "blob", None))
            parts.append(f"[resource {uri}: {kind or 'binary'}, {size}]")
    text = hide.text("\n".join(parts)) or "(the resource is empty)"
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[... clipped at {max_chars} characters]"
    return text


def prompt_messages(result: Any, mask: Masker | None = None) -> list[dict[str, Any]]:
    """A ``GetPromptResult``'s messages as chat messages (``{"role", "content"}``): text as
    text, images as ``image_url`` parts, embedded resources as their text (or a summary),
    resource links and audio summarised; the server's credentials masked."""
    hide = mask or Masker(())
    messages: list[dict[str, Any]] = []
    for message in getattr(result, "messages", None) or ():
        role = "assistant" if getattr(message, "role", "user") == "assistant" else "user"
        block = message.content
        kind = getattr(block, "type", None)
        content: Any
        if kind == "text":
            content = hide.text(str(block.text))
        elif kind == "image" and role == "user":
            content = [
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"},
                }
            ]
        else:
            data = block.model_dump(mode="json", by_alias=True, exclude_none=True)
            content = hide.text(_summary(data))
        messages.append({"role": role, "content": content})
    return messages


def describe_error(exc: BaseException) -> str:
    """One line naming what went wrong, from the innermost error of an exception group."""
    while isinstance(exc, BaseExceptionGroup):
        inner: list[BaseException] = [e for e in exc.exceptions if isinstance(e, Exception)]
        inner = inner or list(exc.exceptions)
        exc = inner[0]
    message = str(exc).strip()
    kind = type(exc).__name__
    if isinstance(exc, TimeoutError) and not message:
        return "timed out"
    return f"{kind}: {message}" if message else kind


# -- results, server side ---------------------------------------------------------------------


def tool_result_payload(value: Any) -> tuple[str, dict[str, Any] | None]:
    """A tool function's return value as MCP text and ``structuredContent``.

    Strings are text only. Objects (dicts, Pydantic models, dataclasses) are also the
    structured content; other values (numbers, lists) are wrapped as ``{"result": ...}``,
    since MCP's structured content is a JSON object.
    """
    if isinstance(value, str):
        return value, None
    jsonable = pydantic_core.to_jsonable_python(value, fallback=str)
    text = json.dumps(jsonable, ensure_ascii=False, separators=(",", ":"))
    structured = jsonable if isinstance(jsonable, dict) else {"result": jsonable}
    return text, structured


class RenamedTool:
    """A server's tool as built once already, to build again under another name."""

    __slots__ = ("description", "input_schema", "name")

    def __init__(self, mcp_name: str, tool: Tool) -> None:
        self.name = mcp_name
        self.description = tool.description
        self.input_schema = tool.parameters


ApprovalRule: TypeAlias = "bool | Callable[[dict[str, Any]], bool]"


def approval_rules(server: str, value: Any) -> Callable[[str], ApprovalRule]:
    """``register_mcp_server``'s ``requires_approval`` as a function of a tool's own name.

    ``value`` is one rule for every tool of the server (``True``, ``False`` or a function
    of a call's arguments), or a mapping of the server's tool names to rules (tools not
    named need no approval).
    """
    if isinstance(value, Mapping):
        rules: dict[str, ApprovalRule] = {}
        for tool, rule in value.items():
            if not isinstance(tool, str):
                raise ConfigurationError(
                    f"MCP server {server!r}: requires_approval keys are tool names, got {tool!r}"
                )
            rules[tool] = check_requires_approval(f"{server}/{tool}", rule)
        return lambda name: rules.get(name, False)
    rule = check_requires_approval(server, value)
    return lambda name: rule
