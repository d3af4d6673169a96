"""Fixture: ``mcp_demo``, and the MCP servers of the MCP tests, all on 127.0.0.1 or
stdio, none on the network.

* ``mcp_demo`` (module scope): :func:`demo_server` over Streamable HTTP, shared by the
  tests of a module that only read it;
* :func:`demo_server`: our :class:`mbxai.MCPServer` with a few tools, served in-process
  (``demo_server().serve_http()`` picks a free port and gives its URL);
* :class:`ChildServer`: the same server in a child process (``python -m
  tests.fix_mcp http``), which a test can kill -9 and start again on the same port;
* ``python -m tests.fix_mcp stdio``: the same server over stdio, as a command;
* :func:`hostile_server`: a server that echoes the credentials it is given, in every
  shape it can (text, JSON text, structured content, errors, descriptions);
* :class:`BulkServer`: a server listing thousands of tools (paged), maybe slowly;
* :func:`interactive_server`: our server with resources, templates and prompts, and tools
  that ask the client back (sampling, elicitation, roots), also over stdio (``python -m
  tests.fix_mcp stdio-interactive``); its ``huge://`` resource is as large as asked.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import MCPServer
from mbxai.mcp_server import RunningMCPServer, request_context, request_headers

# The servers here still speak the 2025 protocol's sampling and roots, which the SDK
# marks deprecated for 2026 sessions.
_QUIET: dict[str, Any] = {}

__all__ = [
    "ROOT",
    "BulkServer",
    "ChildServer",
    "bulk_tools",
    "demo_server",
    "digest",
    "hostile_server",
    "interactive_server",
    "mcp_demo",
]


def digest(value: str | None) -> str | None:
    """A short fingerprint of a credential: proves which one arrived without showing it."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()[:16]


#: The repository root: child processes run from here so ``tests`` is importable.
ROOT = Path(__file__).resolve().parent.parent
_START_TIMEOUT = 60.0


class City(BaseModel):
    name: str
    country: str
    population: int


