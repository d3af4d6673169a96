"""Tool schemas generated from signatures and docstrings, checked against a real validator."""

from __future__ import annotations

import functools
import inspect
import json
import keyword
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

import jsonschema
import pydantic_core
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from mbxai import AsyncOpenRouterClient, AsyncToolClient, ConfigurationError, Tool
from mbxai._function_schema import build_tool
from mbxai._tools import ToolRegistry, format_result
from mbxai.testing import example_for_schema

Draft = jsonschema.Draft202012Validator


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Size(Enum):
    SMALL = 1
    LARGE = 2


class Address(BaseModel):
    street: str
    city: str = Field(description="City name")


class Person(BaseModel):
    name: str
    home: Address
    tags: list[str] = []


class Opaque:
    """Not something a JSON schema can describe."""


def check(tool: Tool) -> dict[str, Any]:
    """The tool's parameters schema, after asserting it is a valid Draft 2020-12 schema."""
    Draft.check_schema(tool.parameters)
    return tool.parameters


def props(tool: Tool) -> dict[str, Any]:
    return dict(check(tool)["properties"])


# -- docstring styles -----------------------------------------------------------------------


def google(location: str, unit: str = "celsius") -> str:
    """Get the weather.

    Longer explanation for the model.

    Args:
        location: The city or location name
        unit: Temperature unit
            (celsius or fahrenheit)

    Returns:
        A sentence.
    """
    return location


def numpy_style(location: str, unit: str = "celsius") -> str:
    """Get the weather.

    Parameters
    ----------
    location : str
        The city or location name
    unit : str, optional
        Temperature unit
    """
    return location


def sphinx(location: str, unit: str = "celsius") -> str:
    """Get the weather.

    :param location: The city or location name
    :param unit: Temperature unit
    :returns: A sentence.
    """
    return location


@pytest.mark.parametrize("function", [google, numpy_style, sphinx])
def test_docstring_styles_describe_the_tool_and_its_parameters(function: Any) -> None:
    tool = build_tool("weather", None, function)
    assert tool.description.startswith("Get the weather.")
    properties = props(tool)
    assert properties["location"] == {"type": "string", "description": "The city or location name"}
    assert properties["unit"]["description"].startswith("Temperature unit")
    assert properties["unit"]["default"] == "celsius"
    assert tool.parameters["required"] == ["location"]
    assert "Returns" not in tool.description


