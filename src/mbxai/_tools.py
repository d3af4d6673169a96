"""The flavour-free half of the tool client: tools, their schemas, and the tool-call loop.

A :class:`Tool` is built once, at registration: its JSON schema (from the function's
signature and docstring, through a Pydantic model, or the schema the user gave) and its
argument validator. :class:`ToolLoop` holds one conversation's state (transcript, rounds,
usage) and turns the model's tool calls into ready-to-run calls or into error results for
the model. Only running the functions and talking to the endpoint differ between the
async client and its generated sync twin, so only that lives in ``mbxai._async.tools``.

Injected parameters (``injected=``) are filled from the per-call ``tool_context``
mapping and never shown to the model: they are left out of the schema, and their string
values are masked in everything sent back to the model (results and error messages).
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema

from . import _json
from ._errors import ConfigurationError, ToolLoopLimitError
from ._masking import Masker
from ._schema import strict_schema, validation_feedback
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    FunctionCall,
    ToolCall,
    Usage,
)

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "MAX_CALLS_PER_ROUND",
    "DeferredContext",
    "DeltaAccumulator",
    "PreparedCall",
    "Tool",
    "ToolLoop",
    "ToolRegistry",
    "build_tool",
    "check_max_result_chars",
    "check_max_rounds",
    "clip_result",
    "format_result",
]

_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: Longest tool result (in characters) sent to the model unless the client says otherwise.
DEFAULT_MAX_RESULT_CHARS: Final = 50_000
#: Calls of one reply that run; the model is told the others were not run.
MAX_CALLS_PER_ROUND: Final = 64


class _ArgumentError(Exception):
    """The model's arguments were rejected; the message is written for the model."""


class _ToolJsonSchema(GenerateJsonSchema):
    """Pydantic's schema generator without per-field titles (noise in a tool schema)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


# -- tools --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Tool:
    """A function the model may call, with its schema and validator built once.

    Attributes:
        name: The name the model calls it by.
        description: What it does, for the model.
        function: The Python callable (sync or async).
        parameters: The JSON schema of the arguments, as sent to the model.
        strict: Whether the schema is sent for OpenAI strict mode.
        injected: Parameters filled from ``tool_context``, hidden from the model.
        definition: The entry sent in the request's ``tools`` list.
    """

    name: str
    description: str
    function: Callable[..., Any]
    parameters: dict[str, Any]
    strict: bool
    injected: tuple[str, ...]
    definition: dict[str, Any]
    _check: Callable[[str], dict[str, Any]] = field(repr=False)
    #: Injected parameters without a default: the call cannot run without them.
    _required_injected: frozenset[str] = field(default=frozenset(), repr=False)
    #: Seconds a call may take before the model is told it timed out (None: no limit).
    timeout: float | None = None

    def __repr__(self) -> str:
        extra = f", injected={self.injected!r}" if self.injected else ""
        return f"Tool(name={self.name!r}, strict={self.strict}{extra})"

    def validate_arguments(self, arguments: str) -> dict[str, Any]:
        """Validate the model's JSON arguments into keyword arguments for :attr:`function`.

        Injected parameters are not included. Raises :class:`ValueError` with a
        model-readable message when the arguments are rejected.
        """
        try:
            return self._check(arguments)
        except _ArgumentError as exc:
            raise ValueError(str(exc)) from None


def build_tool(
    name: str,
    description: str | None,
    function: Callable[..., Any],
    schema: Mapping[str, Any] | None = None,
    *,
    strict: bool = False,
    injected: Iterable[str] | str = (),
    timeout: float | None = None,
) -> Tool:
    """Build a :class:`Tool`: check the registration, then make its schema and validator.

    Raises :class:`ConfigurationError` naming the problem when the registration is bad.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"tool name {name!r} is invalid: use 1-64 letters, digits, '_' or '-' "
            "(OpenAI's ^[a-zA-Z0-9_-]{1,64}$)"
        )
    if not callable(function):
        raise ConfigurationError(
            f"tool {name!r}: function must be callable, got {type(function).__name__}"
        )
    if description is not None and not isinstance(description, str):
        raise ConfigurationError(
            f"tool {name!r}: description must be a string, got {type(description).__name__}"
        )
    hidden = _context_names(name, injected)
    signature = _signature(function)
    params = signature.parameters if signature is not None else {}
    takes_any_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for param in hidden:
        known = param in params and params[param].kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.POSITIONAL_ONLY,
        )
        if not known and not takes_any_keyword:
            raise ConfigurationError(
                f"tool {name!r}: injected parameter {param!r} is not a keyword parameter "
                "of the function"
            )
    required_context = frozenset(
        p for p in hidden if p not in params or params[p].default is inspect.Parameter.empty
    )
    docstring = _parse_docstring(inspect.getdoc(_target(function)) or "")
    text = description or (docstring.description or "").strip()

    if schema is not None:
        parameters, definition, check = _from_user_schema(name, text, schema, strict, hidden)
    else:
        if signature is None:
            raise ConfigurationError(
                f"tool {name!r}: cannot read the function's signature; pass schema="
            )
        parameters, check = _from_signature(name, function, signature, docstring, hidden)
        if strict:
            parameters = _make_strict(name, parameters)
        definition = _definition(name, text, parameters, strict)
    return Tool(
        name=name,
        description=text,
        function=function,
        parameters=parameters,
        strict=bool(definition["function"].get("strict")),
        injected=hidden,
        definition=definition,
        _check=check,
        _required_injected=required_context,
        timeout=check_timeout(name, timeout),
    )


