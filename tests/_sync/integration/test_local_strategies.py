# This file is generated from tests/_async/integration/test_local_strategies.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Structured-output modes, constrained tool calling and the agent against the real local
model (SmolLM2-135M on llama.cpp).

This server enforces ``json_schema`` by constrained decoding, accepts ``json_object``, and
silently ignores ``tools`` (even a forced ``tool_choice``): exactly the kind of endpoint
the fallbacks exist for. The model is tiny and greedy (temperature 0), so the tests check
structure (valid objects, tools that really ran, the agent's states), never wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from mbxai import (
    AgentClient,
    AgentState,
    DialogOption,
    FileSessionHandler,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
    OpenRouterClient,
    ToolClient,
)
from mbxai.local import LocalModelServer

ASK = [{"role": "user", "content": "Name the capital of France and its country."}]
WEATHER = [{"role": "user", "content": "What is the weather in Tokyo?"}]
# What makes a 135M model usable for structured work (see the demo): it sees the schema,
# and lists and strings are capped so that it cannot ramble until max_tokens (one item
# per list also rules out plans whose tasks wait on each other).
SMALL_MODEL = {"describe_schema": True, "max_items": 1, "max_string_length": 60}


class Capital(BaseModel):
    city: str = Field(max_length=40, description="The capital city")
    country: str = Field(max_length=40, description="The country it is the capital of")


class WeatherReport(BaseModel):
    city: str = Field(description="The city")
    summary: str = Field(description="One sentence about the weather there")


@contextmanager
def recording_client(
    server: LocalModelServer, **options: Any
) -> Iterator[tuple[OpenRouterClient, list[dict[str, Any]]]]:
    """A client for the server, and the bodies of the requests it sends."""
    sent: list[dict[str, Any]] = []

    def record(request: httpx.Request) -> None:
        sent.append(json.loads(request.content))

    with httpx.Client(event_hooks={"request": [record]}, timeout=120, trust_env=False) as http:
        with server.client(http_client=http, **options) as client:
            yield client, sent


def mode_of(body: dict[str, Any]) -> str:
    if body.get("response_format"):
        return str(body["response_format"]["type"])
    return "tool" if body.get("tools") else "prompted"


# -- structured output ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["json_schema", "json_object", "prompted"])
def test_parse_gives_a_valid_instance_in_every_mode_the_server_takes(
    local_server: LocalModelServer, mode: Any
) -> None:
    with recording_client(local_server, parse_retries=2) as (client, sent):
        response = client.parse(ASK, Capital, mode=mode, max_tokens=80)
    assert isinstance(response.parsed, Capital)
    assert response.parsed.city.strip()
    assert response.parsed.country.strip()
    assert response.usage is not None
    assert response.usage.completion_tokens > 0
    assert {mode_of(body) for body in sent} == {mode}


