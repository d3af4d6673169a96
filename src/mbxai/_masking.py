"""Secret values masked wherever they appear in what reaches a model or a store.

A secret (an injected tool credential, an MCP server's token) can come back inside a
tool's result in many shapes: as it is, JSON-escaped inside a string (a ``"`` becomes
``\\"``; twice for JSON inside a JSON string), in a Python ``repr`` (a newline becomes
``\\n``), percent-encoded, HTML-escaped, in another letter case. Searching the final
text for the raw value misses all but the first, so :class:`Masker` masks the values
themselves (every string of a structure, keys included, and numbers whose digits are a
secret, before anything is encoded) and then every known shape of each value in text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote, quote_plus

import pydantic_core
from pydantic import SecretStr

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Masker"]

MASK: Final = "[hidden]"
#: Values shorter than this are not masked: replacing "1" everywhere would garble text,
#: and a credential that short is no secret anyway.
MIN_SECRET_LENGTH: Final = 4


def _shapes(secret: str) -> set[str]:
    """The ways ``secret`` shows up in text: as is, JSON-escaped (also twice, for JSON in a
    JSON string; with and without ``\\u`` escapes, with ``\\/``), Python-repr-escaped,
    percent-encoded and HTML-escaped."""
    as_json = json.dumps(secret)[1:-1]
    as_json_utf8 = json.dumps(secret, ensure_ascii=False)[1:-1]
    shapes = {
        secret,
        as_json,
        as_json_utf8,
        as_json.replace("/", "\\/"),
        json.dumps(as_json)[1:-1],
        json.dumps(as_json_utf8, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
    }
    return {shape for shape in shapes if len(shape) >= MIN_SECRET_LENGTH}


class Masker:
    """Replaces secret values, in any of their shapes and letter cases, with :data:`MASK`.

    Built from the values to hide (strings or ``SecretStr``; other types and values under
    :data:`MIN_SECRET_LENGTH` characters are ignored); :meth:`add` hides one more. Its repr
    says how many values it holds, never the values.
    """

    __slots__ = ("_lowered", "_pattern", "_values")

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lowered: tuple[str, ...] = ()
        self._update(values)

    def __repr__(self) -> str:
        return f"Masker({len(self._values)} value(s))"

    def __bool__(self) -> bool:
        return self._pattern is not None

    def add(self, value: Any) -> None:
        """Hide ``value`` too."""
        self._update((value,))

    def _update(self, values: Iterable[Any]) -> None:
        new = set()
        for value in values:
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                new.add(value)
        new -= self._values
        if not new:
            return
        self._values |= new
        shapes = {shape for value in self._values for shape in _shapes(value)}
        # Longest first: a secret containing another ("Bearer xyz", "xyz") is masked whole.
        ordered = sorted(shapes, key=lambda shape: (-len(shape), shape))
        self._pattern = re.compile("|".join(re.escape(shape) for shape in ordered), re.IGNORECASE)
        #: What is searched: lower-cased, longest first (plain string search, fast on
        #: megabytes; the regex is the exact fallback for case mappings that change lengths).
        self._lowered = tuple(
            sorted({shape.lower() for shape in shapes}, key=lambda shape: (-len(shape), shape))
        )

    def _present(self, text: str) -> bool:
        lowered = text.lower()
        return any(shape in lowered for shape in self._lowered)

    def text(self, text: str) -> str:
        """``text`` with every shape of every value replaced (case-insensitively)."""
        if self._pattern is None or not text:
            return text
        lowered = text.lower()
        if not any(shape in lowered for shape in self._lowered):
            return text
        if len(lowered) != len(text):  # a case mapping changed lengths: positions differ
            return self._pattern.sub(MASK, text)
        for shape in self._lowered:
            if shape not in lowered:
                continue
            pieces: list[str] = []
            start = 0
            while (found := lowered.find(shape, start)) >= 0:
                pieces += (text[start:found], MASK)
                start = found + len(shape)
            pieces.append(text[start:])
            text = "".join(pieces)
            lowered = text.lower()
        return text

    def data(self, value: Any) -> Any:
        """``value`` with every value hidden in its strings (keys included) and in the
        digits of its numbers; a JSON-compatible copy when something was masked, ``value``
        itself otherwise."""
        if self._pattern is None:
            return value
        try:  # a quick look first: its JSON text holds each string in one of the shapes
            if not self._present(pydantic_core.to_json(value, fallback=str).decode()):
                return value
        except (ValueError, TypeError):  # not JSON-like after all: look at every piece
            pass
        return self._data(pydantic_core.to_jsonable_python(value, fallback=str))

    def _data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                (self.text(k) if isinstance(k, str) else k): self._data(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._data(item) for item in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = str(value)
            return MASK if self.text(shown) != shown else value
        return value
