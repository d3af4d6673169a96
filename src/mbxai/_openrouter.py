"""OpenRouter's own API, typed: routing, fallbacks, reasoning, plugins, prompt caching,
usage accounting, generation stats and the model list.

The request options are Pydantic models (plain dicts are accepted and checked the same
way); :func:`request_options` merges a client's defaults with a call's options into the
body fields, checked before anything is sent (``ConfigurationError`` naming the field).
OpenRouter-only fields go to OpenRouter, or wherever the caller asks for them:
a client's defaults and usage accounting apply only when the endpoint is OpenRouter, a
call's own options are sent as given.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._errors import ConfigurationError

__all__ = [
    "MODE_PARAMETERS",
    "OPTION_NAMES",
    "CacheControl",
    "FileParserPlugin",
    "GenerationReply",
    "GenerationStats",
    "MaxPrice",
    "ModelInfo",
    "ModelList",
    "Plugin",
    "ProviderPreferences",
    "Reasoning",
    "ResponseHealingPlugin",
    "WebPlugin",
    "apply_cache",
    "check_cache",
    "check_defaults",
    "needs_breakpoints",
    "request_options",
    "require_parameters",
    "split_options",
]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use

    def body(self) -> dict[str, Any]:
        """The request body's JSON for these options (unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class MaxPrice(_Options):
    """The most to pay, in USD per million tokens (``prompt``, ``completion``), per
    request, or per image; providers above it are not used."""

    prompt: float | None = None
    completion: float | None = None
    request: float | None = None
    image: float | None = None


class ProviderPreferences(_Options):
    """Which providers OpenRouter routes a request to, and how
    (https://openrouter.ai/docs/features/provider-routing).

    Attributes:
        order: Provider slugs to try first, in this order.
        only: Use only these providers.
        ignore: Never use these providers.
        allow_fallbacks: Let OpenRouter use other providers when these fail (default).
        require_parameters: Only providers that support every parameter of the request.
        data_collection: ``"deny"``: only providers that do not store or train on data.
        zdr: Only zero-data-retention endpoints.
        sort: Prefer the cheapest (``"price"``), fastest (``"throughput"``) or quickest to
            answer (``"latency"``) provider instead of load balancing.
        max_price: The most to pay (:class:`MaxPrice`).
        quantizations: Only these quantizations (``"fp8"``, ``"int4"``...).
    """

    order: list[str] | None = None
    only: list[str] | None = None
    ignore: list[str] | None = None
    allow_fallbacks: bool | None = None
    require_parameters: bool | None = None
    data_collection: Literal["allow", "deny"] | None = None
    zdr: bool | None = None
    sort: Literal["price", "throughput", "latency"] | None = None
    max_price: MaxPrice | None = None
    quantizations: (
        list[Literal["int4", "int8", "fp4", "fp6", "fp8", "fp16", "bf16", "fp32", "unknown"]] | None
    ) = None


class Reasoning(_Options):
    """How much a reasoning model thinks (https://openrouter.ai/docs/use-cases/reasoning-tokens).

    Give ``effort`` (OpenAI-style) or ``max_tokens`` (Anthropic-style), not both;
    ``exclude`` leaves the reasoning text out of the response (it is still done, and
    billed); ``enabled`` turns reasoning on with the model's defaults, or off.
    """

    effort: Literal["xhigh", "high", "medium", "low", "minimal", "none"] | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    exclude: bool | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _one_budget(self) -> Reasoning:
        if self.effort is not None and self.max_tokens is not None:
            raise ValueError("give effort or max_tokens, not both")
        return self


class WebPlugin(_Options):
    """Web search results added to the prompt (plugin ``web``)."""

    id: Literal["web"] = "web"
    max_results: int | None = Field(default=None, gt=0)
    search_prompt: str | None = None
    engine: Literal["native", "exa"] | None = None
    enabled: bool | None = None


class _PdfOptions(_Options):
    engine: str | None = None


class FileParserPlugin(_Options):
    """PDF inputs parsed into text for models that cannot read them (plugin
    ``file-parser``; ``pdf={"engine": "mistral-ocr"}`` picks the parser)."""

    id: Literal["file-parser"] = "file-parser"
    pdf: _PdfOptions | None = None
    enabled: bool | None = None


