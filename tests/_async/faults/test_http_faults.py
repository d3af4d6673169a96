"""HTTP faults: the chat client against a real loopback server misbehaving on purpose.

Every row ends in recovery (a retry that works) or a typed error, within the client's
own short timeouts. Written once (async), generated for sync.
"""

from __future__ import annotations

from typing import Any

import pytest

from mbxai import (
    AsyncOpenRouterClient,
    BadRequestError,
    InternalServerError,
    MBXAIError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    RateLimitError,
    StreamError,
)
from tests.faults_matrix import row
from tests.faults_server import (
    FaultServer,
    close_at_once,
    completion,
    garbage,
    hang,
    http_date,
    huge,
    refused_url,
    reply,
    sse,
    status,
)

pytestmark = pytest.mark.anyio

KEY = "sk-or-v1-faults-0123456789abcdef"
HELLO = [{"role": "user", "content": "Hello?"}]
#: Seconds a request may take before the client gives up (short: the faults are local).
TIMEOUT = 0.5


def make_client(base_url: str, **kwargs: Any) -> AsyncOpenRouterClient:
    kwargs.setdefault("max_retries", 2)
    kwargs.setdefault("timeout", TIMEOUT)
    return AsyncOpenRouterClient(
        token=KEY, base_url=base_url, retry_initial_delay=0, retry_max_delay=0, **kwargs
    )


async def text_of(client: AsyncOpenRouterClient) -> str:
    """Stream a reply and return its text."""
    parts = []
    async with await client.create(HELLO, stream=True) as stream:
        async for chunk in stream:
            parts.append(chunk.choices[0].delta.content or "")
    return "".join(parts)


# -- rate limits: the server says how long to wait -----------------------------------------


@row("HTTP", "429 + Retry-After: seconds", "retried after the server's wait (capped), recovers")
async def test_429_retry_after_seconds(server: FaultServer, retry_waits: list[float]) -> None:
    server.add(status(429, headers={"Retry-After": "1"}), reply("recovered"))
    async with make_client(server.url, max_retry_after=0.05) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [0.05]  # the server's 1 s, capped by max_retry_after
    assert len(server.requests) == 2


@row("HTTP", "429 + Retry-After: HTTP date", "retried after the server's wait (capped), recovers")
async def test_429_retry_after_http_date(server: FaultServer, retry_waits: list[float]) -> None:
    server.add(status(429, headers={"Retry-After": http_date(30)}), reply("recovered"))
    async with make_client(server.url, max_retry_after=0.05) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [0.05]  # ~31 s asked, capped
    assert len(server.requests) == 2


@row("HTTP", "429 + retry-after-ms", "retried after exactly the server's wait, recovers")
async def test_429_retry_after_ms(server: FaultServer, retry_waits: list[float]) -> None:
    headers = {"retry-after-ms": "30", "Retry-After": "9"}  # the ms header wins
    server.add(status(429, headers=headers), reply("recovered"))
    async with make_client(server.url) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [pytest.approx(0.03)]


@row("HTTP", "429 that never ends", "RateLimitError after max_retries+1 requests")
async def test_429_forever(server: FaultServer) -> None:
    server.add(*[status(429, headers={"retry-after-ms": "1"})] * 3)
    async with make_client(server.url) as client:
        with pytest.raises(RateLimitError) as info:
            await client.create(HELLO)
    assert info.value.status_code == 429
    assert info.value.retry_after == pytest.approx(0.001)
    assert len(server.requests) == 3


# -- server errors ---------------------------------------------------------------------------


