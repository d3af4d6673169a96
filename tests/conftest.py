"""Shared test setup, and where things go in tests/ (docs/testing.md has the whole story).

Tests:

* ``tests/_async/test_<area>.py``: behaviour tests of a client, written once (async, run on
  asyncio and trio) and generated into ``tests/_sync/`` by ``codegen/generate.py``;
* ``tests/_async/faults/``: the fault suite (marked ``faults`` here, ``nox -s faults``);
* ``tests/_async/integration/``: the real local model (marked ``integration`` here,
  ``nox -s integration``);
* ``tests/test_<area>_logic.py``, ``tests/test_<area>.py``: flavour-free tests (pure logic,
  or a check that needs both flavours side by side).

Support code, named by what it provides:

* ``tests/fix_<what>.py``: pytest plugins that provide fixtures, each loaded once, here
  (:data:`pytest_plugins`), for both flavours; a fixture is defined in exactly one of them
  or in the one test module that uses it, never in a conftest under ``_async/``;
* ``tests/support/<what>.py``: plain helpers (no fixtures, no hooks), imported by tests;
* ``tests/faults_matrix.py``: the fault matrix report, a plugin that only ``nox -s faults``
  loads (``-p tests.faults_matrix``); fault tests import its ``row`` marker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fix_db",  # redis_url, postgres_url, durable_redis
    "tests.fix_fault_server",  # fault_server
    "tests.fix_https_server",  # https_server, https_server_h1
    "tests.fix_local_model",  # local_server
    "tests.fix_mcp",  # mcp_demo
    "tests.fix_temporal",  # temporal_target, llm_server
]

TESTS = Path(__file__).resolve().parent

#: Seconds after which a fault test counts as hung (it then fails): every fault must end in
#: recovery or a typed error well before that, on the client's own (short) timeouts.
HANG_GUARD = 30


def _suite(item: pytest.Item) -> str | None:
    """``faults`` or ``integration`` for a test in that directory of either flavour."""
    try:
        parts = Path(item.path).resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    if len(parts) > 2 and parts[0] in ("_async", "_sync"):
        return parts[1]
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the suites by directory, so `-m "not integration and not faults"` leaves them
    out; a fault test that hangs is failed by pytest-timeout after :data:`HANG_GUARD`."""
    for item in items:
        suite = _suite(item)
        if suite == "faults":
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.timeout(HANG_GUARD))
        elif suite == "integration":
            item.add_marker(pytest.mark.integration)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Async tests run on both event loops anyio supports."""
    return str(request.param)


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The backoff (seconds) mbxai scheduled before each retry, in order, as its logger
    reports them (``chat.retry`` / ``images.retry`` events on the ``mbxai`` logger)."""
    waits: list[float] = []
    pattern = re.compile(r"^event='\w+\.retry'.* wait=([-+.\deE]+)$")

    class Waits(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found = pattern.match(record.getMessage())
            if found:
                waits.append(float(found.group(1)))

    logger = logging.getLogger("mbxai")
    handler = Waits(logging.WARNING)
    old_level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.WARNING):
        logger.setLevel(logging.WARNING)
    yield waits
    logger.removeHandler(handler)
    logger.setLevel(old_level)
