"""The sync API inside a running event loop (as in Jupyter), and the seed's awaitable calls."""

from __future__ import annotations

import asyncio

import httpx
from pydantic import BaseModel

from mbxai import AsyncOpenRouterClient, OpenRouterClient
from mbxai.testing import FakeModel

HELLO = [{"role": "user", "content": "hi"}]


class Answer(BaseModel):
    text: str
    confidence: float


def test_sync_client_works_inside_a_running_loop() -> None:
    fake = FakeModel()

    async def notebook_cell() -> tuple[str | None, Answer | None, str]:
        asyncio.get_running_loop()  # we really are inside a loop, as a Jupyter cell is
        client = OpenRouterClient(token="test-token", transport=fake)
        chat = client.create(HELLO)
        parsed = client.parse(HELLO, response_format=Answer)
        streamed = "".join(
            c.choices[0].delta.content or "" for c in client.create(HELLO, stream=True)
        )
        client.close()
        return chat.content, parsed.parsed, streamed

    content, parsed, streamed = asyncio.run(notebook_cell())
    assert content == "This is a fake reply to: hi"
    assert isinstance(parsed, Answer)
    assert streamed == "This is a fake reply to: hi"
    assert len(fake.requests) == 3


def test_seed_awaitable_methods_on_the_sync_client() -> None:
    fake = FakeModel(["one", "two"])

    async def main() -> None:
        async with OpenRouterClient(token="test-token", transport=fake, model="GPT_4O") as client:
            first = await client.acreate(HELLO)
            second = await client.achat(HELLO)
            parsed = await client.aparse(HELLO, response_format=Answer)
            stream = await client.acreate(HELLO, stream=True)
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert first.content == "one"
        assert second.content == "two"
        assert isinstance(parsed.parsed, Answer)

        assert streamed == "This is a fake reply to: hi"

    asyncio.run(main())
    # every awaited call went through the sync client's own transport
    assert [r.json["model"] for r in fake.requests] == ["openai/gpt-4o"] * 4


def test_sync_and_async_share_the_model_registry() -> None:
    OpenRouterClient.register_model("SHARED_NAME", "vendor/shared")
    assert AsyncOpenRouterClient(token="t", model="SHARED_NAME").model == "vendor/shared"


def test_awaited_calls_use_a_sync_only_transport_too() -> None:
    fake = FakeModel(["served by the sync transport"])

    class SyncOnly(httpx.BaseTransport):
        """A transport only the sync client can use (no handle_async_request)."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return fake.handle_request(request)

    async def main() -> str | None:
        async with OpenRouterClient(
            token="test-token", transport=SyncOnly(), max_retries=0
        ) as client:
            return (await client.acreate(HELLO)).content

    assert asyncio.run(main()) == "served by the sync transport"
    assert len(fake.requests) == 1


def test_sync_streams_of_objects_and_agent_events_work_inside_a_running_loop() -> None:
    from mbxai import AgentClient

    async def notebook_cell() -> tuple[list[Answer], list[str]]:
        asyncio.get_running_loop()
        client = OpenRouterClient(token="test-token", transport=FakeModel())
        with client.parse(HELLO, Answer, stream=True) as stream:
            objects = list(stream)
        with AgentClient(client).stream("hi", Answer) as events:
            types = [event.type for event in events]
        return objects, types

    objects, types = asyncio.run(notebook_cell())
    assert isinstance(objects[-1], Answer)
    assert objects[-1].model_fields_set == {"text", "confidence"}
    assert types[0] == "run_started"
    assert types[-1] == "run_finished"