@row("HTTP", "500 / 502 / 503 once", "retried, recovers")
@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_once_then_recovers(server: FaultServer, code: int) -> None:
    server.add(status(code), reply("recovered"))
    async with make_client(server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"
    assert len(server.requests) == 2


@row("HTTP", "503 on every attempt", "InternalServerError after max_retries+1 requests")
async def test_503_forever(server: FaultServer) -> None:
    server.add(*[status(503)] * 3)
    async with make_client(server.url) as client:
        with pytest.raises(InternalServerError) as info:
            await client.create(HELLO)
    assert info.value.status_code == 503
    assert len(server.requests) == 3


@row("HTTP", "502 with an HTML body (a proxy)", "retried, recovers; error text kept")
async def test_502_html_then_recovers(server: FaultServer) -> None:
    server.add(status(502, "<html><h1>502 Bad Gateway</h1></html>", text=True))
    server.add(status(502, "<html><h1>502 Bad Gateway</h1></html>", text=True))
    async with make_client(server.url, max_retries=1) as client:
        with pytest.raises(InternalServerError, match="Bad Gateway"):
            await client.create(HELLO)
        server.add(status(502, "<html>502</html>", text=True), reply("recovered"))
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "503 when a stream opens", "retried, the stream then works")
async def test_503_on_stream_open(server: FaultServer) -> None:
    server.add(status(503), sse(["Hello", " world"]))
    async with make_client(server.url) as client:
        assert await text_of(client) == "Hello world"
    assert len(server.requests) == 2


# -- the connection itself fails -------------------------------------------------------------


@row("HTTP", "connection refused", "OpenRouterConnectionError after retries")
async def test_connection_refused() -> None:
    url = refused_url()
    async with make_client(url) as client:
        with pytest.raises(OpenRouterConnectionError) as info:
            await client.create(HELLO)
    assert not isinstance(info.value, OpenRouterTimeoutError)
    assert info.value.url == f"{url}/chat/completions"


@row("HTTP", "connection closed before any response", "retried, recovers")
async def test_closed_before_response(server: FaultServer) -> None:
    server.add(close_at_once, reply("recovered"))
    async with make_client(server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "read timeout (server never answers)", "OpenRouterTimeoutError after retries")
async def test_read_timeout(server: FaultServer) -> None:
    server.add(hang, hang)
    async with make_client(server.url, max_retries=1) as client:
        with pytest.raises(OpenRouterTimeoutError, match="timed out"):
            await client.create(HELLO)
    assert len(server.requests) == 2  # each attempt waited TIMEOUT, then gave up


@row("HTTP", "read timeout, then an answer", "retried, recovers")
async def test_read_timeout_then_recovers(server: FaultServer) -> None:
    server.add(hang, reply("recovered"))
    async with make_client(server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "garbage bytes instead of HTTP", "OpenRouterConnectionError after retries")
async def test_garbage_instead_of_http(server: FaultServer) -> None:
    server.add(garbage(), garbage(), garbage())
    async with make_client(server.url) as client:
        with pytest.raises(OpenRouterConnectionError):
            await client.create(HELLO)
    assert len(server.requests) == 3


# -- streams ---------------------------------------------------------------------------------


@row(
    "HTTP",
    "stream cut mid-way (chunked body broken)",
    "text so far, then OpenRouterConnectionError",
)
async def test_stream_cut_mid_way(server: FaultServer) -> None:
    server.add(sse(["Hello", " wor"], then="cut"))
    parts: list[str] = []
    async with make_client(server.url) as client:
        with pytest.raises(OpenRouterConnectionError, match="interrupted"):
            async with await client.create(HELLO, stream=True) as stream:
                async for chunk in stream:
                    parts.append(chunk.choices[0].delta.content or "")
    assert "".join(parts) == "Hello wor"  # what did arrive was delivered, in order


@row("HTTP", "stream ends early (no [DONE], no finish)", "text so far, then StreamError")
async def test_stream_ends_without_done(server: FaultServer) -> None:
    server.add(sse(["Hello"], then="close", chunked=False))
    parts: list[str] = []
    async with make_client(server.url) as client:
        with pytest.raises(StreamError, match=r"\[DONE\]"):
            async with await client.create(HELLO, stream=True) as stream:
                async for chunk in stream:
                    parts.append(chunk.choices[0].delta.content or "")
    assert parts == ["Hello"]


@row("HTTP", "stream stalls mid-way", "OpenRouterTimeoutError, not a hang")
async def test_stream_stalls(server: FaultServer) -> None:
    server.add(sse(["Hello"], then="stall"))
    async with make_client(server.url) as client:
        with pytest.raises(OpenRouterTimeoutError, match="stream timed out"):
            await text_of(client)


