"""Streamed structured output, written once (async) and generated for sync:
``parse(..., stream=True)`` on the chat and tool clients yields partial objects as the
JSON arrives, in every structured-output mode, the validated object last; a bad final
object is re-asked, a stream breaking off raises its typed error. The flavour-free
partial-object logic is in tests/test_partial_logic.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncOpenRouterClient,
    AsyncToolClient,
    ConfigurationError,
    ParsedToolChatCompletion,
    StreamError,
    StructuredOutputError,
)
from mbxai.testing import FakeModel, Reply, call

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "Tell me about Paris."}]
PARIS = {"name": "Paris", "population": 2_100_000, "landmarks": ["Louvre", "Eiffel Tower"]}


class City(BaseModel):
    name: str
    population: int
    landmarks: list[str]


def client(fake: FakeModel, **options: Any) -> AsyncOpenRouterClient:
    return AsyncOpenRouterClient(
        token="test-token", transport=fake, max_retries=0, retry_initial_delay=0, **options
    )


def reply_in(mode: str, value: dict[str, Any], size: int = 6) -> Reply:
    """The reply a model gives in ``mode``, streamed ``size`` characters at a time."""
    if mode == "tool":
        return Reply(tool_calls=[call("City", **value)], chunk_size=size)
    text = json.dumps(value)
    if mode == "prompted":  # a chatty model: prose and a fence around the JSON
        text = f"Sure! Here it is:\n```json\n{text}\n```\nAnything else?"
    return Reply(content=text, chunk_size=size)


async def collect(stream: Any) -> list[City]:
    items: list[City] = []
    async for item in stream:
        items.append(item)
    return items


@pytest.mark.parametrize("mode", ["json_schema", "tool", "json_object", "prompted"])
async def test_partial_objects_grow_as_the_json_arrives_and_the_validated_one_comes_last(
    mode: str,
) -> None:
    fake = FakeModel([reply_in(mode, PARIS)], strict_script=True)
    stream = await client(fake).parse(HELLO, City, mode=mode, stream=True)  # type: ignore[arg-type]
    objects = await collect(stream)

    assert fake.requests[0].json["stream"] is True
    assert len(objects) > 4
    # fields arrive in order and stay; missing ones are None meanwhile
    sizes = [len(obj.model_fields_set) for obj in objects]
    assert sizes == sorted(sizes)
    assert objects[0].population is None
    assert objects[0].landmarks is None
    names = [obj.name for obj in objects if obj.name is not None]
    assert "Par" in [n[:3] for n in names]
    assert names[-1] == "Paris"
    assert any(obj.name == "Paris" and obj.population is None for obj in objects)
    assert any(obj.landmarks is not None and len(obj.landmarks) == 1 for obj in objects)
    # the last object is the validated one, also on the final completion
    assert objects[-1] == City(**PARIS)
    assert stream.final is not None
    assert stream.final.choices[0].message.parsed == City(**PARIS)
    assert stream.final.usage is not None
    assert stream.final.usage.total_tokens > 0
    assert stream.attempt == 1


async def test_get_final_reads_the_rest_and_returns_the_completion() -> None:
    fake = FakeModel([reply_in("json_schema", PARIS)])
    async with await client(fake).parse(HELLO, City, stream=True) as stream:
        first = await stream.__anext__()
        assert first.population is None
        final = await stream.get_final()
    assert final.choices[0].message.parsed == City(**PARIS)
    assert json.loads(final.content or "") == PARIS


async def test_a_bad_final_object_is_reasked_and_the_partials_start_over() -> None:
    wrong = {"name": "Paris", "population": "lots", "landmarks": []}
    fake = FakeModel(
        [reply_in("json_schema", wrong), reply_in("json_schema", PARIS)], strict_script=True
    )
    stream = await client(fake).parse(HELLO, City, stream=True)
    attempts: list[int] = []
    objects: list[City] = []
    async for obj in stream:
        objects.append(obj)
        attempts.append(stream.attempt)

    assert attempts[0] == 1
    assert attempts[-1] == 2
    assert attempts == sorted(attempts)
    # the first reply's partial objects never showed the invalid number
    assert all(obj.population is None for obj, n in zip(objects, attempts, strict=True) if n == 1)
    assert objects[-1] == City(**PARIS)
    feedback = fake.requests[1].messages[-1]["content"]
    assert "population" in feedback
    assert "did not match" in feedback


async def test_a_reply_still_invalid_after_the_reasks_raises_with_no_final() -> None:
    wrong = {"name": "Paris", "population": "lots", "landmarks": []}
    fake = FakeModel([reply_in("json_schema", wrong)] * 2, strict_script=True)
    stream = await client(fake, parse_retries=1).parse(HELLO, City, stream=True)
    with pytest.raises(StructuredOutputError) as caught:
        await collect(stream)
    assert caught.value.attempts == 2
    assert stream.final is None


async def test_a_stream_that_breaks_off_raises_its_typed_error_and_has_no_final() -> None:
    broken = Reply(content=json.dumps(PARIS), chunk_size=5, break_after=4)
    fake = FakeModel([broken], strict_script=True)
    stream = await client(fake).parse(HELLO, City, stream=True)
    seen: list[City] = []
    with pytest.raises(StreamError, match="ended before the completion finished"):
        async for obj in stream:
            seen.append(obj)
    assert seen
    assert seen[-1].name is not None
    assert seen[-1].landmarks is None
    assert stream.final is None
    assert len(fake.requests) == 1  # a broken stream is not re-asked


async def test_a_stream_closed_early_sends_nothing_more() -> None:
    fake = FakeModel([reply_in("json_schema", PARIS)], strict_script=True)
    async with await client(fake).parse(HELLO, City, stream=True) as stream:
        async for _ in stream:
            break
    assert stream.final is None
    assert len(fake.requests) == 1


# -- the tool client --------------------------------------------------------------------------


@pytest.mark.parametrize("tool_calling", ["native", "constrained"])
async def test_the_tool_client_streams_the_answer_after_a_tool_round(tool_calling: str) -> None:
    secret = "sk-live-4f9a"
    if tool_calling == "native":
        round_one = Reply(tool_calls=[call("population", city="Paris")])
        answer = reply_in("json_schema", PARIS, size=8)
    else:
        calls = [{"name": "population", "arguments": {"city": "Paris"}}]
        round_one = Reply(content=json.dumps({"tool_calls": calls}))
        answer = Reply(content=json.dumps({"final_answer": PARIS}), chunk_size=8)
    fake = FakeModel([round_one, answer], strict_script=True)
    tools = AsyncToolClient(client(fake), tool_calling=tool_calling)  # type: ignore[arg-type]

    def population(city: str, api_key: str) -> str:
        """The population of a city."""
        return f"{city}: 2.1 million (asked with {api_key})"

    tools.register_tool("population", None, population, injected="api_key")
    stream = await tools.parse(HELLO, City, stream=True, tool_context={"api_key": secret})
    updates = []
    while True:
        try:
            updates.append(await stream.next_update())
        except StopAsyncIteration:
            break

    kinds = [
        "calls" if u.calls else "results" if u.results else "final" if u.final else "object"
        for u in updates
        if u.calls or u.results or u.final or u.object is not None
    ]
    assert kinds[:2] == ["calls", "results"]
    assert kinds[-1] == "final"
    assert kinds.count("object") > 3
    calls = next(u.calls for u in updates if u.calls)
    assert calls[0].function.name == "population"
    shown = next(u.results for u in updates if u.results)[0]["content"]
    assert "2.1 million" in shown
    assert secret not in shown
    final = stream.final
    assert isinstance(final, ParsedToolChatCompletion)
    assert final.tool_rounds == 1
    assert final.choices[0].message.parsed == City(**PARIS)
    assert all(r.json.get("stream") is True for r in fake.requests)
    assert secret not in json.dumps([r.json for r in fake.requests])


async def test_the_tool_client_reasks_a_bad_streamed_answer() -> None:
    wrong = {"name": "Paris", "population": "lots", "landmarks": []}
    fake = FakeModel(
        [reply_in("json_schema", wrong), reply_in("json_schema", PARIS)], strict_script=True
    )
    tools = AsyncToolClient(client(fake))
    tools.register_tool("noop", "Does nothing", lambda: "ok")
    stream = await tools.parse(HELLO, City, stream=True)
    objects = await collect(stream)
    assert objects[-1] == City(**PARIS)
    assert stream.attempt == 2
    assert "did not match" in fake.requests[1].messages[-1]["content"]


async def test_bad_arguments_raise_when_the_stream_is_made_not_when_read() -> None:
    fake = FakeModel()
    with pytest.raises(ConfigurationError, match="response_format"):
        await client(fake).parse(HELLO, dict, stream=True)  # type: ignore[type-var]
    with pytest.raises(ConfigurationError, match="mode"):
        await client(fake).parse(HELLO, City, mode="xml", stream=True)  # type: ignore[arg-type]
    assert fake.requests == []
