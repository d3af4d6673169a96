"""Tool calling for models without native tool calls: the constrained-output protocol.

Some endpoints accept ``tools`` and ignore them (llama.cpp with a chat template that has
no tool support), or reject them. With ``tool_calling="constrained"`` the tool client
sends no ``tools`` at all: each round's reply is constrained by a ``json_schema`` response
format to one of two shapes::

    {"tool_calls": [{"name": "get_weather", "arguments": {"location": "Tokyo"}}]}
    {"final_answer": "It is sunny in Tokyo."}      # or the parse schema's object

Each item's ``name`` is an enum of one registered tool and its ``arguments`` that tool's
schema, so a model of any size produces calls that parse. The tools and both shapes are
described in a system message. A decoded reply is turned into a native assistant message
(``tool_calls`` with ids, or text ``content``), so the tool loop runs exactly as with
native calls and the transcript keeps the native shape (assistant ``tool_calls``, then
``tool`` messages). Only on the wire is the conversation rewritten for the model: its
calls go back as its own JSON, and each round's results as one ``user`` message ("Results
of your tool calls: ..."). A server that saw no tool calls gets no ``tool`` messages,
which many chat templates cannot render.

:class:`ToolRounds` decides, per request of one tool loop, what goes out (native or
constrained; which structured-output mode) and what an error or a reply means (switch and
resend, or carry on). It does no I/O: the async tool client and its sync twin send.

The ``tool_calling="auto"`` rule: start native; switch to constrained, and remember it
for the model on that client, when the endpoint rejects ``tools`` (a 4xx saying tools are
not supported) or answers a *forced* ``tool_choice`` (``"required"`` or a named function)
without a tool call. A plain text reply to an unforced round is a legitimate answer and
never triggers the switch: it cannot be told apart from an ignored ``tools``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError

from . import _json
from ._schema import ResponseFormat, SchemaFormat
from ._structured import (
    NO_OPTIONS,
    EndpointMemory,
    SchemaOptions,
    Strategy,
    StructuredMode,
    ToolCalling,
    is_unsupported,
    load_lenient,
    schema_outline,
    with_instruction,
)
from ._tools import ToolLoop, ToolRegistry
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    FunctionCall,
    ToolCall,
)

__all__ = ["ANSWER", "ConstrainedProtocol", "ToolRounds", "completion_chunks", "repeats_a_call"]

CALLS: Final = "tool_calls"
ANSWER: Final = "final_answer"
#: Calls one constrained reply may hold: enough for parallel calls, and a bound on a
#: small model that repeats itself until ``max_tokens``.
MAX_CALLS_PER_REPLY: Final = 8
_DEF_NAME: Final = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_NATIVE: Final = ("tools", "tool_choice", "parallel_tool_calls")


# -- the protocol --------------------------------------------------------------------------------


class ConstrainedProtocol:
    """The constrained-output codec of one tool loop: reply schema, instructions, the
    conversation as the model sees it, and replies decoded into native messages.

    Args:
        registry: The tools on offer.
        final: The ``parse`` response format of the final answer (``None``: text).
    """

    __slots__ = ("_final", "_registry")

    def __init__(self, registry: ToolRegistry, final: ResponseFormat | None = None) -> None:
        self._registry = registry
        self._final = final

    # -- what is asked for

    def reply_format(self, tool_choice: Any, *, after_results: bool) -> SchemaFormat:
        """The schema of this round's reply: tool calls or a final answer.

        ``tool_choice`` narrows it as it would narrow native calls: ``"none"`` allows only
        an answer, ``"required"`` only calls, a named function only calls of that tool.
        The likelier shape comes first (calls, or the answer once results are in).
        """
        defs: dict[str, Any] = {}
        branches: list[dict[str, Any]] = []
        names = self._allowed(tool_choice)
        if names:
            items = [self._call_schema(name, defs) for name in names]
            calls = {
                "type": "array",
                "items": items[0] if len(items) == 1 else {"anyOf": items},
                "minItems": 1,
                "maxItems": MAX_CALLS_PER_REPLY,
            }
            branches.append(_object({CALLS: calls}))
        if not _forced(tool_choice) or not names:
            if self._final is None:
                answer: dict[str, Any] = {"type": "string"}
            else:
                answer = _hoist(self._final.schema, self._final.name, defs)
            branch = _object({ANSWER: answer})
            branches.insert(0 if after_results else len(branches), branch)
        schema: dict[str, Any] = branches[0] if len(branches) == 1 else {"anyOf": branches}
        if defs:
            schema = {**schema, "$defs": defs}
        return SchemaFormat(name="tool_step", schema=schema, strict=False)

    def _allowed(self, tool_choice: Any) -> list[str]:
        names = [tool.name for tool in self._registry]
        if tool_choice == "none":
            return []
        if isinstance(tool_choice, Mapping):
            wanted = (tool_choice.get("function") or {}).get("name")
            if wanted in names:
                return [wanted]
        return names

    def _call_schema(self, name: str, defs: dict[str, Any]) -> dict[str, Any]:
        tool = self._registry.get(name)
        assert tool is not None
        arguments = _hoist(tool.parameters, name, defs)
        return _object({"name": {"type": "string", "enum": [name]}, "arguments": arguments})

    def instruction(self, tool_choice: Any) -> str:
        """The system-prompt text: the tools, and the two reply shapes."""
        names = self._allowed(tool_choice)
        lines = []
        if names:
            lines.append("You can call these tools:")
            for name in names:
                tool = self._registry.get(name)
                assert tool is not None
                arguments = " ".join(schema_outline(tool.parameters).split())
                description = f" {tool.description.strip()}" if tool.description else ""
                lines.append(f"- {name}:{description} Arguments: {arguments}")
            lines.append(
                f'To call tools, reply with only: {{"{CALLS}": [{{"name": "<tool name>", '
                '"arguments": {<its arguments>}}]}'
            )
        if not _forced(tool_choice) or not names:
            if self._final is None:
                shape = '"<your answer>"'
            else:
                shape = " ".join(schema_outline(self._final.schema).split())
            lines.append(f'To give your final answer, reply with only: {{"{ANSWER}": {shape}}}')
        return "\n".join(lines)

    def messages(self, transcript: Sequence[Any], tool_choice: Any) -> list[Any]:
        """The transcript as the model sees it: its calls as its own JSON replies, each
        round's tool results as one user message, and the protocol in the system prompt."""
        calls_by_id: dict[str, tuple[str, str]] = {}
        out: list[Any] = []
        results: list[str] = []

        def flush() -> None:
            if results:
                # Measured on SmolLM2-135M: this wording gets an answer; "Results of your
                # tool calls: ... call more tools if needed" got the same call again.
                text = "\n".join(results) + "\nNow give your final answer."
                out.append({"role": "user", "content": text})
                results.clear()

        for message in transcript:
            data = message.to_param() if isinstance(message, ChatCompletionMessage) else message
            role = data.get("role") if isinstance(data, Mapping) else None
            if role == "tool":
                name, arguments = calls_by_id.get(str(data.get("tool_call_id")), ("tool", "{}"))
                results.append(f"{name}({arguments}) returned: {_text(data.get('content'))}")
                continue
            flush()
            if role == "assistant" and data.get("tool_calls"):
                items = []
                for call in data["tool_calls"]:
                    function = call.get("function") or {}
                    name = str(function.get("name", ""))
                    raw = str(function.get("arguments") or "{}")
                    calls_by_id[str(call.get("id"))] = (name, raw)
                    items.append({"name": name, "arguments": _json_or_text(raw)})
                reply = json.dumps({CALLS: items}, ensure_ascii=False)
                out.append({"role": "assistant", "content": reply})
            else:
                out.append(data)
        flush()
        return with_instruction(out, self.instruction(tool_choice))

    # -- what came back

    def decode(self, completion: ChatCompletion, call_prefix: str) -> ChatCompletion:
        """The reply as a native completion: calls become ``tool_calls`` (ids
        ``{call_prefix}_{i}``), an answer becomes ``content``. A reply that fits neither
        shape is kept as text: the final answer (``parse`` then re-asks if it must)."""
        if not completion.choices:
            return completion
        choice = completion.choices[0]
        content = choice.message.content or ""
        try:
            value = load_lenient(content) if content.strip() else None
        except ValidationError:  # nested too deeply: kept as text, like any unusable reply
            value = None
        calls = self._calls(value, call_prefix)
        if calls:
            message = choice.message.model_copy(update={"content": None, "tool_calls": calls})
            reason = "tool_calls"
        else:
            if isinstance(value, Mapping) and ANSWER in value:
                answer = value[ANSWER]
                with contextlib.suppress(ValueError):  # too deep to encode: the raw reply
                    content = answer if isinstance(answer, str) else _json.dumps(answer)
            message = choice.message.model_copy(update={"content": content, "tool_calls": None})
            reason = choice.finish_reason or "stop"
        first = choice.model_copy(update={"message": message, "finish_reason": reason})
        return completion.model_copy(update={"choices": [first, *completion.choices[1:]]})

    def _calls(self, value: Any, prefix: str) -> list[ToolCall]:
        if isinstance(value, Mapping) and value.get("name") in self._registry:
            value = {CALLS: [value]}  # a call without the wrapper
        items = value.get(CALLS) if isinstance(value, Mapping) else None
        if not isinstance(items, list):
            return []
        calls: list[ToolCall] = []
        for item in items[:MAX_CALLS_PER_REPLY]:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                continue
            arguments = item.get("arguments", {})
            try:
                text = arguments if isinstance(arguments, str) else _json.dumps(arguments)
            except ValueError:
                text = "<arguments nested too deeply>"  # not JSON: the model is told so
            calls.append(
                ToolCall(
                    id=f"{prefix}_{len(calls)}",
                    function=FunctionCall(name=item["name"], arguments=text),
                )
            )
        return calls


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _forced(tool_choice: Any) -> bool:
    return tool_choice in ("required", "any") or isinstance(tool_choice, Mapping)


