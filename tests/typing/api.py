"""The public API as users write it, for type checkers only: `nox -s typing_api` checks
this file with mypy and with pyright (strict), and each must accept it without an error.

Nothing here runs (pytest collects no file in this folder). Every name comes from where
users import it, ``mbxai`` or ``mbxai.agent``, never from a private module, so a name that
disappears from the package root, or a lazy export that a checker cannot see, fails the
session. ``assert_type`` pins what calls return: a change that loosens a return type to
``Any`` or a union fails here too. Both flavours of each client appear, with the seed's
awaitable methods on the sync ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, assert_type

from fastapi import FastAPI
from pydantic import BaseModel

import mbxai
import mbxai.agent
from mbxai import (
    AgentClient,
    AgentResponse,
    AgentState,
    AgentStreamEvent,
    AsyncAgentClient,
    AsyncFileSessionHandler,
    AsyncImageClient,
    AsyncMCPClient,
    AsyncOpenRouterClient,
    AsyncRedisSessionHandler,
    AsyncSessionHandler,
    AsyncSQLSessionHandler,
    AsyncStream,
    AsyncToolClient,
    AsyncToolStream,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    FileSessionHandler,
    GeneratedImage,
    GenerationStats,
    ImageClient,
    ImageResponse,
    InMemorySessionHandler,
    MBXAIError,
    MCPClient,
    MCPServer,
    MCPServerInfo,
    ModelInfo,
    OpenRouterAPIError,
    OpenRouterClient,
    OpenRouterModel,
    ParsedChatCompletion,
    ParsedToolChatCompletion,
    ProviderPreferences,
    RateLimitError,
    Reasoning,
    RedisSessionHandler,
    SessionHandler,
    SQLSessionHandler,
    Stream,
    StructuredOutputError,
    Tool,
    ToolCall,
    ToolChatCompletion,
    ToolClient,
    ToolLoopLimitError,
    ToolStream,
    Usage,
    list_models,
    register_model,
)
from mbxai import agent as agent_package
from mbxai.agent import AgentClient as AgentClientFromAgent
from mbxai.agent import AsyncAgentClient as AsyncAgentClientFromAgent
from mbxai.agent import (
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
    TaskStatus,
    TodoList,
)
from mbxai.agent import FileSessionHandler as FileSessionHandlerFromAgent
from mbxai.agent import SQLSessionHandler as SQLSessionHandlerFromAgent
from mbxai.serve import create_app

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Tell me about Paris"}]


class City(BaseModel):
    name: str
    population: int


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# -- the chat client ---------------------------------------------------------------------


def chat_sync() -> None:
    client = OpenRouterClient(token="test", model=OpenRouterModel.GPT_4O_MINI)
    assert_type(client.model, str)
    client.model = OpenRouterModel.GPT_41
    client.model = "openai/gpt-4o"

    completion = client.create(MESSAGES, temperature=0.2)
    assert_type(completion, ChatCompletion)
    assert_type(completion.content, str | None)
    assert_type(completion.usage, Usage | None)
    message = completion.choices[0].message
    assert_type(message, ChatCompletionMessage)
    assert_type(message.tool_calls, list[ToolCall] | None)
    assert_type(client.chat(MESSAGES), ChatCompletion)
    assert_type(client.create([message, {"role": "user", "content": "And Rome?"}]), ChatCompletion)

    stream = client.create(MESSAGES, stream=True)
    assert_type(stream, Stream)
    with stream:
        for chunk in stream:
            assert_type(chunk, ChatCompletionChunk)
            assert_type(chunk.choices[0].delta.content, str | None)

    parsed = client.parse(MESSAGES, City, mode="tool")
    assert_type(parsed, ParsedChatCompletion[City])
    assert_type(parsed.parsed, City | None)
    assert_type(parsed.choices[0].message.parsed, City | None)
    assert_type(parsed.content, str | None)

    with client.parse(MESSAGES, City, stream=True) as partials:
        for partial in partials:
            assert_type(partial, City)
        assert_type(partials.final, ParsedChatCompletion[City] | None)

    with OpenRouterClient() as scoped:
        assert_type(scoped, OpenRouterClient)
    client.close()

    assert_type(list_models(), dict[str, str])
    assert_type(OpenRouterClient.registered_models(), dict[str, str])
    assert_type(client.list_models(), list[ModelInfo])
    assert_type(client.model_info(), ModelInfo | None)
    assert_type(client.generation("gen-1"), GenerationStats)
    register_model("CUSTOM", "provider/model")

    routed = OpenRouterClient(
        token="test",
        provider=ProviderPreferences(order=["anthropic"], allow_fallbacks=False),
        models=["openai/gpt-4o", "anthropic/claude-sonnet-4"],
        reasoning=Reasoning(effort="high"),
    )
    assert_type(routed.create(MESSAGES, provider={"sort": "price"}), ChatCompletion)


async def chat_async() -> None:
    client = AsyncOpenRouterClient(token="test", structured_output=["json_schema", "prompted"])
    assert_type(await client.create(MESSAGES), ChatCompletion)
    assert_type(await client.chat(MESSAGES, max_tokens=10), ChatCompletion)
    assert_type(await client.list_models(), list[ModelInfo])

    stream = await client.create(MESSAGES, stream=True)
    assert_type(stream, AsyncStream)
    async with stream:
        async for chunk in stream:
            assert_type(chunk, ChatCompletionChunk)

    parsed = await client.parse(MESSAGES, City)
    assert_type(parsed, ParsedChatCompletion[City])
    assert_type(parsed.parsed, City | None)

    async with AsyncOpenRouterClient() as scoped:
        assert_type(scoped, AsyncOpenRouterClient)
    await client.aclose()


async def seed_methods_on_sync_clients() -> None:
    """The seed let its sync clients be awaited; these methods are untyped (``Any``)."""
    client = OpenRouterClient(token="test")
    assert_type(await client.acreate(MESSAGES), Any)
    assert_type(await client.achat(MESSAGES), Any)
    assert_type(await client.aparse(MESSAGES, City), Any)
    async with client:
        pass
    await client.aclose()

    tools = ToolClient(client)
    assert_type(await tools.acreate(MESSAGES), Any)
    mcp = MCPClient(client)
    assert_type(await mcp.aregister_mcp_server("time", ["python", "-m", "mcp_server_time"]), Any)
    await mcp.aclose()


# -- tools and MCP -----------------------------------------------------------------------


def tools_sync() -> None:
    tools = ToolClient(OpenRouterClient(token="test"), max_tool_rounds=5)
    assert_type(tools.register_tool("add", "Add two numbers", add), Tool)

    @tools.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    @tools.tool(name="subtract", description="Subtract b from a")
    def subtract(a: int, b: int) -> int:
        return a - b

    assert_type(multiply(2, 3), int)
    assert_type(subtract(2, 3), int)
    assert_type(tools.unregister_tool("add"), Tool)

    result = tools.create(MESSAGES, tool_context={"token": "secret"})
    assert_type(result, ToolChatCompletion)
    assert_type(result.transcript, list[dict[str, Any]])
    assert_type(result.tool_rounds, int)
    assert_type(tools.chat(MESSAGES), ToolChatCompletion)

    stream = tools.create(MESSAGES, stream=True)
    assert_type(stream, ToolStream)
    for chunk in stream:
        assert_type(chunk, ChatCompletionChunk)
    assert_type(stream.usage, Usage | None)

    parsed = tools.parse(MESSAGES, City)
    assert_type(parsed, ParsedToolChatCompletion[City])
    assert_type(parsed.parsed, City | None)

    with MCPClient(OpenRouterClient(token="test")) as mcp:
        names = mcp.register_mcp_server(
            "time", ["python", "-m", "mcp_server_time"], allow=["get_*"], max_tools=50
        )
        assert_type(names, list[str])
        assert_type(mcp.mcp_servers["time"], MCPServerInfo)
        assert_type(mcp.create(MESSAGES), ToolChatCompletion)
        mcp.unregister_mcp_server("time")


async def tools_async() -> None:
    tools = AsyncToolClient(AsyncOpenRouterClient(token="test"), tool_calling="constrained")
    tools.register_tool("add", "Add two numbers", add)
    assert_type(await tools.create(MESSAGES), ToolChatCompletion)
    stream = await tools.create(MESSAGES, stream=True)
    assert_type(stream, AsyncToolStream)
    async for chunk in stream:
        assert_type(chunk, ChatCompletionChunk)
    parsed = await tools.parse(MESSAGES, City)
    assert_type(parsed, ParsedToolChatCompletion[City])
    await tools.aclose()

    async with AsyncMCPClient(AsyncOpenRouterClient(token="test")) as mcp:
        assert_type(await mcp.register_mcp_server("docs", "http://127.0.0.1:8000/mcp"), list[str])
        assert_type(await mcp.create(MESSAGES), ToolChatCompletion)

    server = MCPServer("calculator")
    assert_type(server, MCPServer)


# -- the agent and its session stores ----------------------------------------------------


def agent_sync(directory: Path) -> None:
    store: SessionHandler = FileSessionHandler(directory, ttl=3600)
    store = InMemorySessionHandler()
    store = RedisSessionHandler("redis://127.0.0.1:6379/0")
    store = SQLSessionHandler("sqlite:///sessions.db")
    assert_type(store.list_sessions(), list[str])
    assert_type(store.get_session("a"), dict[str, Any] | None)

    agent = AgentClient(
        ToolClient(OpenRouterClient(token="test")),
        human_in_loop=True,
        dialog_options=[DialogOption(id="login", title="Log in")],
        session_handler=store,
    )
    response = agent.agent("Plan a trip to Paris", City)
    assert_type(response, AgentResponse)
    assert_type(response.state, AgentState)
    assert_type(response.is_complete(), bool)
    assert_type(response.todo_list, TodoList | None)
    assert_type(response.human_interaction_requests, list[HumanInLoopRequest])
    if response.todo_list is not None:
        assert_type(response.todo_list.tasks[0].status, TaskStatus)
    assert_type(agent.list_sessions(), list[str])
    assert_type(agent.get_session_info(response.agent_id), dict[str, Any] | None)
    assert_type(agent.get_response(response.agent_id, City), AgentResponse | None)
    assert_type(agent.delete_session(response.agent_id), bool)

    reply = HumanInLoopResponse(
        interaction_id="x", response_type=HumanInteractionType.QUESTION, answer="Yes"
    )
    resumed = agent.agent("", City, agent_id=response.agent_id, human_response=reply)
    assert_type(resumed, AgentResponse)


async def agent_async(directory: Path) -> None:
    store: AsyncSessionHandler = AsyncFileSessionHandler(directory)
    store = AsyncRedisSessionHandler("redis://127.0.0.1:6379/0")
    store = AsyncSQLSessionHandler("sqlite+aiosqlite:///sessions.db")
    assert_type(await store.list_sessions(), list[str])

    agent = AsyncAgentClient(AsyncOpenRouterClient(token="test"), session_handler=store)
    response = await agent.agent("Plan a trip to Paris", City)
    assert_type(response, AgentResponse)
    assert_type(await agent.list_sessions(), list[str])
    assert_type(await agent.get_response(response.agent_id), AgentResponse | None)
    app = create_app(agent, [City], token="a-token-of-sixteen-chars")
    assert_type(app, FastAPI)
    async with agent.stream("Plan a trip", City) as events:
        async for event in events:
            assert_type(event, AgentStreamEvent)
    await agent.aclose()


def agent_package_exports() -> None:
    """``mbxai.agent`` re-exports the clients and stores that ``mbxai`` has."""
    assert_type(AgentClientFromAgent, type[AgentClient])
    assert_type(AsyncAgentClientFromAgent, type[AsyncAgentClient])
    assert_type(FileSessionHandlerFromAgent, type[FileSessionHandler])
    assert_type(SQLSessionHandlerFromAgent, type[SQLSessionHandler])
    assert_type(agent_package.TaskStatus, type[TaskStatus])
    assert_type(mbxai.agent.AgentResponse, type[AgentResponse])
    assert_type(mbxai.__version__, str)


# -- images ------------------------------------------------------------------------------


def images_sync() -> None:
    with ImageClient(api_key="test") as images:
        response = images.generate("A lighthouse at dusk", size="1024x1024", n=2)
        assert_type(response, ImageResponse)
        assert_type(response.images, list[GeneratedImage])
        assert_type(response.images[0].to_bytes(), bytes | None)
        assert_type(
            images.edit("Make it night", images=["https://example.com/a.png"]), ImageResponse
        )


async def images_async() -> None:
    async with AsyncImageClient(api_key="test") as images:
        assert_type(await images.generate("A lighthouse at dusk"), ImageResponse)


# -- errors ------------------------------------------------------------------------------


def errors() -> None:
    client = OpenRouterClient(token="test")
    try:
        client.parse(MESSAGES, City)
    except StructuredOutputError as exc:
        assert_type(exc, StructuredOutputError)
    except RateLimitError as exc:
        assert_type(exc.status_code, int | None)
    except OpenRouterAPIError as exc:
        assert_type(exc, OpenRouterAPIError)
    except ToolLoopLimitError as exc:
        assert_type(exc, ToolLoopLimitError)
    except MBXAIError as exc:
        assert_type(exc, MBXAIError)
