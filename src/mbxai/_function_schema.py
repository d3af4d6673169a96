"""Tools from Python functions: the JSON schema and the argument validator of each.

:func:`build_tool` checks a registration and builds a :class:`Tool` once: its schema
from the function's signature and docstring (Google, NumPy, Sphinx or Epydoc style, read
with docstring-parser) through a Pydantic model, or the schema the user gave (checked,
and the arguments validated, with jsonschema); strict mode when asked. Used by the tool
client, the MCP client (a server's tools come with their schemas) and ``MCPServer``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema

from . import _json
from ._errors import ConfigurationError
from ._schema import strict_schema, validation_feedback

if TYPE_CHECKING:
    import docstring_parser

__all__ = ["Tool", "build_tool", "check_requires_approval", "check_timeout"]

_NAME: Final = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


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
    required_injected: frozenset[str] = field(default=frozenset(), repr=False)
    #: Seconds a call may take before the model is told it timed out (None: no limit).
    timeout: float | None = None
    #: Whether a call runs only once a human approved it: ``True``, ``False``, or a
    #: function of the call's arguments deciding per call.
    requires_approval: bool | Callable[[dict[str, Any]], bool] = False

    def __repr__(self) -> str:
        extra = f", injected={self.injected!r}" if self.injected else ""
        if self.requires_approval is not False:
            extra += ", requires_approval=True"
        return f"Tool(name={self.name!r}, strict={self.strict}{extra})"

    def needs_approval(self, arguments: dict[str, Any]) -> bool:
        """Whether this call (the model's ``arguments``) must wait for a human's approval.

        A deciding function that raises counts as "yes": when in doubt, ask.
        """
        rule = self.requires_approval
        if isinstance(rule, bool):
            return rule
        try:
            return bool(rule(dict(arguments)))
        except Exception:
            return True

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
    requires_approval: bool | Callable[[dict[str, Any]], bool] = False,
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
        required_injected=required_context,
        timeout=check_timeout(name, timeout),
        requires_approval=check_requires_approval(name, requires_approval),
    )


def check_requires_approval(name: str, value: Any) -> bool | Callable[[dict[str, Any]], bool]:
    """A tool's ``requires_approval``: a real bool or a function of the arguments."""
    if isinstance(value, bool) or callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigurationError(
        f"tool {name!r}: requires_approval must be True, False or a function of the call's "
        f"arguments returning a bool, got {value!r} ({type(value).__name__})"
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
    import docstring_parser  # here: only a tool's schema needs it, built on first use

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
        given = instance.model_fields_set
        # in the signature's order (a set's order would differ between runs)
        return {names[key]: getattr(instance, key) for key in names if key in given}

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
    import jsonschema.validators

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
