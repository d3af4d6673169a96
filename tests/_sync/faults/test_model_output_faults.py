# This file is generated from tests/_async/faults/test_model_output_faults.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Model-output faults: replies that are wrong in every way a model can get them wrong.

The model is the loopback fault server sending exactly the bad output under test. Each
row ends with the mistake fed back to the model (and recovery) or a typed error.
Written once (async), generated for sync.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from mbxai import OpenRouterClient, StructuredOutputError, ToolClient
from mbxai._concurrency import sleep
from tests.faults_matrix import row
from tests.fix_fault_server import FaultServer, reply, tool_reply

KEY = "sk-or-v1-faults-0123456789abcdef"
ASK = [{"role": "user", "content": "Tell me about Paris"}]
VALID = json.dumps({"name": "Paris", "population": 2100000, "country": "France"})


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


def make_client(fault_server: FaultServer, **kwargs: Any) -> OpenRouterClient:
    return OpenRouterClient(
        token=KEY,
        base_url=fault_server.url,
        max_retries=0,
        timeout=kwargs.pop("timeout", 2.0),
        **kwargs,
    )


def sent_texts(fault_server: FaultServer) -> str:
    return "\n".join(json.dumps(r.json.get("messages")) for r in fault_server.requests)


# -- structured output --------------------------------------------------------------------


@row("Model", "parse: invalid JSON, then valid", "the error is fed back, recovers")
def test_parse_invalid_json_then_valid(fault_server: FaultServer) -> None:
    fault_server.add(reply('{"name": "Paris", "population": 21'), reply(VALID))
    with make_client(fault_server) as client:
        response = client.parse(ASK, CityInfo)
    assert response.choices[0].message.parsed == CityInfo.model_validate_json(VALID)
    assert "did not match the required JSON schema" in json.dumps(fault_server.requests[-1].json)


@row("Model", "parse: JSON failing the schema, then valid", "the errors are fed back, recovers")
def test_parse_schema_violation_then_valid(fault_server: FaultServer) -> None:
    wrong = json.dumps({"name": "Paris", "population": "many"})
    fault_server.add(reply(wrong), reply(VALID))
    with make_client(fault_server) as client:
        response = client.parse(ASK, CityInfo)
    assert response.choices[0].message.parsed is not None
    assert response.choices[0].message.parsed.population == 2100000
    feedback = json.dumps(fault_server.requests[-1].json)
    assert "population" in feedback
    assert "country" in feedback  # the missing field is named too


@row("Model", "parse: invalid output on every attempt", "StructuredOutputError with the raw output")
def test_parse_never_valid(fault_server: FaultServer) -> None:
    fault_server.add(*[reply("not json at all")] * 10)
    with make_client(fault_server, parse_retries=1) as client:
        with pytest.raises(StructuredOutputError) as info:
            client.parse(ASK, CityInfo)
    assert info.value.raw_output == "not json at all"
    assert info.value.attempts >= 2
    assert info.value.response_format is CityInfo


# -- tools ------------------------------------------------------------------------------------


def weather_client(fault_server: FaultServer, calls: list[dict[str, Any]]) -> ToolClient:
    tools = ToolClient(make_client(fault_server))

    def get_weather(location: str, days: int = 1) -> dict[str, Any]:
        """Get the weather for a location."""
        calls.append({"location": location, "days": days})
        return {"location": location, "temperature": 22}

    tools.register_tool("get_weather", "Weather for a location", get_weather)
    return tools


