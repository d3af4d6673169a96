"""Integration setup: every test here is marked ``integration`` and shares one real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mbxai.local import LocalModelServer
from tests.integration_fixtures import shared_local_server

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this directory's tests, so `-m "not integration"` leaves them all out."""
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalModelServer]:
    """llama.cpp serving SmolLM2-135M-Instruct on 127.0.0.1, one for the whole run."""
    with shared_local_server() as server:
        yield server
