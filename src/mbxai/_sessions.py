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
import math
import threading
import time
from collections.abc import Awaitable, Mapping
from typing import Any, Protocol, runtime_checkable

from ._errors import ConfigurationError, SessionConflictError

__all__ = [
    "MAX_AGENT_ID_LENGTH",
    "AsyncSessionHandler",
    "InMemorySessionHandler",
    "SessionHandler",
    "check_agent_id",
    "check_expected_version",
    "check_ttl",
    "conflict_error",
    "expiry",
    "session_version",
    "supports_cas",
]

#: Longest agent id a shipped store accepts (the SQL store's key column holds 255).
MAX_AGENT_ID_LENGTH = 255


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


def check_agent_id(agent_id: object) -> str:
    """Return ``agent_id`` if every shipped store can keep it, else raise ConfigurationError.

    Ids are non-empty strings of at most :data:`MAX_AGENT_ID_LENGTH` characters, valid
    Unicode, without NUL (PostgreSQL text cannot hold it). Slashes, dots and any other
    characters are fine: the file store encodes ids into safe file names.
    """
    if not isinstance(agent_id, str) or not agent_id:
        raise ConfigurationError(f"agent_id must be a non-empty string, got {agent_id!r}")
    if len(agent_id) > MAX_AGENT_ID_LENGTH:
        raise ConfigurationError(
            f"agent_id must be at most {MAX_AGENT_ID_LENGTH} characters, got {len(agent_id)}"
        )
    if "\x00" in agent_id:
        raise ConfigurationError(f"agent_id must not contain NUL characters, got {agent_id!r}")
    try:
        agent_id.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"agent_id must be valid Unicode (no lone surrogates), got {agent_id!r}"
        ) from None
    return agent_id


def check_ttl(ttl: object) -> float | None:
    """``None`` (keep forever) or a positive, finite number of seconds."""
    if ttl is None:
        return None
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise ConfigurationError(f"ttl must be None or a positive number of seconds, got {ttl!r}")
    return float(ttl)


def check_expected_version(expected_version: object) -> int | None:
    if expected_version is None:
        return None
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ConfigurationError(
            f"expected_version must be None or an int >= 0, got {expected_version!r}"
        )
    if expected_version < 0:
        raise ConfigurationError(
            f"expected_version must be None or an int >= 0, got {expected_version!r}"
        )
    return expected_version


def session_version(session_data: Mapping[str, Any]) -> int:
    """The record's ``"version"`` field (0 when absent), checked to be an int >= 0."""
    if not isinstance(session_data, Mapping):
        raise ConfigurationError(f"session_data must be a dict, got {type(session_data).__name__}")
    version = session_data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ConfigurationError(f"session_data['version'] must be an int >= 0, got {version!r}")
    return version


def expiry(ttl: float | None, now: float | None = None) -> float | None:
    """When a record written now with ``ttl`` expires (epoch seconds), or None."""
    if ttl is None:
        return None
    return (time.time() if now is None else now) + ttl


def conflict_error(agent_id: str, expected: int, actual: int | None) -> SessionConflictError:
    return SessionConflictError(
        f"session {agent_id!r} was changed by someone else "
        f"(expected version {expected}, found {actual})",
        agent_id=agent_id,
        expected_version=expected,
        actual_version=actual,
    )


class InMemorySessionHandler:
    """Sessions in this process's memory (the default): fast, lost when the process ends.

    Records are kept as JSON text, so what is stored is exactly what any other handler
    would store and callers cannot mutate it by accident. Thread-safe; writes are atomic
    compare-and-set when ``expected_version`` is given.

    Args:
        ttl: Seconds a record lives after its last write (None: until deleted).
    """

    def __init__(self, *, ttl: float | None = None) -> None:
        self.ttl = check_ttl(ttl)
        # id -> (the record as JSON, its version, when it expires)
        self._data: dict[str, tuple[str, int, float | None]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"InMemorySessionHandler(sessions={len(self._data)}, ttl={self.ttl})"

    def _live(self, agent_id: str, now: float) -> str | None:
        """The stored JSON if present and not expired (expired records are dropped)."""
        item = self._data.get(agent_id)
        if item is None:
            return None
        raw, _, expires_at = item
        if expires_at is not None and expires_at <= now:
            with self._lock:
                if self._data.get(agent_id) is item:
                    del self._data[agent_id]
            return None
        return raw

    def get_session(self, agent_id: str) -> dict[str, Any] | None:
        raw = self._live(check_agent_id(agent_id), time.time())
        return json.loads(raw) if raw is not None else None

    def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        check_agent_id(agent_id)
        expected = check_expected_version(expected_version)
        version = session_version(session_data)
        raw = json.dumps(session_data)
        with self._lock:
            now = time.time()
            if expected is not None:
                item = self._data.get(agent_id)
                live = item is not None and (item[2] is None or item[2] > now)
                actual = item[1] if item is not None and live else 0
                if actual != expected:
                    raise conflict_error(agent_id, expected, actual)
            self._data[agent_id] = (raw, version, expiry(self.ttl, now))

    def delete_session(self, agent_id: str) -> bool:
        check_agent_id(agent_id)
        now = time.time()
        with self._lock:
            item = self._data.pop(agent_id, None)
        return item is not None and (item[2] is None or item[2] > now)

    def list_sessions(self) -> list[str]:
        now = time.time()
        return [agent_id for agent_id in list(self._data) if self._live(agent_id, now) is not None]

    def session_exists(self, agent_id: str) -> bool:
        return self._live(check_agent_id(agent_id), time.time()) is not None

    def purge_expired(self) -> int:
        """Drop expired records now (they are also dropped when read); returns how many."""
        now = time.time()
        with self._lock:
            expired = [k for k, (_, _, exp) in self._data.items() if exp is not None and exp <= now]
            for agent_id in expired:
                del self._data[agent_id]
        return len(expired)