def tool_results(fault_server: FaultServer) -> list[str]:
    """The tool results the model was sent in the last request."""
    messages = fault_server.requests[-1].json["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


@row("Model", "call to an unknown tool", "told to the model (with the tool list), loop goes on")
def test_unknown_tool(fault_server: FaultServer) -> None:
    calls: list[dict[str, Any]] = []
    fault_server.add(
        tool_reply(("launch_rocket", '{"target": "moon"}')), reply("Sorry, no rockets.")
    )
    with weather_client(fault_server, calls) as tools:
        response = tools.create(ASK)
    assert response.content == "Sorry, no rockets."
    assert calls == []
    (result,) = tool_results(fault_server)
    assert "unknown tool 'launch_rocket'" in result
    assert "get_weather" in result


@row("Model", "tool arguments that are not JSON", "told to the model, tool not run, loop goes on")
def test_tool_arguments_not_json(fault_server: FaultServer) -> None:
    calls: list[dict[str, Any]] = []
    fault_server.add(tool_reply(("get_weather", '{"location": "Tok')), reply("retrying later"))
    with weather_client(fault_server, calls) as tools:
        response = tools.create(ASK)
    assert response.content == "retrying later"
    assert calls == []
    (result,) = tool_results(fault_server)
    assert "not valid JSON" in result


@row("Model", "tool arguments failing the schema", "Pydantic's errors to the model, then fixed")
def test_tool_arguments_invalid(fault_server: FaultServer) -> None:
    calls: list[dict[str, Any]] = []
    fault_server.add(
        tool_reply(("get_weather", '{"days": "many"}')),
        tool_reply(("get_weather", '{"location": "Tokyo", "days": 2}')),
        reply("22 degrees in Tokyo"),
    )
    with weather_client(fault_server, calls) as tools:
        response = tools.create(ASK)
    assert response.content == "22 degrees in Tokyo"
    assert calls == [{"location": "Tokyo", "days": 2}]  # only the valid call ran
    first = [m for m in fault_server.requests[1].json["messages"] if m["role"] == "tool"]
    assert "location" in first[0]["content"]
    assert "days" in first[0]["content"]


@row("Model", "a tool that raises", "type and message to the model, loop goes on")
def test_tool_raises(fault_server: FaultServer) -> None:
    def flaky(city: str) -> str:
        """Look a city up."""
        raise ConnectionResetError(f"backend for {city} is down")

    fault_server.add(tool_reply(("flaky", '{"city": "Oslo"}')), reply("The backend is down."))
    with ToolClient(make_client(fault_server)) as tools:
        tools.register_tool("flaky", None, flaky)
        response = tools.create(ASK)
    assert response.content == "The backend is down."
    (result,) = tool_results(fault_server)
    assert "ConnectionResetError" in result
    assert "backend for Oslo is down" in result


@row("Model", "several bad calls in one reply", "each answered on its own; the good one runs")
def test_mixed_calls_in_one_reply(fault_server: FaultServer) -> None:
    calls: list[dict[str, Any]] = []
    fault_server.add(
        tool_reply(
            ("get_weather", '{"location": "Rome"}'),
            ("nope", "{}"),
            ("get_weather", "[1, 2]"),
        ),
        reply("Rome is warm."),
    )
    with weather_client(fault_server, calls) as tools:
        response = tools.create(ASK)
    assert response.content == "Rome is warm."
    assert calls == [{"location": "Rome", "days": 1}]
    results = tool_results(fault_server)
    assert len(results) == 3
    assert "temperature" in results[0]
    assert "unknown tool" in results[1]
    assert results[2].startswith("Error")


@row(
    "Model",
    "a tool that never returns",
    "the call ends with a timeout result for the model (proposed tool_timeout=)",
)
def test_tool_never_returns(fault_server: FaultServer) -> None:
    def stuck(query: str) -> str:
        """A tool whose backend never answers (here: for 5 s, to keep the test bounded)."""
        sleep(5)
        return "too late"

    fault_server.add(tool_reply(("stuck", '{"query": "x"}')), reply("gave up on the tool"))
    with ToolClient(make_client(fault_server), tool_timeout=0.2) as tools:
        tools.register_tool("stuck", None, stuck)
        response = tools.create(ASK)
    assert response.content == "gave up on the tool"
    (result,) = tool_results(fault_server)
    assert "time" in result.lower()  # "timed out" / TimeoutError: the model is told why


# -- deeply nested JSON -----------------------------------------------------------------------

#: About 1,000 levels in 2 KB: enough to overflow any parser that recurses per level.
DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.mark.parametrize("mode", ["json_schema", "tool", "json_object", "prompted"])
@row("Model", "parse: JSON nested 1,000 levels deep", "fed back to the model as invalid, recovers")
def test_parse_deeply_nested_json(fault_server: FaultServer, mode: str) -> None:
    bad = tool_reply(("CityInfo", DEEP_OBJECT)) if mode == "tool" else reply(DEEP_OBJECT)
    good = tool_reply(("CityInfo", VALID)) if mode == "tool" else reply(VALID)
    fault_server.add(bad, good)
    with make_client(fault_server) as client:
        response = client.parse(ASK, CityInfo, mode=mode)  # type: ignore[arg-type]
    assert response.choices[0].message.parsed == CityInfo.model_validate_json(VALID)
    assert "did not match the required JSON schema" in json.dumps(fault_server.requests[-1].json)


@pytest.mark.parametrize("given_schema", [False, True])
@row("Model", "tool arguments nested 1,000 levels deep", "told to the model, tool not run")
def test_tool_arguments_deeply_nested(fault_server: FaultServer, given_schema: bool) -> None:
    runs: list[Any] = []

    def store(data: Any) -> str:
        """Store data."""
        runs.append(data)
        return "stored"

    schema = {"type": "object", "properties": {"data": {}}} if given_schema else None
    fault_server.add(tool_reply(("store", '{"data": ' + DEEP + "}")), reply("could not store it"))
    with ToolClient(make_client(fault_server)) as tools:
        tools.register_tool("store", "Store data", store, schema)
        response = tools.create(ASK)
    assert response.content == "could not store it"
    assert runs == []
    (result,) = tool_results(fault_server)
    assert result.startswith("Error")
    assert "JSON" in result or "deep" in result


@row(
    "Model",
    "constrained tool calling: a reply nested 1,000 levels deep",
    "kept as the (invalid) answer, typed errors only",
)
def test_constrained_reply_deeply_nested(fault_server: FaultServer) -> None:
    fault_server.add(reply(DEEP_OBJECT), reply(json.dumps({"final_answer": json.loads(VALID)})))
    with ToolClient(make_client(fault_server), tool_calling="constrained") as tools:
        tools.register_tool("noop", "Nothing", lambda: "x")
        response = tools.parse(ASK, CityInfo)
    assert response.choices[0].message.parsed == CityInfo.model_validate_json(VALID)


@row(
    "Model",
    "a thousand tool calls in one reply",
    "the first 64 run, the rest are answered 'not run'; the loop goes on",
)
def test_a_thousand_tool_calls_in_one_reply(fault_server: FaultServer) -> None:
    calls: list[dict[str, Any]] = []
    many = [("get_weather", json.dumps({"location": f"city {i}"})) for i in range(1000)]
    fault_server.add(tool_reply(*many), reply("that was a lot"))
    with weather_client(fault_server, calls) as tools:
        response = tools.create(ASK)
    assert response.content == "that was a lot"
    assert len(calls) == 64
    results = tool_results(fault_server)
    assert len(results) == 1000  # every call is answered, as the API requires
    assert all("temperature" in r for r in results[:64])
    assert all(r.startswith("Error: not run") for r in results[64:])
