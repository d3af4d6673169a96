"""Strict JSON schema generation for structured output, checked against a real validator."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from mbxai import ConfigurationError
from mbxai._schema import extract_json, response_format_for, strict_schema
from mbxai.testing import example_for_schema


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


def test_extract_json_strips_fences() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json('  {"a": 1}  ') == '{"a": 1}'
    assert extract_json("```\n[1]\n```") == "[1]"
