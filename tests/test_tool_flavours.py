"""Tools across flavours: async tools on the sync client (also inside a running event loop,
as in Jupyter), and the seed's awaitable calls on the sync ToolClient.

Generated tests cannot say this (unasync turns every ``async def`` tool into a ``def``), so
it is written by hand, once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pydantic import BaseModel

from mbxai import OpenRouterClient, ToolClient
from mbxai.testing import FakeModel, Reply, call

TOKYO = [{"role": "user", "content": "What's the weather like in Tokyo?"}]


class Answer(BaseModel):
    text: str


async def get_weather_async(location: str) -> dict[str, Any]:
    """Async weather lookup.

    Args:
        location: The city
    """
    await asyncio.sleep(0)
    return {"location": location, "loop_thread": threading.current_thread().name}


def test_async_tool_on_the_sync_client_inside_a_running_loop() -> None:
    fake = FakeModel([Reply(tool_calls=[call("get_weather_async", location="Tokyo")]), "Sunny."])

    async def notebook_cell() -> tuple[str | None, str]:
        asyncio.get_running_loop()  # a loop is running in this thread, as in a Jupyter cell
        client = ToolClient(OpenRouterClient(token="test", transport=fake))
        client.register_tool("get_weather_async", "Weather (async)", get_weather_async)
        response = client.chat(TOKYO)
        client.close()
        return response.content, fake.requests[1].messages[-1]["content"]

    content, result = asyncio.run(notebook_cell())
    assert content == "Sunny."
    assert '"location":"Tokyo"' in result
    assert '"loop_thread":"mbxai-portal' in result  # it ran on mbxai's background loop


def test_async_tool_on_the_sync_client_without_a_loop() -> None:
    fake = FakeModel()
    with ToolClient(OpenRouterClient(token="test", transport=fake)) as client:
        client.register_tool("get_weather_async", "Weather (async)", get_weather_async)
        response = client.chat(TOKYO)
    assert response.content is not None
    assert '"location":"example location"' in response.content


def test_seed_awaitable_calls_on_the_sync_tool_client_share_the_tools() -> None:
    fake = FakeModel()
    calls: list[str] = []

    def add(a: int, b: int) -> int:
        calls.append(f"{a}+{b}")
        return a + b

    async def main() -> None:
        async with ToolClient(OpenRouterClient(token="test", transport=fake)) as client:
            client.register_tool("add", "Add", add)
            first = await client.achat([{"role": "user", "content": "add"}])
            # registered between awaited calls: the next one has it
            client.register_tool("get_weather_async", "Weather", get_weather_async)
            second = await client.acreate(
                [{"role": "user", "content": "use get_weather_async"}], max_tool_rounds=3
            )
            parsed = await client.aparse([{"role": "user", "content": "plain"}], Answer)
            assert first.tool_rounds == second.tool_rounds == parsed.tool_rounds == 1
            assert isinstance(parsed.parsed, Answer)
            assert '"location":"example location"' in (second.content or "")

    asyncio.run(main())
    assert calls == ["1+1", "1+1"]  # achat and aparse (the fake calls the first tool)
    assert [t["function"]["name"] for t in fake.requests[2].json["tools"]] == [
        "add",
        "get_weather_async",
    ]
