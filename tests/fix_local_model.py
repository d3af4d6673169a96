"""Fixture: ``local_server``, the real local model server of the integration suite
(tests/_async/integration/, both flavours).

One llama.cpp server for the whole run (session scope, so one per xdist worker), shared by
the async and the sync tests alike. A server that cannot start raises
:class:`~mbxai.local.LocalModelServerError` (with the log tail) from the fixture, so every
integration test errors: it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mbxai.local import LocalModelServer

__all__ = ["local_server"]


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalModelServer]:
    """llama.cpp serving SmolLM2-135M-Instruct on 127.0.0.1, one for the whole run."""
    # Default settings on purpose: this is what `LocalModelServer()` gives users.
    with LocalModelServer() as server:
        yield server
