"""Behaviour of the tool client, written once (async) and generated for sync.

Every test runs offline against :class:`mbxai.testing.FakeModel` and checks what the
"model" received: the tools offered, the tool results fed back, what never reached it.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import logging
import threading
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from mbxai import (
    AsyncOpenRouterClient,
    AsyncToolClient,
    ChatCompletionMessage,
    ClientClosedError,
    ConfigurationError,
    ToolChatCompletion,
    ToolLoopLimitError,
)
from mbxai._concurrency import AsyncEvent, async_sleep
from mbxai.testing import FakeModel, Reply, call
from mbxai.testing import FakeToolCall as RawCall

pytestmark = pytest.mark.anyio

SECRET = "oauth-token-abc123-do-not-leak"
TOKYO = [{"role": "user", "content": "What's the weather like in Tokyo?"}]


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


@dataclasses.dataclass
class Reading:
    station: str
    taken: datetime.datetime


def make(fake: FakeModel, **kwargs: Any) -> AsyncToolClient:
    inner = AsyncOpenRouterClient(token="test-key", transport=fake, max_retries=0)
    return AsyncToolClient(inner, **kwargs)


def get_weather(location: str, unit: str = "celsius") -> dict[str, Any]:
    """Get weather information for a location.

    Args:
        location: The city or location name
        unit: Temperature unit (celsius or fahrenheit)
    """
    return {"location": location, "temperature": 22, "unit": unit, "condition": "Sunny"}


async def get_weather_async(location: str, unit: str = "celsius") -> dict[str, Any]:
    """Async weather function."""
    await async_sleep(0)
    return {"location": location, "temperature": 22, "unit": unit, "condition": "Sunny"}


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"boom: {reason}")


def tool_messages(request_messages: list[dict[str, Any]]) -> dict[str, str]:
    """tool_call_id -> content of the tool results in a request."""
    return {m["tool_call_id"]: m["content"] for m in request_messages if m["role"] == "tool"}


# -- the seed's examples ----------------------------------------------------------------


async def test_seed_weather_example_runs_the_tool_and_answers() -> None:
    fake = FakeModel()
    tool_client = make(fake)
    tool_client.register_tool(
        name="get_weather",
        description="Get current weather for a location",
        function=get_weather,
    )

    response = await tool_client.chat(TOKYO)

    assert isinstance(response, ToolChatCompletion)
    assert response.choices[0].message.content == (
        'Based on the tool results: {"location":"example location","temperature":22,'
        '"unit":"celsius","condition":"Sunny"}'
    )
    assert len(fake.requests) == 2
    first, second = fake.requests
    assert first.json["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get current weather for a location",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city or location name"},
                        "unit": {
                            "type": "string",
                            "default": "celsius",
                            "description": "Temperature unit (celsius or fahrenheit)",
                        },
                    },
                    "required": ["location"],
                    "additionalProperties": False,
                },
            },
        }
    ]
    assistant, result = second.messages[1], second.messages[2]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
    assert result == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": '{"location":"example location","temperature":22,"unit":"celsius",'
        '"condition":"Sunny"}',
    }
    assert response.tool_rounds == 1
    assert response.llm_calls == 2
    assert [m["role"] for m in response.transcript] == ["user", "assistant", "tool", "assistant"]
    await tool_client.aclose()


async def test_seed_async_tool_example() -> None:
    fake = FakeModel([Reply(tool_calls=[call("get_weather_async", location="Tokyo")]), "Sunny."])
    async with make(fake) as tool_client:
        tool_client.register_tool(
            name="get_weather_async",
            description="Get current weather for a location (async)",
            function=get_weather_async,
        )
        response = await tool_client.chat(TOKYO)
    assert response.choices[0].message.content == "Sunny."
    assert json.loads(fake.requests[1].messages[-1]["content"])["location"] == "Tokyo"


async def test_decorator_forms_and_model_property() -> None:
    fake = FakeModel()
    client = make(fake)

    @client.tool
    def lookup(term: str) -> str:
        """Look a term up in the glossary."""
        return term.upper()

    @client.tool(name="glossary-v2", description="Second glossary")
    async def lookup_two(term: str) -> str:
        return term

    assert lookup("x") == "X"  # the decorator returns the function unchanged
    assert set(client.tools) == {"lookup", "glossary-v2"}
    assert client.tools["lookup"].description == "Look a term up in the glossary."
    assert client.tools["glossary-v2"].description == "Second glossary"
    assert client.tools["glossary-v2"].function is lookup_two
    client.model = "GPT_4O"
    assert client.model == client.openrouter_client.model == "openai/gpt-4o"
    assert repr(client).startswith("AsyncToolClient(client=AsyncOpenRouterClient(")
    assert "'lookup'" in repr(client)
    await client.aclose()


# -- the loop -----------------------------------------------------------------------------


async def test_calls_in_one_reply_run_concurrently() -> None:
    # Each tool waits for the other to have started: run one after the other, the first
    # would wait in vain and report "alone" (after the safety timeout, never reached when
    # they are concurrent).
    ping_started, pong_started = AsyncEvent(), AsyncEvent()

    async def ping() -> str:
        ping_started.set()
        return "met" if await pong_started.wait(timeout=10) else "alone"

    async def pong() -> str:
        pong_started.set()
        return "met" if await ping_started.wait(timeout=10) else "alone"

    fake = FakeModel([Reply(tool_calls=[call("ping"), call("pong")]), "Both done."])
    async with make(fake) as client:
        client.register_tool("ping", "Ping", ping)
        client.register_tool("pong", "Pong", pong)
        response = await client.create([{"role": "user", "content": "ping and pong"}])

    assert response.content == "Both done."
    results = fake.requests[1].messages[2:]
    assert [(m["role"], m["content"]) for m in results] == [("tool", "met"), ("tool", "met")]
    # one tool message per call, in the order of the calls
    calls = fake.requests[1].messages[1]["tool_calls"]
    assert [m["tool_call_id"] for m in results] == [c["id"] for c in calls]


async def test_sync_tools_run_concurrently_in_worker_threads() -> None:
    barrier = threading.Barrier(2, timeout=10)  # broken (an error) unless both arrive

    def left() -> str:
        barrier.wait()
        return str(threading.get_ident())

    def right() -> str:
        barrier.wait()
        return str(threading.get_ident())

    fake = FakeModel([Reply(tool_calls=[call("left"), call("right")]), "ok"])
    async with make(fake) as client:
        client.register_tool("left", "Left", left)
        client.register_tool("right", "Right", right)
        await client.create([{"role": "user", "content": "go"}])
    results = tool_messages(fake.requests[1].messages)
    assert len(results) == 2
    assert not any(content.startswith("Error") for content in results.values()), results
    assert len(set(results.values())) == 2  # two different threads


async def test_model_mistakes_go_back_to_the_model_and_the_loop_continues() -> None:
    fake = FakeModel(
        [
            Reply(
                tool_calls=[
                    call("no_such_tool", x=1),
                    RawCall("add", '{"a": 1, "b": ', id="bad-json"),
                    call("add", a="one", b=2),
                    call("explode", reason="disk full"),
                    call("add", a=2, b=3),
                ]
            ),
            "I could only add 2 and 3.",
        ],
        strict_script=True,
    )
    async with make(fake) as client:
        client.register_tool("add", "Add", add)
        client.register_tool("explode", "Explode", explode)
        response = await client.create([{"role": "user", "content": "do things"}])

    assert response.content == "I could only add 2 and 3."
    assert len(fake.requests) == 2
    results = list(tool_messages(fake.requests[1].messages).values())
    assert results[0] == "Error: unknown tool 'no_such_tool'. Available tools: add, explode."
    assert results[1].startswith("Error: tool 'add': the arguments are not valid JSON (")
    assert results[2] == (
        "Error: tool 'add': invalid arguments:\n"
        "- a: Input should be a valid integer, unable to parse string as an integer"
    )
    assert results[3] == "Error: tool 'explode' raised ValueError: boom: disk full"
    assert results[4] == "5"
    assert all("Traceback" not in content for content in results)


async def test_round_cap_raises_with_the_transcript() -> None:
    looping = Reply(tool_calls=[call("add", a=1, b=1)], usage={"total_tokens": 10})
    fake = FakeModel([looping, looping, looping], strict_script=True)
    async with make(fake, max_tool_rounds=2) as client:
        client.register_tool("add", "Add", add)
        with pytest.raises(ToolLoopLimitError) as info:
            await client.create([{"role": "user", "content": "loop"}])

    error = info.value
    assert len(fake.requests) == 3
    assert error.rounds == 2
    assert [m["role"] for m in error.transcript] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
    ]
    assert [c.function.name for c in error.pending_calls] == ["add"]
    assert error.usage is not None
    assert error.usage.total_tokens == 30
    assert "max_tool_rounds=2" in str(error)


async def test_round_cap_per_call_and_zero() -> None:
    fake = FakeModel([Reply(tool_calls=[call("add", a=1, b=1)])], strict_script=True)
    async with make(fake) as client:
        client.register_tool("add", "Add", add)
        with pytest.raises(ToolLoopLimitError) as info:
            await client.create([{"role": "user", "content": "x"}], max_tool_rounds=0)
        with pytest.raises(ConfigurationError, match="max_tool_rounds"):
            await client.create([{"role": "user", "content": "x"}], max_tool_rounds=-1)
    assert info.value.transcript == [{"role": "user", "content": "x"}]
    with pytest.raises(ConfigurationError, match="max_tool_rounds"):
        make(fake, max_tool_rounds=-1)
    with pytest.raises(ConfigurationError, match="must be an AsyncOpenRouterClient"):
        AsyncToolClient("not a client")  # type: ignore[arg-type]


async def test_input_messages_are_never_mutated() -> None:
    messages: list[Any] = [
        {"role": "system", "content": "Be brief."},
        ChatCompletionMessage(role="user", content="What's the weather like in Tokyo?"),
    ]
    before = copy.deepcopy(messages)
    fake = FakeModel()
    async with make(fake) as client:
        client.register_tool("get_weather", "Weather", get_weather)
        response = await client.create(messages)
        response.transcript[0]["content"] = "changed"
    assert messages == before
    assert len(response.transcript) == 5
    assert fake.requests[0].messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What's the weather like in Tokyo?"},
    ]


async def test_usage_is_summed_over_every_round() -> None:
    fake = FakeModel(
        [
            Reply(
                tool_calls=[call("add", a=1, b=2)],
                usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 1},
            ),
            Reply(
                tool_calls=[call("add", a=3, b=4)],
                usage={"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
            ),
            Reply(
                content="3 and 7",
                usage={"prompt_tokens": 30, "completion_tokens": 2, "total_tokens": 32, "cost": 2},
            ),
        ]
    )
    async with make(fake) as client:
        client.register_tool("add", "Add", add)
        response = await client.create([{"role": "user", "content": "sums"}])
    assert response.usage is not None
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (60, 12)
    assert response.usage.total_tokens == 72
    assert response.usage.cost == 3
    assert (response.tool_rounds, response.llm_calls) == (2, 3)


async def test_results_are_serialised_to_json() -> None:
    class Forecast(BaseModel):
        high: float
        kind: Literal["sun", "rain"]

    def forecast() -> Forecast:
        return Forecast(high=21.5, kind="sun")

    def reading() -> Reading:
        return Reading("HND", datetime.datetime(2024, 1, 15, 12, 0, tzinfo=datetime.UTC))

    def nothing() -> None:
        return None

    fake = FakeModel([Reply(tool_calls=[call("forecast"), call("reading"), call("nothing")]), "ok"])
    async with make(fake) as client:
        client.register_tool("forecast", "Forecast", forecast)
        client.register_tool("reading", "Reading", reading)
        client.register_tool("nothing", "Nothing", nothing)
        await client.create([{"role": "user", "content": "go"}])
    assert list(tool_messages(fake.requests[1].messages).values()) == [
        '{"high":21.5,"kind":"sun"}',
        '{"station":"HND","taken":"2024-01-15T12:00:00Z"}',
        "null",
    ]


async def test_forced_tool_choice_binds_the_first_round_only() -> None:
    fake = FakeModel()
    async with make(fake) as client:
        client.register_tool("get_weather", "Weather", get_weather)
        await client.create(
            TOKYO,
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            temperature=0,
        )
    first, second = (r.json for r in fake.requests)
    assert first["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert second["tool_choice"] == "auto"
    assert first["temperature"] == second["temperature"] == 0


async def test_without_tools_it_is_a_plain_chat_and_tools_param_is_refused() -> None:
    fake = FakeModel(["Hello."])
    async with make(fake) as client:
        response = await client.create([{"role": "user", "content": "hi"}])
        with pytest.raises(ConfigurationError, match="register"):
            await client.create([{"role": "user", "content": "hi"}], tools=[])
    assert response.content == "Hello."
    assert "tools" not in fake.requests[0].json
    assert response.tool_rounds == 0


async def test_user_supplied_schemas_are_sent_as_given_and_validated() -> None:
    bare = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    full = {
        "type": "function",
        "function": {
            "name": "add_full",
            "description": "Add, described in full",
            "parameters": bare,
            "strict": True,
        },
    }
    fake = FakeModel(
        [Reply(tool_calls=[call("add_bare", a=1, b=2), call("add_full", a="x", b=2)]), "ok"]
    )
    async with make(fake) as client:
        client.register_tool("add_bare", "Add", add, bare)
        client.register_tool("add_full", "ignored", add, schema=full)
        await client.create([{"role": "user", "content": "add"}])
    tools = fake.requests[0].json["tools"]
    assert tools[0] == {
        "type": "function",
        "function": {"name": "add_bare", "description": "Add", "parameters": bare},
    }
    assert tools[1] == full
    assert list(tool_messages(fake.requests[1].messages).values()) == [
        "3",
        "Error: tool 'add_full': invalid arguments:\n- a: 'x' is not of type 'integer'",
    ]


# -- injected parameters --------------------------------------------------------------------


def fetch_story(story_id: str, auth_token: str) -> dict[str, str]:
    """Fetch a Jira story.

    Args:
        story_id: The story key, like PROJ-123
        auth_token: The user's OAuth token
    """
    if auth_token != SECRET:
        raise PermissionError(f"token {auth_token} rejected")
    return {"id": story_id, "title": "Login", "fetched_with": auth_token}


async def test_injected_parameters_reach_the_tool_and_never_the_model(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="mbxai")
    seen: list[str] = []

    def spy(story_id: str, auth_token: str) -> dict[str, str]:
        seen.append(auth_token)
        return fetch_story(story_id, auth_token)

    fake = FakeModel(
        [
            Reply(tool_calls=[call("fetch_story", story_id="PROJ-123")]),
            Reply(tool_calls=[call("fetch_story", story_id="PROJ-123", auth_token="guess")]),
            "Done.",
        ]
    )
    async with make(fake) as client:
        tool = client.register_tool("fetch_story", "Fetch a story", spy, injected=("auth_token",))
        response = await client.create(
            [{"role": "user", "content": "Summarise PROJ-123"}],
            tool_context={"auth_token": SECRET},
        )

    assert seen == [SECRET]  # the second call (model tried to pass it) was refused
    assert tool.injected == ("auth_token",)
    assert "auth_token" not in json.dumps(fake.requests[0].json["tools"])
    results = list(tool_messages(fake.requests[2].messages).values())
    assert json.loads(results[0]) == {
        "id": "PROJ-123",
        "title": "Login",
        "fetched_with": "[hidden]",
    }
    assert results[1] == (
        "Error: tool 'fetch_story': invalid arguments:\n"
        "- auth_token: Extra inputs are not permitted"
    )
    everything = "\n".join(
        [json.dumps(r.json) for r in fake.requests]
        + [json.dumps(response.transcript), repr(response), repr(client), repr(tool)]
        + [record.getMessage() for record in caplog.records]
    )
    assert SECRET not in everything
    assert "tool.call" in everything  # the debug log did run


async def test_missing_injected_value_is_reported_to_the_model_without_calling() -> None:
    called: list[str] = []

    def spy(story_id: str, auth_token: str) -> str:
        called.append(story_id)
        return "never"

    fake = FakeModel([Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]), "Need login."])
    async with make(fake) as client:
        client.register_tool("fetch_story", "Fetch", spy, injected="auth_token")
        response = await client.create([{"role": "user", "content": "go"}])
    assert called == []
    assert response.content == "Need login."
    assert list(tool_messages(fake.requests[1].messages).values()) == [
        "Error: tool 'fetch_story' cannot run: credential 'auth_token' not provided."
    ]


async def test_secret_in_a_tool_error_is_masked() -> None:
    fake = FakeModel([Reply(tool_calls=[call("fetch_story", story_id="P-1")]), "ok"])
    wrong = "wrong-token-9876"
    async with make(fake) as client:
        client.register_tool("fetch_story", "Fetch", fetch_story, injected=["auth_token"])
        await client.create([{"role": "user", "content": "go"}], tool_context={"auth_token": wrong})
    (content,) = tool_messages(fake.requests[1].messages).values()
    assert content == "Error: tool 'fetch_story' raised PermissionError: token [hidden] rejected"


# -- streaming after tools --------------------------------------------------------------------


async def test_streaming_after_tools_needs_no_extra_request() -> None:
    fake = FakeModel()
    async with make(fake) as client:
        client.register_tool("get_weather", "Weather", get_weather)
        stream = await client.create(TOKYO, stream=True)
        text = ""
        async with stream:
            async for chunk in stream:
                if chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content

    assert text == (
        'Based on the tool results: {"location":"example location","temperature":22,'
        '"unit":"celsius","condition":"Sunny"}'
    )
    assert len(fake.requests) == 2
    assert all(r.json["stream"] is True for r in fake.requests)
    # the streamed tool call (its arguments arrived in two pieces) was rebuilt and run
    assert json.loads(fake.requests[1].messages[-1]["content"])["unit"] == "celsius"
    assert stream.tool_rounds == 1
    assert stream.finish_reason == "stop"
    assert stream.usage is not None
    assert stream.usage.total_tokens > 0
    assert [m["role"] for m in stream.transcript] == ["user", "assistant", "tool", "assistant"]
    assert stream.transcript[-1]["content"] == text


async def test_streaming_respects_the_round_cap() -> None:
    looping = Reply(tool_calls=[call("add", a=1, b=1)])
    fake = FakeModel([looping, looping], strict_script=True)
    async with make(fake, max_tool_rounds=1) as client:
        client.register_tool("add", "Add", add)
        stream = await client.create([{"role": "user", "content": "x"}], stream=True)
        with pytest.raises(ToolLoopLimitError) as info:
            async for _ in stream:
                pass
    assert info.value.rounds == 1
    assert len(fake.requests) == 2


# -- lifecycle ------------------------------------------------------------------------------


async def test_closing_the_tool_client_closes_the_wrapped_client() -> None:
    fake = FakeModel(["hi"])
    async with make(fake) as client:
        await client.create([{"role": "user", "content": "hi"}])
    with pytest.raises(ClientClosedError):
        await client.create([{"role": "user", "content": "hi"}])
    with pytest.raises(ClientClosedError):
        await client.openrouter_client.create([{"role": "user", "content": "hi"}])


async def test_a_tool_that_overruns_its_timeout_is_reported_to_the_model() -> None:
    release = AsyncEvent()

    async def slow(query: str) -> str:
        """Wait for a backend that is down."""
        await release.wait()
        return "too late"

    fake = FakeModel([Reply(tool_calls=[call("slow", query="x")]), "gave up"], strict_script=True)
    client = AsyncOpenRouterClient(token="t", transport=fake, max_retries=0)
    async with AsyncToolClient(client) as tools:
        tools.register_tool("slow", None, slow, timeout=0.05)
        response = await tools.create([{"role": "user", "content": "go"}])
    release.set()
    assert response.content == "gave up"
    tool_message = fake.requests[1].messages[-1]
    assert tool_message["role"] == "tool"
    assert "TimeoutError" in tool_message["content"]
    assert "0.05 s" in tool_message["content"]
