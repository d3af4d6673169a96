"""How the client's own connection pool sends: HTTP/2 where the server offers it, the
certificates it trusts (``verify=``), the ``http_backend=`` choice, against a real HTTPS
server on 127.0.0.1 (``tests.fix_https_server``). The aiohttp backend, which only the
asyncio client has, is tested in ``tests/test_http_backends.py``."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from mbxai import (
    AsyncOpenRouterClient,
    ConfigurationError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
)
from tests.fix_https_server import HttpsServer

pytestmark = pytest.mark.anyio

HELLO = [{"role": "user", "content": "Which protocol?"}]


def make_client(server: HttpsServer, **kwargs: Any) -> AsyncOpenRouterClient:
    kwargs.setdefault("verify", server.ca_pem)
    kwargs.setdefault("max_retries", 0)
    return AsyncOpenRouterClient(base_url=server.base_url, model="m", **kwargs)


async def test_the_httpx_backend_speaks_http2_when_the_server_offers_it(
    https_server: HttpsServer,
) -> None:
    # The async client multiplexes calls over one HTTP/2 connection; the sync client's
    # pool stays on HTTP/1.1 (one thread's deadline must not fail another's connection).
    expected = "HTTP/1.1"
    expected = "HTTP/2"  # async only
    async with make_client(https_server, http_backend="httpx") as client:
        first = await client.create(HELLO)
        second = await client.create(HELLO)
        stream = await client.create(HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert first.content == second.content == expected
    assert text == f"{expected}!"
    assert https_server.versions == [expected] * 3


async def test_the_httpx_backend_falls_back_to_http1_when_the_server_offers_only_that(
    https_server_h1: HttpsServer,
) -> None:
    async with make_client(https_server_h1, http_backend="httpx") as client:
        response = await client.create(HELLO)
    assert response.content == "HTTP/1.1"
    assert https_server_h1.versions == ["HTTP/1.1"]


async def test_verify_takes_a_ca_bundle_path_or_an_ssl_context(
    https_server: HttpsServer,
) -> None:
    context = ssl.create_default_context(cafile=https_server.ca_pem)
    async with make_client(https_server, verify=context, http_backend="httpx") as client:
        assert (await client.create(HELLO)).content.startswith("HTTP/")
    async with make_client(https_server, verify=False, http_backend="httpx") as client:
        assert (await client.create(HELLO)).content.startswith("HTTP/")


@pytest.mark.parametrize("backend", ["auto", "httpx"])
async def test_an_untrusted_certificate_is_a_connection_error(
    https_server: HttpsServer, backend: str
) -> None:
    async with make_client(https_server, verify=True, http_backend=backend) as client:
        with pytest.raises(OpenRouterConnectionError):  # trio words it as ConnectError("")
            await client.create(HELLO)
    assert https_server.versions == []


async def test_the_size_cap_holds_on_the_default_backend(https_server: HttpsServer) -> None:
    big = HttpsServer(https_server.base_url.replace("/v1", "/big/v1"), https_server.ca_pem)
    async with make_client(big, max_response_bytes=4096) as client:
        with pytest.raises(OpenRouterAPIError, match="larger than max_response_bytes"):
            await client.create(HELLO)


async def test_the_default_backend_is_mocked_by_pytest_httpx(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"choices": [{"message": {"content": "mocked"}}]})
    async with AsyncOpenRouterClient(token="k", base_url="https://api.test/v1") as client:
        assert (await client.create(HELLO)).content == "mocked"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"http_backend": "curl"}, "http_backend must be one of 'auto', 'httpx', 'aiohttp'"),
        ({"http_backend": None}, "http_backend must be one of"),
        ({"verify": "yes", "http_backend": "httpx"}, "cannot load CA bundle 'yes'"),
        ({"verify": 1}, "verify must be True, False, a CA bundle's path or an ssl.SSLContext"),
        (
            {"http_backend": "auto", "transport": httpx.AsyncHTTPTransport()},
            "pass transport= or http_backend= / verify=, not both",
        ),
        (
            {"verify": False, "http_client": httpx.AsyncClient()},
            "pass http_client= or http_backend= / verify=, not both",
        ),
    ],
)
async def test_bad_backend_options_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AsyncOpenRouterClient(token="k", **options)
