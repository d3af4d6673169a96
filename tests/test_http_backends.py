"""The aiohttp backend (``mbxai[aiohttp]``), which only the asyncio client has, beside
httpx's: chosen by ``http_backend="auto"`` when installed, with httpx's serving where
aiohttp cannot (trio, a mocked httpx); chat, streams and parse over it; its deadlines,
size cap and connection errors as mbxai's. Against real servers on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from pytest_httpx import HTTPXMock

from mbxai import (
    AsyncOpenRouterClient,
    ConfigurationError,
    OpenRouterAPIError,
    OpenRouterClient,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    _http,
)
from tests.fix_fault_server import FaultServer, close_at_once, hang, reply, trickle
from tests.fix_https_server import HttpsServer

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "Which protocol?"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_client(server: HttpsServer, **kwargs: Any) -> AsyncOpenRouterClient:
    kwargs.setdefault("verify", server.ca_pem)
    kwargs.setdefault("max_retries", 0)
    return AsyncOpenRouterClient(base_url=server.base_url, model="m", **kwargs)


class Answer(BaseModel):
    answer: str


@pytest.mark.parametrize("backend", ["auto", "aiohttp"])
async def test_aiohttp_serves_chat_streams_and_parse(
    https_server: HttpsServer, backend: str
) -> None:
    async with make_client(https_server, http_backend=backend) as client:
        created = await client.create(HELLO)
        stream = await client.create(HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        parsed = await client.parse(HELLO, Answer)
    assert parsed.parsed == Answer(answer="HTTP/1.1")
    # aiohttp speaks HTTP/1.1, though the server offers HTTP/2 (which httpx would take)
    assert created.content == "HTTP/1.1"
    assert text == "HTTP/1.1!"
    assert set(https_server.versions) == {"HTTP/1.1"}


async def test_the_httpx_backend_takes_http2_from_the_same_server(
    https_server: HttpsServer,
) -> None:
    async with make_client(https_server, http_backend="httpx") as client:
        assert (await client.create(HELLO)).content == "HTTP/2"


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_auto_sends_with_httpx_on_trio(https_server: HttpsServer) -> None:
    async with make_client(https_server) as client:
        assert (await client.create(HELLO)).content == "HTTP/2"


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_aiohttp_asked_for_on_trio_is_a_configuration_error(
    https_server: HttpsServer,
) -> None:
    async with make_client(https_server, http_backend="aiohttp") as client:
        with pytest.raises(ConfigurationError, match="runs on asyncio only"):
            await client.create(HELLO)
    assert https_server.versions == []


async def test_auto_goes_through_pytest_httpx_while_it_mocks(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"choices": [{"message": {"content": "mocked"}}]})
    async with AsyncOpenRouterClient(token="k", base_url="https://api.test/v1") as client:
        assert (await client.create(HELLO)).content == "mocked"


@pytest.mark.parametrize("fault", ["hang", "trickle"])
async def test_the_deadline_holds_on_aiohttp(fault_server: FaultServer, fault: str) -> None:
    # a server that never answers, and one whose every read gets a byte: both end by the
    # deadline (plain HTTP: a TLS close to a server that never answers outlives the test)
    fault_server.add(hang if fault == "hang" else trickle(b"x" * 1000, every=0.05))
    async with AsyncOpenRouterClient(
        base_url=fault_server.url, http_backend="aiohttp", timeout=0.5, max_retries=0
    ) as client:
        with pytest.raises(OpenRouterTimeoutError, match=r"within 0\.5 s"):
            await client.create(HELLO)


async def test_the_size_cap_holds_on_aiohttp(https_server: HttpsServer) -> None:
    big = HttpsServer(https_server.base_url.replace("/v1", "/big/v1"), https_server.ca_pem)
    async with make_client(big, http_backend="aiohttp", max_response_bytes=4096) as client:
        with pytest.raises(OpenRouterAPIError, match="larger than max_response_bytes"):
            await client.create(HELLO)


async def test_a_dropped_connection_is_a_connection_error_not_a_timeout(
    fault_server: FaultServer,
) -> None:
    fault_server.add(close_at_once, reply("again"))
    async with AsyncOpenRouterClient(
        base_url=fault_server.url, http_backend="aiohttp", max_retries=0
    ) as client:
        with pytest.raises(OpenRouterConnectionError) as info:
            await client.create(HELLO)
        assert not isinstance(info.value, OpenRouterTimeoutError)
        assert (await client.create(HELLO)).content == "again"


async def test_without_the_extra_auto_is_httpx_and_aiohttp_is_an_error(
    https_server: HttpsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http, "_installed", lambda module: module == "h2")
    with pytest.raises(ConfigurationError, match=r"pip install 'mbxai\[aiohttp\]'"):
        make_client(https_server, http_backend="aiohttp")
    async with make_client(https_server) as client:
        assert (await client.create(HELLO)).content == "HTTP/2"


async def test_a_proxy_in_the_environment_keeps_auto_on_httpx(
    https_server: HttpsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with make_client(https_server) as client:
        # httpx's (it reads the proxy settings, and skips the proxy for 127.0.0.1)
        assert (await client.create(HELLO)).content == "HTTP/2"


def test_the_sync_client_has_no_aiohttp_backend() -> None:
    with pytest.raises(ConfigurationError, match="for the async clients"):
        OpenRouterClient(token="k", http_backend="aiohttp")
    client = OpenRouterClient(token="k", http_backend="auto")
    client.close()
