"""The planning agent: ``AgentClient`` / ``AsyncAgentClient`` and their data model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import *  # noqa: F403
from .models import __all__ as _models_all

if TYPE_CHECKING:
    from .._async.agent import AsyncAgentClient
    from .._sync.agent import AgentClient

__all__ = ["AgentClient", "AsyncAgentClient", *_models_all]


def __getattr__(name: str) -> Any:
    # The clients are imported lazily: they import this package's models.
    if name == "AsyncAgentClient":
        from .._async.agent import AsyncAgentClient

        return AsyncAgentClient
    if name == "AgentClient":
        from .._sync.agent import AgentClient

        return AgentClient
    raise AttributeError(name)
