# This file is generated from tests/_async/test_constrained_tools.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Tool calling for models without native tool calls (``tool_calling="constrained"`` and
the ``"auto"`` switch), written once (async) and generated for sync.

The fake endpoint plays a model that answers in the constrained protocol's JSON; the
tests check what it was sent (no ``tools``, a reply schema, results as user messages),
that the tools really ran, and that the caller gets the same result and transcript shape
as with native tool calls.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, Field

from mbxai import (
    BadRequestError,
    ConfigurationError,
    OpenRouterClient,
    StructuredOutputError,
    ToolClient,
    ToolLoopLimitError,
)
from mbxai.testing import Failure, FakeModel, FakeRequest, Reply, call

ASK = [{"role": "user", "content": "What is 1 plus 2?"}]


class Sum(BaseModel):
    total: int = Field(description="The sum")
    explanation: str


class Location(BaseModel):
    city: str
    country: str


def calls(*items: tuple[str, dict[str, Any]]) -> str:
    return json.dumps({"tool_calls": [{"name": n, "arguments": a} for n, a in items]})


def answer(value: Any) -> str:
    return json.dumps({"final_answer": value})


def make(fake: FakeModel, tool_calling: Any = "constrained", **kwargs: Any) -> ToolClient:
    inner = OpenRouterClient(token="test-key", transport=fake, max_retries=0, **kwargs)
    client = ToolClient(inner, tool_calling=tool_calling)
    ran: list[tuple[str, Any]] = []
    client.ran = ran  # type: ignore[attr-defined]

    def add(a: int, b: int) -> int:
        """Add two integers."""
        ran.append(("add", (a, b)))
        return a + b

    def weather(where: Location, unit: str = "celsius") -> dict[str, Any]:
        """Current weather at a place.

        Args:
            where: The place
            unit: celsius or fahrenheit
        """
        ran.append(("weather", where.city))
        return {"city": where.city, "temperature": 22, "unit": unit}

    client.register_tool("add", None, add)
    client.register_tool("weather", None, weather)
    return client


