"""MCP faults: servers that die mid-call, never answer, or answer nonsense.

The model is the loopback fault server; the MCP servers are the MCP suite's demo server
in a child process (tests/_mcp_servers.py), killed with SIGKILL while a call is in
flight, and the fault server posing as an MCP endpoint that never answers or answers
garbage. Rows already proven by tests/_async/test_mcp.py (a slow call, a server killed
between calls and reconnected, ``isError`` results) are referenced, not repeated.
Written once (async), generated for sync.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mbxai import AsyncMCPClient, AsyncOpenRouterClient, MCPConnectionError
from tests._mcp_servers import ChildServer
from tests.faults_matrix import row
from tests.faults_server import FaultServer, garbage, hang, reply, status, tool_reply

pytestmark = pytest.mark.anyio

KEY = "sk-or-v1-faults-0123456789abcdef"
ASK = [{"role": "user", "content": "Use the tools"}]


def make_client(server: FaultServer) -> AsyncMCPClient:
    return AsyncMCPClient(
        AsyncOpenRouterClient(token=KEY, base_url=server.url, max_retries=0, timeout=10)
    )


def mcp_url(server: FaultServer) -> str:
    """The fault server posing as an MCP endpoint."""
    return f"http://127.0.0.1:{server.port}/mcp"


def tool_results(server: FaultServer) -> list[str]:
    messages = server.requests[-1].json["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


@pytest.fixture
def child() -> Iterator[ChildServer]:
    with ChildServer("child") as process:
        yield process


@row(
    "MCP",
    "server SIGKILLed mid-call",
    "the model is told the server is unavailable; the chat goes on",
)
async def test_server_killed_mid_call(server: FaultServer, child: ChildServer) -> None:
    server.add(tool_reply(("nap", json.dumps({"seconds": 30}))), reply("the server died"))
    async with make_client(server) as client:
        await client.register_mcp_server("child", child.url, timeout=5)
        # the call is in flight (a 30 s nap) when the server dies; the kill is the fault,
        # not an assertion: had the call not started yet, it would fail the same way
        killer = threading.Timer(0.5, child.kill)
        killer.start()
        try:
            response = await client.chat(ASK)
        finally:
            killer.cancel()
    assert response.content == "the server died"
    (result,) = tool_results(server)
    assert "MCPConnectionError" in result
    assert "server 'child' unavailable" in result
    assert "no answer within" not in result  # the drop was seen, not waited out


@row(
    "MCP",
    "server never answers the handshake",
    "MCPConnectionError within the timeout; nothing registered",
)
async def test_server_never_answers(server: FaultServer) -> None:
    server.add(*[hang] * 8)
    async with make_client(server) as client:
        with pytest.raises(MCPConnectionError, match="hung"):
            await client.register_mcp_server("hung", mcp_url(server), timeout=1)
        assert "hung" not in client.mcp_servers
        assert dict(client.tools) == {}


@row(
    "MCP",
    "server answers garbage",
    "MCPConnectionError naming the server; nothing registered",
)
@pytest.mark.parametrize(
    "behaviour",
    [
        status(200, {"jsonrpc": "2.0", "id": 999, "result": {"nonsense": True}}),
        status(200, "<html>not MCP</html>", text=True),
        status(500),
        garbage(),
    ],
    ids=["wrong-json-rpc", "html", "http-500", "not-http"],
)
async def test_server_answers_garbage(server: FaultServer, behaviour: Any) -> None:
    server.add(*[behaviour] * 8)
    async with make_client(server) as client:
        with pytest.raises(MCPConnectionError, match="junk"):
            await client.register_mcp_server("junk", mcp_url(server), timeout=2)
        assert "junk" not in client.mcp_servers
