# This file is generated from tests/_async/test_mcp.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Behaviour of the MCP client against real MCP servers, written once (async) and generated
for sync.

The servers are real: our ``MCPServer`` on a free 127.0.0.1 port (in-process, or in a child
process that gets killed), our server over stdio, and ``mcp-server-time`` from PyPI over
stdio. The model is :class:`mbxai.testing.FakeModel`; each test checks what the "model"
received as tool results. Timeouts are short so a hang fails fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mbxai import (
    ConfigurationError,
    MCPClient,
    MCPConnectionError,
    MCPServer,
    OpenRouterClient,
)
from mbxai._concurrency import call_blocking, sleep
from mbxai._errors import MCPTooManyToolsError
from mbxai.mcp_server import RunningMCPServer
from mbxai.testing import FakeModel, Reply, call
from tests.fix_mcp import (
    ROOT,
    BulkServer,
    ChildServer,
    bulk_tools,
    demo_server,
    digest,
    hostile_server,
)

mcp = pytest.importorskip("mcp")

ALPHA = "alpha-token-7f3a9c-do-not-leak"
BETA = "beta-token-51d0e2-do-not-leak"
#: A token a naive substring search after JSON encoding would miss: it has a quote and
#: a backslash, which JSON escapes.
TRICKY = 'tok"en\\with-quote-7f3a9c'
API_KEY = "key-9d8e7f-secret"
ASK = [{"role": "user", "content": "Use the tools."}]


def make(fake: FakeModel) -> MCPClient:
    return MCPClient(OpenRouterClient(token="test-key", transport=fake, max_retries=0))


def tool_results(fake: FakeModel, request: int = -1) -> list[str]:
    """The tool results the model received in a request (the last by default)."""
    return [m["content"] for m in fake.requests[request].messages if m["role"] == "tool"]


def stdio_demo() -> Any:
    return mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "tests.fix_mcp", "stdio"], cwd=str(ROOT)
    )


