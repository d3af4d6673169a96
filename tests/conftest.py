"""Shared test setup. Behaviour tests live in tests/_async and are generated into tests/_sync."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from tests import _servers


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port for this test run (tests/_servers.py)."""
    with _servers.redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a free loopback port for this test run (tests/_servers.py)."""
    with _servers.postgres_server() as url:
        yield url