@row("HTTP", "SSE error event mid-stream", "StreamError with the provider's message and code")
async def test_sse_error_event(server: FaultServer) -> None:
    error = 'event: error\ndata: {"error": {"message": "provider overloaded", "code": 503}}\n\n'
    server.add(sse(["Hel"], then="events", events=[error]))
    async with make_client(server.url) as client:
        with pytest.raises(StreamError, match="provider overloaded") as info:
            await text_of(client)
    assert info.value.code == 503


@row("HTTP", "error object inside a data event", "StreamError")
async def test_sse_error_in_data(server: FaultServer) -> None:
    error = 'data: {"error": {"message": "context too long", "code": 400}}\n\n'
    server.add(sse(["a"], then="events", events=[error]))
    async with make_client(server.url) as client:
        with pytest.raises(StreamError, match="context too long"):
            await text_of(client)


# -- bodies that are not what they claim -----------------------------------------------------


@row("HTTP", "200 with an error body (code 502)", "typed as InternalServerError, retried, recovers")
async def test_200_error_body_retryable(server: FaultServer) -> None:
    body = {"error": {"message": "upstream provider down", "code": 502}}
    server.add(status(200, body), reply("recovered"))
    async with make_client(server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "200 with an error body (code 400)", "BadRequestError, not retried")
async def test_200_error_body_final(server: FaultServer) -> None:
    body = {"error": {"message": "invalid model", "code": 400}}
    server.add(status(200, body))
    async with make_client(server.url) as client:
        with pytest.raises(BadRequestError, match="invalid model") as info:
            await client.create(HELLO)
    assert info.value.status_code == 400
    assert len(server.requests) == 1


@row("HTTP", "200 with a non-JSON body", "OpenRouterAPIError naming the problem, not retried")
async def test_200_non_json(server: FaultServer) -> None:
    server.add(status(200, "<html>maintenance</html>", text=True))
    async with make_client(server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="not a chat completion") as info:
            await client.create(HELLO)
    assert info.value.body == "<html>maintenance</html>"
    assert len(server.requests) == 1


@row("HTTP", "200 with JSON that is not a completion", "OpenRouterAPIError, not retried")
async def test_200_wrong_json(server: FaultServer) -> None:
    server.add(status(200, {"choices": "nope"}))
    async with make_client(server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="not a chat completion"):
            await client.create(HELLO)


@row(
    "HTTP",
    "huge non-JSON body (64 MiB)",
    "OpenRouterAPIError past max_response_bytes, not retried, memory bounded",
)
async def test_huge_garbage_body(server: FaultServer) -> None:
    server.add(huge(64 << 20))
    async with make_client(server.url, timeout=20) as client:
        with pytest.raises(OpenRouterAPIError, match="max_response_bytes") as info:
            await client.create(HELLO)
    assert info.value.body is None  # the error does not hold the 64 MiB
    assert info.value.should_retry is False


@row("HTTP", "huge valid completion (16 MiB of text)", "handled: the whole text arrives")
async def test_huge_valid_completion(server: FaultServer) -> None:
    text = "y" * (16 << 20)
    server.add(status(200, completion(text)))
    async with make_client(server.url, timeout=20) as client:
        response = await client.create(HELLO)
    assert response.content == text


@row("HTTP", "every fault in one client's life", "each call recovers; no state leaks between calls")
async def test_one_client_survives_a_fault_sequence(server: FaultServer) -> None:
    server.add(close_at_once, reply("one"))
    server.add(status(503), sse(["two"]))
    server.add(hang, reply("three"))
    server.add(garbage(), reply("four"))
    async with make_client(server.url) as client:
        assert (await client.create(HELLO)).content == "one"
        assert await text_of(client) == "two"
        assert (await client.create(HELLO)).content == "three"
        assert (await client.create(HELLO)).content == "four"
        server.add(status(400, {"error": {"message": "bad", "code": 400}}))
        with pytest.raises(MBXAIError):
            await client.create(HELLO)
        server.add(reply("five"))
        assert (await client.create(HELLO)).content == "five"
    assert server.pending == 0
