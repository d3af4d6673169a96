"""Structured-output strategies: the ways ``parse`` can ask an endpoint for a schema's JSON.

Endpoints differ in what they accept, and small or open models answer well in one mode
and badly in another, so ``parse`` knows four modes:

``json_schema``
    ``response_format={"type": "json_schema", ...}``: the schema is enforced by the provider
    (constrained decoding on OpenAI, llama.cpp, vLLM...). The default and the best.
``tool``
    The schema as one function the model is forced to call; its arguments are the answer.
    For models that do tool calling but not structured output.
``json_object``
    ``response_format={"type": "json_object"}`` (any JSON) plus the schema's outline in the
    system prompt.
``prompted``
    No ``response_format`` at all: the outline goes in the system prompt, and the JSON is
    taken out of whatever the model wrote (fences and prose trimmed, broken JSON repaired
    by `json-repair <https://github.com/mangiucugna/json_repair>`_).

A client's ``structured_output`` setting is a chain of modes tried in order (``"auto"``:
all four, in the order above). When an endpoint rejects a mode (:func:`is_unsupported`
reads its 4xx error) or ignores a forced tool, the next mode is used and the client's
:class:`EndpointMemory` remembers it per model, so later calls skip the failed request.

Everything here is flavour-free: the async clients (and their generated sync twins) only
send what :class:`Strategy` builds and hand back what came.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, TypeVar, get_args

import pydantic_core
from pydantic import BaseModel, ValidationError

from . import _json
from ._errors import ConfigurationError, OpenRouterAPIError, StructuredOutputError
from ._logging import get_logger, is_debug
from ._openrouter import MODE_PARAMETERS
from ._schema import SchemaFormat, extract_json, reask_messages, response_format_for
from ._types import ChatCompletion, ChatCompletionMessage

__all__ = [
    "MODES",
    "NO_OPTIONS",
    "EndpointMemory",
    "Reask",
    "SchemaOptions",
    "Strategy",
    "StructuredMode",
    "StructuredReplies",
    "StructuredSettings",
    "ToolCalling",
    "check_mode",
    "check_tool_calling",
    "is_unsupported",
    "load_lenient",
    "schema_outline",
    "structured_chain",
    "with_instruction",
    "with_user_instruction",
]

StructuredMode: TypeAlias = Literal["json_schema", "tool", "json_object", "prompted"]
ToolCalling: TypeAlias = Literal["native", "constrained", "auto"]

#: Every mode, in the order ``structured_output="auto"`` tries them.
MODES: Final[tuple[StructuredMode, ...]] = get_args(StructuredMode)
C = TypeVar("C", bound=ChatCompletion)
_TOOL_CALLING: Final[tuple[ToolCalling, ...]] = get_args(ToolCalling)

# -- settings ---------------------------------------------------------------------------------


def check_mode(mode: Any, *, name: str = "mode") -> StructuredMode:
    """``mode`` if it names a structured-output mode, else :class:`ConfigurationError`."""
    if isinstance(mode, str) and mode in MODES:
        return mode
    raise ConfigurationError(f"{name} must be one of {', '.join(MODES)}; got {mode!r}")


def structured_chain(setting: Any) -> tuple[StructuredMode, ...]:
    """The modes a ``structured_output=`` setting tries, in order.

    ``"auto"`` is every mode; one mode is that mode alone (no fallback); a sequence of
    modes is tried in the order given.
    """
    if setting == "auto":
        return MODES
    if isinstance(setting, str):
        return (check_mode(setting, name="structured_output"),)
    if isinstance(setting, Sequence) and setting:
        chain = tuple(check_mode(mode, name="structured_output") for mode in setting)
        if len(set(chain)) != len(chain):
            raise ConfigurationError(f"structured_output lists a mode twice: {list(setting)!r}")
        return chain
    raise ConfigurationError(
        f"structured_output must be 'auto', one of {', '.join(MODES)}, or a non-empty list "
        f"of them; got {setting!r}"
    )


def check_tool_calling(value: Any) -> ToolCalling:
    """``value`` if it is a valid ``tool_calling=`` setting, else :class:`ConfigurationError`."""
    if isinstance(value, str) and value in _TOOL_CALLING:
        return value
    raise ConfigurationError(
        f"tool_calling must be one of {', '.join(_TOOL_CALLING)}; got {value!r}"
    )


class EndpointMemory:
    """What one client learned about its endpoint, per model slug: the structured-output
    modes it rejected, and whether it does native tool calling.

    Kept in memory for the client's life; a fallback is paid once per model, not per call.
    """

    __slots__ = ("_no_tools", "_rejected")

    def __init__(self) -> None:
        self._rejected: dict[str, set[str]] = {}
        self._no_tools: set[str] = set()

    def __repr__(self) -> str:
        rejected = {slug: sorted(modes) for slug, modes in self._rejected.items()}
        return f"EndpointMemory(rejected={rejected!r}, no_tools={sorted(self._no_tools)!r})"

    def usable(self, slug: str, chain: tuple[StructuredMode, ...]) -> tuple[StructuredMode, ...]:
        """``chain`` without the modes ``slug`` rejected (its last mode if it rejected all)."""
        rejected = self._rejected.get(slug, set())
        return tuple(mode for mode in chain if mode not in rejected) or chain[-1:]

    def reject(self, slug: str, mode: str) -> None:
        self._rejected.setdefault(slug, set()).add(mode)

    def rejected(self, slug: str) -> frozenset[str]:
        """The modes ``slug`` is known not to support."""
        return frozenset(self._rejected.get(slug, ()))

    def tools_unsupported(self, slug: str) -> bool:
        """Whether ``slug`` is known not to do native tool calls."""
        return slug in self._no_tools

    def reject_tools(self, slug: str) -> None:
        self._no_tools.add(slug)

    def learn(self, slug: str, supported_parameters: Sequence[str]) -> None:
        """Take what the endpoint's model list says ``slug`` supports: the structured
        modes and native tool calling it lacks are skipped from now on, instead of being
        found out by a failed request. An empty list (an endpoint that does not say)
        teaches nothing."""
        if not supported_parameters:
            return
        supported = set(supported_parameters)
        for mode, needs in MODE_PARAMETERS.items():
            if supported.isdisjoint(needs):
                self.reject(slug, mode)
        if "tools" not in supported:
            self.reject_tools(slug)


@dataclass(frozen=True, slots=True)
class StructuredSettings:
    """How a chat client asks for structured output, for its own ``parse`` and for the
    clients that wrap it (a tool client asks the same way in its rounds).

    Attributes:
        parse_retries: How often an invalid reply is re-asked.
        modes: The modes tried, in order (the client's ``structured_output``).
        options: The schema options (outline in every mode, caps in the schema sent).
        memory: What the endpoint rejected, per model (shared by every user of the client).
    """

    parse_retries: int
    modes: tuple[StructuredMode, ...]
    options: SchemaOptions
    memory: EndpointMemory

    def chain(self, slug: str, mode: StructuredMode | None = None) -> tuple[StructuredMode, ...]:
        """The modes to try for ``slug``: ``mode`` alone when given, else :attr:`modes`
        without those this endpoint already rejected for ``slug``."""
        if mode is not None:
            return (check_mode(mode),)
        return self.memory.usable(slug, self.modes)

    def reject(self, slug: str, mode: str, reason: str) -> None:
        """Remember that ``slug``'s endpoint does not do ``mode`` (logged with ``reason``)."""
        self.memory.reject(slug, mode)
        get_logger().info("parse.mode_unsupported", model=slug, mode=mode, reason=reason[:200])


# -- "is this error an unsupported feature?" --------------------------------------------------

# Wording seen from OpenAI, OpenRouter, llama.cpp, vLLM, Ollama and LiteLLM proxies when a
# request field is not supported (as opposed to a wrong value the caller must fix).
_UNSUPPORTED: Final = re.compile(
    r"not supported|unsupported|not support|n[o']t support|must be one of|"
    r"not available|unknown|unrecognized|not recognized|not implemented|not allowed|"
    r"not permitted|extra (?:inputs|fields) are not|requires|is not a valid|invalid value|"
    r"does not accept|cannot be used|no endpoints? found",
    re.IGNORECASE,
)
_FEATURES: Final[dict[str, re.Pattern[str]]] = {
    "json_schema": re.compile(
        r"json_schema|json.schema|response_format|response.format|structured.output|guided_json",
        re.IGNORECASE,
    ),
    "json_object": re.compile(r"json_object|json.mode|response_format|response.format", re.I),
    "tool": re.compile(
        r"\btools?\b|tool_choice|tool.use|tool.call|function.call|\bfunctions?\b", re.I
    ),
}
# OpenRouter when no provider of the model takes every parameter sent, without naming one.
_NO_ENDPOINT: Final = re.compile(r"no endpoints? found", re.IGNORECASE)
_REJECTING_STATUSES: Final = frozenset({400, 404, 405, 415, 422, 501})


def is_unsupported(error: BaseException, feature: str) -> bool:
    """Whether ``error`` says the endpoint does not support ``feature``.

    ``feature`` is a structured-output mode, or ``"tool"`` for native tool calling. Only a
    client error (400, 404, 422...) that says something is not supported counts, and only
    when it names the feature (or, like OpenRouter's "No endpoints found that can handle
    the requested parameters", names none): a schema the provider finds invalid is the
    caller's to fix and is raised, not worked around. ``prompted`` sends nothing special
    and is never rejected.
    """
    pattern = _FEATURES.get(feature)
    if pattern is None or not isinstance(error, OpenRouterAPIError):
        return False
    if error.status_code not in _REJECTING_STATUSES:
        return False
    text = str(error)
    if isinstance(error.body, str):
        text += " " + error.body
    if not _UNSUPPORTED.search(text):
        return False
    if pattern.search(text):
        return True
    named = any(other.search(text) for other in _FEATURES.values())
    return not named and bool(_NO_ENDPOINT.search(text))


# -- lenient JSON ---------------------------------------------------------------------------------


def load_lenient(content: str) -> Any:
    """The JSON value in a model's reply: prose, Markdown fences and syntax slips tolerated.

    Valid JSON is returned as is; anything else goes through ``json_repair`` (which finds
    the JSON inside text and closes what was cut off). A reply without any JSON gives
    ``""``, which then fails validation like any other wrong value. JSON nested deeper
    than a parser should follow raises pydantic's ``ValidationError`` (``json_invalid``),
    so it is fed back to the model like any other invalid reply.
    """
    import json_repair

    text = content.strip()
    try:
        return _json.loads(text)
    except ValueError as exc:
        if "recursion" in str(exc):
            raise _too_deep(text) from None
    try:
        return json_repair.repair_json(text, return_objects=True)
    except RecursionError:
        raise _too_deep(text) from None


def _too_deep(text: str) -> ValidationError:
    return ValidationError.from_exception_data(
        "reply",
        [
            {
                "type": "json_invalid",
                "loc": (),
                "input": text[:100],
                "ctx": {"error": "the JSON is nested too deeply"},
            }
        ],
    )


# -- prompt text ----------------------------------------------------------------------------------

_MAX_DEPTH: Final = 6


def schema_outline(schema: Mapping[str, Any]) -> str:
    """A JSON-shaped outline of ``schema`` for a prompt: keys as they must appear, each
    value a ``<kind: description>`` placeholder (strings quoted, so the model quotes them).

    Small models copy a raw JSON schema back instead of filling it in; an outline they
    fill in, and capable models lose nothing the validation feedback would not give back.
    """
    defs: Mapping[str, Any] = schema.get("$defs") or schema.get("definitions") or {}

    def placeholder(kind: str, node: Mapping[str, Any], quoted: bool) -> str:
        description = str(node.get("description") or "").strip()
        text = f"<{kind}: {description}>" if description else f"<{kind}>"
        return json.dumps(text) if quoted else text

    def render(node: Any, depth: int, pad: str, seen: frozenset[str]) -> str:
        if not isinstance(node, Mapping):
            return "<any value>"
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            target = defs.get(name)
            if target is None or name in seen or depth > _MAX_DEPTH:
                return placeholder("object", node, quoted=False)
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return render(merged, depth, pad, seen | {name})
        if "const" in node:
            return json.dumps(node["const"])
        if "enum" in node:
            choices = ", ".join(json.dumps(value) for value in node["enum"])
            return placeholder(f"one of {choices}", node, quoted=False)
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list) and options:
                parts = [
                    "null"
                    if isinstance(o, Mapping) and o.get("type") == "null"
                    else render({"description": node.get("description"), **o}, depth, pad, seen)
                    if isinstance(o, Mapping)
                    else "<any value>"
                    for o in options
                ]
                return " or ".join(dict.fromkeys(parts))
        all_of = node.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged = {k: v for k, v in node.items() if k != "allOf"}
            for part in all_of:
                if isinstance(part, Mapping):
                    merged = {**part, **merged}
            return render(merged, depth, pad, seen)
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            rendered = render({**node, "type": kinds[0]}, depth, pad, seen) if kinds else "null"
            return f"{rendered} or null" if "null" in kind else rendered
        properties = node.get("properties")
        if kind == "object" or isinstance(properties, Mapping):
            if not properties or depth > _MAX_DEPTH:
                return placeholder("object", node, quoted=False)
            inner = pad + "  "
            lines = [
                f"{inner}{json.dumps(key)}: {render(sub, depth + 1, inner, seen)}"
                for key, sub in properties.items()
            ]
            return "{\n" + ",\n".join(lines) + f"\n{pad}}}"
        if kind == "array":
            item = render(node.get("items") or {}, depth + 1, pad, seen)
            return f"[{item}, ...]"
        if kind == "string":
            fmt = node.get("format")
            return placeholder(f"string ({fmt})" if fmt else "string", node, quoted=True)
        if kind in ("integer", "number", "boolean"):
            return placeholder(str(kind), node, quoted=False)
        if kind == "null":
            return "null"
        return placeholder("any value", node, quoted=False)

    return render(schema, 0, "", frozenset())


