"""Session storage for the agent: the handler protocol and the in-memory handler.

A handler stores one JSON-compatible dict per ``agent_id``. The protocol is the seed's
(``get_session``/``set_session``/``delete_session``/``list_sessions``/``session_exists``),
so any object with those methods works, sync or async. Handlers that also accept
``set_session(..., expected_version=N)`` give atomic optimistic concurrency: the write
succeeds only if the stored record's ``"version"`` is ``N`` (``0`` meaning "no record
yet"), else :class:`~mbxai.SessionConflictError`. For handlers without it the agent checks
the version itself before writing (best effort, not atomic).
"""

from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Awaitable
from typing import Any, Protocol, runtime_checkable

from ._errors import SessionConflictError

__all__ = ["AsyncSessionHandler", "InMemorySessionHandler", "SessionHandler", "supports_cas"]


@runtime_checkable
class SessionHandler(Protocol):
    """What the agent needs from a session store (sync flavour, as in the seed)."""

    def get_session(self, agent_id: str) -> dict[str, Any] | None: ...

    def set_session(self, agent_id: str, session_data: dict[str, Any]) -> None: ...

    def delete_session(self, agent_id: str) -> bool: ...

    def list_sessions(self) -> list[str]: ...

    def session_exists(self, agent_id: str) -> bool: ...


@runtime_checkable
class AsyncSessionHandler(Protocol):
    """The same protocol with coroutine methods; the agent awaits them."""

    def get_session(self, agent_id: str) -> Awaitable[dict[str, Any] | None]: ...

    def set_session(self, agent_id: str, session_data: dict[str, Any]) -> Awaitable[None]: ...

    def delete_session(self, agent_id: str) -> Awaitable[bool]: ...

    def list_sessions(self) -> Awaitable[list[str]]: ...

    def session_exists(self, agent_id: str) -> Awaitable[bool]: ...


def supports_cas(handler: object) -> bool:
    """Whether ``handler.set_session`` takes ``expected_version`` (atomic concurrency)."""
    try:
        params = inspect.signature(handler.set_session).parameters  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return "expected_version" in params


class InMemorySessionHandler:
    """Sessions in this process's memory (the default): fast, lost when the process ends.

    Records are kept as JSON text, so what is stored is exactly what any other handler
    would store and callers cannot mutate it by accident. Thread-safe; writes are atomic
    compare-and-set when ``expected_version`` is given.
    """

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemorySessionHandler(sessions={len(self._data)})"

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        raw = self._data.get(agent_id)
        return json.loads(raw) if raw is not None else None

    def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        raw = json.dumps(session_data)
        with self._lock:
            if expected_version is not None:
                current = self._data.get(agent_id)
                actual = int(json.loads(current).get("version", 0)) if current is not None else 0
                if actual != expected_version:
                    raise SessionConflictError(
                        f"session {agent_id!r} was changed by someone else "
                        f"(expected version {expected_version}, found {actual})",
                        agent_id=agent_id,
                        expected_version=expected_version,
                        actual_version=actual,
                    )
            self._data[agent_id] = raw

    def delete_session(self, agent_id: str) -> bool:
        with self._lock:
            return self._data.pop(agent_id, None) is not None

    def list_sessions(self) -> list[str]:
        return list(self._data)

    def session_exists(self, agent_id: str) -> bool:
        return agent_id in self._data
