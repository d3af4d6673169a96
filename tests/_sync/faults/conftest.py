# This file is generated from tests/_async/faults/conftest.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Fault-injection setup: every test here is marked ``faults`` and time-boxed.

The suite runs with ``nox -s faults`` (``pytest -m faults``), not with the default
``tests`` session. A test that hangs is failed by pytest-timeout after
:data:`HANG_GUARD` seconds: every fault must end in recovery or a typed error well
before that, on the client's own (short) timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults_server import FaultServer

_HERE = Path(__file__).parent

#: Seconds after which a fault test counts as hung (it then fails).
HANG_GUARD = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.timeout(HANG_GUARD))


@pytest.fixture
def server() -> Iterator[FaultServer]:
    """A scripted, misbehaving chat endpoint on 127.0.0.1 (tests/faults_server.py)."""
    with FaultServer() as fault_server:
        yield fault_server