class ResponseHealingPlugin(_Options):
    """Malformed JSON replies repaired by OpenRouter (plugin ``response-healing``)."""

    id: Literal["response-healing"] = "response-healing"
    enabled: bool | None = None


Plugin: TypeAlias = WebPlugin | FileParserPlugin | ResponseHealingPlugin
_PLUGINS: Final[Mapping[str, type[_Options]]] = {
    "web": WebPlugin,
    "file-parser": FileParserPlugin,
    "response-healing": ResponseHealingPlugin,
}


class CacheControl(_Options):
    """Prompt caching breakpoints (``cache=``): where providers that need them (Anthropic,
    Gemini) cache the prompt's prefix. ``ttl``: ``"5m"`` (default) or ``"1h"``."""

    ttl: Literal["5m", "1h"] | None = None

    def marker(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "ephemeral"}
        if self.ttl is not None:
            out["ttl"] = self.ttl
        return out


#: The keyword arguments ``create``/``parse`` take for OpenRouter's options.
OPTION_NAMES: Final = (
    "provider",
    "models",
    "reasoning",
    "transforms",
    "plugins",
    "preset",
    "user",
    "session_id",
)


def _model(name: str, value: Any, cls: type[_Options]) -> _Options:
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{name} must be a {cls.__name__} (or a dict of its fields), got {type(value).__name__}"
        )
    try:
        return cls.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        at = f"{name}.{where}" if where else name
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(f"{at}: {message}") from None