def reply_schema(request: FakeRequest) -> dict[str, Any]:
    fmt = request.json["response_format"]
    assert fmt["type"] == "json_schema"
    schema: dict[str, Any] = fmt["json_schema"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def shapes(request: FakeRequest) -> list[str]:
    """The reply shapes a request allows, in order."""
    schema = reply_schema(request)
    branches = schema.get("anyOf", [schema])
    return [next(iter(b["properties"])) for b in branches]


def test_a_tool_runs_and_the_answer_comes_back_as_text() -> None:
    fake = FakeModel([calls(("add", {"a": 1, "b": 2})), answer("1 plus 2 is 3.")])
    with make(fake) as client:
        response = client.create(ASK)
    assert client.ran == [("add", (1, 2))]  # type: ignore[attr-defined]
    assert response.content == "1 plus 2 is 3."
    assert response.choices[0].finish_reason == "stop"
    assert response.tool_rounds == 1
    assert response.llm_calls == 2

    first, second = fake.requests
    for request in fake.requests:
        assert "tools" not in request.json
        assert "tool_choice" not in request.json
        assert all(m["role"] != "tool" for m in request.messages)
    system = first.messages[0]
    assert system["role"] == "system"
    assert "- add: Add two integers." in system["content"]
    assert '"a": <integer>' in system["content"]
    assert '{"tool_calls": [{"name": "<tool name>"' in system["content"]
    assert '{"final_answer": "<your answer>"}' in system["content"]
    assert first.messages[1:] == ASK
    assert shapes(first) == ["tool_calls", "final_answer"]
    # The call goes back as the model's own JSON, the result as a user message.
    assert second.messages[-2] == {"role": "assistant", "content": calls(("add", {"a": 1, "b": 2}))}
    assert second.messages[-1] == {
        "role": "user",
        "content": 'add({"a":1,"b":2}) returned: 3\nNow give your final answer.',
    }
    assert shapes(second) == ["final_answer", "tool_calls"]

    # The caller's transcript has the native shape, as if the model had native calls.
    transcript = response.transcript
    assert transcript[0] == ASK[0]
    assert transcript[1]["role"] == "assistant"
    [native] = transcript[1]["tool_calls"]
    assert native["function"] == {"name": "add", "arguments": '{"a":1,"b":2}'}
    assert transcript[2] == {"role": "tool", "tool_call_id": native["id"], "content": "3"}
    assert transcript[3] == {"role": "assistant", "content": "1 plus 2 is 3."}


def test_the_reply_schema_pins_names_and_arguments() -> None:
    fake = FakeModel([answer("ok")])
    with make(fake) as client:
        client.create(ASK)
    validator = jsonschema.Draft202012Validator(reply_schema(fake.requests[0]))
    assert validator.is_valid({"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]})
    where = {"where": {"city": "Oslo", "country": "Norway"}}
    assert validator.is_valid({"tool_calls": [{"name": "weather", "arguments": where}]})
    assert not validator.is_valid({"tool_calls": [{"name": "add", "arguments": where}]})
    assert not validator.is_valid({"tool_calls": [{"name": "delete_all", "arguments": {}}]})
    assert not validator.is_valid({"final_answer": 3})


def test_tool_choice_narrows_the_reply_shapes() -> None:
    named = {"type": "function", "function": {"name": "weather"}}
    where = {"where": {"city": "Oslo", "country": "Norway"}}
    fake = FakeModel(
        [
            calls(("add", {"a": 1, "b": 2})),
            answer("3"),
            answer("nothing to call"),
            calls(("weather", where)),
            answer("22 degrees"),
        ]
    )
    with make(fake) as client:
        client.create(ASK, tool_choice="required")
        client.create(ASK, tool_choice="none")
        client.create(ASK, tool_choice=named)
    required, after_required, none, forced, _ = fake.requests
    assert shapes(required) == ["tool_calls"]
    assert shapes(after_required) == ["final_answer", "tool_calls"]  # forced: first round only
    assert shapes(none) == ["final_answer"]
    assert "You can call these tools" not in none.messages[0]["content"]
    assert shapes(forced) == ["tool_calls"]
    names = json.dumps(reply_schema(forced))
    assert '"enum": ["weather"]' in names
    assert '"enum": ["add"]' not in names
    assert client.ran == [("add", (1, 2)), ("weather", "Oslo")]  # type: ignore[attr-defined]


def test_mistakes_go_back_to_the_model_as_with_native_calls() -> None:
    fake = FakeModel(
        [
            calls(("add", {"a": "one", "b": 2}), ("subtract", {"a": 1})),
            calls(("add", {"a": 1, "b": 2})),
            answer("3"),
        ]
    )
    with make(fake) as client:
        response = client.create(ASK)
    assert response.content == "3"
    assert client.ran == [("add", (1, 2))]  # type: ignore[attr-defined]
    feedback = fake.requests[1].messages[-1]["content"]
    assert "Error: tool 'add': invalid arguments" in feedback
    assert "unknown tool 'subtract'" in feedback
    assert response.tool_rounds == 2


def test_a_reply_that_fits_neither_shape_is_the_answer() -> None:
    # A model that ignores response_format altogether: its text is what it answered.
    fake = FakeModel(["I do not know how to use tools."])
    with make(fake) as client:
        response = client.create(ASK)
    assert response.content == "I do not know how to use tools."
    assert client.ran == []  # type: ignore[attr-defined]


def test_a_bare_call_and_broken_json_are_still_understood() -> None:
    fake = FakeModel(['Sure: {"name": "add", "arguments": {"a": 1, "b": 2}', answer("3")])
    with make(fake) as client:
        response = client.create(ASK)
    assert client.ran == [("add", (1, 2))]  # type: ignore[attr-defined]
    assert response.content == "3"


def test_parse_puts_the_answer_schema_in_the_reply_shape() -> None:
    good = {"total": 3, "explanation": "1 + 2"}
    fake = FakeModel(
        [
            calls(("add", {"a": 1, "b": 2})),
            answer({"total": "three"}),
            answer(good),
        ]
    )
    with make(fake) as client:
        response = client.parse(ASK, Sum)
    assert response.parsed == Sum(**good)
    assert json.loads(response.content or "") == good
    assert response.llm_calls == 3
    schema = reply_schema(fake.requests[0])
    final = next(b for b in schema["anyOf"] if "final_answer" in b["properties"])
    assert final["properties"]["final_answer"]["required"] == ["total", "explanation"]
    assert "<integer: The sum>" in fake.requests[0].messages[0]["content"]
    # The invalid answer was re-asked with its errors.
    reask = fake.requests[2].messages
    assert "total" in reask[-1]["content"]
    assert "did not match" in reask[-1]["content"]


def test_parse_gives_up_with_the_raw_answer() -> None:
    fake = FakeModel([answer({"total": "x"}), answer({"total": "y"})])
    with make(fake, parse_retries=1) as client:
        with pytest.raises(StructuredOutputError) as info:
            client.parse(ASK, Sum)
    assert json.loads(info.value.raw_output or "") == {"total": "y"}


def test_streaming_yields_each_round_decoded() -> None:
    fake = FakeModel([calls(("add", {"a": 1, "b": 2})), answer("It is 3.")])
    with make(fake) as client:
        stream = client.create(ASK, stream=True)
        text, names = [], []
        with stream:
            for chunk in stream:
                delta = chunk.choices[0].delta
                if delta.content:
                    text.append(delta.content)
                names += [c.function.name for c in delta.tool_calls or () if c.function]
    assert "".join(text) == "It is 3."
    assert names == ["add"]
    assert stream.finish_reason == "stop"
    assert stream.tool_rounds == 1
    assert stream.usage is not None
    assert stream.usage.total_tokens > 0
    assert stream.transcript[-1] == {"role": "assistant", "content": "It is 3."}
    assert all(not r.json.get("stream") for r in fake.requests)


def test_the_round_cap_holds() -> None:
    fake = FakeModel([calls(("add", {"a": 1, "b": 1}))] * 3)
    with make(fake) as client:
        with pytest.raises(ToolLoopLimitError):
            client.create(ASK, max_tool_rounds=2)
    assert len(fake.requests) == 3


def test_the_cooperative_fake_model_plays_the_protocol() -> None:
    fake = FakeModel()
    with make(fake) as client:
        response = client.create(ASK)
    assert client.ran == [("add", (1, 1))]  # type: ignore[attr-defined]
    assert response.content
    assert response.tool_rounds == 1


# -- auto ------------------------------------------------------------------------------------


def test_auto_switches_when_the_endpoint_rejects_tools_and_remembers() -> None:
    fake = FakeModel(
        [
            Failure(400, "tools param requires --jinja flag"),
            calls(("add", {"a": 1, "b": 2})),
            answer("3"),
            answer("4"),
        ]
    )
    with make(fake, tool_calling="auto") as client:
        first = client.create(ASK)
        second = client.create(ASK)
    assert first.content == "3"
    assert second.content == "4"
    assert "tools" in fake.requests[0].json
    assert ["tools" in r.json for r in fake.requests[1:]] == [False, False, False]
    assert first.llm_calls == 2  # the rejected request got no reply to count
    assert client.ran == [("add", (1, 2))]  # type: ignore[attr-defined]


def test_auto_switches_when_a_forced_tool_choice_is_ignored() -> None:
    fake = FakeModel(["Tokyo is sunny, I believe.", calls(("add", {"a": 1, "b": 2})), answer("3")])
    with make(fake, tool_calling="auto") as client:
        response = client.create(ASK, tool_choice="required")
        # Remembered for this model on the wrapped client, so new tool clients know too.
        other = ToolClient(client.openrouter_client)
        other.register_tool("noop", None, lambda: "ok")
        fake.add(answer("fine"))
        other.create(ASK)
    assert response.content == "3"
    assert response.llm_calls == 3  # the ignored request is counted (it cost tokens)
    assert client.ran == [("add", (1, 2))]  # type: ignore[attr-defined]
    assert [("tools" in r.json) for r in fake.requests] == [True, False, False, False]


def test_auto_keeps_a_plain_text_answer_to_an_unforced_round() -> None:
    fake = FakeModel(["Three."])
    with make(fake, tool_calling="auto") as client:
        response = client.create(ASK)
        fake.add(Reply(tool_calls=[call("add", a=1, b=2)]), "3")
        client.create(ASK)
    assert response.content == "Three."
    assert all("tools" in r.json for r in fake.requests)


def test_native_never_switches() -> None:
    fake = FakeModel([Failure(400, "tools are not supported by this model")])
    with make(fake, tool_calling="native") as client:
        with pytest.raises(BadRequestError):
            client.create(ASK)
    assert len(fake.requests) == 1


def test_auto_streaming_switches_when_tools_are_rejected() -> None:
    fake = FakeModel([Failure(404, "No endpoints found that support tool use."), answer("3")])
    with make(fake, tool_calling="auto") as client:
        stream = client.create(ASK, stream=True)
        text = [c.choices[0].delta.content for c in stream if c.choices[0].delta.content]
    assert text == ["3"]
    assert fake.requests[0].json.get("stream") is True
    assert "tools" not in fake.requests[1].json


def test_a_bad_setting_is_named() -> None:
    inner = OpenRouterClient(token="k", transport=FakeModel())
    with pytest.raises(ConfigurationError, match="tool_calling"):
        ToolClient(inner, tool_calling="sometimes")  # type: ignore[arg-type]
    assert ToolClient(inner).tool_calling == "auto"
    inner.close()