def test_the_server_ignores_a_forced_tool_choice(local_server: LocalModelServer) -> None:
    # The fact that tool mode and native tool calls cannot work here, checked, so the
    # fallback tests below stay honest if a future server starts calling tools.
    tool = {
        "type": "function",
        "function": {
            "name": "Capital",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    with local_server.client() as client:
        response = client.create(
            ASK,
            tools=[tool],
            tool_choice={"type": "function", "function": {"name": "Capital"}},
            max_tokens=32,
        )
    assert not response.choices[0].message.tool_calls


def test_tool_mode_falls_back_to_the_next_mode_once(local_server: LocalModelServer) -> None:
    chain: Any = ["tool", "json_object"]
    with recording_client(local_server, structured_output=chain) as (client, sent):
        first = client.parse(ASK, Capital, max_tokens=80)
        assert [mode_of(body) for body in sent][:2] == ["tool", "json_object"]
        before = len(sent)
        second = client.parse(ASK, Capital, max_tokens=80)
    assert isinstance(first.parsed, Capital)
    assert isinstance(second.parsed, Capital)
    # Remembered: the second call did not try the forced function again.
    assert {mode_of(body) for body in sent[before:]} == {"json_object"}


# -- tools without native tool calls ----------------------------------------------------------


def weather_tool(ran: list[str]) -> Any:
    def get_weather(city: str) -> dict[str, Any]:
        """Get the current weather for a city.

        Args:
            city: The city name
        """
        ran.append(city)
        return {"city": city, "temperature_c": 22, "condition": "sunny"}

    return get_weather


def test_a_tool_runs_through_constrained_output(local_server: LocalModelServer) -> None:
    ran: list[str] = []
    with recording_client(local_server) as (client, sent):
        tools = ToolClient(client, tool_calling="constrained")
        tools.register_tool("get_weather", None, weather_tool(ran))
        response = tools.create(WEATHER, tool_choice="required", max_tokens=96)
    assert ran  # the model's call really ran
    assert all(isinstance(city, str) and city for city in ran)
    assert isinstance(response.content, str)
    assert response.content.strip()
    assert response.tool_rounds >= 1
    assert all("tools" not in body for body in sent)
    # The transcript has the native shape: the calls, then a tool message per call.
    call_message = response.transcript[1]
    assert call_message["role"] == "assistant"
    ids = [call["id"] for call in call_message["tool_calls"]]
    assert [m["tool_call_id"] for m in response.transcript[2 : 2 + len(ids)]] == ids


def test_auto_switches_to_constrained_when_the_forced_call_is_ignored(
    local_server: LocalModelServer,
) -> None:
    ran: list[str] = []
    with local_server.client() as client:
        tools = ToolClient(client)  # tool_calling="auto"
        tools.register_tool("get_weather", None, weather_tool(ran))
        first = tools.create(WEATHER, tool_choice="required", max_tokens=96)
        second = tools.create(WEATHER, tool_choice="required", max_tokens=96)
    assert len(ran) >= 2
    # The first call paid one ignored request; the second went constrained at once.
    assert first.llm_calls == first.tool_rounds + 2
    assert second.llm_calls == second.tool_rounds + 1


def test_parse_after_a_constrained_tool_call(local_server: LocalModelServer) -> None:
    ran: list[str] = []
    with local_server.client(**SMALL_MODEL) as client:
        tools = ToolClient(client, tool_calling="constrained")
        tools.register_tool("get_weather", None, weather_tool(ran))
        response = tools.parse(WEATHER, WeatherReport, tool_choice="required", max_tokens=128)
    assert ran
    assert isinstance(response.parsed, WeatherReport)
    assert response.parsed.city.strip()


# -- the agent --------------------------------------------------------------------------------


def answer_for(request: HumanInLoopRequest) -> HumanInLoopResponse:
    kind = request.interaction_type
    if kind == HumanInteractionType.DIALOG_OPTION:
        return HumanInLoopResponse(
            interaction_id=request.id,
            response_type=kind,
            dialog_option_id=request.dialog_option_id,
            additional_context="auth_token:token-from-the-ui",
        )
    if kind == HumanInteractionType.DECISION:
        return HumanInLoopResponse(
            interaction_id=request.id, response_type=kind, decision="proceed"
        )
    return HumanInLoopResponse(interaction_id=request.id, response_type=kind, answer="Celsius.")


def test_an_agent_pauses_for_a_human_and_resumes_from_the_file_store(
    local_server: LocalModelServer, tmp_path: Path
) -> None:
    login = DialogOption(
        id="weather_login",
        title="Weather service login",
        description="Sign in to the weather service",
        provides=["auth_token"],
    )
    tokens: list[str] = []

    def get_weather(city: str, auth_token: str) -> dict[str, Any]:
        """Get the current weather for a city from the weather service."""
        tokens.append(auth_token)
        return {"city": city, "temperature_c": 22}

    def agent_for(client: OpenRouterClient) -> AgentClient:
        agent = AgentClient(
            ToolClient(client),
            human_in_loop=True,
            dialog_options=[login],
            session_handler=FileSessionHandler(tmp_path),
            secret_key="integration-test-key",
            max_task_iterations=1,  # evaluate once: a tiny model's follow-ups would loop
        )
        agent.register_tool("get_weather", "Get the current weather for a city", get_weather)
        return agent

    with local_server.client(**SMALL_MODEL) as client:
        paused = agent_for(client).agent("What is the weather in Tokyo right now?", WeatherReport)
    # A 135M model plans the weather task with its tool (which needs the login), so the run
    # pauses; should a llama.cpp build plan differently, a completed run is fine too.
    assert paused.state in (AgentState.WAITING_FOR_HUMAN, AgentState.COMPLETED), (
        paused.state,
        paused.error,
    )
    assert paused.todo_list is not None
    assert paused.todo_list.tasks
    on_disk = FileSessionHandler(tmp_path).get_session(paused.agent_id)
    assert on_disk is not None
    assert on_disk["state"] == paused.state.value

    # A new agent (as in another process) resumes from the file and finishes.
    with local_server.client(**SMALL_MODEL) as client:
        agent = agent_for(client)
        response = paused
        for _ in range(3):
            if not response.needs_human_interaction():
                break
            request = response.human_interaction_request
            assert request is not None
            response = agent.agent(
                "continue",
                WeatherReport,
                agent_id=paused.agent_id,
                human_response=answer_for(request),
            )
        stored = agent.get_session_info(paused.agent_id)
    assert response.state == AgentState.COMPLETED, (response.state, response.error)
    assert isinstance(response.final_response, WeatherReport)
    assert response.goal_evaluation is not None
    assert stored is not None
    assert stored["state"] == "completed"
    assert stored["llm_calls"] >= 3  # plan, a task, the evaluation
    assert set(tokens) <= {"token-from-the-ui"}  # a tool that ran got the human's login