def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait (at most 15 s) for something the servers do in the background."""
    for _ in range(300):
        if check():
            return
        sleep(0.05)
    raise AssertionError(f"this did not happen: {what}")


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not reaped yet: an orphan in a container) is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# -- connecting and calling ---------------------------------------------------------------


def test_tools_are_listed_and_a_model_call_round_trips(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel([Reply(tool_calls=[call("add", a=2, b=3), call("city", name="Paris")]), "5"])
    base_url = mcp_demo.url.removesuffix("/mcp")  # as in the seed: a bare base URL means /mcp
    with make(fake) as client:
        names = client.register_mcp_server("demo", base_url, timeout=10)
        assert {"add", "echo", "fail", "city", "whoami"} <= set(names)
        info = client.mcp_servers["demo"]
        assert info.connected
        assert info.transport == "http"
        assert info.where == mcp_demo.url
        response = client.chat(ASK)

    assert response.content == "5"
    # The server's inputSchema is what the model was offered.
    offered = {t["function"]["name"]: t["function"] for t in fake.requests[0].json["tools"]}
    assert offered["add"]["description"].startswith("Add two numbers.")
    assert offered["add"]["parameters"]["properties"]["a"] == {
        "type": "integer",
        "description": "The first number",
    }
    assert offered["add"]["parameters"]["required"] == ["a", "b"]
    # structuredContent comes back as JSON.
    assert tool_results(fake) == [
        '{"result":5}',
        '{"name":"Paris","country":"France","population":2100000}',
    ]


def test_a_servers_tools_can_require_approval_per_tool(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel(
        [Reply(tool_calls=[call("add", a=2, b=3), call("city", name="Paris")]), "5 and Paris"],
        strict_script=True,
    )
    with make(fake) as client:
        client.register_mcp_server(
            "demo", mcp_demo.url, timeout=10, requires_approval={"add": True}
        )
        assert client.tools["add"].requires_approval is True
        assert client.tools["city"].requires_approval is False
        paused = client.chat(ASK)
        (pending,) = paused.pending_approvals
        assert (pending.tool, pending.arguments) == ("add", {"a": 2, "b": 3})
        assert len(fake.requests) == 1
        # the city ran at once; the addition had not reached the server
        assert [m["content"] for m in paused.transcript if m.get("role") == "tool"] == [
            '{"name":"Paris","country":"France","population":2100000}'
        ]
        done = client.chat(paused.transcript, approvals={pending.id: True})
    assert done.content == "5 and Paris"
    assert sorted(tool_results(fake)) == [
        '{"name":"Paris","country":"France","population":2100000}',
        '{"result":5}',
    ]


def test_error_results_reach_the_model_as_errors(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel([Reply(tool_calls=[call("fail", reason="disk full")]), "Sorry."])
    with make(fake) as client:
        client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        response = client.chat(ASK)

    assert response.content == "Sorry."
    assert tool_results(fake) == ["Error: tool 'fail' raised MCPToolError: RuntimeError: disk full"]


def test_arguments_are_checked_against_the_servers_schema(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel([Reply(tool_calls=[call("add", a="two", b=3)]), "Oops."])
    with make(fake) as client:
        client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        client.chat(ASK)

    [result] = tool_results(fake)
    assert result.startswith("Error: tool 'add': invalid arguments:")
    assert "'two' is not of type 'integer'" in result


def test_colliding_tool_names_are_namespaced(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel(
        [
            Reply(
                tool_calls=[
                    call("add", a=1, b=1),
                    call("demo__add", a=2, b=2),
                    call("again__add", a=3, b=3),
                    call("echo", text="bare"),
                ]
            ),
            "Done.",
        ]
    )

    def add(a: int, b: int) -> str:
        """The local add."""
        return f"local {a + b}"

    with make(fake) as client:
        client.register_tool("add", None, add)
        first = client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        again = client.register_mcp_server("again", mcp_demo.url, timeout=10)
        always = client.register_mcp_server("spaced", mcp_demo.url, timeout=10, namespace=True)
        client.chat(ASK)

    # Only what collides is prefixed: the local tool keeps "add", demo's other tools keep
    # their names, and everything of the second server collides.
    assert "demo__add" in first
    assert "echo" in first
    assert "add" not in first
    assert set(again) == {f"again__{name.removeprefix('demo__')}" for name in first}
    assert all(name.startswith("spaced__") for name in always)
    assert client.mcp_servers == {}  # closed with the block
    assert tool_results(fake) == ["local 2", '{"result":4}', '{"result":6}', "bare"]


def test_headers_and_tokens_reach_only_their_own_server() -> None:
    fake = FakeModel([Reply(tool_calls=[call("whoami"), call("beta__whoami")]), "Both."])
    with (
        demo_server("alpha", token=ALPHA).serve_http() as alpha,
        demo_server("beta", token=BETA).serve_http() as beta,
    ):
        with make(fake) as client:
            client.register_mcp_server(
                "alpha", alpha.url, token=ALPHA, headers={"X-Client": "for-alpha"}, timeout=10
            )
            client.register_mcp_server("beta", beta.url, token=BETA, timeout=10)
            # A server's token is no good for the other one: it answers 401.
            with pytest.raises(MCPConnectionError, match="'beta-again'"):
                client.register_mcp_server("beta-again", beta.url, token=ALPHA, timeout=10)
            shown = repr(client) + repr(client.mcp_servers)
            client.chat(ASK)

    # Each server got its own credentials (their fingerprints say so), and the model saw
    # none of them, though the servers echoed them: credentials are masked in results.
    assert [json.loads(result) for result in tool_results(fake)] == [
        {
            "server": "alpha",
            "authorization": "[hidden]",
            "x_client": "[hidden]",
            "authorization_digest": digest(f"Bearer {ALPHA}"),
            "x_client_digest": digest("for-alpha"),
        },
        {
            "server": "beta",
            "authorization": "[hidden]",
            "x_client": None,
            "authorization_digest": digest(f"Bearer {BETA}"),
            "x_client_digest": None,
        },
    ]
    assert ALPHA not in shown
    assert BETA not in shown


def test_a_servers_credentials_never_reach_the_model() -> None:
    shapes = ["text", "bare", "json-text", "structured", "nested-json", "error"]
    fake = FakeModel(
        [
            Reply(tool_calls=[call("leak", shape=shape) for shape in shapes]),
            Reply(tool_calls=[call("described", note="hi")]),
            "Done.",
        ]
    )
    with hostile_server(TRICKY).serve_http() as running:
        with make(fake) as client:
            client.register_mcp_server(
                "hostile", running.url, token=TRICKY, headers={"X-Api-Key": API_KEY}, timeout=10
            )
            client.chat(ASK)

    text, bare, json_text, structured, nested, error = tool_results(fake, 1)
    assert text == "your header: [hidden]\nyour key: [hidden]"
    assert bare == "token=[hidden];upper=[hidden]"
    assert json.loads(json_text) == {"auth": "[hidden]", "bare": "[hidden]", "key": "[hidden]"}
    assert json.loads(structured) == {
        "auth": "[hidden]",
        "nested": [{"bare": "[hidden]"}],
        "[hidden]": "as a key",
        "key": "[hidden]",
    }
    assert json.loads(json.loads(nested)["inner"]) == {"auth": "[hidden]"}
    assert error.startswith("Error: tool 'leak' raised MCPToolError: RuntimeError: rejected")
    assert error.count("[hidden]") == 2
    offered = {t["function"]["name"]: t["function"] for t in fake.requests[0].json["tools"]}
    assert "[hidden]" in offered["described"]["description"]
    assert offered["described"]["parameters"]["properties"]["note"]["description"] == (
        "pass [hidden]"
    )
    # Nothing the model was sent holds a credential, in any shape: raw, JSON-escaped,
    # repr-escaped, upper-case.
    shapes_of = [TRICKY, json.dumps(TRICKY)[1:-1], repr(TRICKY)[1:-1], API_KEY, "7f3a9c"]
    for request in fake.requests:
        for sent in strings(request.json):
            for secret in shapes_of:
                assert secret.lower() not in sent.lower()


def test_the_older_sse_transport() -> None:
    fake = FakeModel([Reply(tool_calls=[call("echo", text="over sse"), call("whoami")]), "ok"])
    with demo_server("old").serve_http(transport="sse") as running:
        assert running.url.endswith("/sse")
        with make(fake) as client:
            client.register_mcp_server(
                "old", running.url, headers={"X-Client": "by-sse"}, timeout=10
            )
            assert client.mcp_servers["old"].transport == "sse"
            client.chat(ASK)

    echo, who = tool_results(fake)
    assert echo == "over sse"
    assert json.loads(who)["x_client"] == "[hidden]"  # a header's value is a credential
    assert json.loads(who)["x_client_digest"] == digest("by-sse")


def test_an_unreachable_server_fails_registration_and_leaves_nothing_behind() -> None:
    fake = FakeModel()
    with demo_server("gone").serve_http() as running:
        url = running.url  # a port nobody listens on once this server stopped
    with make(fake) as client:
        with pytest.raises(MCPConnectionError, match=r"could not connect to MCP server 'gone'"):
            client.register_mcp_server("gone", url, timeout=5)
        with pytest.raises(MCPConnectionError, match="'nowhere'"):
            client.register_mcp_server(
                "nowhere", [sys.executable, "-c", "import sys; sys.exit(3)"], timeout=5
            )
        assert client.mcp_servers == {}
        assert client.tools == {}


def test_registration_arguments_are_checked() -> None:
    with make(FakeModel()) as client:
        with pytest.raises(ConfigurationError, match="server name"):
            client.register_mcp_server("no spaces", "http://127.0.0.1:9/mcp")
        with pytest.raises(ConfigurationError, match="headers and token are for HTTP"):
            client.register_mcp_server("local", ["server-command"], token="abc")
        with pytest.raises(ConfigurationError, match="transport must be"):
            client.register_mcp_server("x", "http://127.0.0.1:9", transport="carrier-pigeon")
        with pytest.raises(ConfigurationError, match="timeout"):
            client.register_mcp_server("x", "http://127.0.0.1:9", timeout=0)
        url = "http://127.0.0.1:9"
        wrong: list[tuple[dict[str, Any], str]] = [
            ({"namespace": "yes"}, "namespace must be True or False"),
            ({"namespace": 1}, "namespace must be True or False"),
            ({"allow": "get_*"}, "allow must be a list of tool names"),
            ({"allow": ["ok", 3]}, "allow must hold non-empty strings"),
            ({"deny": [""]}, "deny must hold non-empty strings"),
            ({"deny": 7}, "deny must be a list"),
            ({"tool_filter": "search"}, "tool_filter must be a callable"),
            ({"max_tools": 0}, "max_tools must be an int >= 1 or None"),
            ({"max_tools": "10"}, "max_tools must be an int"),
            ({"max_tools": True}, "max_tools must be an int"),
            ({"token": 123}, "token must be a non-empty string"),
            ({"token": "line\nbreak"}, "token contains a line break"),
            ({"headers": {"X-A": "a\r\nX-Injected: 1"}}, "line break"),
            ({"timeout": float("inf")}, "timeout"),
        ]
        for kwargs, message in wrong:
            with pytest.raises(ConfigurationError, match=message):
                client.register_mcp_server("x", url, **kwargs)
        assert client.mcp_servers == {}


def test_server_arguments_are_checked() -> None:
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"version": 123}, "version must be a string"),
        ({"instructions": 123}, "instructions must be a string"),
        ({"token": 42}, "token must be a non-empty string"),
        ({"token": ""}, "token must be a non-empty string"),
    ]
    for kwargs, message in wrong:
        with pytest.raises(ConfigurationError, match=message):
            MCPServer("s", **kwargs)
    with pytest.raises(ConfigurationError, match="name must be a non-empty string"):
        MCPServer(123)  # type: ignore[arg-type]
    server = MCPServer("s", version="1.0", instructions=None)
    with pytest.raises(ConfigurationError, match="port must be an int"):
        server.serve_http(port="8000")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="host must be a string"):
        server.serve_http(host=None)  # type: ignore[arg-type]


def test_a_name_cannot_be_registered_twice(mcp_demo: RunningMCPServer) -> None:
    with make(FakeModel()) as client:
        client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        with pytest.raises(ConfigurationError, match="already registered"):
            client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        client.unregister_mcp_server("demo")
        assert "add" not in client.tools
        client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        assert "add" in client.tools


def test_a_slow_call_is_reported_and_the_next_calls_still_work(
    mcp_demo: RunningMCPServer,
) -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("nap", seconds=5)]),
            "Too slow.",
            Reply(tool_calls=[call("add", a=1, b=1)]),
            "2",
        ]
    )
    with make(fake) as client:
        client.register_mcp_server("demo", mcp_demo.url, timeout=1)
        client.chat(ASK)
        [slow] = tool_results(fake)
        client.chat(ASK)

    assert slow == (
        "Error: tool 'nap' raised MCPConnectionError: server 'demo' unavailable: "
        "no answer within 1 s"
    )
    assert tool_results(fake) == ['{"result":2}']


def test_tools_are_listed_again_when_the_server_says_they_changed() -> None:
    server = demo_server("live")

    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    fake = FakeModel([Reply(tool_calls=[call("shout", text="hi")]), "HI."])
    with server.serve_http() as running:
        with make(fake) as client:
            client.register_mcp_server("live", running.url, timeout=10)
            assert "shout" not in client.tools
            server.register_tool("shout", None, shout)  # the server notifies its clients
            eventually(lambda: "shout" in client.tools, "the new tool was registered")
            assert client.tools["shout"].description == "Upper-case the text."
            client.chat(ASK)
            server.unregister_tool("shout")
            eventually(lambda: "shout" not in client.tools, "the tool was removed")

    assert tool_results(fake) == ["HI"]


# -- which tools, how many ------------------------------------------------------------------


def test_filters_and_a_cap_choose_the_tools() -> None:
    server = BulkServer(bulk_tools(300) + bulk_tools(5, prefix="admin"))
    with server.serve_http() as running:
        with make(FakeModel()) as client:
            # More than max_tools (128 by default): refused, with what to do about it.
            with pytest.raises(MCPTooManyToolsError, match=r"offers 305 tools.*max_tools=128"):
                client.register_mcp_server("all", running.url, timeout=10)
            assert client.mcp_servers == {}
            assert client.tools == {}

            some = client.register_mcp_server(
                "some", running.url, allow=["tool_1?", "admin_*"], deny=["admin_0"], timeout=10
            )
            sevens = client.register_mcp_server(
                "sevens",
                running.url,
                tool_filter=lambda tool: tool.name.endswith("7"),
                namespace=True,
                timeout=10,
            )
            everything = client.register_mcp_server(
                "everything", running.url, max_tools=None, namespace=True, timeout=10
            )
            with pytest.raises(ConfigurationError, match="tool_filter raised on tool 'tool_0'"):
                client.register_mcp_server(
                    "broken", running.url, tool_filter=lambda tool: 1 / 0, timeout=10
                )
            with pytest.raises(ConfigurationError, match="tool_filter must return True or False"):
                client.register_mcp_server(
                    "sloppy", running.url, tool_filter=lambda tool: None, timeout=10
                )
            assert set(client.mcp_servers) == {"some", "sevens", "everything"}

    assert sorted(some) == sorted(
        [f"tool_{n}" for n in range(10, 20)] + ["admin_1", "admin_2", "admin_3", "admin_4"]
    )
    assert sorted(sevens) == sorted(f"sevens__tool_{n}" for n in range(300) if n % 10 == 7)
    assert len(everything) == 305


def test_filters_and_the_cap_apply_when_the_list_changes() -> None:
    server = BulkServer(bulk_tools(60))
    fake = FakeModel([Reply(tool_calls=[call("tool_1", x=1), call("new_0", x=2)]), "Both."])
    with server.serve_http() as running:
        with make(fake) as client:
            names = client.register_mcp_server(
                "bulk", running.url, deny=["tool_5*", "new_7"], max_tools=80, timeout=10
            )
            assert len(names) == 49  # tool_5 and tool_50..59 denied
            # The list grows past the cap, the new tools first: the registered ones stay,
            # the first new ones fill the cap, the filters still apply.
            server.set_tools(bulk_tools(400, prefix="new") + bulk_tools(60))
            eventually(lambda: client.mcp_servers["bulk"].listed == 460, "the new list was read")
            eventually(lambda: len(client.tools) == 80, "the new tools were registered")
            info = client.mcp_servers["bulk"]
            client.chat(ASK)

    assert set(info.tools) == set(names) | {f"new_{n}" for n in range(32) if n != 7}
    assert info.dropped == (400 - 1 + 49) - 80
    assert "tool_5" not in info.tools
    assert tool_results(fake) == ['tool_1: {"x": 1}', 'new_0: {"x": 2}']


# -- exit -------------------------------------------------------------------------------------

#: A program that registers MCP servers (HTTP and stdio) with a sync MCPClient, uses them,
#: and ends without closing the client.
UNCLOSED = """
import sys
from mbxai import MCPClient, OpenRouterClient
from mbxai.testing import FakeModel, Reply, call
from tests.fix_mcp import demo_server

