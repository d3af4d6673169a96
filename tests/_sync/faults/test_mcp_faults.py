# This file is generated from tests/_async/faults/test_mcp_faults.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""MCP faults: servers that die mid-call, never answer, or answer nonsense.

The model is the loopback fault server; the MCP servers are the MCP suite's demo server
in a child process (tests/fix_mcp.py), killed with SIGKILL while a call is in
flight, and the fault server posing as an MCP endpoint that never answers or answers
garbage. Rows already proven by tests/_async/test_mcp.py (a slow call, a server killed
between calls and reconnected, ``isError`` results) are referenced, not repeated.
Hostile servers too: one echoing the credentials it is given, one listing 20,000 tools
(at once, or later), one whose listing stalls, one whose tool names collide.
Written once (async), generated for sync.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from mbxai import MCPClient, MCPConnectionError, OpenRouterClient
from mbxai._concurrency import sleep
from mbxai._errors import MCPTooManyToolsError
from tests.faults_matrix import row
from tests.fix_fault_server import FaultServer, garbage, hang, reply, status, tool_reply
from tests.fix_mcp import BulkServer, ChildServer, bulk_tools, hostile_server
from tests.support.event_loops import Heartbeat

KEY = "sk-or-v1-faults-0123456789abcdef"
ASK = [{"role": "user", "content": "Use the tools"}]
#: A credential with what JSON and repr escape: a quote and a backslash.
TOKEN = 'mcp"tok\\en-5be1d7'
#: The longest the event loop may go without running while a hostile server is read (the
#: old code froze it for 30 s on 20,000 tools; what is left is the SDK parsing a page).
STALL = 1.0


def make_client(fault_server: FaultServer) -> MCPClient:
    return MCPClient(
        OpenRouterClient(token=KEY, base_url=fault_server.url, max_retries=0, timeout=10)
    )


def mcp_url(fault_server: FaultServer) -> str:
    """The fault server posing as an MCP endpoint."""
    return f"http://127.0.0.1:{fault_server.port}/mcp"


def tool_results(fault_server: FaultServer) -> list[str]:
    messages = fault_server.requests[-1].json["messages"]
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
def test_server_killed_mid_call(fault_server: FaultServer, child: ChildServer) -> None:
    fault_server.add(tool_reply(("nap", json.dumps({"seconds": 30}))), reply("the server died"))
    with make_client(fault_server) as client:
        client.register_mcp_server("child", child.url, timeout=5)
        # the call is in flight (a 30 s nap) when the server dies; the kill is the fault,
        # not an assertion: had the call not started yet, it would fail the same way
        killer = threading.Timer(0.5, child.kill)
        killer.start()
        try:
            response = client.chat(ASK)
        finally:
            killer.cancel()
    assert response.content == "the server died"
    (result,) = tool_results(fault_server)
    assert "MCPConnectionError" in result
    assert "server 'child' unavailable" in result
    assert "no answer within" not in result  # the drop was seen, not waited out


@row(
    "MCP",
    "server never answers the handshake",
    "MCPConnectionError within the timeout; nothing registered",
)
def test_server_never_answers(fault_server: FaultServer) -> None:
    fault_server.add(*[hang] * 8)
    with make_client(fault_server) as client:
        with pytest.raises(MCPConnectionError, match="hung"):
            client.register_mcp_server("hung", mcp_url(fault_server), timeout=1)
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
def test_server_answers_garbage(fault_server: FaultServer, behaviour: Any) -> None:
    fault_server.add(*[behaviour] * 8)
    with make_client(fault_server) as client:
        with pytest.raises(MCPConnectionError, match="junk"):
            client.register_mcp_server("junk", mcp_url(fault_server), timeout=2)
        assert "junk" not in client.mcp_servers


def eventually_(check: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"this did not happen: {what}")
        sleep(0.05)


@row(
    "MCP",
    "server echoes its credentials (a token with a quote and a backslash) everywhere",
    "the model sees [hidden] in results, errors and descriptions, never the token",
)
def test_server_echoes_its_credentials(fault_server: FaultServer) -> None:
    fault_server.add(
        tool_reply(
            ("leak", '{"shape": "structured"}'),
            ("leak", '{"shape": "json-text"}'),
            ("leak", '{"shape": "nested-json"}'),
            ("leak", '{"shape": "error"}'),
            ("described", '{"note": "x"}'),
        ),
        reply("done"),
    )
    with hostile_server(TOKEN).serve_http() as hostile:
        with make_client(fault_server) as client:
            client.register_mcp_server("hostile", hostile.url, token=TOKEN, timeout=10)
            response = client.chat(ASK)
    assert response.content == "done"
    results = tool_results(fault_server)
    assert len(results) == 5
    assert all("[hidden]" in result for result in results[:4])
    for request in fault_server.requests:  # the bytes on the wire to the model
        body = request.body.decode()
        decoded = json.dumps(request.json, ensure_ascii=False)
        for shape in (TOKEN, json.dumps(TOKEN)[1:-1], repr(TOKEN)[1:-1], "5be1d7"):
            assert shape not in body
            assert shape not in decoded


