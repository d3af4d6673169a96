"""The model registry: friendly names resolved to provider slugs.

One process-wide table shared by the async and sync clients, so a model registered
through either is visible to both.
"""

from __future__ import annotations

import re
import threading
from enum import StrEnum

from ._errors import ConfigurationError

__all__ = [
    "DEFAULT_MODEL",
    "OpenRouterModel",
    "list_models",
    "register_model",
    "resolve_model",
]


class OpenRouterModel(StrEnum):
    """Well-known OpenRouter models. Any other slug can be passed as a plain string."""

    GPT_4O = "openai/gpt-4o"
    GPT_4O_MINI = "openai/gpt-4o-mini"
    GPT_41 = "openai/gpt-4.1"
    GPT_41_MINI = "openai/gpt-4.1-mini"
    GPT_41_NANO = "openai/gpt-4.1-nano"
    GPT_5 = "openai/gpt-5"
    GPT_5_MINI = "openai/gpt-5-mini"
    GPT_5_NANO = "openai/gpt-5-nano"
    O3 = "openai/o3"
    O4_MINI = "openai/o4-mini"
    GPT_OSS_120B = "openai/gpt-oss-120b"
    CLAUDE_SONNET_4 = "anthropic/claude-sonnet-4"
    CLAUDE_SONNET_45 = "anthropic/claude-sonnet-4.5"
    CLAUDE_OPUS_41 = "anthropic/claude-opus-4.1"
    CLAUDE_HAIKU_45 = "anthropic/claude-haiku-4.5"
    GEMINI_25_PRO = "google/gemini-2.5-pro"
    GEMINI_25_FLASH = "google/gemini-2.5-flash"
    LLAMA_4_MAVERICK = "meta-llama/llama-4-maverick"
    LLAMA_33_70B = "meta-llama/llama-3.3-70b-instruct"
    MISTRAL_MEDIUM_3 = "mistralai/mistral-medium-3"
    DEEPSEEK_V31 = "deepseek/deepseek-chat-v3.1"
    DEEPSEEK_R1 = "deepseek/deepseek-r1"
    QWEN3_235B = "qwen/qwen3-235b-a22b"
    GROK_4 = "x-ai/grok-4"

    def __str__(self) -> str:
        return self.value


DEFAULT_MODEL = OpenRouterModel.GPT_4O_MINI.value

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_lock = threading.Lock()
_custom: dict[str, str] = {}


def register_model(name: str, slug: str) -> None:
    """Register ``name`` as an alias of ``slug`` (e.g. ``"CUSTOM_MODEL"`` -> ``"provider/model"``).

    Re-registering a name replaces its slug. Names of the built-in enum cannot be
    redefined, so ``"GPT_4O"`` always means the same model.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigurationError(
            f"model name must be an identifier-like string such as 'CUSTOM_MODEL', got {name!r}"
        )
    if not isinstance(slug, str) or not slug.strip() or any(c.isspace() for c in slug):
        raise ConfigurationError(
            f"model slug must be a non-empty string without spaces, got {slug!r}"
        )
    if name in OpenRouterModel.__members__:
        raise ConfigurationError(f"{name!r} is a built-in OpenRouterModel and cannot be redefined")
    with _lock:
        _custom[name] = slug


def list_models() -> dict[str, str]:
    """Every known name with its slug: the built-in enum first, then registered ones."""
    models = {member.name: member.value for member in OpenRouterModel}
    with _lock:
        models.update(_custom)
    return models


def resolve_model(model: str | OpenRouterModel) -> str:
    """Turn an enum member, a registered name or a slug into the slug sent to the API."""
    if isinstance(model, OpenRouterModel):
        return model.value
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(
            f"model must be an OpenRouterModel, a registered name or a slug, got {model!r}"
        )
    member = OpenRouterModel.__members__.get(model)
    if member is not None:
        return member.value
    return _custom.get(model, model)
