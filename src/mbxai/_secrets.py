"""Encryption of secrets (dialog-option credentials) at rest, with Fernet.

The key comes from the application (``secret_key=`` or ``MBXAI_SECRET_KEY``). Without
one, a random key is made once per process: secrets then survive a pause and resume in
the same process but cannot be read by another one, and a warning says so.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from typing import Any

from ._errors import ConfigurationError
from ._logging import get_logger, register_secret

__all__ = ["SecretBox"]

_process_key: bytes | None = None
_process_key_lock = threading.Lock()


def _derive(key: str | bytes) -> bytes:
    raw = key.encode() if isinstance(key, str) else key
    if not raw:
        raise ConfigurationError("secret_key must not be empty")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw  # already a Fernet key
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def _ephemeral_key() -> bytes:
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            from cryptography.fernet import Fernet

            _process_key = Fernet.generate_key()
        return _process_key


class SecretBox:
    """Encrypts and decrypts short secret strings; repr shows nothing of the key."""

    def __init__(self, key: str | bytes | None = None) -> None:
        key = key if key is not None else os.environ.get("MBXAI_SECRET_KEY")
        self.ephemeral = key is None
        self._key = _ephemeral_key() if key is None else _derive(key)
        self._fernet: Any = None

    def __repr__(self) -> str:
        return f"SecretBox(ephemeral={self.ephemeral})"

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._key)
        return self._fernet

    def encrypt(self, value: str) -> str:
        if self.ephemeral:
            get_logger().warning(
                "secrets.ephemeral_key",
                hint="pass secret_key= (or set MBXAI_SECRET_KEY) to resume sessions "
                "holding secrets in another process",
            )
        register_secret(value)
        return str(self._cipher().encrypt(value.encode()).decode())

    def can_decrypt(self, token: str) -> bool:
        """Whether ``token`` was encrypted with this key (without keeping the value)."""
        from cryptography.fernet import InvalidToken

        try:
            self._cipher().decrypt(token.encode())
        except (InvalidToken, TypeError, ValueError, AttributeError):
            return False
        return True

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            value = str(self._cipher().decrypt(token.encode()).decode())
        except (InvalidToken, TypeError, ValueError, AttributeError):
            raise ConfigurationError(
                "a stored secret cannot be decrypted with this secret_key "
                "(a different key, or a per-process key from another process)"
            ) from None
        register_secret(value)
        return value
