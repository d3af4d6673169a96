"""The flavour-free half of the tool client: the registry and the tool-call loop.

Tools themselves (schema and validator, built once at registration) come from
:mod:`mbxai._function_schema`. :class:`ToolLoop` holds one conversation's state
(transcript, rounds, usage) and turns the model's tool calls into ready-to-run calls or
into error results for the model, with results masked and clipped. Only running the functions and talking to the endpoint differ between the
async client and its generated sync twin, so only that lives in ``mbxai._async.tools``.

Injected parameters (``injected=``) are filled from the per-call ``tool_context``
mapping and never shown to the model: they are left out of the schema, and their string
values are masked in everything sent back to the model (results and error messages).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from . import _json
from ._content import ContentPart, message_with_parts, split_parts
from ._errors import ConfigurationError, ToolLoopLimitError, UsageLimitExceeded
from ._function_schema import Tool
from ._masking import Masker
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    FunctionCall,
    PendingApproval,
    ToolApproval,
    ToolCall,
    Usage,
)

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "MAX_CALLS_PER_ROUND",
    "DeferredContext",
    "DeltaAccumulator",
    "PreparedCall",
    "ToolLoop",
    "ToolRegistry",
    "check_max_result_chars",
    "check_max_rounds",
    "clip_result",
    "format_result",
    "merge_reasoning_detail",
    "transcript_on_limit",
]

#: Longest tool result (in characters) sent to the model unless the client says otherwise.
DEFAULT_MAX_RESULT_CHARS: Final = 50_000
#: Calls of one reply that run; the model is told the others were not run.
MAX_CALLS_PER_ROUND: Final = 64

# -- the registry -------------------------------------------------------------------------


class ToolRegistry:
    """The tools of one client, by name; shared by a sync client and its async twin."""

    __slots__ = ("_definitions", "_tools")

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._definitions: list[dict[str, Any]] | None = None

    def add(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ConfigurationError(
                f"a tool named {tool.name!r} is already registered; pick another name"
            )
        self._tools[tool.name] = tool
        self._definitions = None
        return tool

    def remove(self, name: str) -> Tool:
        try:
            tool = self._tools.pop(name)
        except KeyError:
            raise ConfigurationError(f"no tool named {name!r} is registered") from None
        self._definitions = None
        return tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def definitions(self) -> list[dict[str, Any]]:
        """The request's ``tools`` list, rebuilt only after a registration change."""
        if self._definitions is None:
            self._definitions = [tool.definition for tool in self._tools.values()]
        return self._definitions

    def mapping(self) -> Mapping[str, Tool]:
        return dict(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[Tool]:
        return iter(tuple(self._tools.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._tools


# -- results --------------------------------------------------------------------------------


def format_result(value: Any) -> str:
    """A tool's return value as message content: strings as they are, the rest as JSON.

    Raises ``ValueError`` for a value JSON cannot hold (nested too deeply, circular).
    """
    if isinstance(value, str):
        return value
    return _json.dumps(value)


def clip_result(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, saying so (``None``: no limit)."""
    if limit is None or len(text) <= limit:
        return text
    return (
        text[:limit] + f"\n[clipped: the result has {len(text)} characters; "
        f"only the first {limit} are shown]"
    )


def check_max_result_chars(value: Any) -> int | None:
    """``value`` if it is a valid ``max_result_chars`` (an int >= 100, or ``None``)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 100):
        raise ConfigurationError(
            f"max_result_chars must be an int >= 100 or None (no limit), got {value!r}"
        )
    return value


class DeferredContext(Mapping[str, Any]):
    """A ``tool_context`` whose values are produced on first use.

    The agent passes its dialog-option secrets this way: a secret no called tool needs
    is never decrypted, one that cannot be produced (no key for it in this process) counts
    as absent (the tool is not run, the model told the credential is missing) and is
    listed in :attr:`failed`, and every produced value is added to :attr:`masker`.
    """

    __slots__ = ("_failed", "_load", "_names", "_values", "masker")

    def __init__(self, names: Iterable[str], load: Callable[[str], Any]) -> None:
        self._names = tuple(dict.fromkeys(names))
        self._load = load
        self._values: dict[str, Any] = {}
        self._failed: set[str] = set()
        self.masker = Masker()

    def __repr__(self) -> str:
        return f"DeferredContext(names={list(self._names)!r})"

    def __getitem__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._failed or name not in self._names:
            raise KeyError(name)
        try:
            value = self._load(name)
        except Exception:
            self._failed.add(name)
            raise KeyError(name) from None
        self._values[name] = value
        self.masker.add(value)
        return value

    def __contains__(self, name: object) -> bool:
        try:
            self[name]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    @property
    def failed(self) -> frozenset[str]:
        """Names whose value could not be produced."""
        return frozenset(self._failed)


def _format_exception(tool: str, exc: BaseException) -> str:
    message = str(exc)
    kind = type(exc).__name__
    text = f"Error: tool {tool!r} raised {kind}"
    return f"{text}: {message}" if message else text


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """One tool call, either ready to run (``tool`` and ``kwargs``) or already answered
    (``error``, the message the model gets instead)."""

    call: ToolCall
    tool: Tool | None = None
    kwargs: dict[str, Any] = field(default_factory=dict, repr=False)
    error: str | None = None


# -- the loop -------------------------------------------------------------------------------


class ToolLoop:
    """One conversation with tools: transcript, rounds and usage, without any I/O.

    The caller sends :attr:`transcript` with :meth:`request_params`, adds the reply's usage,
    asks :meth:`tool_calls` what to run, runs the :meth:`prepare`-d calls, reports their
    outcomes with :meth:`add_results`, and repeats until a reply has no tool calls.
    """

    def __init__(
        self,
        registry: ToolRegistry,
        messages: Sequence[Any],
        *,
        max_rounds: int,
        context: Mapping[str, Any] | None,
        params: Mapping[str, Any],
        max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
    ) -> None:
        if "tools" in params:
            raise ConfigurationError(
                "tools= cannot be passed to a tool client; register the functions instead"
            )
        check_max_rounds(max_rounds)
        if context is not None and not isinstance(context, Mapping):
            raise ConfigurationError(
                f"tool_context must be a mapping of parameter name to value, "
                f"got {type(context).__name__}"
            )
        if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
            raise ConfigurationError(
                f"messages must be a list of message dicts, got {type(messages).__name__}"
            )
        self.registry = registry
        #: Every message so far: the caller's (copied), then replies and tool results.
        self.transcript: list[dict[str, Any]] = [_copy_message(m) for m in messages]
        self.max_rounds = max_rounds
        #: Rounds whose tool calls ran.
        self.rounds = 0
        self.usage: Usage | None = None
        #: Requests sent so far.
        self.requests = 0
        self._context: Mapping[str, Any] = context or {}
        #: Every context value (secrets), masked wherever it shows up for the model. A
        #: deferred context adds each value as it is produced.
        self.masker = (
            context.masker
            if isinstance(context, DeferredContext)
            else Masker(self._context.values())
        )
        self.max_result_chars = check_max_result_chars(max_result_chars)
        self._approvals = _check_approvals(approvals)
        #: Content parts tools returned this round, by call id (sent after the results).
        self._attachments: dict[str, list[ContentPart]] = {}
        self._params = dict(params)
        self._definitions = registry.definitions()

    def request_params(self) -> dict[str, Any]:
        """Request parameters for the next round: the caller's, plus the tools."""
        params = dict(self._params)
        if self._definitions:
            params["tools"] = self._definitions
            # A forced tool choice binds the first round only, or the loop could never end.
            if self.rounds and params.get("tool_choice") not in (None, "auto", "none"):
                params["tool_choice"] = "auto"
        return params

    def record(self, usage: Usage | None) -> None:
        """Count one request and add its usage."""
        self.requests += 1
        if usage is not None:
            self.usage = usage + self.usage

    def tool_calls(self, message: ChatCompletionMessage | None) -> list[ToolCall]:
        """The calls to run for this reply; ``[]`` when it is the final answer.

        A reply with calls is appended to the transcript; one beyond ``max_rounds`` raises
        :class:`ToolLoopLimitError`.
        """
        calls = (message.tool_calls if message is not None else None) or []
        if not calls:
            return []
        assert message is not None
        if self.rounds >= self.max_rounds:
            raise ToolLoopLimitError(
                f"the model still called tools after {self.rounds} round(s) "
                f"(max_tool_rounds={self.max_rounds}): "
                + ", ".join(call.function.name for call in calls),
                transcript=list(self.transcript),
                pending_calls=list(calls),
                rounds=self.rounds,
                usage=self.usage,
            )
        self.rounds += 1
        self.transcript.append(message.to_param())
        return list(calls)

    def open_calls(self) -> list[ToolCall]:
        """The calls of the transcript's last assistant message that have no result yet
        (the loop stopped there for approvals); ``approvals`` answers them. Approvals for
        any other call id raise :class:`ConfigurationError`."""
        calls: list[ToolCall] = []
        answered: set[str] = set()
        for message in reversed(self.transcript):
            if not isinstance(message, Mapping):
                break
            if message.get("role") == "tool":
                answered.add(str(message.get("tool_call_id")))
                continue
            if _is_attachments(message):
                continue
            if message.get("role") == "assistant" and message.get("tool_calls"):
                try:
                    calls = [
                        ToolCall.model_validate(call)
                        for call in message["tool_calls"]
                        if str(call.get("id")) not in answered
                    ]
                except (ValidationError, AttributeError):
                    calls = []  # not calls of ours: the endpoint will say what is wrong
            break
        unknown = set(self._approvals) - {call.id for call in calls}
        if unknown:
            waiting = sorted(call.id for call in calls) or "none"
            raise ConfigurationError(
                f"approvals for tool calls that are not waiting: {sorted(unknown)}; "
                f"waiting: {waiting} (send the transcript the loop stopped with)"
            )
        return calls

    def plan_round(
        self, calls: Sequence[ToolCall]
    ) -> tuple[list[PreparedCall], list[PendingApproval]]:
        """The calls to run now (:meth:`prepare_all`-d: ready, or answered with an error or
        a denial), and those still waiting for an approval (as ``PendingApproval``)."""
        ready: list[PreparedCall] = []
        pending: list[PendingApproval] = []
        for prepared in self.prepare_all(calls):
            tool, call = prepared.tool, prepared.call
            if prepared.error is not None or tool is None:
                ready.append(prepared)
                continue
            arguments = {k: v for k, v in prepared.kwargs.items() if k not in tool.injected}
            if not tool.needs_approval(arguments):
                ready.append(prepared)
                continue
            answer = self._approvals.get(call.id)
            if answer is None:
                pending.append(PendingApproval(id=call.id, tool=tool.name, arguments=arguments))
            elif not answer.approved:
                why = f": {answer.reason}" if answer.reason else ""
                ready.append(
                    PreparedCall(
                        call, tool, error=self.mask(f"Error: a human denied this call{why}")
                    )
                )
            elif answer.arguments is not None:
                edited = call.model_copy(
                    update={
                        "function": call.function.model_copy(
                            update={"arguments": _json.dumps(answer.arguments)}
                        )
                    }
                )
                ready.append(self.prepare(edited))
            else:
                ready.append(prepared)
        return ready, pending

    def paused(self, pending: Sequence[PendingApproval], cls: type[Any], model: str = "") -> Any:
        """The loop stopped at calls waiting for approval, as ``cls`` (a tool completion
        type): the reply with those calls, the transcript to send again, the pending calls."""
        assistant = [m for m in self.transcript if m.get("role") == "assistant"]
        message: dict[str, Any] = assistant[-1] if assistant else {"role": "assistant"}
        return cls.model_validate(
            {
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
                "usage": self.usage.model_dump() if self.usage is not None else None,
                "transcript": self.transcript,
                "tool_rounds": self.rounds,
                "llm_calls": self.requests,
                "pending_approvals": [p.model_dump() for p in pending],
            }
        )

    def prepare_all(self, calls: Sequence[ToolCall]) -> list[PreparedCall]:
        """:meth:`prepare` each call of a reply; past :data:`MAX_CALLS_PER_ROUND` calls,
        the rest are answered without running (a reply with a thousand calls cannot start
        a thousand tools)."""
        return [
            self.prepare(call)
            if index < MAX_CALLS_PER_ROUND
            else PreparedCall(
                call,
                error=f"Error: not run: one reply may call at most {MAX_CALLS_PER_ROUND} "
                f"tools and this one called {len(calls)}; call it again in a later round "
                "if it is still needed.",
            )
            for index, call in enumerate(calls)
        ]

    def prepare(self, call: ToolCall) -> PreparedCall:
        """Resolve and validate one call; what the model got wrong becomes ``error``."""
        name = call.function.name
        tool = self.registry.get(name)
        if tool is None:
            known = ", ".join(t.name for t in self.registry) or "none"
            return PreparedCall(
                call,
                error=self.mask(
                    clip_result(f"Error: unknown tool {name!r}. Available tools: {known}.", 2000)
                ),
            )
        for param in tool.required_injected:
            if param not in self._context:
                return PreparedCall(
                    call,
                    tool,
                    error=f"Error: tool {name!r} cannot run: credential {param!r} not provided.",
                )
        try:
            kwargs = tool.validate_arguments(call.function.arguments or "")
        except ValueError as exc:
            return PreparedCall(
                call, tool, error=self.clip(self.mask(f"Error: tool {name!r}: {exc}"))
            )
        except RecursionError:
            return PreparedCall(
                call, tool, error=f"Error: tool {name!r}: the arguments are nested too deeply"
            )
        for param in tool.injected:
            if param in self._context:
                kwargs[param] = self._context[param]
        return PreparedCall(call, tool, kwargs)

    def result(self, value: Any, call: ToolCall | None = None) -> str:
        """A successful call's return value as message content: context values masked
        (in the value itself, then in the text), clipped to ``max_result_chars``.

        Content parts in it (an image, a PDF, audio; alone or in a list) are kept to be
        sent after the round's results, in a user message (tool results are text only);
        the text result says they follow.

        Raises ``ValueError`` for a value JSON cannot hold.
        """
        value, parts = split_parts(value)
        if parts and call is not None:
            self._attachments[call.id] = parts
            note = f"[{len(parts)} attachment(s) follow in the next message]"
            value = note if value is None else [value, note]
        elif parts:
            value = [part.to_param() for part in parts] if value is None else value
        if not isinstance(value, str) and self.masker:
            value = self.masker.data(value)
        return self.clip(self.mask(format_result(value)))

    def failure(self, tool: Tool, exc: BaseException) -> str:
        """A raising call as message content: exception type and message, no traceback."""
        return self.clip(self.mask(_format_exception(tool.name, exc)))

    def clip(self, text: str) -> str:
        """``text`` cut to ``max_result_chars``, saying so."""
        return clip_result(text, self.max_result_chars)

    def add_results(self, calls: Sequence[ToolCall], contents: Sequence[str]) -> None:
        """Append one ``tool`` message per call, in the order of the calls; then, if tools
        returned content parts, one user message carrying them, each after a line naming
        its call."""
        attached: list[dict[str, Any]] = []
        if self.transcript and _is_attachments(self.transcript[-1]):
            # The round was paused for approvals after some calls returned parts: the
            # results of the rest go before that message, which stays last.
            attached = list(self.transcript.pop()["content"])
        for call, content in zip(calls, contents, strict=True):
            self.transcript.append({"role": "tool", "tool_call_id": call.id, "content": content})
            parts = self._attachments.pop(call.id, None)
            if parts:
                attached.append(
                    {
                        "type": "text",
                        "text": f"{_ATTACHMENTS_OF}{call.id} ({call.function.name}):",
                    }
                )
                attached += [part.to_param() for part in parts]
        if attached:
            self.transcript.append({"role": "user", "content": attached})

    def add_messages(self, messages: Iterable[dict[str, Any]]) -> None:
        self.transcript.extend(messages)

    def final(self, completion: ChatCompletion, cls: type[Any]) -> Any:
        """The completion as ``cls`` (a tool completion type), with transcript and usage."""
        data = completion.model_dump()
        if completion.choices:
            self.transcript.append(completion.choices[0].message.to_param())
        data.update(
            usage=self.usage.model_dump() if self.usage is not None else None,
            transcript=self.transcript,
            tool_rounds=self.rounds,
            llm_calls=self.requests,
        )
        return cls.model_validate(data)

    def mask(self, text: str) -> str:
        """``text`` with every string value of the tool context replaced, in any encoding."""
        return self.masker.text(text)

    def masked_call(self, call: ToolCall) -> ToolCall:
        """``call`` with the tool context's values masked in its arguments (for showing)."""
        function = call.function.model_copy(
            update={"arguments": self.mask(call.function.arguments)}
        )
        return call.model_copy(update={"function": function})


@contextlib.contextmanager
def transcript_on_limit(loop: ToolLoop) -> Iterator[None]:
    """A :class:`~mbxai.UsageLimitExceeded` raised in the block carries ``loop``'s
    transcript, to go on from with a higher limit."""
    try:
        yield
    except UsageLimitExceeded as exc:
        if exc.transcript is None:
            exc.transcript = list(loop.transcript)
        raise


def _check_approvals(value: Any) -> dict[str, ToolApproval]:
    """``approvals=`` as call id -> :class:`ToolApproval` (``True``/``False`` accepted)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"approvals must be a mapping of tool call id to True, False or ToolApproval, "
            f"got {type(value).__name__}"
        )
    checked: dict[str, ToolApproval] = {}
    for key, answer in value.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"approvals: keys are tool call ids (strings), got {key!r}")
        if isinstance(answer, bool):
            answer = ToolApproval(approved=answer)
        if not isinstance(answer, ToolApproval):
            raise ConfigurationError(
                f"approvals[{key!r}] must be True, False or a ToolApproval, "
                f"got {type(answer).__name__}"
            )
        checked[key] = answer
    return checked


def check_max_rounds(value: Any) -> int:
    """``value`` if it is a valid ``max_tool_rounds``, else :class:`ConfigurationError`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigurationError(f"max_tool_rounds must be an integer >= 0, got {value!r}")
    return value


_ATTACHMENTS_OF: Final = "Attachments of tool call "


def _is_attachments(message: Any) -> bool:
    """Whether ``message`` is the user message :meth:`ToolLoop.add_results` adds for the
    content parts tools returned."""
    if not isinstance(message, Mapping) or message.get("role") != "user":
        return False
    content = message.get("content")
    if not isinstance(content, list) or not content or not isinstance(content[0], Mapping):
        return False
    return str(content[0].get("text", "")).startswith(_ATTACHMENTS_OF)


def _copy_message(message: Any) -> Any:
    if isinstance(message, BaseModel):
        to_param = getattr(message, "to_param", None)
        return to_param() if to_param else message.model_dump(exclude_none=True)
    if isinstance(message, Mapping):
        return dict(message_with_parts(message))
    return message  # build_chat_body reports what is wrong with it


# -- streaming --------------------------------------------------------------------------------


#: The fields of a reasoning detail that stream in pieces (the rest arrive whole).
_DETAIL_TEXT: Final = ("text", "summary", "data")


def merge_reasoning_detail(details: dict[int, dict[str, Any]], piece: dict[str, Any]) -> None:
    """Add one streamed piece of ``reasoning_details`` to ``details`` (by its ``index``):
    its text, summary or encrypted data appended to the detail's, its other fields (type,
    signature, format, id) set."""
    index = piece.get("index", len(details))
    key = index if isinstance(index, int) else len(details)
    detail = details.setdefault(key, {})
    for name, value in piece.items():
        if name in _DETAIL_TEXT and isinstance(value, str) and isinstance(detail.get(name), str):
            detail[name] += value
        elif value is not None or name not in detail:
            detail[name] = value


class DeltaAccumulator:
    """Rebuilds the assistant message of a streamed round from its chunks."""

    __slots__ = ("_calls", "_content", "_details", "_reasoning", "_refusal")

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._details: dict[int, dict[str, Any]] = {}
        self._refusal: list[str] = []
        self._calls: dict[int, dict[str, str]] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                self._content.append(delta.content)
            if delta.reasoning:
                self._reasoning.append(delta.reasoning)
            for piece in delta.reasoning_details or ():
                if isinstance(piece, dict):
                    merge_reasoning_detail(self._details, piece)
            if delta.refusal:
                self._refusal.append(delta.refusal)
            for part in delta.tool_calls or ():
                entry = self._calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                if part.id:
                    entry["id"] = part.id
                if part.function is not None:
                    entry["name"] += part.function.name or ""
                    entry["arguments"] += part.function.arguments or ""

    def message(self) -> ChatCompletionMessage:
        calls = [
            ToolCall(
                id=entry["id"] or f"call_{index}",
                function=FunctionCall(name=entry["name"], arguments=entry["arguments"] or "{}"),
            )
            for index, entry in sorted(self._calls.items())
        ]
        return ChatCompletionMessage(
            content="".join(self._content) if self._content or not calls else None,
            reasoning="".join(self._reasoning) or None,
            reasoning_details=[self._details[i] for i in sorted(self._details)] or None,
            refusal="".join(self._refusal) or None,
            tool_calls=calls or None,
        )
