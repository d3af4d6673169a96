"""Structured output, the flavour-free parts: the strict JSON schema sent for a model
(checked against a real validator), "is this error an unsupported feature?", the mode
chain and its memory, lenient JSON, the schema outline, and the reply schema of the
constrained tool-calling protocol. What the clients do with them (both flavours) is in
tests/_async/test_structured.py."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from mbxai import ConfigurationError, OpenRouterAPIError
from mbxai._client_base import api_error
from mbxai._constrained import ConstrainedProtocol
from mbxai._function_schema import build_tool
from mbxai._schema import extract_json, response_format_for, strict_schema
from mbxai._structured import (
    MODES,
    EndpointMemory,
    is_unsupported,
    load_lenient,
    schema_outline,
    structured_chain,
)
from mbxai._tools import ToolRegistry
from mbxai.testing import example_for_schema

# -- the strict schema ------------------------------------------------------------------------


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    city: str = Field(description="City name")


class Person(BaseModel):
    name: str
    age: int | None = None
    default: str = "a field literally called default"
    tags: list[str] = []
    color: Color = Color.RED
    kind: Literal["a", "b"] = "a"
    home: Address = Field(description="Where they live")
    past: list[Address] = []
    score: Annotated[float, Field(ge=0, le=1)] = 0.5


def _objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


def test_strict_schema_closes_and_requires_every_object() -> None:
    fmt = response_format_for(Person)
    assert fmt.strict is True
    assert fmt.name == "Person"
    for obj in _objects(fmt.schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert "default" in fmt.schema["properties"]  # a property named "default" survives
    assert "default" not in json.dumps(fmt.schema["properties"]["age"])
    jsonschema.Draft202012Validator.check_schema(fmt.schema)


def test_schema_is_cached_per_type() -> None:
    assert response_format_for(Person) is response_format_for(Person)


def test_examples_validate_both_ways() -> None:
    fmt = response_format_for(Person)
    instance = example_for_schema(fmt.schema)
    jsonschema.validate(instance, fmt.schema)
    assert isinstance(fmt.validate(json.dumps(instance)), Person)


def test_free_form_dicts_are_sent_non_strict() -> None:
    class Bag(BaseModel):
        counts: dict[str, int]

    fmt = response_format_for(Bag)
    assert fmt.strict is False
    schema, strict = strict_schema({"type": "object"})
    assert strict is True
    assert schema["additionalProperties"] is False


def test_only_model_classes_are_accepted() -> None:
    with pytest.raises(ConfigurationError, match="Pydantic model class"):
        response_format_for(int)
    with pytest.raises(ConfigurationError):
        response_format_for(Person(name="x", home=Address(street="s", city="c")))  # type: ignore[arg-type]


# -- unsupported features, the mode chain and its memory --------------------------------------


def error(status: int, message: str) -> OpenRouterAPIError:
    return api_error(status, {}, {"error": {"message": message, "code": status}})


@pytest.mark.parametrize(
    ("status", "message", "feature"),
    [
        (
            400,
            'response_format type must be one of "text" or "json_object", but got: json_schema',
            "json_schema",
        ),
        (400, "This model does not support response_format json_schema", "json_schema"),
        (400, "Structured outputs are not supported for this model", "json_schema"),
        (404, "No endpoints found that can handle the requested parameters.", "json_schema"),
        (400, "Unrecognized request argument supplied: response_format", "json_object"),
        (400, "tools param requires --jinja flag", "tool"),
        (404, 'No endpoints found that support tool use. Try disabling "tool_choice".', "tool"),
        (400, "This model doesn't support function calling", "tool"),
        (422, "Extra inputs are not permitted: tools", "tool"),
    ],
)
def test_unsupported_features_are_recognised(status: int, message: str, feature: str) -> None:
    assert is_unsupported(error(status, message), feature)


@pytest.mark.parametrize(
    ("status", "message", "feature"),
    [
        # A schema the provider finds invalid is the caller's to fix.
        (
            400,
            "Invalid schema for response_format 'City': 'additionalProperties' is required",
            "json_schema",
        ),
        (400, "the request exceeds the available context size", "json_schema"),
        (500, "response_format is not supported", "json_schema"),  # a server error: retried
        (401, "tools are not supported", "tool"),
        # Names another feature: not this one's fault.
        (404, "No endpoints found that support tool use.", "json_schema"),
        (400, "json_schema is not supported", "tool"),
        (400, "anything at all is not supported", "prompted"),  # prompted sends nothing special
    ],
)
def test_other_errors_are_not_unsupported_features(status: int, message: str, feature: str) -> None:
    assert not is_unsupported(error(status, message), feature)


def test_only_api_errors_count() -> None:
    assert not is_unsupported(ValueError("response_format is not supported"), "json_schema")


def test_settings() -> None:
    assert structured_chain("auto") == MODES == ("json_schema", "tool", "json_object", "prompted")
    assert structured_chain("prompted") == ("prompted",)
    assert structured_chain(["json_object", "prompted"]) == ("json_object", "prompted")
    for bad in ("xml", [], ["tool", "tool"], None, 3):
        with pytest.raises(ConfigurationError, match="structured_output"):
            structured_chain(bad)


def test_memory_skips_rejected_modes_per_model() -> None:
    memory = EndpointMemory()
    memory.reject("a", "json_schema")
    assert memory.usable("a", MODES) == ("tool", "json_object", "prompted")
    assert memory.usable("b", MODES) == MODES
    memory.reject("a", "prompted")
    assert memory.usable("a", ("json_schema", "prompted")) == ("prompted",)  # last resort
    assert not memory.tools_unsupported("a")
    memory.reject_tools("a")
    assert memory.tools_unsupported("a")
    assert not memory.tools_unsupported("b")


# -- lenient JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  ```json\n{"a": 1}\n```  ', {"a": 1}),
        ('Sure! Here you go: {"a": 1, "b": [1, 2,]} Enjoy.', {"a": 1, "b": [1, 2]}),
        ('{"a": "cut off', {"a": "cut off"}),
        ("{'a': True}", {"a": True}),
        ("no JSON here", ""),
    ],
)
def test_load_lenient(text: str, value: Any) -> None:
    assert load_lenient(text) == value


def test_extract_json_strips_fences() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json('  {"a": 1}  ') == '{"a": 1}'
    assert extract_json("```\n[1]\n```") == "[1]"


# -- the outline --------------------------------------------------------------------------------


class Profile(BaseModel):
    name: str = Field(description="Full name")
    age: int | None = Field(description="Age in years")
    kind: Literal["a", "b"]
    home: Address = Field(description="Where they live")
    past: list[Address]
    tags: dict[str, str]


def test_outline_shows_keys_kinds_and_descriptions() -> None:
    outline = schema_outline(response_format_for(Profile).schema)
    assert outline.startswith("{\n")
    assert '"name": "<string: Full name>"' in outline
    assert '"age": <integer: Age in years> or null' in outline
    assert '"kind": <one of "a", "b">' in outline
    assert '"city": "<string: City name>"' in outline  # through $ref
    assert '"past": [{' in outline
    assert '"tags": <object>' in outline
    assert "$ref" not in outline
    assert '"type"' not in outline  # not a JSON schema: small models copy those back


def test_outline_of_a_recursive_model_ends() -> None:
    class Node(BaseModel):
        label: str
        children: list[Node]

    outline = schema_outline(Node.model_json_schema())
    assert outline.count('"label"') >= 1
    assert len(outline) < 2000


# -- the constrained protocol's reply schema --------------------------------------------------


def greet(person: Address, loud: bool = False) -> str:
    """Greet someone at their address."""
    return f"hi {person.street}"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def registry() -> ToolRegistry:
    tools = ToolRegistry()
    tools.add(build_tool("greet", None, greet))
    tools.add(build_tool("add", None, add))
    return tools


@pytest.mark.parametrize("final", [None, Profile])
@pytest.mark.parametrize(
    "choice", ["auto", "required", "none", {"type": "function", "function": {"name": "add"}}]
)
def test_the_reply_schema_is_valid_and_accepts_what_it_describes(final: Any, choice: Any) -> None:
    fmt = response_format_for(final) if final else None
    protocol = ConstrainedProtocol(registry(), fmt)
    schema = protocol.reply_format(choice, after_results=False).schema
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    call = {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}
    nested = {
        "tool_calls": [{"name": "greet", "arguments": {"person": {"street": "x", "city": "y"}}}]
    }
    answer = {"final_answer": example_for_schema(fmt.schema) if fmt else "done"}
    assert validator.is_valid(call) == (choice != "none")
    assert validator.is_valid(nested) == (choice in ("auto", "required"))
    assert validator.is_valid(answer) == (choice in ("auto", "none"))
    assert not validator.is_valid({"tool_calls": [{"name": "nope", "arguments": {}}]})
    assert not validator.is_valid({"tool_calls": [{"name": "add", "arguments": {"a": "x"}}]})
    assert not validator.is_valid({"tool_calls": []})
    # Both models' $defs live at the root, under names that cannot clash.
    assert all("__" in name for name in schema.get("$defs", {}))
    assert json.dumps(schema).count('"$defs"') <= 1


def test_the_likelier_shape_comes_first() -> None:
    protocol = ConstrainedProtocol(registry())
    before = protocol.reply_format("auto", after_results=False).schema["anyOf"]
    after = protocol.reply_format("auto", after_results=True).schema["anyOf"]
    assert list(before[0]["properties"]) == ["tool_calls"]
    assert list(after[0]["properties"]) == ["final_answer"]