def schema_instruction(schema: Mapping[str, Any]) -> str:
    """The system-prompt text that asks for JSON of ``schema`` (json_object and prompted)."""
    return (
        "Reply with only a JSON object, no other text, shaped like this "
        "(replace each <...> with a value of that kind):\n" + schema_outline(schema)
    )


def with_instruction(messages: Sequence[Any], instruction: str) -> list[Any]:
    """``messages`` with ``instruction`` added to the system prompt (a copy).

    A leading system message with text content is extended; otherwise a system message is
    put first. One system message, at the start, is what every chat template accepts.
    """
    out = list(messages)
    if not instruction:
        return out
    first = out[0] if out else None
    if isinstance(first, ChatCompletionMessage):
        first = first.to_param()
    if isinstance(first, Mapping) and first.get("role") == "system":
        content = first.get("content")
        if isinstance(content, str):
            out[0] = {**first, "content": f"{content}\n\n{instruction}" if content else instruction}
            return out
    return [{"role": "system", "content": instruction}, *out]


def with_user_instruction(messages: Sequence[Any], instruction: str) -> list[Any]:
    """``messages`` with ``instruction`` appended to the last message when it is a user's
    text (a copy); otherwise as :func:`with_instruction` does."""
    out = list(messages)
    last = out[-1] if out else None
    if isinstance(last, ChatCompletionMessage):
        last = last.to_param()
    if (
        instruction
        and isinstance(last, Mapping)
        and last.get("role") == "user"
        and isinstance(last.get("content"), str)
    ):
        out[-1] = {**last, "content": f"{last['content']}\n\n{instruction}"}
        return out
    return with_instruction(out, instruction)