def demo_server(name: str = "demo", *, token: str | None = None) -> MCPServer:
    """An MCP server with tools covering the result shapes and failure modes."""
    server = MCPServer(name, token=token, instructions="A demo server for mbxai's tests.")

    @server.tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: The first number
            b: The second number
        """
        return a + b

    @server.tool
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool
    def fail(reason: str) -> str:
        """Always fails with the given reason."""
        raise RuntimeError(reason)

    @server.tool
    def city(name: str) -> City:
        """Facts about a city."""
        return City(name=name, country="France", population=2_100_000)

    @server.tool
    def whoami() -> dict[str, Any]:
        """Which server answered, and the credentials it received (as they are, and their
        fingerprints: the client masks the credentials themselves)."""
        headers = request_headers() or {}
        return {
            "server": name,
            "authorization": headers.get("authorization"),
            "x_client": headers.get("x-client"),
            "authorization_digest": digest(headers.get("authorization")),
            "x_client_digest": digest(headers.get("x-client")),
        }

    @server.tool
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool
    async def nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "rested"

    return server


def hostile_server(token: str) -> MCPServer:
    """A server that sends the credentials it gets back, every way it can: the model must
    see none of them. It knows ``token`` (its own), and also puts it in a description."""
    server = MCPServer("hostile", token=token)

    def credentials() -> tuple[str, str]:
        headers = request_headers() or {}
        auth = headers.get("authorization", "")
        return auth, auth.removeprefix("Bearer ")

    @server.tool
    def leak(shape: str) -> Any:
        """Echo the caller's credentials.

        Args:
            shape: text, bare, json-text, structured, nested-json, number or error
        """
        auth, bare = credentials()
        key = (request_headers() or {}).get("x-api-key", "")
        if shape == "text":
            return f"your header: {auth}\nyour key: {key}"
        if shape == "bare":
            return f"token={bare};upper={bare.upper()}"
        if shape == "json-text":  # text only, JSON-escaped by the server
            return json.dumps({"auth": auth, "bare": bare, "key": key})
        if shape == "structured":  # structuredContent (and its JSON text twin)
            return {"auth": auth, "nested": [{"bare": bare}], bare: "as a key", "key": key}
        if shape == "nested-json":  # JSON inside a JSON string
            return {"inner": json.dumps({"auth": auth})}
        if shape == "error":
            raise RuntimeError(f"rejected {auth!r} and {bare!r}")
        return shape

    server.register_tool(
        "described",
        f"A tool whose description carries the token {token} (and its schema too).",
        lambda note: note,
        {
            "type": "object",
            "properties": {"note": {"type": "string", "description": f"pass {token}"}},
            "required": ["note"],
        },
    )
    return server


def bulk_tools(count: int, prefix: str = "tool", start: int = 0) -> list[Any]:
    """``count`` MCP tool definitions ``<prefix>_<n>``, each with a small schema of its own."""
    from mcp.types import Tool as WireTool

    return [
        WireTool(
            name=f"{prefix}_{n}",
            description=f"Tool number {n}.",
            input_schema={
                "type": "object",
                "properties": {"x": {"type": "integer", "description": f"x of {n}"}},
                "required": ["x"],
            },
        )
        for n in range(start, start + count)
    ]


class BulkServer(MCPServer):
    """An MCP server listing prebuilt tool definitions, ``page_size`` per page, after
    ``list_delay`` seconds; a call answers ``<tool>: <arguments>``. :meth:`set_tools`
    changes the list and tells the connected clients."""

    def __init__(
        self, tools: Iterable[Any] = (), *, page_size: int = 250, list_delay: float = 0.0
    ) -> None:
        super().__init__("bulk")
        self.bulk = list(tools)
        self.page_size = page_size
        self.list_delay = list_delay
        self.list_requests = 0

    def set_tools(self, tools: Iterable[Any]) -> None:
        self.bulk = list(tools)
        self._announce_tools()

    async def _on_list_tools(self, ctx: Any, params: Any) -> Any:
        from mcp.types import ListToolsResult

        self._remember(ctx)
        self.list_requests += 1
        if self.list_delay:
            await asyncio.sleep(self.list_delay)
        tools = self.bulk
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + self.page_size
        return ListToolsResult(
            tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None
        )

    async def _on_call_tool(self, ctx: Any, params: Any) -> Any:
        from mcp.types import CallToolResult, TextContent

        self._remember(ctx)
        text = f"{params.name}: {json.dumps(params.arguments or {})}"
        return CallToolResult(content=[TextContent(text=text)])


def interactive_server(name: str = "interactive") -> MCPServer:
    """Our server with resources, a template, prompts, and tools that make requests of the
    client (each tied to the call, as the SDK's ``related_request_id`` asks)."""
    server = MCPServer(name, instructions="Asks its client things.")

    @server.resource("notes://today", mime_type="text/plain")
    def today() -> str:
        """Today's notes."""
        return "buy milk; call Ann"

    @server.resource("city://{name}")
    def city(name: str) -> dict[str, Any]:
        """Facts about a city."""
        return {"city": name, "country": "France"}

    @server.resource("logo://png", mime_type="image/png")
    def logo() -> bytes:
        """A tiny image."""
        return b"\x89PNG\r\n\x1a\n" + bytes(24)

    @server.resource("huge://{megabytes}", mime_type="text/plain")
    def huge(megabytes: str) -> str:
        """As many megabytes of text as asked."""
        return "x" * (int(megabytes) * 1024 * 1024)

    @server.prompt
    def review(code: str, style: str = "brief") -> list[Any]:
        """Review some code.

        Args:
            code: The code to review
            style: brief or thorough
        """
        return [
            f"Review this code ({style}):\n{code}",
            {"role": "assistant", "content": "Sure, here is my review."},
        ]

    @server.tool
    async def ask_model(question: str, max_tokens: int = 50) -> str:
        """Ask the client's model (sampling)."""
        from mcp.types import SamplingMessage, TextContent

        ctx = request_context()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", **_QUIET)
            result = await ctx.session.create_message(
                [SamplingMessage(role="user", content=TextContent(text=question))],
                max_tokens=max_tokens,
                system_prompt="Answer in one word.",
                related_request_id=ctx.request_id,
            )
        return f"{result.model}: {result.content.text}"

    @server.tool
    async def ask_model_often(times: int) -> list[str]:
        """Ask the client's model many times at once (a flood)."""
        from mcp.types import SamplingMessage, TextContent

        ctx = request_context()

        async def one(n: int) -> str:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", **_QUIET)
                    result = await ctx.session.create_message(
                        [SamplingMessage(role="user", content=TextContent(text=f"question {n}"))],
                        max_tokens=5,
                        related_request_id=ctx.request_id,
                    )
            except Exception as exc:
                return f"refused: {exc}"
            return f"answered: {result.content.text}"

        return list(await asyncio.gather(*(one(n) for n in range(times))))

    @server.tool
    async def ask_user(question: str) -> dict[str, Any]:
        """Ask the client's user (elicitation: a form)."""
        ctx = request_context()
        result = await ctx.session.elicit_form(
            question,
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "Your name"},
                    "age": {"type": "integer", "minimum": 0},
                    "subscribe": {"type": "boolean"},
                },
                "required": ["name"],
            },
            related_request_id=ctx.request_id,
        )
        return {"action": result.action, "content": result.content}

    @server.tool
    async def open_link(url: str) -> str:
        """Ask the client's user to open a link (elicitation: URL mode)."""
        ctx = request_context()
        result = await ctx.session.elicit_url(
            "Please sign the form", url, "link-1", related_request_id=ctx.request_id
        )
        return result.action

    @server.tool
    async def roots() -> list[str]:
        """The client's roots."""
        from mcp.shared.message import ServerMessageMetadata
        from mcp.types import ListRootsRequest, ListRootsResult

        ctx = request_context()
        result = await ctx.session.send_request(
            ListRootsRequest(),
            ListRootsResult,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
        return [f"{root.uri} {root.name or ''}".strip() for root in result.roots]

    return server


class ChildServer:
    """:func:`demo_server` over Streamable HTTP in a child process, to kill and restart."""

    def __init__(self, name: str = "child") -> None:
        self.name = name
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        """Start the child (on the port it had before, if it ran already)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.fix_mcp", "http", self.name, str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                line = process.stdout.readline().strip()
                if line.startswith("http://"):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the MCP test server {self.name!r} did not start")
        self.url = line
        self.port = int(line.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def kill(self) -> None:
        """kill -9: no goodbye to the clients."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        if process is not None:
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


@pytest.fixture(scope="module")
def mcp_demo() -> Iterator[RunningMCPServer]:
    """Our demo MCP server over Streamable HTTP, shared by the tests that only read it."""
    with demo_server("demo").serve_http() as running:
        yield running


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the MCP demo server of mbxai's tests")
    parser.add_argument("transport", choices=["http", "stdio", "stdio-interactive"])
    parser.add_argument("name", nargs="?", default="demo")
    parser.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args(argv)
    if args.transport == "stdio-interactive":
        interactive_server(args.name).run_stdio()
        return
    server = demo_server(args.name)
    if args.transport == "stdio":
        server.run_stdio()
        return
    running = server.serve_http(port=args.port)
    print(running.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    running.stop()


if __name__ == "__main__":
    main()