def check_timeout(name: str, timeout: float | None) -> float | None:
    """A tool call's time limit, checked (``None`` means no limit)."""
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
    ):
        raise ConfigurationError(
            f"tool {name!r}: timeout must be seconds > 0 or None, got {timeout!r}"
        )
    return None if timeout is None else float(timeout)


def _context_names(name: str, injected: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(injected, str):
        injected = (injected,)
    names = tuple(dict.fromkeys(injected))
    for param in names:
        if not isinstance(param, str) or not param.isidentifier():
            raise ConfigurationError(
                f"tool {name!r}: injected parameter names must be identifiers, got {param!r}"
            )
    return names


def _target(function: Callable[..., Any]) -> Any:
    """What holds the annotations and the docstring of ``function``."""
    while isinstance(function, functools.partial):
        function = function.func
    if inspect.isfunction(function) or inspect.ismethod(function):
        return function
    if isinstance(function, type):
        return function
    # A callable instance: its class's __call__ holds the annotations.
    return getattr(type(function), "__call__", function)  # noqa: B004


def _parse_docstring(text: str) -> docstring_parser.Docstring:
    """The docstring in whichever style fits best (Google, NumPy, Sphinx, Epydoc)."""
    try:
        return docstring_parser.parse(text)
    except docstring_parser.ParseError:  # malformed sections: keep the prose, skip the rest
        fallback = docstring_parser.Docstring()
        fallback.short_description = text.strip() or None
        return fallback


def _signature(function: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):  # some builtins have none
        return None


def _definition(
    name: str, description: str, parameters: dict[str, Any], strict: bool
) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if description:
        function["description"] = description
    function["parameters"] = parameters
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def _from_signature(
    name: str,
    function: Callable[..., Any],
    signature: inspect.Signature,
    docstring: docstring_parser.Docstring,
    hidden: tuple[str, ...],
) -> tuple[dict[str, Any], Callable[[str], dict[str, Any]]]:
    try:
        hints = _parameter_hints(_target(function))
    except Exception as exc:
        raise ConfigurationError(
            f"tool {name!r}: cannot resolve the function's type annotations ({exc}); "
            "define the types at module level or pass schema="
        ) from exc
    described = {p.arg_name: (p.description or "").strip() for p in docstring.params}
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}  # pydantic field name -> function parameter name
    for index, param in enumerate(signature.parameters.values()):
        if param.kind is param.VAR_POSITIONAL:
            raise ConfigurationError(
                f"tool {name!r}: *{param.name} cannot be described to the model; "
                "use named parameters or pass schema="
            )
        if param.kind is param.VAR_KEYWORD or param.name in hidden:
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"tool {name!r}: positional-only parameter {param.name!r} cannot be passed "
                "by name; make it a normal parameter or wrap the function"
            )
        annotation = hints.get(param.name, Any)
        if param.name not in hints and not isinstance(param.annotation, str):
            annotation = Any if param.annotation is param.empty else param.annotation
        info: dict[str, Any] = {"alias": param.name}
        if param.default is not param.empty:
            info["default"] = param.default
        doc = described.get(param.name)
        if doc and not _has_description(annotation):
            info["description"] = doc
        # Fields get neutral names and the parameter name as alias, so parameters called
        # "json", "schema" or "_private" do not clash with BaseModel's attributes.
        field_name = f"p{index}"
        fields[field_name] = (annotation, Field(**info))
        names[field_name] = param.name
    try:
        model: type[BaseModel] = create_model(
            f"{name}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )
        parameters = model.model_json_schema(schema_generator=_ToolJsonSchema)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"tool {name!r}: cannot build a JSON schema from the signature ({exc}); "
            "annotate the parameters with JSON-compatible types, hide them with "
            "injected=, or pass schema="
        ) from exc
    parameters.pop("title", None)
    parameters.setdefault("properties", {})

    def check(arguments: str) -> dict[str, Any]:
        try:
            instance = model.model_validate_json(arguments.strip() or "{}")
        except ValidationError as exc:
            raise _argument_error(exc) from None
        # Only what the model sent: the function applies its own defaults.
        return {names[key]: getattr(instance, key) for key in instance.model_fields_set}

    return parameters, check


