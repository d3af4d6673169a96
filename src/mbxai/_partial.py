"""Partial structured output: the objects a streamed ``parse`` shows while its JSON arrives.

A streamed reply's answer text (the message's ``content``, or the arguments of the answer
function in ``tool`` mode) is parsed after each chunk with pydantic-core's
``from_json(..., allow_partial="trailing-strings")``, which closes what is still open
(an unfinished string is kept as far as it came). In the prompt-based modes the JSON may
sit in prose or a Markdown fence: parsing starts at the first ``{`` and, when text
follows the object, ends at its last ``}``.

A partial object is an instance of the response model built with ``model_construct`` from
the fields that have arrived and validate on their own (each field's value through its
own annotation; a nested model, or a list of them, partially again). Fields that have not
arrived, or do not validate yet (a number cut short, an enum value half written), are
``None``; ``model_fields_set`` names the fields present. No validator of the model runs
on a partial object. The final object is validated in full by the mode's usual rules,
and re-asked on failure, exactly as without streaming.

Everything here is flavour-free; the async streams (and their generated sync twins) feed
chunks in and hand the updates out.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import pydantic_core
from pydantic import BaseModel, TypeAdapter, ValidationError

from ._structured import Strategy
from ._tools import DeltaAccumulator
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ToolCall,
    Usage,
)

__all__ = ["PartialParser", "PartialUpdate", "StreamedReply", "partial_object"]

T = TypeVar("T", bound=BaseModel)
C = TypeVar("C", bound=ChatCompletion)

#: Below this many characters of answer text, every chunk is parsed; above it, parsing
#: waits until the text grew by a sixteenth, so a huge answer costs linear time overall.
_EAGER_CHARS: Final = 16 * 1024
#: Deepest nesting followed when building a partial object.
_MAX_DEPTH: Final = 32


# -- partial objects ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _cached_adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _adapter(annotation: Any) -> TypeAdapter[Any] | None:
    """A validator of ``annotation`` (cached when it is hashable), ``None`` if there is none."""
    try:
        return _cached_adapter(annotation)
    except TypeError:  # unhashable (metadata inside Annotated), or no schema for the type
        pass
    try:
        return TypeAdapter(annotation)
    except Exception:  # a type pydantic builds no validator for alone: shown when final
        return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class an annotation stands for (``M``, ``M | None``), if it is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        models = [m for a in typing.get_args(annotation) if (m := _model_of(a)) is not None]
        return models[0] if len(models) == 1 else None
    if origin is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    return None


def _item_model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class of a list's items (``list[M]``, ``list[M] | None``), if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        found = [m for a in typing.get_args(annotation) if (m := _item_model_of(a)) is not None]
        return found[0] if len(found) == 1 else None
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return _model_of(args[0]) if args else None
    return None


def _field_value(annotation: Any, raw: Any, depth: int) -> tuple[bool, Any]:
    """``(True, value)`` when ``raw`` is (or partly is) a value of ``annotation``."""
    adapter = _adapter(annotation)
    if adapter is not None:
        try:
            return True, adapter.validate_python(raw)
        except (ValidationError, RecursionError):
            pass
    if depth >= _MAX_DEPTH:
        return False, None
    model = _model_of(annotation)
    if model is not None and isinstance(raw, Mapping):
        return True, partial_object(model, raw, _depth=depth + 1)
    item_model = _item_model_of(annotation)
    if item_model is not None and isinstance(raw, list):
        items = [
            partial_object(item_model, r, _depth=depth + 1) for r in raw if isinstance(r, Mapping)
        ]
        return True, items
    return False, None


def partial_object(model: type[T], data: Any, *, _depth: int = 0) -> T:
    """``data`` (a partly arrived JSON object) as a ``model`` instance without full
    validation: the fields present that validate on their own are set, the others are
    ``None`` (``model_fields_set`` names those that arrived)."""
    values: dict[str, Any] = {}
    present: set[str] = set()
    raw = data if isinstance(data, Mapping) else {}
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        for candidate in (key, name):
            if candidate and candidate in raw:
                ok, value = _field_value(info.annotation, raw[candidate], _depth)
                if ok:
                    values[name] = value
                    present.add(name)
                break
        values.setdefault(name, None)
    return model.model_construct(_fields_set=present, **values)


# -- partial JSON ---------------------------------------------------------------------------------


def _loads_partial(text: str) -> Any:
    """The JSON value at the start of ``text``, closed where it is cut off; ``None`` if
    there is none yet."""
    start = text.find("{")
    if start < 0:
        return None
    body = text[start:]
    end = body.rfind("}")
    candidates = [body] if end < 0 else [body, body[: end + 1]]
    for candidate in candidates:
        try:
            return pydantic_core.from_json(candidate, allow_partial="trailing-strings")
        except ValueError:
            continue
    return None


class PartialParser(Generic[T]):
    """The partial objects of one answer's text, fed piece by piece.

    Args:
        model: The response model.
        key: Read the answer under this key of the top-level object (the constrained
            tool protocol's ``final_answer``), not the object itself.
    """

    __slots__ = ("_key", "_last", "_model", "_parsed_at", "_pieces", "_size")

    def __init__(self, model: type[T], *, key: str | None = None) -> None:
        self._model = model
        self._key = key
        self._pieces: list[str] = []
        self._size = 0
        self._parsed_at = 0
        self._last: Any = None

    @property
    def text(self) -> str:
        """The answer text so far."""
        return "".join(self._pieces)

    def feed(self, delta: str) -> T | None:
        """Take the next piece of text; the new partial object when it changed."""
        if not delta:
            return None
        self._pieces.append(delta)
        self._size += len(delta)
        if self._size > _EAGER_CHARS and self._size - self._parsed_at < self._size // 16:
            return None
        self._parsed_at = self._size
        value = _loads_partial(self.text)
        if self._key is not None:
            value = value.get(self._key) if isinstance(value, dict) else None
        if not isinstance(value, dict) or not value or value == self._last:
            return None
        self._last = value
        return partial_object(self._model, value)


# -- one streamed reply ---------------------------------------------------------------------------


class StreamedReply(Generic[T]):
    """One streamed reply of a structured call: its chunks rebuilt into the message, and
    the answer's text (content, or the answer function's arguments) parsed as it comes.

    Args:
        model: The response model.
        strategy: The structured-output mode of the request (``None``: the answer is the
            content, as in the constrained tool protocol).
        key: As in :class:`PartialParser`.
    """

    __slots__ = (
        "_answer_index",
        "_created",
        "_id",
        "_message",
        "_model",
        "_parser",
        "_provider",
        "_tool_name",
    )

    def __init__(
        self, model: type[T], strategy: Strategy | None = None, *, key: str | None = None
    ) -> None:
        self._message = DeltaAccumulator()
        self._parser = PartialParser(model, key=key)
        self._tool_name = (
            strategy.format.name if strategy is not None and strategy.mode == "tool" else None
        )
        self._answer_index: int | None = None
        self._id = ""
        self._model = ""
        self._created = 0
        self._provider: str | None = None

    def add(self, chunk: ChatCompletionChunk) -> tuple[str, T | None]:
        """Take a chunk; the answer text it added and the new partial object, if any."""
        self._message.add(chunk)
        self._id = self._id or chunk.id
        self._model = self._model or chunk.model
        self._created = self._created or chunk.created
        extra = chunk.model_extra or {}
        provider = extra.get("provider")
        if isinstance(provider, str) and self._provider is None:
            self._provider = provider
        text = ""
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            if self._tool_name is None:
                text += choice.delta.content or ""
                continue
            for part in choice.delta.tool_calls or ():
                if part.function is not None and part.function.name == self._tool_name:
                    self._answer_index = part.index
                if part.index == self._answer_index and part.function is not None:
                    text += part.function.arguments or ""
        return text, self._parser.feed(text)

    def completion(self, cls: type[C], usage: Usage | None, finish_reason: str | None) -> C:
        """The reply as a completion of ``cls``, as if it had not been streamed."""
        message = self._message.message()
        return cls.model_validate(
            {
                "id": self._id,
                "created": self._created,
                "model": self._model,
                "provider": self._provider,
                "choices": [{"message": message.model_dump(), "finish_reason": finish_reason}],
                "usage": usage.model_dump() if usage is not None else None,
            }
        )


@dataclass(slots=True)
class PartialUpdate(Generic[T]):
    """What a structured stream produced next (one of the fields is set).

    Attributes:
        attempt: Which reply of the call this belongs to (1, then 2 after a re-ask...).
        text: Answer text that arrived.
        object: A new partial object (or, with ``final`` set, the validated one).
        calls: Tool calls a round made, about to run (tool-context values masked).
        results: Those calls' results as the model is shown them (masked, clipped).
        final: The finished call's completion.
    """

    attempt: int
    text: str = ""
    object: T | None = None
    calls: list[ToolCall] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    final: ChatCompletion | None = None
