"""Response models shaped like OpenAI's chat completion objects.

They are our own Pydantic models (no dependency on the openai SDK) and accept unknown
fields, so provider extensions (OpenRouter's ``provider``, ``cost``, reasoning details)
survive a round trip instead of being dropped.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CostDetails",
    "FunctionCall",
    "Message",
    "ParsedChatCompletion",
    "ParsedChatCompletionMessage",
    "ParsedChoice",
    "ParsedToolChatCompletion",
    "PendingApproval",
    "PromptTokensDetails",
    "ToolApproval",
    "ToolCall",
    "ToolChatCompletion",
    "Usage",
    "add_exact",
]

T = TypeVar("T")

#: A chat message as sent to the API: a plain dict, or one of our message models.
Message: TypeAlias = "dict[str, Any] | ChatCompletionMessage"


class _Model(BaseModel):
    # defer_build: the schema is built at the first validation, not at import (import time)
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)


class FunctionCall(_Model):
    """The function a tool call invokes; ``arguments`` is the model's JSON text, unparsed."""

    name: str
    arguments: str = "{}"


class ToolCall(_Model):
    """One tool call requested by the model."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatCompletionMessage(_Model):
    """The assistant's message in a completion."""

    role: Literal["assistant", "user", "system", "tool", "developer"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    #: The model's reasoning text (reasoning models, unless ``Reasoning(exclude=True)``).
    reasoning: str | None = None
    #: The reasoning as the provider gave it (text, summaries, encrypted blocks with their
    #: signatures). Sent back unchanged with the message, as reasoning models need to
    #: keep their chain of thought across tool rounds.
    reasoning_details: list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None

    def to_param(self) -> dict[str, Any]:
        """Return the message as a dict suitable to send back in ``messages``."""
        data = self.model_dump(exclude_none=True, exclude={"parsed"})
        data.setdefault("content", None)
        return data


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    """An assistant message whose content was validated into ``parsed``."""

    parsed: T | None = None


class PromptTokensDetails(_Model):
    """Where the prompt's tokens came from: read from the cache, written to it, audio."""

    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(_Model):
    """What the completion's tokens were: reasoning, images."""

    reasoning_tokens: int | None = None
    image_tokens: int | None = None


class CostDetails(_Model):
    """OpenRouter's cost breakdown: what the upstream provider charged (for BYOK keys,
    the cost billed by the provider rather than OpenRouter)."""

    upstream_inference_cost: float | None = None
    upstream_inference_prompt_cost: float | None = None
    upstream_inference_completions_cost: float | None = None


class Usage(_Model):
    """Token usage of one call, or summed over several (``a + b``).

    ``cost`` is OpenRouter's charge in credits (USD) as it reports it with usage
    accounting (on by default for OpenRouter); sums are exact to the decimal digits
    reported, however many requests they cover.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    is_byok: bool | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    cost_details: CostDetails | None = None

    @property
    def reasoning_tokens(self) -> int:
        """Reasoning tokens counted inside ``completion_tokens`` (0 when not reported)."""
        details = self.completion_tokens_details
        return (details.reasoning_tokens or 0) if details else 0

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens read from the provider's cache (0 when not reported)."""
        details = self.prompt_tokens_details
        return (details.cached_tokens or 0) if details else 0

    @property
    def cache_write_tokens(self) -> int:
        """Prompt tokens written to the provider's cache (0 when not reported)."""
        details = self.prompt_tokens_details
        return (details.cache_write_tokens or 0) if details else 0

    def __add__(self, other: Usage | None) -> Usage:
        """The sum of two usages: every count summed, nested details (cached tokens,
        reasoning tokens, ``cost_details``) and provider extras included."""
        if other is None:
            return self
        return Usage.model_validate(_sum(self.model_dump(), other.model_dump()))

    __radd__ = __add__


def add_exact(a: float | None, b: float | None) -> float | None:
    """``a + b`` computed in decimal from their shortest representations, so a sum of
    reported costs has no binary rounding noise; ``None`` counts as nothing."""
    if a is None:
        return b
    if b is None:
        return a
    if not (math.isfinite(a) and math.isfinite(b)):
        return a + b
    return float(Decimal(repr(a)) + Decimal(repr(b)))


def _sum(a: Any, b: Any) -> Any:
    """Field-wise sum of two usage dicts: numbers added (floats in decimal, so costs such
    as ``0.1 + 0.2`` sum to ``0.3``, not ``0.30000000000000004``), dicts merged, ``None``
    ignored; for anything else (a string, a flag) the later value wins."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, bool) or isinstance(b, bool):
        return b
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return add_exact(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: _sum(a.get(key), b.get(key)) for key in dict.fromkeys([*a, *b])}
    return b


class Choice(_Model):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: str | None = None
    native_finish_reason: str | None = None


class ParsedChoice(Choice, Generic[T]):
    # A narrower field, as pydantic allows; pyright holds mutable attributes invariant.
    message: ParsedChatCompletionMessage[T]  # pyright: ignore[reportIncompatibleVariableOverride]


class ChatCompletion(_Model):
    """A chat completion; ``choices[0].message.content`` holds the reply.

    ``model`` is the model that answered (after OpenRouter's fallbacks, the one that
    served it, not necessarily the one asked for), ``provider`` the provider that ran it.
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    provider: str | None = None
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None

    @property
    def content(self) -> str | None:
        """The first choice's text, or ``None`` (shorthand for ``choices[0].message.content``)."""
        return self.choices[0].message.content if self.choices else None

    def _repr_markdown_(self) -> str:
        return self.content or f"*(no content; finish_reason={self._finish_reason()})*"

    def _finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None


class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """A completion whose first choice carries the validated object in ``message.parsed``."""

    choices: list[ParsedChoice[T]] = Field(default_factory=list)  # type: ignore[assignment]

    @property
    def parsed(self) -> T | None:
        """The first choice's validated object (shorthand for ``choices[0].message.parsed``)."""
        return self.choices[0].message.parsed if self.choices else None


class ChoiceDeltaToolCallFunction(_Model):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(_Model):
    index: int = 0
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaToolCallFunction | None = None


class ChoiceDelta(_Model):
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    #: Pieces of the message's ``reasoning_details``, each with the ``index`` of the
    #: detail it extends.
    reasoning_details: list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None


class ChunkChoice(_Model):
    index: int = 0
    delta: ChoiceDelta = Field(default_factory=ChoiceDelta)
    finish_reason: str | None = None


class ChatCompletionChunk(_Model):
    """One streamed chunk; ``choices[0].delta.content`` holds the new text."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None


class PendingApproval(_Model):
    """A tool call that waits for a human's approval (the tool was registered with
    ``requires_approval``); it has not run.

    Attributes:
        id: The tool call's id: the key of its answer in ``approvals={id: ...}``.
        tool: The tool's name.
        arguments: The model's arguments (injected values are never among them).
    """

    id: str
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolApproval(_Model):
    """A human's answer to a :class:`PendingApproval`, for ``approvals={id: ...}``
    (``True`` and ``False`` are short for ``ToolApproval()`` and
    ``ToolApproval(approved=False)``).

    Attributes:
        approved: Whether the call may run.
        arguments: The arguments to run it with instead of the model's (checked against
            the tool's schema like the model's).
        reason: Why it was denied, told to the model.
    """

    approved: bool = True
    arguments: dict[str, Any] | None = None
    reason: str | None = None


class ToolChatCompletion(ChatCompletion):
    """The final completion of a tool client's loop, or the reply it stopped at to wait
    for approvals.

    ``usage`` is summed over every request of the loop; ``transcript`` holds the whole
    conversation (the caller's messages, each assistant reply, each tool result, the final
    reply) as message dicts that can be sent again. When ``pending_approvals`` is not
    empty, the loop stopped before running those calls: send ``transcript`` again with
    ``approvals={id: True | False | ToolApproval(...)}`` to go on.
    """

    transcript: list[dict[str, Any]] = Field(default_factory=list, repr=False)
    #: Rounds of tool calls that ran.
    tool_rounds: int = 0
    #: Requests sent to the model, the final one included.
    llm_calls: int = 1
    #: Calls waiting for a human's approval (the loop stopped at them).
    pending_approvals: list[PendingApproval] = Field(default_factory=list)


class ParsedToolChatCompletion(ParsedChatCompletion[T], Generic[T]):
    """:class:`ParsedChatCompletion` of a tool client's loop (``transcript`` and summed
    ``usage`` as in :class:`ToolChatCompletion`)."""

    transcript: list[dict[str, Any]] = Field(default_factory=list, repr=False)
    #: Rounds of tool calls that ran.
    tool_rounds: int = 0
    #: Requests sent to the model, re-asks and the final one included.
    llm_calls: int = 1
    #: Calls waiting for a human's approval (``parsed`` is then ``None``).
    pending_approvals: list[PendingApproval] = Field(default_factory=list)
