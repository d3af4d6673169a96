"""Structured logging that is silent unless the application asks for it.

mbxai logs through structlog bound to the standard ``logging`` logger ``"mbxai"``, so
``logging.basicConfig(level=logging.DEBUG)`` shows it and nothing prints otherwise.
Every event passes a redaction step: known secrets (API keys handed to a client, secrets
registered by the agent) and credential-looking fields are replaced before rendering.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import MutableMapping
from typing import Any

__all__ = [
    "get_logger",
    "is_debug",
    "redact",
    "redact_url",
    "register_secret",
]

_stdlib = logging.getLogger("mbxai")
# A library stays silent until the application configures logging (no "last resort" output).
_stdlib.addHandler(logging.NullHandler())
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_SENSITIVE_KEYS = frozenset(
    {"authorization", "api_key", "apikey", "token", "password", "secret", "access_token"}
)
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,})")
#: The ``user:password@`` of a URL (up to the last ``@`` before the path, query or end).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]*@")
_MASK = "***"
_logger: Any = None


def register_secret(value: str | None) -> None:
    """Remember a secret so that it never appears in a log line, whatever field holds it."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered secret, key-looking token and URL userinfo in ``text``."""
    for secret in tuple(_secrets):
        if secret in text:
            text = text.replace(secret, _MASK)
    return _KEY_LIKE.sub(_MASK, redact_url(text))


def redact_url(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it replaced by ``***@``."""
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def _redact_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if key.lower() in _SENSITIVE_KEYS:
            event_dict[key] = _MASK
        elif isinstance(value, str):
            event_dict[key] = redact(value)
        elif value is not None and not isinstance(value, int | float | bool):
            event_dict[key] = redact(repr(value))
    return event_dict


def is_debug() -> bool:
    """Cheap guard for hot paths: build debug fields only when they will be shown."""
    return _stdlib.isEnabledFor(logging.DEBUG)


def get_logger() -> Any:
    """The package logger (structlog over stdlib ``logging``), created on first use."""
    global _logger
    if _logger is None:
        import structlog

        _logger = structlog.wrap_logger(
            _stdlib,
            processors=[
                structlog.stdlib.filter_by_level,
                _redact_processor,
                structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
            ],
            wrapper_class=structlog.stdlib.BoundLogger,
        )
    return _logger