def _hoist(schema: Mapping[str, Any], owner: str, defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``$defs``: they move into ``defs`` under names prefixed with
    ``owner`` (so two tools' ``Address`` models do not clash) and its refs follow them."""
    own = dict(schema.get("$defs") or {})
    prefix = _DEF_NAME.sub("_", owner)
    renamed = {name: f"{prefix}__{_DEF_NAME.sub('_', name)}" for name in own}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        out = {}
        for key, value in node.items():
            if key == "$defs":
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                target = value.removeprefix("#/$defs/")
                out[key] = f"#/$defs/{renamed.get(target, target)}"
            else:
                out[key] = walk(value)
        return out

    for name, sub in own.items():
        defs[renamed[name]] = walk(sub)
    result: dict[str, Any] = walk(schema)
    result.pop("title", None)
    return result


def repeats_a_call(transcript: Sequence[Any]) -> bool:
    """Whether the last round of calls repeats a call (same tool, same arguments) made in
    an earlier round. Constrained tool calling then allows only the final answer next:
    small models caught in a loop call the same tool again and again, and the result of
    that call is already in the conversation, so nothing is lost."""
    rounds: list[set[tuple[str, str]]] = []
    for message in transcript:
        data = message.to_param() if isinstance(message, ChatCompletionMessage) else message
        if isinstance(data, Mapping) and data.get("role") == "assistant" and data.get("tool_calls"):
            rounds.append(
                {
                    (
                        str((call.get("function") or {}).get("name")),
                        _canonical(str((call.get("function") or {}).get("arguments") or "{}")),
                    )
                    for call in data["tool_calls"]
                }
            )
    if len(rounds) < 2:
        return False
    earlier = set().union(*rounds[:-1])
    return bool(rounds[-1] & earlier)


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(_json.loads(arguments), sort_keys=True)
    except (ValueError, RecursionError):
        return arguments


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "" if content is None else str(content)


def _json_or_text(raw: str) -> Any:
    try:
        return _json.loads(raw)
    except ValueError:
        return raw


# -- one tool loop's requests ----------------------------------------------------------------------


class ToolRounds:
    """Plans the requests of one tool loop and reads their outcomes, without I/O.

    The sender asks :meth:`request` for the next request's messages and parameters, sends
    them, and reports an error to :meth:`rejected` (``True``: resend, something was
    switched) or the reply to :meth:`reply` (``None``: resend; else the reply in native
    shape, the answer of a ``parse`` as ``content``).

    Args:
        loop: The loop's state (transcript, rounds, the caller's parameters).
        slug: The model, for what the endpoint memory says about it.
        tool_calling: ``"native"``, ``"constrained"`` or ``"auto"``.
        memory: The wrapped chat client's endpoint memory (shared by its tool clients).
        chain: Structured-output modes to try, for ``parse`` (or the constrained replies).
        final: The response format of a ``parse`` call (``None`` for ``create``).
        options: The wrapped chat client's schema aids for small models.
    """

    def __init__(
        self,
        loop: ToolLoop,
        *,
        slug: str,
        tool_calling: ToolCalling,
        memory: EndpointMemory,
        chain: tuple[StructuredMode, ...],
        final: ResponseFormat | None = None,
        options: SchemaOptions = NO_OPTIONS,
    ) -> None:
        self.loop = loop
        self._options = options
        self._slug = slug
        self._memory = memory
        self._final = final
        self._chain: tuple[StructuredMode, ...] = chain
        self._index = 0
        has_tools = len(loop.registry) > 0
        self.constrained = has_tools and (
            tool_calling == "constrained"
            or (tool_calling == "auto" and memory.tools_unsupported(slug))
        )
        self._may_switch = has_tools and tool_calling == "auto" and not self.constrained
        self._protocol = ConstrainedProtocol(loop.registry, final)
        if self.constrained:
            self._start_constrained()

    def _start_constrained(self) -> None:
        self.constrained = True
        self._may_switch = False
        # Without native tools, the answer function of "tool" mode cannot be offered.
        self._chain = tuple(m for m in self._chain if m != "tool") or ("json_schema",)
        self._index = 0

    @property
    def mode(self) -> StructuredMode | None:
        """The structured-output mode of the next request (``None``: plain text)."""
        if self._final is None and not self.constrained:
            return None
        return self._chain[self._index]

    @property
    def strategy(self) -> Strategy | None:
        """How a ``parse`` reply is read (validation rules of the current mode)."""
        mode = self.mode
        if mode is None or self._final is None:
            return None
        return Strategy.create(mode, self._final, options=self._options)

    def _forced_choice(self, params: Mapping[str, Any]) -> bool:
        return "tools" in params and _forced(params.get("tool_choice"))

    def request(self) -> tuple[list[Any], dict[str, Any]]:
        """The next request's messages and parameters."""
        params = self.loop.request_params()
        mode = self.mode
        if self.constrained:
            tool_choice = params.get("tool_choice")
            for key in _NOT_NATIVE:
                params.pop(key, None)
            last = self.loop.transcript[-1] if self.loop.transcript else None
            after = isinstance(last, Mapping) and last.get("role") == "tool"
            if after and repeats_a_call(self.loop.transcript):
                tool_choice = "none"  # a model in a loop: it has the results, it must answer
            assert mode is not None
            reply = Strategy.create(
                mode,
                self._protocol.reply_format(tool_choice, after_results=after),
                describe=False,
                options=self._options,
            )
            messages = self._protocol.messages(self.loop.transcript, tool_choice)
            return messages, reply.request_params(params)
        if mode is None or self._final is None:
            return list(self.loop.transcript), params
        strategy = Strategy.create(mode, self._final, options=self._options)
        return strategy.request_messages(self.loop.transcript), strategy.request_params(
            params, force=False
        )

    def rejected(self, error: BaseException) -> bool:
        """Whether ``error`` was the endpoint refusing a feature we can do without; the
        switch is made (and remembered), and the round must be sent again."""
        if self._may_switch and is_unsupported(error, "tool"):
            self._memory.reject_tools(self._slug)
            self._start_constrained()
            return True
        mode = self.mode
        if mode is not None and self._index + 1 < len(self._chain) and is_unsupported(error, mode):
            self._memory.reject(self._slug, mode)
            self._index += 1
            return True
        return False

    def reply(self, completion: ChatCompletion) -> ChatCompletion | None:
        """The reply in native shape, or ``None`` when the round must be sent again (the
        endpoint ignored a forced tool choice: it does no tool calls, so the loop switched
        to the constrained protocol)."""
        if self.constrained:
            return self._protocol.decode(completion, f"call_{self.loop.requests}")
        message = completion.choices[0].message if completion.choices else None
        if (
            self._may_switch
            and self.loop.rounds == 0
            and message is not None
            and not message.tool_calls
            and self._forced_choice(self.loop.request_params())
        ):
            self._memory.reject_tools(self._slug)
            self._start_constrained()
            return None
        strategy = self.strategy
        return strategy.translate(completion) if strategy is not None else completion


def completion_chunks(completion: ChatCompletion) -> list[ChatCompletionChunk]:
    """A completion as stream chunks (text, then tool-call deltas, then the finish), for
    rounds that were not streamed by the endpoint."""
    if not completion.choices:
        return []
    choice = completion.choices[0]
    message = choice.message

    def chunk(delta: ChoiceDelta, finish_reason: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion.id,
            created=completion.created,
            model=completion.model,
            choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)],
        )

    chunks = [chunk(ChoiceDelta(role="assistant", content=message.content))]
    if message.tool_calls:
        deltas = [
            ChoiceDeltaToolCall(
                index=index,
                id=call.id,
                type="function",
                function=ChoiceDeltaToolCallFunction(
                    name=call.function.name, arguments=call.function.arguments
                ),
            )
            for index, call in enumerate(message.tool_calls)
        ]
        chunks.append(chunk(ChoiceDelta(tool_calls=deltas)))
    chunks.append(chunk(ChoiceDelta(), choice.finish_reason))
    return chunks