def test_google_long_description_is_kept_and_explicit_description_wins() -> None:
    assert build_tool("w", None, google).description == (
        "Get the weather.\n\nLonger explanation for the model."
    )
    assert build_tool("w", "Explicit.", google).description == "Explicit."
    assert build_tool("w", "", lambda: None).definition == {
        "type": "function",
        "function": {
            "name": "w",
            "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        },
    }


# -- types ----------------------------------------------------------------------------------


def rich(
    person: Person,
    color: Color,
    size: Size = Size.SMALL,
    mode: Literal["fast", "slow"] = "fast",
    limit: int | None = None,
    either: int | str = 0,
    scores: list[float] | None = None,
    counts: dict[str, int] | None = None,
    ratio: Annotated[float, Field(ge=0, le=1, description="From Field")] = 0.5,
) -> dict[str, Any]:
    """Exercise many types.

    Args:
        person: Who
        color: Which colour
        ratio: From the docstring (Field wins)
    """
    return {"person": person, "color": color, "size": size, "limit": limit}


def test_rich_signature_schema() -> None:
    tool = build_tool("rich", "Rich", rich)
    schema = check(tool)
    p = schema["properties"]
    assert schema["required"] == ["person", "color"]
    assert schema["additionalProperties"] is False
    assert p["person"] == {"$ref": "#/$defs/Person", "description": "Who"}
    assert schema["$defs"]["Address"]["properties"]["city"]["description"] == "City name"
    assert schema["$defs"]["Color"]["enum"] == ["red", "blue"]
    assert schema["$defs"]["Size"]["enum"] == [1, 2]
    assert p["size"]["default"] == 1
    assert p["mode"] == {"enum": ["fast", "slow"], "type": "string", "default": "fast"}
    assert p["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert p["either"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert p["scores"]["anyOf"][0] == {"type": "array", "items": {"type": "number"}}
    assert p["counts"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert p["ratio"] == {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "From Field",
    }
    assert not any("title" in sub for sub in p.values())


def test_arguments_validate_into_python_values_and_defaults_stay_the_functions() -> None:
    tool = build_tool("rich", "Rich", rich)
    kwargs = tool.validate_arguments(
        '{"person": {"name": "Ada", "home": {"street": "Main", "city": "X"}}, "color": "blue",'
        ' "size": 2, "either": "word"}'
    )
    assert kwargs == {
        "person": Person(name="Ada", home=Address(street="Main", city="X")),
        "color": Color.BLUE,
        "size": Size.LARGE,
        "either": "word",
    }
    assert rich(**kwargs)["limit"] is None
    with pytest.raises(ValueError, match=r"ratio: Input should be less than or equal to 1"):
        tool.validate_arguments(
            '{"person": {"name": "A", "home": {"street": "s", "city": "c"}},'
            ' "color": "red", "ratio": 2}'
        )
    with pytest.raises(ValueError, match=r"person.home: Field required"):
        tool.validate_arguments('{"person": {"name": "A"}, "color": "red"}')
    with pytest.raises(ValueError, match="not valid JSON"):
        tool.validate_arguments("{'single': 'quotes'}")


def test_parameter_names_that_clash_with_basemodel_attributes() -> None:
    def clash(json: str, schema: int, model_config: bool = False, copy: str = "c") -> str:
        return f"{json}{schema}{model_config}{copy}"

    tool = build_tool("clash", "Clash", clash)
    assert list(props(tool)) == ["json", "schema", "model_config", "copy"]
    kwargs = tool.validate_arguments('{"json": "a", "schema": 1, "copy": "z"}')
    assert kwargs == {"json": "a", "schema": 1, "copy": "z"}
    assert clash(**kwargs) == "a1Falsez"


def test_untyped_parameters_methods_partials_and_callable_objects() -> None:
    def untyped(a, b=2):
        return a

    assert props(build_tool("untyped", "U", untyped)) == {"a": {}, "b": {"default": 2}}

    class Greeter:
        def greet(self, name: str, punctuation: str = "!") -> str:
            """Greet someone.

            Args:
                name: Who to greet
            """
            return f"Hello {name}{punctuation}"

        async def __call__(self, count: int) -> int:
            return count

    method = build_tool("greet", None, Greeter().greet)
    assert method.description == "Greet someone."
    assert props(method)["name"] == {"type": "string", "description": "Who to greet"}

    partial = build_tool("shout", "Shout", functools.partial(Greeter().greet, punctuation="!!"))
    assert list(props(partial)) == ["name", "punctuation"]
    assert partial.parameters["required"] == ["name"]

    instance = build_tool("count", "Count", Greeter())
    assert props(instance) == {"count": {"type": "integer"}}


def test_return_annotation_of_a_local_class_does_not_matter() -> None:
    class Local(BaseModel):
        x: int

    def make_local(x: int) -> Local:
        return Local(x=x)

    assert props(build_tool("local", "L", make_local)) == {"x": {"type": "integer"}}


# -- strict mode ----------------------------------------------------------------------------


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


def test_strict_schema_requires_everything_and_keeps_nullability() -> None:
    def strict_ok(person: Person, unit: str = "c", limit: int | None = None) -> None:
        """Strict.

        Args:
            unit: The unit
        """

    tool = build_tool("strict_ok", None, strict_ok, strict=True)
    schema = check(tool)
    assert tool.strict is True
    assert tool.definition["function"]["strict"] is True
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert "default" not in json.dumps(schema)
    assert schema["properties"]["unit"] == {"type": "string", "description": "The unit"}
    assert {"type": "null"} in schema["properties"]["limit"]["anyOf"]
    # the model's strict arguments still validate, and a JSON null for an optional is fine
    instance = example_for_schema(schema)
    Draft(schema).validate(instance)
    assert tool.validate_arguments(json.dumps(instance))["unit"] == "example unit"


class WithDict(BaseModel):
    label: str
    extra: dict[str, str]


def test_strict_mode_names_what_it_cannot_express() -> None:
    def free_form(name: str, counts: dict[str, int], anything=None) -> None:
        pass

    def nested(ok: Address, bad: WithDict, fine: int = 1) -> None:
        pass

    with pytest.raises(ConfigurationError, match=r"strict mode \(parameters: counts, anything\)"):
        build_tool("free_form", "F", free_form, strict=True)
    with pytest.raises(ConfigurationError, match=r"strict mode \(parameters: bad\): strict mode"):
        build_tool("nested", "N", nested, strict=True)
    assert build_tool("free_form", "F", free_form).strict is False


# -- registration errors ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "dots.not.ok", "x" * 65, "ümlaut", None])
def test_invalid_tool_names_are_refused(name: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"tool name .* is invalid"):
        build_tool(name, "d", google)


def test_bad_registrations_name_the_problem() -> None:
    def star_args(*values: int) -> int:
        return sum(values)

    def positional_only(a: int, /) -> int:
        return a

    def opaque(thing: Opaque) -> None:
        pass

    def uses_token(query: str, token: str) -> str:
        return query

    cases: list[tuple[dict[str, Any], str]] = [
        ({"function": "not callable"}, "function must be callable"),
        ({"function": star_args}, r"\*values cannot be described"),
        ({"function": positional_only}, "positional-only parameter 'a'"),
        ({"function": opaque}, "cannot build a JSON schema from the signature"),
        ({"function": uses_token, "injected": ["nope"]}, "injected parameter 'nope' is not"),
        ({"function": uses_token, "injected": ["not valid"]}, "must be identifiers"),
        (
            {
                "function": uses_token,
                "schema": {"type": "object", "properties": {"token": {}}},
                "injected": "token",
            },
            "'token' must not be in the schema",
        ),
        ({"function": uses_token, "schema": {"type": "objekt"}}, "not a valid JSON schema"),
        (
            {
                "function": uses_token,
                "schema": {"type": "function", "function": {"name": "other", "parameters": {}}},
            },
            "differs from the registered name",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            build_tool("tool", kwargs.pop("description", "d"), **kwargs)
    # *args is fine once a schema says what the model sends
    assert build_tool("sum", "Sum", star_args, {"type": "object", "properties": {}}).name == "sum"


def test_duplicate_names_and_client_registration() -> None:
    registry = ToolRegistry()
    registry.add(build_tool("weather", "W", google))
    with pytest.raises(ConfigurationError, match="'weather' is already registered"):
        registry.add(build_tool("weather", "W", sphinx))
    client = AsyncToolClient(AsyncOpenRouterClient(token="t"))
    client.register_tool("weather", "W", google)
    with pytest.raises(ConfigurationError, match="already registered"):
        client.register_tool("weather", "W", google)
    assert client.unregister_tool("weather").name == "weather"
    with pytest.raises(ConfigurationError, match="no tool named 'weather'"):
        client.unregister_tool("weather")


def test_definitions_are_built_once_and_reused() -> None:
    registry = ToolRegistry()
    registry.add(build_tool("weather", "W", google))
    first = registry.definitions()
    assert registry.definitions() is first
    assert first[0] is registry.get("weather").definition
    registry.add(build_tool("other", "O", sphinx))
    assert [d["function"]["name"] for d in registry.definitions()] == ["weather", "other"]


def test_injected_parameters_are_left_out_and_repr_shows_names_only() -> None:
    def fetch(story_id: str, auth_token: str, region: str = "eu") -> str:
        """Fetch.

        Args:
            story_id: The story
            auth_token: The token
        """
        return story_id

    tool = build_tool("fetch", None, fetch, injected=("auth_token", "region"))
    assert list(props(tool)) == ["story_id"]
    assert "auth_token" not in json.dumps(tool.definition)
    assert repr(tool) == "Tool(name='fetch', strict=False, injected=('auth_token', 'region'))"
    assert tool.required_injected == {"auth_token"}  # region has a default


def test_format_result() -> None:
    assert format_result("text") == "text"
    assert format_result({"a": [1, 2]}) == '{"a":[1,2]}'
    assert format_result(Address(street="s", city="c")) == '{"street":"s","city":"c"}'
    assert format_result(Opaque()).startswith('"<')  # falls back to str()


# -- generated signatures -------------------------------------------------------------------

#: (annotation, values of that type, may appear in a strict schema)
TYPE_POOL: list[tuple[Any, st.SearchStrategy[Any], bool]] = [
    (int, st.integers(-(10**9), 10**9), True),
    (float, st.floats(allow_nan=False, allow_infinity=False), True),
    (str, st.text(max_size=12), True),
    (bool, st.booleans(), True),
    (int | None, st.none() | st.integers(-100, 100), True),
    (str | int, st.text(max_size=5) | st.integers(), True),
    (Literal["a", "b", "c"], st.sampled_from(["a", "b", "c"]), True),
    (Color, st.sampled_from(list(Color)), True),
    (Size, st.sampled_from(list(Size)), True),
    (Address, st.builds(Address, street=st.text(max_size=8), city=st.text(max_size=8)), True),
    (list[int], st.lists(st.integers(-5, 5), max_size=3), True),
    (
        list[Address],
        st.lists(st.builds(Address, street=st.just("s"), city=st.just("c")), max_size=2),
        True,
    ),
    (dict[str, int], st.dictionaries(st.text(max_size=4), st.integers(), max_size=3), False),
    (Annotated[int, Field(ge=0, le=100, description="A bounded count")], st.integers(0, 100), True),
]

NAMES = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True),
    st.sampled_from(["json", "schema", "copy", "model_config", "_private", "default", "title"]),
).filter(lambda n: not keyword.iskeyword(n))


@st.composite
def signatures(draw: st.DrawFn) -> tuple[Any, dict[str, Any], list[str], bool, dict[str, str]]:
    """A function with a generated signature and docstring, and arguments for it."""
    names = draw(st.lists(NAMES, min_size=0, max_size=6, unique=True))
    params = []
    arguments: dict[str, Any] = {}
    required = []
    documented: dict[str, str] = {}
    strict_ok = True
    for name in names:
        annotation, values, strict_able = draw(st.sampled_from(TYPE_POOL))
        strict_ok &= strict_able
        default = draw(values) if draw(st.booleans()) else inspect.Parameter.empty
        if default is inspect.Parameter.empty:
            required.append(name)
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
        if default is inspect.Parameter.empty or draw(st.booleans()):
            arguments[name] = draw(values)
        if draw(st.booleans()):
            documented[name] = f"Describes {name}"
    style = draw(st.sampled_from(["google", "sphinx"]))
    if style == "google":
        lines = ["Generated tool.", "", "Args:"] + [f"    {k}: {v}" for k, v in documented.items()]
    else:
        lines = ["Generated tool.", ""] + [f":param {k}: {v}" for k, v in documented.items()]

    def function(**kwargs: Any) -> dict[str, Any]:
        return kwargs

    function.__signature__ = inspect.Signature(params)
    function.__annotations__ = {p.name: p.annotation for p in params}
    function.__doc__ = "\n".join(lines) if documented else "Generated tool."
    return function, arguments, required, strict_ok, documented


@settings(max_examples=150, deadline=None)
@given(signatures())
def test_generated_signatures_make_valid_schemas_that_round_trip(
    case: tuple[Any, dict[str, Any], list[str], bool, dict[str, str]],
) -> None:
    function, arguments, required, strict_ok, documented = case
    tool = build_tool("generated", None, function)
    schema = check(tool)
    assert list(schema["properties"]) == list(inspect.signature(function).parameters)
    assert schema.get("required", []) == required
    assert tool.description == "Generated tool."
    for name, text in documented.items():
        described = schema["properties"][name].get("description")
        assert described in (text, "A bounded count"), (name, described)

    # The JSON the model would send: valid for the schema, validated back to the values.
    payload = pydantic_core.to_json(arguments).decode()
    Draft(schema).validate(json.loads(payload))
    assert tool.validate_arguments(payload) == arguments
    # What the offline fake model sends for this schema is accepted too.
    example = example_for_schema(schema)
    Draft(schema).validate(example)
    tool.validate_arguments(json.dumps(example))

    if not strict_ok:
        with pytest.raises(ConfigurationError, match="cannot use strict mode"):
            build_tool("generated", None, function, strict=True)
        return
    strict = check(build_tool("generated", None, function, strict=True))
    for obj in _objects(strict):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    if set(arguments) == set(schema["properties"]):
        Draft(strict).validate(json.loads(payload))
