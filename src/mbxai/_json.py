"""JSON from the other side (models, servers, stores), parsed with bounded depth.

``json.loads`` recurses once per nesting level, so 1,000 nested brackets (2 KB) raise
``RecursionError`` (not ``ValueError``) wherever it is used. pydantic-core's parser stops at
a fixed depth with a ``ValueError`` instead; everything that parses JSON it did not write
goes through :func:`loads`, so deep input is an ordinary "invalid JSON" everywhere.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic_core import PydanticSerializationError

__all__ = ["dumps", "loads"]


def loads(data: str | bytes | bytearray) -> Any:
    """Parse JSON; raises ``ValueError`` for invalid or too deeply nested input."""
    try:
        return pydantic_core.from_json(data)
    except RecursionError:  # pragma: no cover - pydantic-core limits depth itself
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> str:
    """Serialise ``value`` to JSON text; raises ``ValueError`` for too deep or circular data."""
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except (PydanticSerializationError, RecursionError) as exc:
        raise ValueError(f"cannot serialise to JSON: {exc}") from None
