"""OpenRouter, first class: typed request options on the request body, what the response
says about who served it, exact cost, generation stats, prompt caching, multimodal parts
and the model list. Recorded-shape responses come from FakeModel; written once (async),
generated for sync.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncOpenRouterClient,
    AsyncToolClient,
    CacheControl,
    ConfigurationError,
    FileParserPlugin,
    MaxPrice,
    NotFoundError,
    ProviderPreferences,
    Reasoning,
    ResponseHealingPlugin,
    WebPlugin,
    audio_part,
    image_part,
    pdf_part,
    text_part,
    user_message,
)
from mbxai.testing import Failure, FakeModel, Reply, call
from tests.support.agent_replies import AgentModel, Summary, evaluation, outcome, plan

pytestmark = pytest.mark.anyio

OPENROUTER = "https://openrouter.ai/api/v1"
LOCAL = "http://127.0.0.1:9/v1"
ASK = [{"role": "user", "content": "hi"}]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
PDF = b"%PDF-1.4\n%fake\n"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16


def chat(fake: FakeModel, **kwargs: Any) -> AsyncOpenRouterClient:
    return AsyncOpenRouterClient(
        token="test",
        transport=fake,
        base_url=kwargs.pop("base_url", OPENROUTER),
        retry_initial_delay=0,
        retry_max_delay=0,
        **kwargs,
    )


def body(fake: FakeModel, index: int = -1) -> dict[str, Any]:
    return fake.requests[index].json


class City(BaseModel):
    name: str


# -- request options ------------------------------------------------------------------------


async def test_every_option_reaches_the_request_body_typed_or_as_a_dict() -> None:
    fake = FakeModel(["a", "b"])
    client = chat(fake)
    await client.create(
        ASK,
        provider=ProviderPreferences(
            order=["anthropic", "openai"],
            only=["anthropic", "openai", "google"],
            ignore=["deepinfra"],
            allow_fallbacks=False,
            require_parameters=True,
            data_collection="deny",
            zdr=True,
            sort="price",
            max_price=MaxPrice(prompt=1, completion=2.5),
            quantizations=["fp8", "bf16"],
        ),
        models=["anthropic/claude-sonnet-4", "openai/gpt-4o"],
        reasoning=Reasoning(effort="high", exclude=True),
        transforms=["middle-out"],
        plugins=[
            WebPlugin(max_results=3),
            FileParserPlugin(pdf={"engine": "pdf-text"}),
            ResponseHealingPlugin(),
        ],
        preset="my-preset",
        user="user-42",
        session_id="conversation-7",
        temperature=0.1,
    )
    sent = body(fake)
    assert sent["provider"] == {
        "order": ["anthropic", "openai"],
        "only": ["anthropic", "openai", "google"],
        "ignore": ["deepinfra"],
        "allow_fallbacks": False,
        "require_parameters": True,
        "data_collection": "deny",
        "zdr": True,
        "sort": "price",
        "max_price": {"prompt": 1.0, "completion": 2.5},
        "quantizations": ["fp8", "bf16"],
    }
    assert sent["models"] == ["anthropic/claude-sonnet-4", "openai/gpt-4o"]
    assert sent["reasoning"] == {"effort": "high", "exclude": True}
    assert sent["transforms"] == ["middle-out"]
    assert sent["plugins"] == [
        {"id": "web", "max_results": 3},
        {"id": "file-parser", "pdf": {"engine": "pdf-text"}},
        {"id": "response-healing"},
    ]
    assert (sent["preset"], sent["user"], sent["session_id"]) == (
        "my-preset",
        "user-42",
        "conversation-7",
    )
    assert sent["temperature"] == 0.1
    # plain dicts are the same options, checked the same way
    await client.create(
        ASK,
        provider={"sort": "throughput", "max_price": {"prompt": 1}},
        reasoning={"max_tokens": 2000},
        plugins=[{"id": "web", "engine": "exa"}],
    )
    sent = body(fake)
    assert sent["provider"] == {"sort": "throughput", "max_price": {"prompt": 1.0}}
    assert sent["reasoning"] == {"max_tokens": 2000}
    assert sent["plugins"] == [{"id": "web", "engine": "exa"}]


async def test_client_defaults_apply_to_every_call_and_a_call_refines_them() -> None:
    fake = FakeModel(["a", "b", "c"])
    client = chat(
        fake,
        provider=ProviderPreferences(order=["anthropic"], allow_fallbacks=False),
        models=["openai/gpt-4o"],
        reasoning={"effort": "low"},
        user="default-user",
    )
    tools = AsyncToolClient(client)
    await client.create(ASK)
    assert body(fake)["provider"] == {"order": ["anthropic"], "allow_fallbacks": False}
    assert body(fake)["models"] == ["openai/gpt-4o"]
    assert body(fake)["reasoning"] == {"effort": "low"}
    # a call's provider preferences merge field by field; other options replace
    await client.create(ASK, provider={"sort": "price"}, models=["google/gemini-2.5-pro"])
    assert body(fake)["provider"] == {
        "order": ["anthropic"],
        "allow_fallbacks": False,
        "sort": "price",
    }
    assert body(fake)["models"] == ["google/gemini-2.5-pro"]
    assert body(fake)["user"] == "default-user"
    # the tool client's rounds go through the same client, defaults included
    await tools.chat(ASK)
    assert body(fake)["reasoning"] == {"effort": "low"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"provider": {"sortt": "price"}}, "provider.sortt"),
        ({"provider": {"sort": "cheapest"}}, "provider.sort"),
        ({"provider": {"max_price": {"prompt": "a lot"}}}, "provider.max_price.prompt"),
        ({"provider": {"quantizations": ["fp7"]}}, "provider.quantizations.0"),
        ({"provider": "anthropic"}, "provider must be a ProviderPreferences"),
        ({"reasoning": {"effort": "high", "max_tokens": 100}}, "give effort or max_tokens"),
        ({"reasoning": {"max_tokens": 0}}, "reasoning.max_tokens"),
        ({"models": "openai/gpt-4o"}, "models must be a list"),
        ({"models": ["openai/gpt-4o", ""]}, "models must hold non-empty strings"),
        ({"transforms": [3]}, "transforms must hold non-empty strings"),
        ({"plugins": [{"id": "websearch"}]}, "plugins[0] must be a plugin"),
        ({"plugins": [{"id": "web", "max_results": -1}]}, "plugins[0].max_results"),
        ({"plugins": WebPlugin()}, "plugins must be a list"),
        ({"preset": ""}, "preset must be a non-empty string"),
        ({"user": 42}, "user must be a non-empty string"),
        ({"cache": "yes"}, "cache must be a CacheControl"),
        ({"cache": {"ttl": "2h"}}, "cache.ttl"),
    ],
)
async def test_a_bad_option_is_refused_before_sending_naming_the_field(
    options: dict[str, Any], named: str
) -> None:
    fake = FakeModel(["a"])
    with pytest.raises(ConfigurationError) as info:
        await chat(fake).create(ASK, **options)
    assert named in str(info.value)
    assert fake.requests == []
    # the same checks guard a client's defaults
    with pytest.raises(ConfigurationError):
        chat(fake, **options)


async def test_other_endpoints_get_no_openrouter_fields_unless_asked() -> None:
    fake = FakeModel(["a"])
    local = chat(fake, base_url=LOCAL, cache=True)
    await local.create(ASK)
    assert body(fake) == {"model": local.model, "messages": ASK}
    await local.parse(ASK, City)
    assert "provider" not in body(fake)
    assert "usage" not in body(fake)
    # what the caller asks for is sent, wherever it goes
    await local.create(ASK, user="u1", reasoning={"effort": "low"})
    assert body(fake)["user"] == "u1"
    assert body(fake)["reasoning"] == {"effort": "low"}


async def test_usage_accounting_is_on_for_openrouter_and_can_be_turned_off() -> None:
    fake = FakeModel(["a", "b", "c"])
    await chat(fake).create(ASK)
    assert body(fake)["usage"] == {"include": True}
    await chat(fake, usage_accounting=False).create(ASK)
    assert "usage" not in body(fake)
    await chat(fake, base_url=LOCAL, usage_accounting=True).create(ASK)
    assert body(fake)["usage"] == {"include": True}
    with pytest.raises(ConfigurationError, match="usage_accounting"):
        chat(fake, usage_accounting="yes")


# -- what served the response ------------------------------------------------------------------

REASONING_DETAILS = [
    {
        "type": "reasoning.text",
        "text": "First, add.",
        "signature": "sig-1",
        "format": "anthropic-claude-v1",
        "index": 0,
    },
    {
        "type": "reasoning.encrypted",
        "data": "b64-opaque",
        "format": "anthropic-claude-v1",
        "index": 1,
    },
]


async def test_the_response_says_which_model_and_provider_served_it() -> None:
    fake = FakeModel(
        [
            Reply(
                content="4",
                model="openai/gpt-4o",  # the fallback, after the first model failed
                provider="OpenAI",
                reasoning="2 + 2 = 4",
                reasoning_details=REASONING_DETAILS,
            )
        ]
    )
    response = await chat(fake).create(
        ASK, model="anthropic/claude-sonnet-4", models=["openai/gpt-4o"]
    )
    assert response.model == "openai/gpt-4o"
    assert response.provider == "OpenAI"
    message = response.choices[0].message
    assert message.reasoning == "2 + 2 = 4"
    assert message.reasoning_details == REASONING_DETAILS
    assert message.to_param()["reasoning_details"] == REASONING_DETAILS


async def test_reasoning_details_go_back_unchanged_in_the_next_tool_round() -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("add", a=1, b=2)], reasoning_details=REASONING_DETAILS),
            "3",
        ]
    )
    tools = AsyncToolClient(chat(fake))

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    result = await tools.chat(ASK)
    assert result.content == "3"
    replayed = body(fake)["messages"][1]
    assert replayed["role"] == "assistant"
    assert replayed["reasoning_details"] == REASONING_DETAILS


async def test_streamed_reasoning_details_are_rebuilt_and_sent_back() -> None:
    fake = FakeModel(
        [
            Reply(
                tool_calls=[call("add", a=1, b=2)],
                reasoning="thinking it over",
                reasoning_details=REASONING_DETAILS,
            ),
            "3",
        ]
    )
    tools = AsyncToolClient(chat(fake))

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    stream = await tools.chat(ASK, stream=True)
    async for _ in stream:
        pass
    replayed = body(fake)["messages"][1]
    assert replayed["reasoning"] == "thinking it over"
    assert replayed["reasoning_details"] == REASONING_DETAILS


# -- cost and usage --------------------------------------------------------------------------------


def usage(cost: float, **details: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
        "cost": cost,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 5},
        "cost_details": {"upstream_inference_cost": details.get("upstream", cost)},
    }


async def test_usage_fields_are_typed_and_costs_sum_exactly_across_rounds_and_retries() -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("add", a=1, b=2)], usage=usage(0.1)),
            Failure(503),  # a retry: no usage, no cost
            Reply(content="3", usage=usage(0.2)),
        ]
    )
    tools = AsyncToolClient(chat(fake))

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    result = await tools.chat(ASK)
    total = result.usage
    assert total is not None
    assert total.cost == 0.3  # not 0.30000000000000004
    assert total.cached_tokens == 160
    assert total.cache_write_tokens == 20
    assert total.reasoning_tokens == 10
    assert total.cost_details is not None
    assert total.cost_details.upstream_inference_cost == 0.3
    assert total.prompt_tokens == 200


async def test_generation_stats_come_from_openrouter() -> None:
    stats = {
        "data": {
            "id": "gen-1",
            "model": "openai/gpt-4o",
            "provider_name": "OpenAI",
            "total_cost": 0.00123,
            "tokens_prompt": 10,
            "tokens_completion": 3,
            "native_tokens_reasoning": 0,
            "latency": 420,
            "finish_reason": "stop",
            "origin": "https://example.test",
        }
    }
    fake = FakeModel([stats, Failure(404, "generation not found")])
    client = chat(fake)
    generation = await client.generation("gen-1")
    request = fake.requests[0]
    assert request.method == "GET"
    assert request.url == f"{OPENROUTER}/generation?id=gen-1"
    assert request.headers["authorization"] == "Bearer test"
    assert generation.total_cost == 0.00123
    assert generation.provider_name == "OpenAI"
    assert generation.model_extra == {"origin": "https://example.test"}
    with pytest.raises(NotFoundError):
        await client.generation("gen-unknown")
    with pytest.raises(ConfigurationError, match="generation_id"):
        await client.generation("")


async def test_the_agent_shows_cost_per_step_summed_exactly() -> None:
    fake = FakeModel(
        [
            Reply(content=plan(), usage=usage(0.1)),
            Reply(content=outcome(), usage=usage(0.2)),
            Reply(content=evaluation(), usage=usage(0.4)),
        ]
    )
    agent = AsyncAgentClient(chat(fake))
    response = await agent.agent("Go", Summary)
    summary = response.token_summary
    assert (summary.planning.cost, summary.task_execution.cost) == (0.1, 0.2)
    assert summary.goal_evaluation.cost == 0.4
    assert summary.total.cost == 0.7  # not 0.7000000000000001
    html = response._repr_html_()
    for shown in ("planning", "task execution", "goal evaluation", "0.100000", "0.700000"):
        assert shown in html


# -- prompt caching --------------------------------------------------------------------------------

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "Q2"},
]
MARK = {"type": "ephemeral"}


def marked(message: dict[str, Any]) -> bool:
    content = message["content"]
    return isinstance(content, list) and content[-1].get("cache_control") is not None


async def test_cache_breakpoints_mark_the_system_prompt_and_the_last_user_turns() -> None:
    fake = FakeModel(["a", "b", "c", "d"])
    client = chat(fake, model="anthropic/claude-sonnet-4", cache=True)
    await client.create(CONVERSATION)
    messages = body(fake)["messages"]
    assert messages[0]["content"] == [
        {"type": "text", "text": "You are terse.", "cache_control": MARK}
    ]
    assert [marked(m) for m in messages] == [True, True, False, True]
    assert CONVERSATION[0]["content"] == "You are terse."  # the caller's messages untouched
    # a TTL per call; a call can turn caching off
    await client.create(CONVERSATION, cache=CacheControl(ttl="1h"))
    assert body(fake)["messages"][0]["content"][0]["cache_control"] == {
        "type": "ephemeral",
        "ttl": "1h",
    }
    await client.create(CONVERSATION, cache=False)
    assert body(fake)["messages"] == CONVERSATION
    # the caller's own breakpoints are left as they are
    own = [
        {"role": "system", "content": [{"type": "text", "text": "S", "cache_control": MARK}]},
        {"role": "user", "content": "Q"},
    ]
    await client.create(own)
    assert body(fake)["messages"] == own


async def test_cache_breakpoints_only_for_providers_that_need_them() -> None:
    fake = FakeModel(["a", "b", "c"])
    client = chat(fake, cache=True)
    await client.create(CONVERSATION, model="openai/gpt-4o")  # caches by itself
    assert body(fake)["messages"] == CONVERSATION
    await client.create(CONVERSATION, model="google/gemini-2.5-pro")
    assert marked(body(fake)["messages"][0])
    # a fallback that needs them is enough
    await client.create(CONVERSATION, model="openai/gpt-4o", models=["anthropic/claude-3.5-haiku"])
    assert marked(body(fake)["messages"][0])


async def test_the_agents_steps_share_a_stable_prefix_that_is_cached() -> None:
    fake = FakeModel(AgentModel(tool="lookup", arguments={"q": "x"}).script())
    agent = AsyncAgentClient(
        AsyncToolClient(chat(fake, model="anthropic/claude-sonnet-4", cache=True))
    )

    agent.register_tool("lookup", "Look something up.", lambda q: "found")

    response = await agent.agent("Find x", Summary)
    assert response.is_complete()
    first_two = [r.json["messages"][:2] for r in fake.requests]
    # every step sends the same system prompt and request first, each marked for the cache
    assert all(prefix == first_two[0] for prefix in first_two)
    system, request = first_two[0]
    assert system["role"] == "system"
    assert marked(system)
    assert "lookup" in system["content"][0]["text"]
    assert request["role"] == "user"
    assert marked(request)
    assert "Find x" in request["content"][0]["text"]
    steps = [r.json["messages"][2]["content"] for r in fake.requests]
    step_text = [s if isinstance(s, str) else s[0]["text"] for s in steps]
    assert step_text[0].startswith("Step: planning")
    assert step_text[-1].startswith("Step: goal evaluation")


# -- multimodal inputs ----------------------------------------------------------------------------


async def test_content_parts_from_bytes_paths_and_urls(tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG)
    paper = tmp_path / "paper.pdf"
    paper.write_bytes(PDF)
    inline = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert image_part(PNG).to_param() == {"type": "image_url", "image_url": {"url": inline}}
    assert image_part(picture, detail="low").to_param()["image_url"] == {
        "url": inline,
        "detail": "low",
    }
    assert image_part("https://example.test/cat.png").to_param()["image_url"] == {
        "url": "https://example.test/cat.png"
    }
    assert pdf_part(paper).to_param() == {
        "type": "file",
        "file": {
            "filename": "paper.pdf",
            "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        },
    }
    assert pdf_part("https://example.test/a/report.pdf?x=1").to_param()["file"] == {
        "filename": "report.pdf",
        "file_data": "https://example.test/a/report.pdf?x=1",
    }
    assert audio_part(WAV).to_param() == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"},
    }
    assert "inline data" in repr(image_part(PNG))  # no megabytes of base64 in a repr
    assert user_message("What is it?", image_part(PNG)) == {
        "role": "user",
        "content": [{"type": "text", "text": "What is it?"}, image_part(PNG).to_param()],
    }


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: image_part(p / "missing.png"), "cannot read"),
        (lambda p: image_part(b"not an image"), "not a PNG, JPEG, GIF or WebP"),
        (lambda p: image_part(b""), "empty"),
        (lambda p: image_part(12), "takes bytes, a file path or a URL"),
        (lambda p: pdf_part(b"plain text"), "not a PDF"),
        (lambda p: audio_part("https://example.test/a.mp3"), "not by URL"),
        (lambda p: audio_part(b"????????????"), "cannot tell the audio format"),
        (lambda p: audio_part(WAV, format="midi"), "format must be one of"),
        (lambda p: user_message(), "at least one"),
        (lambda p: user_message("a", 3), r"content\[1\]"),
    ],
)
async def test_bad_content_is_refused_clearly(make: Any, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make(tmp_path)


async def test_parts_in_create_tool_results_and_agent_prompts() -> None:
    fake = FakeModel(["a picture of a cat"])
    client = chat(fake)
    await client.create([{"role": "user", "content": [text_part("What?"), image_part(PNG)]}])
    assert body(fake)["messages"][0]["content"][1] == image_part(PNG).to_param()

    # a tool that returns an image: its result says so, the image follows in a user message
    fake = FakeModel([Reply(tool_calls=[call("snapshot", name="cam")]), "I see a cat"])
    tools = AsyncToolClient(chat(fake))

    @tools.tool
    def snapshot(name: str) -> list[Any]:
        """Take a picture."""
        return [f"picture from {name}", image_part(PNG)]

    result = await tools.chat(ASK)
    assert result.content == "I see a cat"
    tool_message, attachments = body(fake)["messages"][2:4]
    assert tool_message["role"] == "tool"
    assert "picture from cam" in tool_message["content"]
    assert "attachment" in tool_message["content"]
    assert attachments["role"] == "user"
    assert attachments["content"][1] == image_part(PNG).to_param()
    json.dumps(result.transcript)  # the transcript stays plain JSON

    # an agent's attachments go with the request to every step
    fake = FakeModel(AgentModel().script())
    agent = AsyncAgentClient(chat(fake))
    await agent.agent("Describe the picture", Summary, attachments=[image_part(PNG)])
    for request in fake.requests:
        assert image_part(PNG).to_param() in request.json["messages"][1]["content"]
    with pytest.raises(ConfigurationError, match="attachments"):
        await agent.agent("x", Summary, attachments=["not a part"])  # type: ignore[list-item]


async def test_an_attachment_survives_a_round_paused_for_approval() -> None:
    fake = FakeModel(
        [Reply(tool_calls=[call("snapshot", name="cam"), call("delete", name="cam")]), "done"]
    )
    tools = AsyncToolClient(chat(fake))

    @tools.tool
    def snapshot(name: str) -> Any:
        """Take a picture."""
        return image_part(PNG)

    @tools.tool(requires_approval=True)
    def delete(name: str) -> str:
        """Delete a camera."""
        return "deleted"

    paused = await tools.chat(ASK)
    assert [p.tool for p in paused.pending_approvals] == ["delete"]
    pending = paused.pending_approvals[0].id
    final = await tools.chat(paused.transcript, approvals={pending: True})
    assert final.content == "done"
    roles = [m["role"] for m in body(fake)["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "user"]
    assert body(fake)["messages"][-1]["content"][1] == image_part(PNG).to_param()


# -- the model list ----------------------------------------------------------------------------------

MODELS = {
    "data": [
        {
            "id": "acme/no-schema",
            "name": "Acme",
            "context_length": 8192,
            "pricing": {"prompt": "0.000001", "completion": "0.000002"},
            "supported_parameters": ["tools", "tool_choice", "max_tokens"],
        },
        {
            "id": "acme/plain",
            "context_length": 4096,
            "supported_parameters": ["max_tokens", "temperature"],
        },
    ]
}


async def test_the_model_list_is_fetched_once_and_kept() -> None:
    fake = FakeModel([MODELS, MODELS])
    client = chat(fake)
    models = await client.list_models()
    assert [m.id for m in models] == ["acme/no-schema", "acme/plain"]
    assert models[0].context_length == 8192
    assert models[0].pricing["prompt"] == "0.000001"
    assert models[0].supports("tools")
    assert not models[0].supports("structured_outputs")
    info = await client.model_info("acme/plain")
    assert info is not None
    assert info.context_length == 4096
    assert await client.model_info("acme/unknown") is None
    assert len(fake.requests) == 1
    assert fake.requests[0].method == "GET"
    assert fake.requests[0].url == f"{OPENROUTER}/models"
    await client.list_models(refresh=True)
    assert len(fake.requests) == 2


async def test_parse_picks_a_mode_the_model_supports_from_the_list() -> None:
    fake = FakeModel([MODELS])
    client = chat(fake)
    await client.list_models()
    await client.parse(ASK, City, model="acme/no-schema")
    first = body(fake, 1)
    assert "response_format" not in first  # no structured_outputs: straight to tool mode
    assert first["tool_choice"]["function"]["name"]
    assert first["provider"] == {"require_parameters": True}
    fake.add('{"name": "Paris"}')
    await client.parse(ASK, City, model="acme/plain")
    assert "tools" not in body(fake)
    assert "response_format" not in body(fake)
    assert "JSON" in json.dumps(body(fake)["messages"])  # the prompted mode
    assert len(fake.requests) == 3  # no request was spent finding out


async def test_parse_routes_only_to_providers_that_honour_the_schema() -> None:
    fake = FakeModel()
    client = chat(fake, provider={"order": ["openai"]})
    await client.parse(ASK, City)
    assert body(fake)["response_format"]["type"] == "json_schema"
    assert body(fake)["provider"] == {"order": ["openai"], "require_parameters": True}
    await client.parse(ASK, City, provider={"require_parameters": False})
    assert body(fake)["provider"]["require_parameters"] is False  # the caller decided
