"""Structured output through the clients, written once (async) and generated for sync:
``parse`` in each mode (``json_schema`` by default, ``tool``, ``json_object``,
``prompted``), re-asking, the automatic fallback, and ``parse`` through the tool client and
the agent. The fake endpoint records what the "model" was asked for. The flavour-free
logic (schemas, the outline, lenient JSON, the mode chain) is in tests/test_structured_logic.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from mbxai import (
    AsyncAgentClient,
    AsyncOpenRouterClient,
    AsyncToolClient,
    BadRequestError,
    ConfigurationError,
    OpenRouterAPIError,
    ParsedToolChatCompletion,
    StructuredOutputError,
)
from mbxai.testing import Failure, FakeModel, FakeRequest, Reply, call
from mbxai.testing import FakeToolCall as RawCall

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "Tell me about Paris."}]
PARIS = {"name": "Paris", "population": 2_100_000, "country": "France"}
TOKYO = [{"role": "user", "content": "What's the weather like in Tokyo?"}]
# What llama.cpp servers before json_schema support answer (seen verbatim from this one).
LLAMA_CPP_NO_SCHEMA = (
    'response_format type must be one of "text" or "json_object", but got: json_schema'
)


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


def make_client(fake: FakeModel, **kwargs: Any) -> AsyncOpenRouterClient:
    return AsyncOpenRouterClient(token="test-key", transport=fake, max_retries=0, **kwargs)


def kind(request: FakeRequest) -> str:
    """Which mode a request was sent in, from what it carries."""
    body = request.json
    if body.get("response_format"):
        return str(body["response_format"]["type"])
    if body.get("tools"):
        return "tool"
    return "prompted"


# -- each mode ------------------------------------------------------------------------------


async def test_parse_sends_strict_schema_and_validates() -> None:
    fake = FakeModel()
    async with make_client(fake) as client:
        response = await client.parse(
            messages=[{"role": "user", "content": "Tell me about Paris"}], response_format=CityInfo
        )
    city = response.choices[0].message.parsed
    assert isinstance(city, CityInfo)
    assert response.parsed is city
    fmt = fake.requests[0].json["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "CityInfo"
    assert fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "population", "country"]


async def test_parse_reasks_with_the_validation_error_then_succeeds() -> None:
    good = CityInfo(name="Paris", population=2_100_000, country="France").model_dump_json()
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.5}
    fake = FakeModel(
        [
            Reply(content='```json\n{"name": "Paris"}\n```', usage=usage),
            Reply(content=f"```json\n{good}\n```", usage=usage),
        ]
    )
    async with make_client(fake) as client:
        response = await client.parse(HELLO, response_format=CityInfo)
    assert response.parsed == CityInfo(name="Paris", population=2_100_000, country="France")
    assert len(fake.requests) == 2
    feedback = fake.requests[1].messages
    assert feedback[-2] == {"role": "assistant", "content": '```json\n{"name": "Paris"}\n```'}
    assert "population" in feedback[-1]["content"]
    assert "country" in feedback[-1]["content"]
    assert response.usage is not None
    assert response.usage.total_tokens == 30  # both attempts are counted
    assert response.usage.cost == pytest.approx(1.0)
    assert fake.requests[0].messages == HELLO  # the caller's list was not extended


async def test_parse_raises_typed_error_with_raw_output_after_retries() -> None:
    fake = FakeModel(["not json at all", "still not json"])
    async with make_client(fake, parse_retries=1) as client:
        with pytest.raises(StructuredOutputError) as info:
            await client.parse(HELLO, response_format=CityInfo)
    assert info.value.raw_output == "still not json"
    assert info.value.attempts == 2
    assert info.value.response_format is CityInfo
    assert info.value.errors
    assert len(fake.requests) == 2


async def test_parse_without_reask_and_refusal() -> None:
    fake = FakeModel(["{}", Reply(refusal="I can't help with that")])
    async with make_client(fake, parse_retries=0) as client:
        with pytest.raises(StructuredOutputError):
            await client.parse(HELLO, response_format=CityInfo)
        with pytest.raises(StructuredOutputError, match="refused"):
            await client.parse(HELLO, response_format=CityInfo)
    assert len(fake.requests) == 2


async def test_json_object_mode_sends_json_mode_and_the_outline_in_the_system_prompt() -> None:
    fake = FakeModel([json.dumps(PARIS)])
    conversation = [{"role": "system", "content": "You are terse."}, *HELLO]
    async with make_client(fake) as client:
        response = await client.parse(conversation, CityInfo, mode="json_object")
    assert response.parsed == CityInfo(**PARIS)
    body = fake.requests[0].json
    assert body["response_format"] == {"type": "json_object"}
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]  # one system message, extended
    system = messages[0]["content"]
    assert system.startswith("You are terse.\n\n")
    assert '"population": <integer: Population count>' in system
    assert '"name": "<string: City name>"' in system
    assert messages[1] == HELLO[0]
    assert conversation[0]["content"] == "You are terse."  # the caller's messages untouched


async def test_prompted_mode_extracts_and_repairs_the_json_in_prose() -> None:
    chatty = (
        "Sure! Here is the JSON you asked for:\n```json\n"
        '{"name": "Paris", "population": 2100000, "country": "France",}\n```\nHope it helps!'
    )
    cut_off = '{"name": "Paris", "population": 2100000, "country": "Fra'
    fake = FakeModel([chatty, cut_off])
    async with make_client(fake, structured_output="prompted") as client:
        first = await client.parse(HELLO, CityInfo)
        second = await client.parse(HELLO, CityInfo)
    assert first.parsed == CityInfo(**PARIS)
    assert second.parsed == CityInfo(name="Paris", population=2_100_000, country="Fra")
    assert first.content == chatty  # the raw reply stays available
    body = fake.requests[0].json
    assert "response_format" not in body
    assert "tools" not in body
    # The outline goes at the end of the last user message, where small models follow it.
    assert [m["role"] for m in body["messages"]] == ["user"]
    text = body["messages"][0]["content"]
    assert text.startswith(HELLO[0]["content"] + "\n\n")
    assert "Reply with only a JSON object" in text


async def test_prompted_mode_reasks_with_the_validation_error_and_the_outline_again() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    fake = FakeModel(
        [
            Reply(content="The capital of France is Paris.", usage=usage),
            Reply(content=json.dumps(PARIS), usage=usage),
        ]
    )
    async with make_client(fake, structured_output="prompted") as client:
        response = await client.parse(HELLO, CityInfo)
    assert response.parsed == CityInfo(**PARIS)
    retry = fake.requests[1].messages
    assert retry[-2] == {"role": "assistant", "content": "The capital of France is Paris."}
    assert retry[-1]["role"] == "user"
    assert "did not match" in retry[-1]["content"]
    assert "<integer: Population count>" in retry[-1]["content"]
    assert response.usage is not None
    assert response.usage.total_tokens == 30  # both attempts are counted


async def test_prompted_mode_gives_up_with_the_raw_output() -> None:
    fake = FakeModel(["no json here", "still none"])
    async with make_client(fake, structured_output="prompted", parse_retries=1) as client:
        with pytest.raises(StructuredOutputError, match="prompted mode") as info:
            await client.parse(HELLO, CityInfo)
    assert info.value.raw_output == "still none"
    assert info.value.attempts == 2


async def test_tool_mode_forces_one_function_whose_arguments_are_the_answer() -> None:
    fake = FakeModel([Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))])])
    async with make_client(fake) as client:
        response = await client.parse(HELLO, CityInfo, mode="tool")
    assert response.parsed == CityInfo(**PARIS)
    assert json.loads(response.content or "") == PARIS  # content holds the JSON in every mode
    assert response.choices[0].message.tool_calls is None
    body = fake.requests[0].json
    assert "response_format" not in body
    [tool] = body["tools"]
    assert tool["function"]["name"] == "CityInfo"
    assert tool["function"]["parameters"]["required"] == ["name", "population", "country"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "CityInfo"}}


async def test_tool_mode_reasks_when_the_arguments_do_not_validate() -> None:
    bad = {"name": "Paris", "population": "lots"}
    fake = FakeModel(
        [
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(bad))]),
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))]),
        ]
    )
    async with make_client(fake, structured_output="tool") as client:
        response = await client.parse(HELLO, CityInfo)
    assert response.parsed == CityInfo(**PARIS)
    retry = fake.requests[1].json
    assert retry["tool_choice"]["function"]["name"] == "CityInfo"
    assert json.loads(retry["messages"][-2]["content"]) == bad
    assert "population" in retry["messages"][-1]["content"]


# -- automatic fallback ---------------------------------------------------------------------


async def test_a_rejected_json_schema_falls_back_and_is_remembered_per_model() -> None:
    fake = FakeModel(
        [
            Failure(400, LLAMA_CPP_NO_SCHEMA),
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))]),
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))]),
            json.dumps(PARIS),
        ]
    )
    async with make_client(fake, model="local/model") as client:
        first = await client.parse(HELLO, CityInfo)
        second = await client.parse(HELLO, CityInfo)
        other_model = await client.parse(HELLO, CityInfo, model="other/model")
    assert first.parsed == second.parsed == other_model.parsed == CityInfo(**PARIS)
    # json_schema was paid for once; the next call went straight to tool mode; another
    # model of the same client starts from the top again.
    assert [kind(r) for r in fake.requests] == ["json_schema", "tool", "tool", "json_schema"]
    assert first.usage is not None
    assert first.usage.total_tokens > 0


async def test_an_ignored_forced_function_falls_back_to_the_next_mode() -> None:
    fake = FakeModel(["I think Paris is lovely.", json.dumps(PARIS), json.dumps(PARIS)])
    async with make_client(fake, structured_output=["tool", "json_object"]) as client:
        first = await client.parse(HELLO, CityInfo)
        second = await client.parse(HELLO, CityInfo)
    assert first.parsed == second.parsed == CityInfo(**PARIS)
    assert [kind(r) for r in fake.requests] == ["tool", "json_object", "json_object"]


async def test_fallback_walks_the_whole_chain_down_to_prompted() -> None:
    fake = FakeModel(
        [
            Failure(400, "json_schema is not supported by this model"),
            Failure(400, "tools are not supported"),
            Failure(422, "response_format json_object is unsupported"),
            json.dumps(PARIS),
        ]
    )
    async with make_client(fake) as client:
        response = await client.parse(HELLO, CityInfo)
    assert response.parsed == CityInfo(**PARIS)
    assert [kind(r) for r in fake.requests] == ["json_schema", "tool", "json_object", "prompted"]


@pytest.mark.parametrize(
    "failure",
    [
        # The caller's schema is wrong: theirs to fix, not to work around.
        Failure(400, "Invalid schema for response_format 'CityInfo': 'required' is missing"),
        # Nothing to do with the mode.
        Failure(400, "the request exceeds the available context size"),
        Failure(401, "response_format is not supported without a valid key"),
    ],
)
async def test_other_errors_are_raised_without_fallback(failure: Failure) -> None:
    fake = FakeModel([failure])
    async with make_client(fake) as client:
        with pytest.raises(OpenRouterAPIError) as info:
            await client.parse(HELLO, CityInfo)
    assert info.value.status_code == failure.status
    assert len(fake.requests) == 1


async def test_an_explicit_mode_never_falls_back() -> None:
    fake = FakeModel([Failure(400, LLAMA_CPP_NO_SCHEMA)])
    async with make_client(fake) as client:
        with pytest.raises(BadRequestError, match="json_object"):
            await client.parse(HELLO, CityInfo, mode="json_schema")
    assert len(fake.requests) == 1


async def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigurationError, match="structured_output"):
        AsyncOpenRouterClient(token="k", structured_output="xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="structured_output"):
        AsyncOpenRouterClient(token="k", structured_output=["tool", "tool"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="structured_output"):
        AsyncOpenRouterClient(token="k", structured_output=[])
    fake = FakeModel()
    async with make_client(fake) as client:
        with pytest.raises(ConfigurationError, match="mode"):
            await client.parse(HELLO, CityInfo, mode="yaml")  # type: ignore[arg-type]
    assert fake.requests == []


# -- through the tool client and the agent ----------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def get_weather(location: str, unit: str = "celsius") -> dict[str, Any]:
    """Get weather information for a location.

    Args:
        location: The city or location name
        unit: Temperature unit (celsius or fahrenheit)
    """
    return {"location": location, "temperature": 22, "unit": unit, "condition": "Sunny"}


async def test_parse_after_tools() -> None:
    fake = FakeModel()
    async with AsyncToolClient(make_client(fake)) as client:
        client.register_tool("get_weather", "Weather", get_weather)
        response = await client.parse(
            [{"role": "user", "content": "Tell me about Tokyo and its weather"}],
            response_format=CityInfo,
        )
    assert isinstance(response, ParsedToolChatCompletion)
    assert isinstance(response.parsed, CityInfo)
    assert response.choices[0].message.parsed == response.parsed
    first, second = (r.json for r in fake.requests)
    assert first["tools"][0]["function"]["name"] == "get_weather"
    assert first["response_format"]["json_schema"]["name"] == "CityInfo"
    assert second["response_format"] == first["response_format"]
    assert second["messages"][-1]["role"] == "tool"
    assert response.tool_rounds == 1


async def test_parse_after_tools_reasks_and_sums_usage() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    valid = '{"name": "Tokyo", "population": 14000000, "country": "Japan"}'
    fake = FakeModel(
        [
            Reply(tool_calls=[call("get_weather", location="Tokyo")], usage=usage),
            Reply(content='{"name": "Tokyo"}', usage=usage),
            Reply(content=valid, usage=usage),
        ],
        strict_script=True,
    )
    async with AsyncToolClient(make_client(fake)) as client:
        client.register_tool("get_weather", "Weather", get_weather)
        response = await client.parse(TOKYO, CityInfo)
    assert response.parsed == CityInfo(name="Tokyo", population=14_000_000, country="Japan")
    reask = fake.requests[2].messages[-1]
    assert reask["role"] == "user"
    assert "population: Field required" in reask["content"]
    assert response.usage is not None
    assert response.usage.total_tokens == 6
    assert response.llm_calls == 3


async def test_parse_after_tools_gives_up_with_the_raw_output() -> None:
    fake = FakeModel(["not json", "still not json"], strict_script=True)
    async with AsyncToolClient(make_client(fake)) as client:
        with pytest.raises(StructuredOutputError) as info:
            await client.parse(TOKYO, CityInfo)
    assert info.value.raw_output == "still not json"
    assert info.value.attempts == 2


async def test_tool_client_parse_in_json_object_mode_keeps_the_tools() -> None:
    fake = FakeModel([Reply(tool_calls=[RawCall("add", '{"a": 1, "b": 2}')]), json.dumps(PARIS)])
    tool_client = AsyncToolClient(make_client(fake, structured_output="json_object"))
    tool_client.register_tool("add", None, add)
    async with tool_client:
        response = await tool_client.parse(HELLO, CityInfo)
    assert response.parsed == CityInfo(**PARIS)
    assert response.tool_rounds == 1
    for request in fake.requests:
        assert request.json["response_format"] == {"type": "json_object"}
        assert [t["function"]["name"] for t in request.json["tools"]] == ["add"]
        assert "<integer: Population count>" in request.messages[0]["content"]
    # The transcript the caller gets has no prompt added.
    assert response.transcript[0] == HELLO[0]


async def test_tool_client_parse_in_tool_mode_ends_when_the_answer_function_is_called() -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[RawCall("add", '{"a": 1, "b": 2}')]),
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))]),
        ]
    )
    tool_client = AsyncToolClient(make_client(fake))
    tool_client.register_tool("add", None, add)
    async with tool_client:
        response = await tool_client.parse(HELLO, CityInfo, mode="tool")
    assert response.parsed == CityInfo(**PARIS)
    assert response.tool_rounds == 1
    assert response.llm_calls == 2
    names = [t["function"]["name"] for t in fake.requests[0].json["tools"]]
    assert names == ["add", "CityInfo"]
    assert fake.requests[0].json.get("tool_choice") is None  # the model may use add first
    assert response.transcript[-1] == {"role": "assistant", "content": json.dumps(PARIS)}


async def test_tool_client_parse_falls_back_round_by_round() -> None:
    fake = FakeModel(
        [
            Failure(400, LLAMA_CPP_NO_SCHEMA),
            Reply(tool_calls=[RawCall("add", '{"a": 1, "b": 2}')]),
            Reply(tool_calls=[RawCall("CityInfo", json.dumps(PARIS))]),
        ]
    )
    tool_client = AsyncToolClient(make_client(fake))
    tool_client.register_tool("add", None, add)
    async with tool_client:
        response = await tool_client.parse(HELLO, CityInfo)
    assert response.parsed == CityInfo(**PARIS)
    assert [kind(r) for r in fake.requests] == ["json_schema", "tool", "tool"]


async def test_the_agent_inherits_the_fallback_of_its_client() -> None:
    # An endpoint without json_schema: the plan call pays for the rejection once, and the
    # task and evaluation calls go straight to the mode that works (the fake cooperates
    # with forced functions).
    fake = FakeModel([Failure(400, LLAMA_CPP_NO_SCHEMA)])
    agent = AsyncAgentClient(make_client(fake))
    response = await agent.agent("Describe Paris", CityInfo)
    assert response.is_complete()
    assert isinstance(response.final_response, CityInfo)
    kinds = [kind(r) for r in fake.requests]
    assert kinds[0] == "json_schema"
    assert kinds[1:] == ["tool"] * (len(kinds) - 1)
    assert len(kinds) >= 4  # plan (twice), a task, the evaluation
