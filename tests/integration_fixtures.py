"""One real local model server for the whole test run.

The session fixture ``local_server`` is defined in ``tests/_async/integration/conftest.py``
and in its generated sync twin; pytest keeps one instance per conftest, so both take the
server from here: the first user starts it, the last one to finish stops it.

A server that cannot start raises :class:`~mbxai.local.LocalModelServerError` (with the log
tail) from the fixture, so every integration test errors: it is never skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mbxai.local import LocalModelServer

__all__ = ["shared_local_server"]

_lock = threading.Lock()
_server: LocalModelServer | None = None
_users = 0


@contextmanager
def shared_local_server() -> Iterator[LocalModelServer]:
    """The run's server (started on first use), stopped when its last user leaves."""
    global _server, _users
    with _lock:
        if _server is None:
            # Default settings on purpose: this is what `LocalModelServer()` gives users.
            _server = LocalModelServer().start()
        _users += 1
        server = _server
    try:
        yield server
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                server.stop()
                _server = None