running = demo_server("web").serve_http()
fake = FakeModel([Reply(tool_calls=[call("pid"), call("web__pid")]), "ok"])
client = MCPClient(OpenRouterClient(token="test-key", transport=fake))
client.register_mcp_server("local", [sys.executable, "-m", "tests.fix_mcp", "stdio"])
client.register_mcp_server("web", running.url)
client.chat([{"role": "user", "content": "pids"}])
child = [m["content"] for m in fake.requests[-1].messages if m["role"] == "tool"][0]
print(child, flush=True)
"""


def test_an_unclosed_sync_client_does_not_keep_the_process_alive() -> None:
    # The sync client's sessions live on mbxai's background loop; at exit they are
    # closed within a bound, and nothing waits for that loop's thread beyond it.
    def run() -> tuple[str, float, int]:
        process = subprocess.Popen(
            [sys.executable, "-c", UNCLOSED],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        try:
            line = process.stdout.readline()  # printed once the servers were used
            done = time.monotonic()
            code = process.wait(timeout=15)
        finally:
            process.kill()
            process.stdout.close()
        return line, time.monotonic() - done, code

    line, exiting, code = call_blocking(run)
    child = json.loads(line)["result"]
    assert code == 0
    assert exiting < 6  # the bounded close at exit takes at most 5 s, usually a moment
    eventually(lambda: not alive(child), "the stdio server's process ended")


# -- stdio -------------------------------------------------------------------------------


def test_a_third_party_stdio_server_from_pypi() -> None:
    pytest.importorskip("mcp_server_time")
    fake = FakeModel(
        [
            Reply(
                tool_calls=[
                    call("get_current_time", timezone="Europe/Paris"),
                    call("get_current_time", timezone="Mars/Olympus_Mons"),
                ]
            ),
            "It is late in Paris.",
        ]
    )
    command = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]
    with make(fake) as client:
        names = client.register_mcp_server("time", command, timeout=30)
        assert {"get_current_time", "convert_time"} <= set(names)
        assert client.mcp_servers["time"].transport == "stdio"
        assert "timezone" in client.tools["get_current_time"].parameters["properties"]
        response = client.chat(ASK)

    assert response.content == "It is late in Paris."
    paris, mars = tool_results(fake)
    assert json.loads(paris)["timezone"] == "Europe/Paris"
    assert mars.startswith("Error: tool 'get_current_time' raised MCPToolError:")
    assert "Mars/Olympus_Mons" in mars


def test_a_killed_stdio_server_is_started_again_and_stopped_on_close() -> None:
    fake = FakeModel(
        [Reply(tool_calls=[call("pid")]), "first", Reply(tool_calls=[call("pid")]), "second"]
    )
    with make(fake) as client:
        client.register_mcp_server("local", stdio_demo(), timeout=20)
        client.chat(ASK)
        first = json.loads(tool_results(fake)[0])["result"]
        os.kill(first, signal.SIGKILL)
        eventually(
            lambda: (
                client.mcp_servers["local"].connections == 2
                and client.mcp_servers["local"].connected
            ),
            "the server process was started again",
        )
        client.chat(ASK)
        second = json.loads(tool_results(fake)[0])["result"]
        assert alive(second)

    assert second != first
    assert not alive(second)  # closing the client ended the process


# -- failures while running -------------------------------------------------------------------


def test_a_killed_server_is_reported_unavailable_then_reconnected(
    mcp_demo: RunningMCPServer,
) -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("child__echo", text="before")]),
            "ok",
            Reply(tool_calls=[call("child__echo", text="during"), call("add", a=1, b=2)]),
            "one is down",
            Reply(tool_calls=[call("child__echo", text="after")]),
            "back",
        ]
    )
    with ChildServer("child") as child:
        with make(fake) as client:
            client.register_mcp_server("demo", mcp_demo.url, timeout=5)
            client.register_mcp_server("child", child.url, timeout=5)
            client.chat(ASK)
            assert tool_results(fake) == ["before"]

            child.kill()  # kill -9 mid-session
            client.chat(ASK)
            down, other = tool_results(fake)
            assert down.startswith(
                "Error: tool 'child__echo' raised MCPConnectionError: server 'child' unavailable:"
            )
            assert other == '{"result":3}'  # the other server kept working

            child.start()  # back, on the same port, knowing nothing of the old session
            client.chat(ASK)
            assert tool_results(fake) == ["after"]
            assert client.mcp_servers["child"].connected
            assert client.mcp_servers["child"].connections >= 2