@dataclass(frozen=True, slots=True)
class SchemaOptions:
    """Client-wide aids for small models (all off by default).

    Attributes:
        describe: Put the schema's outline in the system prompt in every mode, not only
            the prompt-based ones. A llama.cpp or vLLM server enforces a ``json_schema``
            without showing it to the model, which then fills fields it knows nothing
            about; OpenRouter's providers mostly show it themselves.
        max_items: Cap, in the schema *sent*, for arrays without a smaller ``maxItems``.
        max_string_length: Cap, in the schema sent, for free-text strings (no enum,
            format or pattern) without a smaller ``maxLength``.

    The caps only narrow what constrained decoding lets a model write: a small model
    that repeats a list item or a phrase until ``max_tokens`` has to close the JSON
    instead. Replies are still validated against the caller's model as it is.
    """

    describe: bool = False
    max_items: int | None = None
    max_string_length: int | None = None

    @classmethod
    def create(cls, *, describe: Any, max_items: Any, max_string_length: Any) -> SchemaOptions:
        """Check the client arguments, naming the one that is wrong."""
        if not isinstance(describe, bool):
            raise ConfigurationError(f"describe_schema must be a bool, got {describe!r}")
        for name, value in (("max_items", max_items), ("max_string_length", max_string_length)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise ConfigurationError(f"{name} must be an int >= 1 or None, got {value!r}")
        return cls(describe, max_items, max_string_length)

    def cap(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with this instance's caps applied (a copy; itself without caps)."""
        if self.max_items is None and self.max_string_length is None:
            return schema

        def walk(node: Any) -> Any:
            if isinstance(node, list):
                return [walk(item) for item in node]
            if not isinstance(node, dict):
                return node
            out = {key: walk(value) for key, value in node.items()}
            kind = out.get("type")
            kinds = kind if isinstance(kind, list) else [kind]
            if self.max_items is not None and "array" in kinds:
                limit = max(self.max_items, int(out.get("minItems", 0)))
                out["maxItems"] = min(limit, int(out.get("maxItems", limit)))
            free_text = not any(k in out for k in ("enum", "const", "format", "pattern"))
            if self.max_string_length is not None and "string" in kinds and free_text:
                limit = max(self.max_string_length, int(out.get("minLength", 0)))
                out["maxLength"] = min(limit, int(out.get("maxLength", limit)))
            return out

        result: dict[str, Any] = walk(schema)
        return result


NO_OPTIONS: Final = SchemaOptions()


# -- one mode applied to one schema -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Strategy:
    """One structured-output mode applied to one schema: what to add to a request, and how
    to read the reply.

    Attributes:
        mode: The structured-output mode.
        format: The schema asked for.
        instruction: System-prompt text added in the prompt-based modes ("" adds none,
            for callers that describe the shape themselves).
    """

    mode: StructuredMode
    format: SchemaFormat
    instruction: str = ""

    @classmethod
    def create(
        cls,
        mode: StructuredMode,
        fmt: SchemaFormat,
        *,
        describe: bool = True,
        options: SchemaOptions = NO_OPTIONS,
    ) -> Strategy:
        """``fmt`` asked for in ``mode``. ``describe=False`` leaves the prompt alone (for
        callers that describe the shape themselves); ``options`` are the client's aids
        for small models (outline in every mode, caps in the schema sent)."""
        wanted = mode in ("json_object", "prompted") or options.describe
        instruction = schema_instruction(fmt.schema) if describe and wanted else ""
        capped = options.cap(fmt.schema)
        if capped is not fmt.schema:
            fmt = SchemaFormat(name=fmt.name, schema=capped, strict=fmt.strict)
        return cls(mode, fmt, instruction)

    @property
    def lenient(self) -> bool:
        """Whether replies are read leniently (extracted and repaired), not as exact JSON."""
        return self.mode != "json_schema"

    def tool_definition(self) -> dict[str, Any]:
        """The function whose arguments are the answer (``tool`` mode)."""
        function: dict[str, Any] = {
            "name": self.format.name,
            "description": "Give your final answer: call this with the answer as its arguments.",
            "parameters": self.format.schema,
        }
        if self.format.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def request_messages(self, messages: Sequence[Any]) -> list[Any]:
        """The conversation to send: the prompt-based modes add the schema's outline.

        ``json_object`` puts it in the system prompt. ``prompted`` appends it to the last
        user message: with nothing constraining the decoding, the instruction nearest the
        reply is the one followed (measured on SmolLM2-135M: 4 of 4 JSON replies that
        way, 0 of 4 from the system prompt).
        """
        if self.mode == "prompted":
            return with_user_instruction(messages, self.instruction)
        return with_instruction(messages, self.instruction)

    def request_params(self, params: Mapping[str, Any], *, force: bool = True) -> dict[str, Any]:
        """The request parameters for this mode (``params`` is not modified).

        In ``tool`` mode the answer function is added to any tools already offered; with
        ``force`` the model is made to call it (a tool client leaves the choice to the
        model, which may call its other tools first).
        """
        out = dict(params)
        if self.mode == "json_schema":
            out["response_format"] = self.format.payload()
        elif self.mode == "json_object":
            out["response_format"] = {"type": "json_object"}
        else:
            out.pop("response_format", None)
        if self.mode == "tool":
            out["tools"] = [*(out.get("tools") or ()), self.tool_definition()]
            if force:
                out["tool_choice"] = {"type": "function", "function": {"name": self.format.name}}
        return out

    def answer_call(self, completion: ChatCompletion) -> Any:
        """The reply's call of the answer function (``tool`` mode), or ``None``."""
        if self.mode != "tool" or not completion.choices:
            return None
        for call in completion.choices[0].message.tool_calls or ():
            if call.function.name == self.format.name:
                return call
        return None

    def ignored(self, completion: ChatCompletion) -> bool:
        """Whether the endpoint ignored the forced answer function (``tool`` mode): it
        answered without calling it, so it does not do (forced) tool calls."""
        return (
            self.mode == "tool"
            and bool(completion.choices)
            and not completion.choices[0].message.tool_calls
        )

    def translate(self, completion: C) -> C:
        """The reply with the answer as ``content``: in ``tool`` mode a call of the answer
        function becomes the message's text (its arguments), so every mode validates,
        re-asks and records the answer the same way. Other modes: unchanged."""
        call = self.answer_call(completion)
        if call is None:
            return completion
        choice = completion.choices[0]
        message = choice.message.model_copy(
            update={"content": call.function.arguments, "tool_calls": None}
        )
        choices = [choice.model_copy(update={"message": message, "finish_reason": "stop"})]
        return completion.model_copy(update={"choices": choices + completion.choices[1:]})

    def validate(self, model: type[BaseModel], content: str) -> BaseModel:
        """Validate a reply's text into ``model``; raises pydantic's ``ValidationError``."""
        if not self.lenient:
            return model.model_validate_json(extract_json(content))
        value = load_lenient(content)
        # Through JSON again, so every mode validates with the same (JSON-mode) rules.
        try:
            encoded = pydantic_core.to_json(value)
        except (ValueError, RecursionError):  # repaired into something nested too deeply
            raise _too_deep(content) from None
        return model.model_validate_json(encoded)


# -- checking replies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reask:
    """A rejected structured reply: send :attr:`messages` and ask again."""

    messages: list[dict[str, Any]]


class StructuredReplies:
    """Checks the replies of one ``parse`` call against its response format.

    Shared by every client's ``parse``: :meth:`check` validates a reply, answers a
    :class:`Reask` while attempts remain, and raises :class:`StructuredOutputError` (with
    the raw output) on a refusal, an empty reply, or the last invalid one. With a
    :class:`~mbxai._structured.Strategy` the reply is read the way its mode needs (the
    prompt-based modes extract and repair the JSON).
    """

    __slots__ = ("attempt", "attempts", "format", "options", "response_format")

    def __init__(
        self, response_format: type[Any], parse_retries: int, options: SchemaOptions | None = None
    ) -> None:
        self.format = response_format_for(response_format)
        self.response_format = response_format
        self.attempts = parse_retries + 1
        self.attempt = 0
        self.options = options

    def strategy(self, mode: StructuredMode) -> Strategy:
        """This response format asked for in ``mode`` (with the client's schema options)."""
        return Strategy.create(mode, self.format, options=self.options or NO_OPTIONS)

    def check(
        self, completion: ChatCompletion, strategy: Strategy | None = None
    ) -> BaseModel | Reask:
        """The validated object of ``completion``'s first choice, or a :class:`Reask`."""
        self.attempt += 1
        if not completion.choices:
            raise StructuredOutputError(
                "the endpoint returned no choices",
                raw_output=None,
                response_format=self.response_format,
            )
        message = completion.choices[0].message
        if message.refusal:
            raise StructuredOutputError(
                f"the model refused: {message.refusal}",
                raw_output=message.refusal,
                response_format=self.response_format,
                attempts=self.attempt,
            )
        raw = message.content
        try:
            if strategy is None:
                return self.format.validate(raw or "")
            return strategy.validate(self.format.model, raw or "")
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if is_debug():
                get_logger().debug("parse.invalid", attempt=self.attempt, errors=len(errors))
            if self.attempt < self.attempts:
                return Reask(reask_messages(raw, exc))
            mode = f" ({strategy.mode} mode)" if strategy is not None else ""
            raise StructuredOutputError(
                f"the model's reply did not validate as {self.response_format.__name__} "
                f"after {self.attempts} attempt(s){mode}",
                raw_output=raw,
                errors=errors,
                response_format=self.response_format,
                attempts=self.attempts,
            ) from None