@row(
    "MCP",
    "server lists 20,000 tools",
    "MCPTooManyToolsError within seconds (filters counted, max_tools=128); loop never stalls",
)
def test_server_lists_20000_tools(fault_server: FaultServer) -> None:
    bulk = BulkServer(bulk_tools(20_000))
    with bulk.serve_http() as running:
        with make_client(fault_server) as client, Heartbeat() as beat:
            started = time.monotonic()
            with pytest.raises(MCPTooManyToolsError, match="offers 8889 tools") as refused:
                client.register_mcp_server("all", running.url, deny=["tool_1*"], timeout=20)
            refusing = time.monotonic() - started
            assert client.mcp_servers == {}
            assert dict(client.tools) == {}
    assert (refused.value.count, refused.value.max_tools) == (20_000 - 11_111, 128)
    assert refusing < 15
    assert beat.longest < STALL, f"the event loop stalled for {beat.longest:.2f} s"


@row(
    "MCP",
    "server's tool list grows to 20,000 tools after registration",
    "the registered tools stay, new ones fill the cap (filters apply), loop never stalls",
)
def test_tool_list_grows_to_20000(fault_server: FaultServer) -> None:
    fault_server.add(tool_reply(("tool_3", '{"x": 3}'), ("late_5", '{"x": 5}')), reply("done"))
    bulk = BulkServer(bulk_tools(50))
    with bulk.serve_http() as running:
        with make_client(fault_server) as client, Heartbeat() as beat:
            client.register_mcp_server("bulk", running.url, deny=["late_1*"], timeout=10)
            bulk.set_tools(bulk_tools(20_000, prefix="late") + bulk_tools(50))
            eventually_(
                lambda: client.mcp_servers["bulk"].listed == 20_050, "the new list was read"
            )
            eventually_(lambda: len(client.tools) == 128, "the cap was filled")
            info = client.mcp_servers["bulk"]
            response = client.chat(ASK)
            definitions = fault_server.requests[0].json["tools"]
    assert beat.longest < STALL, f"the event loop stalled for {beat.longest:.2f} s"
    late = [n for n in range(100) if not str(n).startswith("1")][:78]
    assert set(info.tools) == {f"tool_{n}" for n in range(50)} | {f"late_{n}" for n in late}
    assert info.dropped == (20_000 - 11_111) + 50 - 128
    assert len(definitions) == 128  # the cap is what goes into each request
    assert response.content == "done"
    assert tool_results(fault_server) == ['tool_3: {"x": 3}', 'late_5: {"x": 5}']


@row(
    "MCP",
    "tools/list stalls, or registering its tools takes longer than the timeout",
    "MCPConnectionError within the timeout; a stalled re-listing keeps the tools working",
)
def test_tool_listing_stalls(fault_server: FaultServer) -> None:
    fault_server.add(tool_reply(("tool_1", '{"x": 1}')), reply("still works"))
    bulk = BulkServer(bulk_tools(10), list_delay=30)
    with bulk.serve_http() as running:
        with make_client(fault_server) as client:
            started = time.monotonic()
            with pytest.raises(MCPConnectionError, match="no answer within 1 s"):
                client.register_mcp_server("stalled", running.url, timeout=1)
            assert time.monotonic() - started < 4
            assert client.mcp_servers == {}

            # Listed in time, but 6,000 schemas to build (max_tools=None) take longer than
            # the 2 s registration is allowed: refused then, not whenever it is done.
            many = BulkServer(bulk_tools(6_000), page_size=1_000)
            with many.serve_http() as slow_build:
                started = time.monotonic()
                with pytest.raises(MCPConnectionError, match="'slow-build'"):
                    client.register_mcp_server(
                        "slow-build", slow_build.url, max_tools=None, timeout=2
                    )
                assert time.monotonic() - started < 3.5
            assert client.mcp_servers == {}
            assert dict(client.tools) == {}

            bulk.list_delay = 0
            client.register_mcp_server("bulk", running.url, timeout=1)
            bulk.list_delay = 30
            requests = bulk.list_requests
            bulk.set_tools(bulk_tools(20, prefix="other"))  # announced, then never listed
            eventually_(lambda: bulk.list_requests > requests, "the client re-listed")
            sleep(1.5)  # past the timeout of that listing
            response = client.chat(ASK)
            info = client.mcp_servers["bulk"]
    assert set(info.tools) == {f"tool_{n}" for n in range(10)}
    assert info.connected
    assert response.content == "still works"
    assert tool_results(fault_server) == ['tool_1: {"x": 1}']


@row(
    "MCP",
    "server lists colliding, duplicate and invalid tool names",
    "each tool registered once, under a distinct valid name; calls reach the right tool",
)
def test_tool_names_collide(fault_server: FaultServer) -> None:
    from mcp.types import Tool as WireTool

    schema = {"type": "object", "properties": {}}
    names = ["a.b", "a_b", "a b", "dup", "dup", "x" * 100, "x" * 100 + "y", "", "add", "é"]
    tools = [WireTool(name=name, input_schema=schema) for name in names]
    fault_server.add(tool_reply(("a_b", "{}"), ("bulk__a_b", "{}"), ("add", "{}")), reply("done"))
    bulk = BulkServer(tools)
    with bulk.serve_http() as running:
        with make_client(fault_server) as client:
            client.register_tool("add", "a local tool", lambda: "local add")
            registered = client.register_mcp_server("bulk", running.url, timeout=10)
            client.chat(ASK)
            info = client.mcp_servers["bulk"]
    assert len(registered) == len(set(registered)) == len(names) - 1  # "dup" once
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name) for name in registered)
    assert sorted(info.tools.values()) == sorted(set(names))
    assert info.tools["a_b"] == "a.b"
    assert info.tools["bulk__a_b"] == "a_b"
    assert tool_results(fault_server) == ["a.b: {}", "a_b: {}", "local add"]