def _strings(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigurationError(f"{name} must be a list of strings, got {type(value).__name__}")
    items = list(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(f"{name} must hold non-empty strings, got {item!r}")
    return items


def _plugins(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"plugins must be a list of plugins (WebPlugin(), FileParserPlugin(), ...), "
            f"got {type(value).__name__}"
        )
    out = []
    for index, plugin in enumerate(value):
        if isinstance(plugin, _Options):
            out.append(plugin.body())
            continue
        kind = plugin.get("id") if isinstance(plugin, Mapping) else None
        cls = _PLUGINS.get(str(kind)) if kind is not None else None
        if cls is None:
            raise ConfigurationError(
                f"plugins[{index}] must be a plugin with an id among {sorted(_PLUGINS)}, "
                f"got {plugin!r:.80}"
            )
        out.append(_model(f"plugins[{index}]", plugin, cls).body())
    return out


def _checked(name: str, value: Any) -> Any:
    """One option as the JSON the request body takes, checked."""
    if name == "provider":
        return _model("provider", value, ProviderPreferences).body()
    if name == "reasoning":
        return _model("reasoning", value, Reasoning).body()
    if name in ("models", "transforms"):
        return _strings(name, value)
    if name == "plugins":
        return _plugins(value)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    return value


def split_options(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params`` divided into OpenRouter's options (:data:`OPTION_NAMES` and ``cache``)
    and the rest, which goes into the body as given."""
    options: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in params.items():
        (options if key in OPTION_NAMES or key == "cache" else rest)[key] = value
    return options, rest


def request_options(defaults: Mapping[str, Any], call: Mapping[str, Any]) -> dict[str, Any]:
    """The body fields for OpenRouter's options: a client's ``defaults`` (already checked)
    overridden by this ``call``'s, each checked. ``provider`` preferences merge field by
    field (a call's ``provider=ProviderPreferences(sort="price")`` keeps the client's
    ``order``); any other option replaces the client's."""
    out = dict(defaults)
    for name in OPTION_NAMES:
        value = call.get(name)
        if value is None:
            continue
        checked = _checked(name, value)
        if name == "provider" and isinstance(out.get("provider"), dict):
            checked = {**out["provider"], **checked}
        out[name] = checked
    return out


def require_parameters(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` routing only to providers that support every parameter of the request
    (what structured output needs), unless the caller decided that already."""
    provider = dict(options.get("provider") or {})
    if provider.get("require_parameters") is not None:
        return options
    provider["require_parameters"] = True
    return {**options, "provider": provider}


def check_defaults(options: Mapping[str, Any]) -> dict[str, Any]:
    """A client's default options, checked once (as body JSON)."""
    return {name: _checked(name, value) for name, value in options.items() if value is not None}


def check_cache(value: Any) -> CacheControl | None:
    """``cache=``: ``True`` (5-minute breakpoints), ``False``/``None`` or a CacheControl."""
    if value is None or value is False:
        return None
    if value is True:
        return CacheControl()
    return _model("cache", value, CacheControl)  # type: ignore[return-value]


def needs_breakpoints(slugs: Sequence[str]) -> bool:
    """Whether any of ``slugs`` (a model and its fallbacks) is served by providers that
    cache only where the request marks it (Anthropic's Claude and Google's Gemini; OpenAI,
    DeepSeek, Grok and others cache by themselves and ignore the markers)."""
    return any(slug.startswith(("anthropic/", "google/gemini")) for slug in slugs)


def _mark(message: dict[str, Any], marker: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str) and content:
        parts: list[Any] = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content:
        parts = copy.deepcopy(content)
    else:
        return message
    for part in reversed(parts):
        if isinstance(part, dict) and part.get("type") == "text":
            part["cache_control"] = marker
            break
    else:
        return message
    return {**message, "content": parts}


def _has_marker(messages: Sequence[Any]) -> bool:
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(part, dict) and "cache_control" in part for part in content
        ):
            return True
    return False


def apply_cache(messages: list[dict[str, Any]], cache: CacheControl) -> list[dict[str, Any]]:
    """``messages`` with cache breakpoints (copies where marked): at the end of the
    leading system messages, so the tool definitions and system prompt every call of a
    conversation or agent repeats are cached; at the last user message, so the next turn
    reads the conversation so far from the cache; and at the user message before it (an
    agent's request, shared by its steps, whose last message is the step's own). Three
    in all, within the four providers allow. Messages that already carry
    ``cache_control`` markers are the caller's own placement, left as they are (providers
    allow only four breakpoints)."""
    if _has_marker(messages):
        return messages
    marker = cache.marker()
    out = list(messages)
    system = 0
    while system < len(out) and out[system].get("role") in ("system", "developer"):
        system += 1
    if system:
        out[system - 1] = _mark(out[system - 1], marker)
    users = [i for i in range(system, len(out)) if out[i].get("role") == "user"][-2:]
    for index in users:
        out[index] = _mark(out[index], marker)
    return out


# -- what OpenRouter reports --------------------------------------------------------------


class GenerationStats(BaseModel):
    """OpenRouter's record of one generation (``client.generation(id)``): what it cost,
    who served it, how long it took. Unknown fields are kept."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str
    model: str | None = None
    provider_name: str | None = None
    total_cost: float | None = None
    upstream_inference_cost: float | None = None
    cache_discount: float | None = None
    tokens_prompt: int | None = None
    tokens_completion: int | None = None
    native_tokens_prompt: int | None = None
    native_tokens_completion: int | None = None
    native_tokens_reasoning: int | None = None
    native_tokens_cached: int | None = None
    latency: float | None = None
    generation_time: float | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    streamed: bool | None = None
    cancelled: bool | None = None
    created_at: str | None = None


class ModelInfo(BaseModel):
    """One model of OpenRouter's ``/models`` list: context length, pricing (USD per token,
    as strings, as OpenRouter sends them) and the request parameters it supports."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str
    name: str | None = None
    context_length: int | None = None
    pricing: dict[str, Any] = Field(default_factory=dict)
    supported_parameters: list[str] = Field(default_factory=list)
    architecture: dict[str, Any] = Field(default_factory=dict)
    top_provider: dict[str, Any] = Field(default_factory=dict)

    def supports(self, parameter: str) -> bool:
        """Whether the model takes ``parameter`` (``"tools"``, ``"response_format"``...)."""
        return parameter in self.supported_parameters


class GenerationReply(BaseModel):
    """The body of ``GET /generation``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    data: GenerationStats


class ModelList(BaseModel):
    """The body of ``GET /models``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    data: list[ModelInfo]


#: The modes :meth:`parse` can use on a model, by the parameters the model supports:
#: a mode is usable when the model lists any of its parameters.
MODE_PARAMETERS: Final[Mapping[str, tuple[str, ...]]] = {
    "json_schema": ("structured_outputs",),
    "tool": ("tools",),
    "json_object": ("response_format", "structured_outputs"),
}