def _parameter_hints(target: Any) -> dict[str, Any]:
    """The evaluated annotations of ``target``'s parameters."""
    try:
        return typing.get_type_hints(target, include_extras=True)
    except NameError:
        # Only parameters matter: a return annotation naming a local class (a string under
        # `from __future__ import annotations`) must not prevent registration.
        annotations = getattr(target, "__annotations__", None) or {}
        shim = types.SimpleNamespace(
            __annotations__={k: v for k, v in annotations.items() if k != "return"}
        )
        globalns = getattr(inspect.unwrap(target), "__globals__", None)
        return typing.get_type_hints(shim, globalns, include_extras=True)


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not typing.Annotated:
        return False
    return any(
        isinstance(meta, FieldInfo) and meta.description for meta in typing.get_args(annotation)
    )


def _argument_error(exc: ValidationError) -> _ArgumentError:
    errors = exc.errors(include_url=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return _ArgumentError(f"the arguments are not valid JSON ({errors[0]['msg']})")
    return _ArgumentError("invalid arguments:\n" + validation_feedback(exc))


def _make_strict(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    strict, ok = strict_schema(parameters)
    if ok and not _untyped(strict):
        return strict
    defs = parameters.get("$defs") or {}
    culprits = []
    for prop, sub in parameters.get("properties", {}).items():
        alone = {"type": "object", "properties": {prop: sub}, "$defs": _reachable(sub, defs)}
        if not strict_schema(alone)[1] or _untyped(alone):
            culprits.append(prop)
    where = f" (parameters: {', '.join(culprits)})" if culprits else ""
    raise ConfigurationError(
        f"tool {name!r} cannot use strict mode{where}: strict mode cannot express free-form "
        "objects (dict[...] or untyped values); use a Pydantic model for them, or register "
        "with strict=False"
    )


def _reachable(node: Any, defs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``$defs`` entries ``node`` refers to, directly or through other entries."""
    found: dict[str, Any] = {}
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                key = ref.removeprefix("#/$defs/")
                if key in defs and key not in found:
                    found[key] = defs[key]
                    stack.append(defs[key])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _untyped(schema: Any) -> bool:
    """Whether some property or item schema says nothing about its type (``{}``)."""
    if not isinstance(schema, dict):
        return False
    kinds = ("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const")
    for key in ("properties", "$defs"):
        for sub in (schema.get(key) or {}).values():
            if isinstance(sub, dict) and not any(k in sub for k in kinds):
                return True
            if _untyped(sub):
                return True
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict) and (not any(k in sub for k in kinds) or _untyped(sub)):
            return True
    return any(
        _untyped(sub)
        for key in ("anyOf", "oneOf", "allOf")
        for sub in schema.get(key) or ()
        if isinstance(sub, dict)
    )


def _from_user_schema(
    name: str,
    description: str,
    schema: Mapping[str, Any],
    strict: bool,
    hidden: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, Any], Callable[[str], dict[str, Any]]]:
    import jsonschema

    if not isinstance(schema, Mapping):
        raise ConfigurationError(
            f"tool {name!r}: schema must be a JSON schema dict, got {type(schema).__name__}"
        )
    given: dict[str, Any] = copy.deepcopy(dict(schema))  # later changes by the caller: no effect
    if given.get("type") == "function" and isinstance(given.get("function"), Mapping):
        # The full OpenAI form: sent exactly as given.
        definition = given
        function = dict(given["function"])
        if function.get("name") != name:
            raise ConfigurationError(
                f"tool {name!r}: the schema's function name {function.get('name')!r} "
                "differs from the registered name"
            )
        parameters = dict(function.get("parameters") or {"type": "object", "properties": {}})
    else:
        parameters = given
        definition = _definition(name, description, parameters, strict)
    try:
        validator_class = jsonschema.validators.validator_for(
            parameters, default=jsonschema.Draft202012Validator
        )
        validator_class.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(
            f"tool {name!r}: schema is not a valid JSON schema: {exc.message}"
        ) from exc
    shown = set(parameters.get("properties") or ())
    for param in hidden:
        if param in shown:
            raise ConfigurationError(
                f"tool {name!r}: injected parameter {param!r} must not be in the schema "
                "shown to the model"
            )
    validator = validator_class(parameters)

    def check(arguments: str) -> dict[str, Any]:
        try:
            data = _json.loads(arguments.strip() or "{}")
        except ValueError as exc:
            raise _ArgumentError(f"the arguments are not valid JSON ({exc})") from None
        try:
            errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
        except RecursionError:
            raise _ArgumentError("the arguments are nested too deeply") from None
        if errors:
            lines = [
                f"- {'.'.join(str(p) for p in error.path) or '(root)'}: {error.message}"
                for error in errors[:10]
            ]
            raise _ArgumentError("invalid arguments:\n" + "\n".join(lines))
        if not isinstance(data, dict):
            raise _ArgumentError("the arguments must be a JSON object")
        return data

    return parameters, definition, check


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
        for param in tool._required_injected:
            if param not in self._context:
                return PreparedCall(
                    call,
                    tool,
                    error=f"Error: tool {name!r} cannot run: credential {param!r} not provided.",
                )
        try:
            kwargs = tool._check(call.function.arguments or "")
        except _ArgumentError as exc:
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

    def result(self, value: Any) -> str:
        """A successful call's return value as message content: context values masked
        (in the value itself, then in the text), clipped to ``max_result_chars``.

        Raises ``ValueError`` for a value JSON cannot hold.
        """
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
        """Append one ``tool`` message per call, in the order of the calls."""
        for call, content in zip(calls, contents, strict=True):
            self.transcript.append({"role": "tool", "tool_call_id": call.id, "content": content})

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


def check_max_rounds(value: Any) -> int:
    """``value`` if it is a valid ``max_tool_rounds``, else :class:`ConfigurationError`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigurationError(f"max_tool_rounds must be an integer >= 0, got {value!r}")
    return value


def _copy_message(message: Any) -> Any:
    if isinstance(message, BaseModel):
        to_param = getattr(message, "to_param", None)
        return to_param() if to_param else message.model_dump(exclude_none=True)
    if isinstance(message, Mapping):
        return dict(message)
    return message  # build_chat_body reports what is wrong with it


# -- streaming --------------------------------------------------------------------------------


class DeltaAccumulator:
    """Rebuilds the assistant message of a streamed round from its chunks."""

    __slots__ = ("_calls", "_content", "_reasoning", "_refusal")

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
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
            refusal="".join(self._refusal) or None,
            tool_calls=calls or None,
        )
