"""Usage limits: a call spends no more requests, tokens or cost than it may, counted across
retries, re-asks, tool rounds and an agent's steps and resumes. Written once (async),
generated for sync.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncOpenRouterClient,
    AsyncToolClient,
    ConfigurationError,
    InMemorySessionHandler,
    UsageLimitExceeded,
    UsageLimits,
)
from mbxai.testing import Failure, FakeModel, Reply, call

pytestmark = pytest.mark.anyio

ASK = [{"role": "user", "content": "hi"}]


def usage(tokens: int, cost: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "prompt_tokens": tokens - 1,
        "completion_tokens": 1,
        "total_tokens": tokens,
    }
    if cost is not None:
        out["cost"] = cost
    return out


def chat(fake: FakeModel, **kwargs: Any) -> AsyncOpenRouterClient:
    return AsyncOpenRouterClient(
        token="test",
        transport=fake,
        base_url=kwargs.pop("base_url", "http://127.0.0.1:9/v1"),
        retry_initial_delay=0,
        retry_max_delay=0,
        **kwargs,
    )


class City(BaseModel):
    name: str


async def test_a_request_past_max_requests_is_never_sent() -> None:
    fake = FakeModel(["hello"])
    with pytest.raises(UsageLimitExceeded) as info:
        await chat(fake).create(ASK, usage_limits=UsageLimits(max_requests=0))
    assert fake.requests == []
    assert info.value.limit == "max_requests"
    assert info.value.requests == 0


async def test_retries_count_as_requests() -> None:
    fake = FakeModel([Failure(503), Failure(503), "late"])
    with pytest.raises(UsageLimitExceeded) as info:
        await chat(fake, max_retries=5).create(ASK, usage_limits=UsageLimits(max_requests=2))
    assert len(fake.requests) == 2  # the third attempt was not sent
    assert info.value.requests == 2


async def test_re_asks_count_and_usage_is_carried() -> None:
    fake = FakeModel(
        [Reply(content="not json", usage=usage(10)), Reply(content="{}", usage=usage(10))],
        strict_script=True,
    )
    with pytest.raises(UsageLimitExceeded) as info:
        await chat(fake, parse_retries=5).parse(ASK, City, usage_limits=UsageLimits(max_requests=2))
    assert len(fake.requests) == 2
    assert info.value.usage is not None
    assert info.value.usage.total_tokens == 20


async def test_tokens_past_the_limit_stop_at_the_next_request() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    fake = FakeModel(
        [
            Reply(tool_calls=[call("ping")], usage=usage(10)),
            Reply(tool_calls=[call("ping")], usage=usage(10)),
            Reply(content="never asked", usage=usage(10)),
        ]
    )
    tools = AsyncToolClient(chat(fake))
    tools.register_tool("ping", "Ping", ping)
    with pytest.raises(UsageLimitExceeded) as info:
        await tools.chat(ASK, usage_limits=UsageLimits(max_total_tokens=15))
    assert len(fake.requests) == 2  # 20 tokens after two replies: the third was not sent
    assert info.value.limit == "max_total_tokens"
    # the transcript goes on from where the limit stopped it
    transcript = info.value.transcript
    assert transcript is not None
    assert [m["role"] for m in transcript] == ["user", "assistant", "tool", "assistant", "tool"]
    done = await tools.chat(transcript, usage_limits=UsageLimits(max_total_tokens=100))
    assert done.content == "never asked"


async def test_cost_limits_use_the_reported_cost() -> None:
    fake = FakeModel(
        [Reply(content="a", usage=usage(5, cost=0.4)), Reply(content="b", usage=usage(5, cost=0.4))]
    )
    client = chat(fake)
    limits = UsageLimits(max_cost=0.5)
    tools = AsyncToolClient(client)
    tools.register_tool("ping", "Ping", lambda: "pong")
    first = await tools.chat(ASK, usage_limits=limits)
    assert first.content == "a"
    # one call's limits count that call only: a new call starts from nothing
    second = await tools.chat(ASK, usage_limits=limits)
    assert second.content == "b"


async def test_max_cost_without_a_reported_cost_is_refused() -> None:
    fake = FakeModel([Reply(content="a", usage=usage(5))])
    with pytest.raises(ConfigurationError, match="max_cost"):
        await chat(fake).create(ASK, usage_limits=UsageLimits(max_cost=1.0))


async def test_openrouter_is_asked_for_the_cost_when_a_limit_needs_it() -> None:
    # usage accounting turned off: still asked for when a cost limit needs it
    fake = FakeModel([Reply(content="a", usage=usage(5, cost=0.001)), "b"])
    client = chat(fake, base_url="https://openrouter.ai/api/v1", usage_accounting=False)
    await client.create(ASK, usage_limits=UsageLimits(max_cost=1.0))
    await client.create(ASK)
    assert fake.requests[0].json["usage"] == {"include": True}
    assert "usage" not in fake.requests[1].json


async def test_client_defaults_and_call_limits_both_hold() -> None:
    fake = FakeModel(["a", "b", "c"])
    client = chat(fake, usage_limits=UsageLimits(max_requests=5))
    await client.create(ASK)
    with pytest.raises(UsageLimitExceeded):
        await client.create(ASK, usage_limits=UsageLimits(max_requests=0))
    assert len(fake.requests) == 1


async def test_a_stream_counts_its_request_and_its_usage() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    fake = FakeModel(
        [
            Reply(tool_calls=[call("ping")], usage=usage(50)),
            Reply(content="never streamed", usage=usage(50)),
        ]
    )
    tools = AsyncToolClient(chat(fake))
    tools.register_tool("ping", "Ping", ping)
    stream = await tools.chat(ASK, stream=True, usage_limits=UsageLimits(max_total_tokens=10))
    with pytest.raises(UsageLimitExceeded) as info:
        async with stream:
            async for _ in stream:
                pass
    assert len(fake.requests) == 1
    assert info.value.transcript is not None


@pytest.mark.parametrize(
    "bad", [{"max_requests": "3"}, {"max_cost": -1}, {"max_total_tokens": True}, "many"]
)
async def test_bad_limits_are_configuration_errors(bad: Any) -> None:
    fake = FakeModel(["a"])
    with pytest.raises(ConfigurationError, match="usage_limits"):
        await chat(fake).create(ASK, usage_limits=bad)
    assert fake.requests == []


# -- the agent ----------------------------------------------------------------------------


class Summary(BaseModel):
    summary: str


def agent_script() -> list[Any]:
    plan = {
        "requirement_analysis": {
            "goal": "g",
            "success_criteria": [],
            "constraints": [],
            "complexity_estimate": 1,
        },
        "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
        "tasks": [
            {
                "id": "t1",
                "title": "think",
                "description": "think",
                "dependencies": [],
                "tools": [],
                "estimated_complexity": 1,
                "human_interaction": None,
            }
        ],
    }
    evaluation = {
        "goal_evaluation": {
            "goal_achieved": True,
            "completion_percentage": 100,
            "feedback": "",
            "missing_elements": [],
        },
        "final_response": {"summary": "done"},
        "follow_up_tasks": [],
    }
    return [
        Reply(content=json.dumps(plan), usage=usage(100)),
        Reply(
            content=json.dumps({"status": "completed", "result": "ok", "question": None}),
            usage=usage(100),
        ),
        Reply(content=json.dumps(evaluation), usage=usage(100)),
    ]


async def test_an_agent_session_stops_at_its_limit_and_resumes_with_a_higher_one() -> None:
    store = InMemorySessionHandler()
    fake = FakeModel(agent_script(), strict_script=True)
    agent = AsyncAgentClient(chat(fake), session_handler=store)
    with pytest.raises(UsageLimitExceeded) as info:
        await agent.agent("Go", Summary, usage_limits=UsageLimits(max_requests=2))
    assert len(fake.requests) == 2  # planning and the task; the evaluation was not asked
    agent_id = info.value.agent_id
    assert agent_id is not None
    saved = store.get_session(agent_id)
    assert saved is not None
    assert saved["spent"]["requests"] == 2
    # the whole session counts: 2 spent already, so a limit of 2 lets nothing more through
    with pytest.raises(UsageLimitExceeded):
        await agent.agent(
            "Go", Summary, agent_id=agent_id, usage_limits=UsageLimits(max_requests=2)
        )
    assert len(fake.requests) == 2
    done = await agent.agent(
        "Go", Summary, agent_id=agent_id, usage_limits=UsageLimits(max_requests=3)
    )
    assert done.is_complete()
    assert len(fake.requests) == 3
