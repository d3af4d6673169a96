"""Where the agent's new ids come from: random by default; a durable workflow
(:mod:`mbxai.temporal`) sets its deterministic source, so a replayed run makes the same ids."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

__all__ = ["id_source", "new_id"]

#: Makes the UUID behind each new id (``uuid.uuid4`` unless a workflow set its own).
id_source: contextvars.ContextVar[Callable[[], uuid.UUID]] = contextvars.ContextVar(
    "mbxai_id_source", default=uuid.uuid4
)


def new_id(prefix: str) -> str:
    """``prefix_`` and 12 hex digits."""
    return f"{prefix}_{id_source.get()().hex[:12]}"
