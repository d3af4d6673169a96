"""Shared test setup. Behaviour tests live in tests/_async and are generated into tests/_sync."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina.instrumentation

from tests import _servers


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Async tests run on both event loops anyio supports."""
    return str(request.param)


@pytest.fixture
def retry_waits() -> Iterator[list[float]]:
    """The backoff (seconds) stamina scheduled before each retry, in order."""
    waits: list[float] = []

    def hook(details: stamina.instrumentation.RetryDetails) -> None:
        waits.append(details.wait_for)

    old = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([hook])
    yield waits
    stamina.instrumentation.set_on_retry_hooks(old)


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
