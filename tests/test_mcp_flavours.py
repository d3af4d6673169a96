"""MCP across flavours, and the flavour-free parts of MCP support.

What generated tests cannot say: the sync client inside a running event loop (Jupyter), the
seed's awaitable calls on the sync ``MCPClient``, the async client outside its ``async
with`` block, our server seen by the SDK's own client, and ``import mbxai`` not importing
the SDK. Then the shared, I/O-free helpers of ``mbxai._mcp``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import pytest

from mbxai import (
    AsyncMCPClient,
    AsyncOpenRouterClient,
    ConfigurationError,
    MCPClient,
    MCPServer,
    OpenRouterClient,
)
from mbxai._mcp import (
    Masker,
    ToolSelection,
    describe_error,
    format_call_result,
    model_tool_name,
    server_spec,
    tool_result_payload,
)
from mbxai.mcp_server import RunningMCPServer
from mbxai.testing import FakeModel, Reply, call
from tests.fix_mcp import demo_server

mcp = pytest.importorskip("mcp")

ASK = [{"role": "user", "content": "Use the tools."}]


# -- flavours -------------------------------------------------------------------------------


def test_the_sync_client_works_inside_a_running_event_loop(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel([Reply(tool_calls=[call("add", a=20, b=22)]), "42."])

    async def notebook_cell() -> tuple[list[str], str | None]:
        asyncio.get_running_loop()  # a loop is running in this thread, as in a Jupyter cell
        client = MCPClient(OpenRouterClient(token="test", transport=fake))
        names = client.register_mcp_server("data-analysis", mcp_demo.url.removesuffix("/mcp"))
        response = client.chat(ASK)
        client.close()
        return names, response.content

    names, content = asyncio.run(notebook_cell())
    assert "add" in names
    assert content == "42."
    assert fake.requests[1].messages[-1]["content"] == '{"result":42}'


def test_the_seeds_awaitable_calls_on_the_sync_client(mcp_demo: RunningMCPServer) -> None:
    fake = FakeModel([Reply(tool_calls=[call("echo", text="seed")]), "Done."])

    async def main() -> tuple[list[str], str | None, bool]:
        openrouter_client = OpenRouterClient(token="test", transport=fake)
        mcp_client = MCPClient(openrouter_client)
        async with mcp_client:
            names = await mcp_client.aregister_mcp_server("data-analysis", mcp_demo.url)
            response = await mcp_client.achat(ASK)
            connected = mcp_client.mcp_servers["data-analysis"].connected
        return names, response.content, connected

    names, content, connected = asyncio.run(main())
    assert "echo" in names
    assert content == "Done."
    assert connected
    assert fake.requests[1].messages[-1]["content"] == "seed"


@pytest.mark.anyio
async def test_the_async_client_connects_only_inside_its_async_with_block(
    mcp_demo: RunningMCPServer,
) -> None:
    client = AsyncMCPClient(AsyncOpenRouterClient(token="test", transport=FakeModel()))
    with pytest.raises(ConfigurationError, match="async with AsyncMCPClient"):
        await client.register_mcp_server("demo", mcp_demo.url)
    await client.aclose()


@pytest.mark.anyio
async def test_an_error_inside_the_block_is_not_wrapped(mcp_demo: RunningMCPServer) -> None:
    with pytest.raises(KeyError, match="mine"):
        async with AsyncMCPClient(
            AsyncOpenRouterClient(token="test", transport=FakeModel())
        ) as client:
            await client.register_mcp_server("demo", mcp_demo.url, timeout=10)
            raise KeyError("mine")


def test_import_mbxai_does_not_import_the_sdk() -> None:
    code = "import sys, mbxai; print(any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# -- our server, seen by the SDK's own client -------------------------------------------------


@pytest.mark.anyio
async def test_the_sdks_client_sees_a_real_mcp_server(mcp_demo: RunningMCPServer) -> None:
    async with mcp.Client(mcp_demo.url, mode="legacy") as sdk:
        assert sdk.server_info is not None
        assert sdk.server_info.name == "demo"
        assert sdk.instructions == "A demo server for mbxai's tests."
        tools = {tool.name: tool for tool in (await sdk.list_tools()).tools}
        assert tools["add"].input_schema["required"] == ["a", "b"]

        ok = await sdk.call_tool("city", {"name": "Lyon"})
        assert not ok.is_error
        assert ok.structured_content == {"name": "Lyon", "country": "France", "population": 2100000}
        assert json.loads(ok.content[0].text) == ok.structured_content

        text = await sdk.call_tool("echo", {"text": "plain"})
        assert text.structured_content is None
        assert text.content[0].text == "plain"

        invalid = await sdk.call_tool("add", {"a": "one", "b": 2})
        assert invalid.is_error
        assert "invalid arguments" in invalid.content[0].text

        raised = await sdk.call_tool("fail", {"reason": "no"})
        assert raised.is_error
        assert raised.content[0].text == "RuntimeError: no"

        with pytest.raises(mcp.MCPError, match="Unknown tool: nope"):
            await sdk.call_tool("nope", {})


@pytest.mark.anyio
async def test_a_server_token_is_required_over_http() -> None:
    with demo_server("locked", token="s3cret-token").serve_http() as running:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the SDK raises for a 401
            async with mcp.Client(running.url, mode="legacy"):
                pass
        assert "s3cret-token" not in repr(demo_server("again", token="s3cret-token"))


def test_server_registration_mirrors_the_tool_client() -> None:
    server = MCPServer("shapes")

    @server.tool(name="area", description="Area of a rectangle")
    def rectangle(width: float, height: float = 1.0) -> float:
        return width * height

    assert server.tools["area"].parameters["required"] == ["width"]
    with pytest.raises(ConfigurationError, match="already registered"):
        server.register_tool("area", None, rectangle)
    server.unregister_tool("area")
    assert server.tools == {}
    with pytest.raises(ConfigurationError, match="path must start"):
        server.serve_http(path="mcp")


# -- the flavour-free helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "transport", "url"),
    [
        ("http://localhost:8000", "http", "http://localhost:8000/mcp"),
        ("http://localhost:8000/", "http", "http://localhost:8000/mcp"),
        ("https://example.com/api/mcp", "http", "https://example.com/api/mcp"),
        ("http://localhost:8000/sse", "sse", "http://localhost:8000/sse"),
    ],
)
def test_urls_are_normalised(target: str, transport: str, url: str) -> None:
    spec = server_spec("s", target)
    assert (spec.transport, spec.url) == (transport, url)


def test_explicit_sse_on_a_base_url_means_its_sse_endpoint() -> None:
    spec = server_spec("s", "http://localhost:8000", transport="sse")
    assert (spec.transport, spec.url) == ("sse", "http://localhost:8000/sse")


def test_commands_run_over_stdio() -> None:
    spec = server_spec("s", "uvx mcp-server-time --local-timezone 'Europe/Paris'")
    assert (spec.transport, spec.command, spec.args) == (
        "stdio",
        "uvx",
        ("mcp-server-time", "--local-timezone", "Europe/Paris"),
    )
    listed = server_spec("s", ["python", "-m", "server"])
    assert (listed.command, listed.args) == ("python", ("-m", "server"))
    params = mcp.StdioServerParameters(
        command="node", args=["srv.js"], env={"K": "v"}, cwd="/srv/app"
    )
    from_params = server_spec("s", params)
    assert (from_params.command, from_params.args, from_params.env, from_params.cwd) == (
        "node",
        ("srv.js",),
        {"K": "v"},
        "/srv/app",
    )


def test_credentials_never_show() -> None:
    spec = server_spec(
        "s", "https://user:pw@example.com/mcp", token="tok-123456", headers={"X-Api-Key": "k-98765"}
    )
    assert spec.headers == {"X-Api-Key": "k-98765", "Authorization": "Bearer tok-123456"}
    shown = repr(spec) + spec.where
    for secret in ("tok-123456", "k-98765", "pw"):
        assert secret not in shown
    with pytest.raises(ConfigurationError, match="either token= or an Authorization header"):
        server_spec("s", "http://h/mcp", token="a", headers={"authorization": "Bearer b"})


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("bad name", "http://h"), {}, "server name"),
        (("s", 42), {}, "target must be"),
        (("s", "http://h"), {"transport": "ftp"}, "transport must be"),
        (("s", "./server"), {"transport": "http"}, "needs an http"),
        (("s", "http://h"), {"timeout": -1}, "timeout"),
        (("s", ""), {}, "command is empty"),
        (("s", "http://h"), {"headers": {"X": 1}}, "must be strings"),
        (("s", "http://h"), {"headers": {"X": "a\nb"}}, "line break"),
        (("s", "http://h"), {"token": "a\r\nX-Evil: 1"}, "line break"),
        (("s", "http://h"), {"allow": "x*"}, "allow must be a list"),
        (("s", "http://h"), {"max_tools": -1}, "max_tools must be an int >= 1"),
    ],
)
def test_bad_registrations_name_the_problem(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        server_spec(*args, **kwargs)


def test_tool_names_are_namespaced_only_on_collision() -> None:
    assert model_tool_name("srv", "search", set(), namespace=False) == "search"
    assert model_tool_name("srv", "search", {"search"}, namespace=False) == "srv__search"
    assert model_tool_name("srv", "search", set(), namespace=True) == "srv__search"
    taken = {"search", "srv__search"}
    assert model_tool_name("srv", "search", taken, namespace=False) == "srv__search_2"
    # MCP allows names the model does not: they are made valid.
    assert model_tool_name("srv", "files.read/v2", set(), namespace=False) == "files_read_v2"
    long = model_tool_name("server", "x" * 100, {"x" * 64}, namespace=False)
    assert len(long) == 64
    assert long.startswith("server__")


def test_call_results_become_text_for_the_model() -> None:
    structured = {
        "content": [{"type": "text", "text": '{"a": 1}'}],
        "structuredContent": {"a": 1},
    }
    assert format_call_result(structured) == ('{"a":1}', False)
    text = {"content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}
    assert format_call_result(text) == ("one\ntwo", False)
    error = {
        "content": [{"type": "text", "text": "not allowed"}],
        "structuredContent": {"code": 403},
        "isError": True,
    }
    assert format_call_result(error) == ("not allowed", True)
    media = {
        "content": [
            {"type": "image", "data": "aGVsbG8=", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "file:///r.txt", "name": "r.txt"},
            {"type": "resource", "resource": {"uri": "file:///a.md", "text": "# A"}},
            {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "AAEC"}},
        ]
    }
    assert format_call_result(media) == (
        "[image: image/png, 5 bytes]\n"
        "[resource link: r.txt <file:///r.txt>]\n"
        "[resource file:///a.md]\n# A\n"
        "[resource file:///b.bin: binary, 3 bytes]",
        False,
    )
    assert format_call_result({"content": []}) == ("(the tool returned no content)", False)
    model = mcp.types.CallToolResult(
        content=[mcp.types.TextContent(text="hi")], structured_content=None
    )
    assert format_call_result(model) == ("hi", False)


def test_return_values_become_text_and_structured_content() -> None:
    assert tool_result_payload("plain") == ("plain", None)
    assert tool_result_payload({"a": [1, 2]}) == ('{"a":[1,2]}', {"a": [1, 2]})
    assert tool_result_payload(7) == ("7", {"result": 7})
    assert tool_result_payload([1]) == ("[1]", {"result": [1]})


def test_errors_are_described_from_their_innermost_cause() -> None:
    group = ExceptionGroup("outer", [ExceptionGroup("inner", [ConnectionError("refused")])])
    assert describe_error(group) == "ConnectionError: refused"
    assert describe_error(TimeoutError()) == "timed out"


# -- credentials masked, tools chosen ----------------------------------------------------------


def test_credentials_are_masked_in_every_shape() -> None:
    token = 'a"b\\c\nd-7f3a9c'  # quote, backslash, line break (never sent: no valid header)
    mask = server_spec("s", "http://h", token="t" * 8).mask  # what register_mcp_server makes
    assert mask.text("tttttttt and Bearer tttttttt") == "[hidden] and [hidden]"
    mask = Masker([f"Bearer {token}", token])
    assert mask.text(f"x {token} y") == "x [hidden] y"
    assert mask.text(f"Bearer {token}") == "[hidden]"
    assert mask.text(json.dumps({"t": token})) == '{"t": "[hidden]"}'
    assert mask.text(json.dumps({"t": token}, ensure_ascii=False)) == '{"t": "[hidden]"}'
    assert mask.text(json.dumps(json.dumps({"t": token}))) == '"{\\"t\\": \\"[hidden]\\"}"'
    assert mask.text(repr(token)) == "'[hidden]'"
    assert mask.text(token.upper()) == "[hidden]"
    assert mask.text(quote(token, safe="")) == "[hidden]"
    assert mask.text("nothing to hide") == "nothing to hide"
    assert Masker(["abc"]).text("abc") == "abc"  # too short to be worth masking


def test_call_results_are_masked_before_they_are_encoded() -> None:
    token = 'q"t\\-5be1d7'
    result = {
        "content": [
            {"type": "text", "text": f"t={token}"},
            {"type": "resource_link", "uri": f"https://h/?t={quote(token)}", "name": token},
            {"type": "resource", "resource": {"uri": "file:///a", "text": f"see {token}"}},
        ],
        "structuredContent": {token: [token, {"k": f"Bearer {token}"}], "n": 98765432},
    }
    text, is_error = format_call_result(result, Masker([token, "98765432"]))
    assert not is_error
    first, *rest = text.split("\n")
    assert json.loads(first) == {
        "[hidden]": ["[hidden]", {"k": "Bearer [hidden]"}],
        "n": "[hidden]",
    }
    assert rest == [
        "[resource link: [hidden] <https://h/?t=[hidden]>]",
        "[resource file:///a]",
        "see [hidden]",
    ]
    error = {"content": [{"type": "text", "text": f"denied: {token!r}"}], "isError": True}
    assert format_call_result(error, Masker([token])) == ("denied: '[hidden]'", True)


def test_tool_filters_match_whole_names() -> None:
    class Tool:
        def __init__(self, name: str) -> None:
            self.name = name

    chosen = ToolSelection.checked("s", allow=["get", "list_*"], deny=["list_secrets"])
    names = ["get", "get_all", "list_users", "list_secrets", "delete"]
    assert [n for n in names if chosen.accepts(Tool(n))] == ["get", "list_users"]
    nothing = ToolSelection.checked("s", allow=[])
    assert not nothing.accepts(Tool("get"))
    picky = ToolSelection.checked("s", tool_filter=lambda tool: tool.name.startswith("d"))
    assert [n for n in names if picky.accepts(Tool(n))] == ["delete"]
    assert ToolSelection.checked("s").max_tools == 128
    assert ToolSelection.checked("s", max_tools=None).max_tools is None
