"""JSON schemas for structured output and tools, built once per type and cached.

``strict_schema`` rewrites a Pydantic JSON schema into the subset OpenAI's strict mode
accepts (every object closed and fully required, no defaults, no ``$ref`` siblings). When
a schema cannot be made strict (free-form dicts), it says so and the request is sent
non-strict instead of being rejected by the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from ._errors import ConfigurationError

__all__ = [
    "ResponseFormat",
    "SchemaFormat",
    "extract_json",
    "reask_messages",
    "response_format_for",
    "strict_schema",
    "validation_feedback",
]

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
#: Keys dropped from every schema node: strict mode rejects defaults, and a title (Pydantic
#: derives one from each field and class name) tells the model nothing the key does not.
_ANNOTATIONS = frozenset({"default", "title"})
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


def strict_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Return ``(schema, is_strict)``: a strict-mode rewrite of ``schema`` and whether it holds.

    The input is not modified.
    """
    strict = True

    def walk(node: Any) -> Any:
        nonlocal strict
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _ANNOTATIONS:
                continue
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                # name -> schema tables: a property may itself be called "default".
                out[key] = {name: walk(sub) for name, sub in value.items()}
            else:
                out[key] = walk(value)
        all_of = out.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            # Pydantic wraps a $ref carrying a description in a one-item allOf.
            del out["allOf"]
            out = {**all_of[0], **out}
        if out.get("type") == "object" or "properties" in out:
            props = out.get("properties")
            extra = out.get("additionalProperties")
            if isinstance(props, dict) and props:
                out["required"] = list(props)
                if isinstance(extra, dict) and extra:
                    strict = False
                else:
                    out["additionalProperties"] = False
            elif props is None and extra not in (False, None):
                strict = False  # free-form mapping: strict mode cannot express it
            else:
                out.setdefault("properties", {})
                out["required"] = []
                out["additionalProperties"] = False
        return out

    rewritten = walk(schema)
    return rewritten, strict


@dataclass(frozen=True, slots=True)
class SchemaFormat:
    """A named JSON schema to ask the model for (a Pydantic model's, or one built at run time)."""

    name: str
    schema: dict[str, Any]
    strict: bool

    def payload(self) -> dict[str, Any]:
        """The ``json_schema`` response format for this schema."""
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": self.schema, "strict": self.strict},
        }


@dataclass(frozen=True, slots=True)
class ResponseFormat(SchemaFormat):
    """The request payload and validator for one structured-output type."""

    model: type[BaseModel]

    def validate(self, content: str) -> BaseModel:
        """Validate the model's text; raises pydantic's ``ValidationError`` on mismatch."""
        return self.model.model_validate_json(extract_json(content))


def response_format_for(model: type[Any]) -> ResponseFormat:
    """The response format for a Pydantic model class, built once per class."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigurationError(
            f"response_format must be a Pydantic model class (a BaseModel subclass), got {model!r}"
        )
    return _response_format(model)


@lru_cache(maxsize=512)
def _response_format(model: type[BaseModel]) -> ResponseFormat:
    schema, strict = strict_schema(model.model_json_schema())
    name = _NAME_CHARS.sub("_", model.__name__).strip("_")[:64] or "response"
    return ResponseFormat(model=model, name=name, schema=schema, strict=strict)


def extract_json(content: str) -> str:
    """The JSON text inside a reply: surrounding whitespace and Markdown fences removed."""
    text = content.strip()
    match = _FENCE.match(text)
    return match.group(1).strip() if match else text


def validation_feedback(error: ValidationError | ValueError) -> str:
    """A short, model-readable account of why a reply was rejected."""
    if isinstance(error, ValidationError):
        lines = []
        for item in error.errors(include_url=False)[:10]:
            where = ".".join(str(part) for part in item["loc"]) or "(root)"
            lines.append(f"- {where}: {item['msg']}")
        return "\n".join(lines)
    return f"- {error}"


def reask_messages(raw: str | None, error: ValidationError) -> list[dict[str, Any]]:
    """The messages that show the model its rejected reply and ask for a corrected one."""
    return [
        {"role": "assistant", "content": raw or ""},
        {
            "role": "user",
            "content": "Your reply did not match the required JSON schema:\n"
            f"{validation_feedback(error)}\n"
            "Reply again with only the corrected JSON object.",
        },
    ]
