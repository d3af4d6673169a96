"""HTTP faults: the chat client against a real loopback server misbehaving on purpose.

Every row ends in recovery (a retry that works) or a typed error, within the client's
own short timeouts. Written once (async), generated for sync.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import tracemalloc
from typing import Any

import httpx
import pytest

from mbxai import (
    AsyncImageClient,
    AsyncOpenRouterClient,
    BadRequestError,
    InternalServerError,
    MBXAIError,
    NotFoundError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    RateLimitError,
    StreamError,
)
from tests.faults_matrix import row
from tests.fix_fault_server import (
    FaultServer,
    bomb,
    close_at_once,
    completion,
    endless,
    garbage,
    hang,
    http_date,
    huge,
    raw,
    refused_url,
    reply,
    sse,
    status,
    trickle,
    trickle_head,
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
async def test_429_retry_after_seconds(fault_server: FaultServer, retry_waits: list[float]) -> None:
    fault_server.add(status(429, headers={"Retry-After": "1"}), reply("recovered"))
    async with make_client(fault_server.url, max_retry_after=0.05) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [0.05]  # the server's 1 s, capped by max_retry_after
    assert len(fault_server.requests) == 2


@row("HTTP", "429 + Retry-After: HTTP date", "retried after the server's wait (capped), recovers")
async def test_429_retry_after_http_date(
    fault_server: FaultServer, retry_waits: list[float]
) -> None:
    fault_server.add(status(429, headers={"Retry-After": http_date(30)}), reply("recovered"))
    async with make_client(fault_server.url, max_retry_after=0.05) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [0.05]  # ~31 s asked, capped
    assert len(fault_server.requests) == 2


@row("HTTP", "429 + retry-after-ms", "retried after exactly the server's wait, recovers")
async def test_429_retry_after_ms(fault_server: FaultServer, retry_waits: list[float]) -> None:
    headers = {"retry-after-ms": "30", "Retry-After": "9"}  # the ms header wins
    fault_server.add(status(429, headers=headers), reply("recovered"))
    async with make_client(fault_server.url) as client:
        response = await client.create(HELLO)
    assert response.content == "recovered"
    assert retry_waits == [pytest.approx(0.03)]


@row("HTTP", "429 that never ends", "RateLimitError after max_retries+1 requests")
async def test_429_forever(fault_server: FaultServer) -> None:
    fault_server.add(*[status(429, headers={"retry-after-ms": "1"})] * 3)
    async with make_client(fault_server.url) as client:
        with pytest.raises(RateLimitError) as info:
            await client.create(HELLO)
    assert info.value.status_code == 429
    assert info.value.retry_after == pytest.approx(0.001)
    assert len(fault_server.requests) == 3


# -- server errors ---------------------------------------------------------------------------


@row("HTTP", "500 / 502 / 503 once", "retried, recovers")
@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_once_then_recovers(fault_server: FaultServer, code: int) -> None:
    fault_server.add(status(code), reply("recovered"))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"
    assert len(fault_server.requests) == 2


@row("HTTP", "503 on every attempt", "InternalServerError after max_retries+1 requests")
async def test_503_forever(fault_server: FaultServer) -> None:
    fault_server.add(*[status(503)] * 3)
    async with make_client(fault_server.url) as client:
        with pytest.raises(InternalServerError) as info:
            await client.create(HELLO)
    assert info.value.status_code == 503
    assert len(fault_server.requests) == 3


@row("HTTP", "502 with an HTML body (a proxy)", "retried, recovers; error text kept")
async def test_502_html_then_recovers(fault_server: FaultServer) -> None:
    fault_server.add(status(502, "<html><h1>502 Bad Gateway</h1></html>", text=True))
    fault_server.add(status(502, "<html><h1>502 Bad Gateway</h1></html>", text=True))
    async with make_client(fault_server.url, max_retries=1) as client:
        with pytest.raises(InternalServerError, match="Bad Gateway"):
            await client.create(HELLO)
        fault_server.add(status(502, "<html>502</html>", text=True), reply("recovered"))
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "503 when a stream opens", "retried, the stream then works")
async def test_503_on_stream_open(fault_server: FaultServer) -> None:
    fault_server.add(status(503), sse(["Hello", " world"]))
    async with make_client(fault_server.url) as client:
        assert await text_of(client) == "Hello world"
    assert len(fault_server.requests) == 2


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
async def test_closed_before_response(fault_server: FaultServer) -> None:
    fault_server.add(close_at_once, reply("recovered"))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "read timeout (server never answers)", "OpenRouterTimeoutError after retries")
async def test_read_timeout(fault_server: FaultServer) -> None:
    fault_server.add(hang, hang)
    async with make_client(fault_server.url, max_retries=1) as client:
        with pytest.raises(OpenRouterTimeoutError, match="timed out"):
            await client.create(HELLO)
    assert len(fault_server.requests) == 2  # each attempt waited TIMEOUT, then gave up


@row("HTTP", "read timeout, then an answer", "retried, recovers")
async def test_read_timeout_then_recovers(fault_server: FaultServer) -> None:
    fault_server.add(hang, reply("recovered"))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "garbage bytes instead of HTTP", "OpenRouterConnectionError after retries")
async def test_garbage_instead_of_http(fault_server: FaultServer) -> None:
    fault_server.add(garbage(), garbage(), garbage())
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterConnectionError):
            await client.create(HELLO)
    assert len(fault_server.requests) == 3


# -- streams ---------------------------------------------------------------------------------


@row(
    "HTTP",
    "stream cut mid-way (chunked body broken)",
    "text so far, then OpenRouterConnectionError",
)
async def test_stream_cut_mid_way(fault_server: FaultServer) -> None:
    fault_server.add(sse(["Hello", " wor"], then="cut"))
    parts: list[str] = []
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterConnectionError, match="interrupted"):
            async with await client.create(HELLO, stream=True) as stream:
                async for chunk in stream:
                    parts.append(chunk.choices[0].delta.content or "")
    assert "".join(parts) == "Hello wor"  # what did arrive was delivered, in order


@row("HTTP", "stream ends early (no [DONE], no finish)", "text so far, then StreamError")
async def test_stream_ends_without_done(fault_server: FaultServer) -> None:
    fault_server.add(sse(["Hello"], then="close", chunked=False))
    parts: list[str] = []
    async with make_client(fault_server.url) as client:
        with pytest.raises(StreamError, match=r"\[DONE\]"):
            async with await client.create(HELLO, stream=True) as stream:
                async for chunk in stream:
                    parts.append(chunk.choices[0].delta.content or "")
    assert parts == ["Hello"]


@row("HTTP", "stream stalls mid-way", "OpenRouterTimeoutError, not a hang")
async def test_stream_stalls(fault_server: FaultServer) -> None:
    fault_server.add(sse(["Hello"], then="stall"))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterTimeoutError, match="stream timed out"):
            await text_of(client)


@row("HTTP", "SSE error event mid-stream", "StreamError with the provider's message and code")
async def test_sse_error_event(fault_server: FaultServer) -> None:
    error = 'event: error\ndata: {"error": {"message": "provider overloaded", "code": 503}}\n\n'
    fault_server.add(sse(["Hel"], then="events", events=[error]))
    async with make_client(fault_server.url) as client:
        with pytest.raises(StreamError, match="provider overloaded") as info:
            await text_of(client)
    assert info.value.code == 503


@row("HTTP", "error object inside a data event", "StreamError")
async def test_sse_error_in_data(fault_server: FaultServer) -> None:
    error = 'data: {"error": {"message": "context too long", "code": 400}}\n\n'
    fault_server.add(sse(["a"], then="events", events=[error]))
    async with make_client(fault_server.url) as client:
        with pytest.raises(StreamError, match="context too long"):
            await text_of(client)


# -- bodies that are not what they claim -----------------------------------------------------


@row("HTTP", "200 with an error body (code 502)", "typed as InternalServerError, retried, recovers")
async def test_200_error_body_retryable(fault_server: FaultServer) -> None:
    body = {"error": {"message": "upstream provider down", "code": 502}}
    fault_server.add(status(200, body), reply("recovered"))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "recovered"


@row("HTTP", "200 with an error body (code 400)", "BadRequestError, not retried")
async def test_200_error_body_final(fault_server: FaultServer) -> None:
    body = {"error": {"message": "invalid model", "code": 400}}
    fault_server.add(status(200, body))
    async with make_client(fault_server.url) as client:
        with pytest.raises(BadRequestError, match="invalid model") as info:
            await client.create(HELLO)
    assert info.value.status_code == 400
    assert len(fault_server.requests) == 1


@row("HTTP", "200 with a non-JSON body", "OpenRouterAPIError naming the problem, not retried")
async def test_200_non_json(fault_server: FaultServer) -> None:
    fault_server.add(status(200, "<html>maintenance</html>", text=True))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="not a chat completion") as info:
            await client.create(HELLO)
    assert info.value.body == "<html>maintenance</html>"
    assert len(fault_server.requests) == 1


@row("HTTP", "200 with JSON that is not a completion", "OpenRouterAPIError, not retried")
async def test_200_wrong_json(fault_server: FaultServer) -> None:
    fault_server.add(status(200, {"choices": "nope"}))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="not a chat completion"):
            await client.create(HELLO)


@row(
    "HTTP",
    "huge non-JSON body (64 MiB)",
    "OpenRouterAPIError past max_response_bytes, not retried, memory bounded",
)
async def test_huge_garbage_body(fault_server: FaultServer) -> None:
    fault_server.add(huge(64 << 20))
    async with make_client(fault_server.url, timeout=20) as client:
        with pytest.raises(OpenRouterAPIError, match="max_response_bytes") as info:
            await client.create(HELLO)
    assert info.value.body is None  # the error does not hold the 64 MiB
    assert info.value.should_retry is False


@row("HTTP", "huge valid completion (16 MiB of text)", "handled: the whole text arrives")
async def test_huge_valid_completion(fault_server: FaultServer) -> None:
    text = "y" * (16 << 20)
    fault_server.add(status(200, completion(text)))
    async with make_client(fault_server.url, timeout=20) as client:
        response = await client.create(HELLO)
    assert response.content == text


@row("HTTP", "every fault in one client's life", "each call recovers; no state leaks between calls")
async def test_one_client_survives_a_fault_sequence(fault_server: FaultServer) -> None:
    fault_server.add(close_at_once, reply("one"))
    fault_server.add(status(503), sse(["two"]))
    fault_server.add(hang, reply("three"))
    fault_server.add(garbage(), reply("four"))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "one"
        assert await text_of(client) == "two"
        assert (await client.create(HELLO)).content == "three"
        assert (await client.create(HELLO)).content == "four"
        fault_server.add(status(400, {"error": {"message": "bad", "code": 400}}))
        with pytest.raises(MBXAIError):
            await client.create(HELLO)
        fault_server.add(reply("five"))
        assert (await client.create(HELLO)).content == "five"
    assert fault_server.pending == 0


# -- bodies that inflate: gzip bombs ------------------------------------------------------

MIB = 1 << 20
#: A body 256 MiB long once decoded, a few hundred KiB on the wire.
BOMB = 256 * MIB


async def test_the_bomb_inflates_in_plain_httpx(fault_server: FaultServer) -> None:
    """The fixture is a real bomb: httpx alone inflates 32 MiB from a ~32 KiB body."""
    fault_server.add(bomb(32 * MIB))
    async with httpx.AsyncClient() as http:
        async with http.stream("POST", f"{fault_server.url}/chat/completions") as response:
            wire = int(response.headers["content-length"])
            body = await response.aread()
    assert wire < 64 * 1024
    assert len(body) == 32 * MIB


@row(
    "HTTP",
    "gzip bomb (small Content-Length, huge decoded body)",
    "OpenRouterAPIError past max_response_bytes, decoded in bounded pieces, not retried",
)
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, gzip"])
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_gzip_bomb_is_bounded(
    fault_server: FaultServer, encoding: str, chunked: bool
) -> None:
    fault_server.add(bomb(BOMB, encoding, chunked=chunked))
    tracemalloc.start()
    try:
        async with make_client(fault_server.url, timeout=20, max_response_bytes=MIB) as client:
            with pytest.raises(OpenRouterAPIError, match="max_response_bytes") as info:
                await client.create(HELLO)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB  # not the 256 MiB the body inflates to
    assert info.value.should_retry is False
    assert len(fault_server.requests) == 1
    assert fault_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@row(
    "HTTP",
    "Content-Encoding not asked for (br, zstd, unknown)",
    "OpenRouterAPIError naming the encoding, not retried",
)
@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, br", "x-custom"])
async def test_unasked_encoding_is_refused(fault_server: FaultServer, encoding: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    fault_server.add(raw(200, b"\x8b\x00garbage", headers))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="Content-Encoding") as info:
            await client.create(HELLO)
    assert info.value.should_retry is False
    assert len(fault_server.requests) == 1


@row("HTTP", "gzip body that is not gzip", "OpenRouterAPIError (does not decompress)")
async def test_corrupt_gzip_is_typed(fault_server: FaultServer) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    fault_server.add(raw(200, b"this is not gzip data at all", headers))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="does not decompress"):
            await client.create(HELLO)


@row("HTTP", "gzip-encoded completion", "decoded and returned")
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_encoded_completion_is_decoded(fault_server: FaultServer, encoding: str) -> None:
    from tests.fix_fault_server import encode

    body = encode(json.dumps(completion("squeezed")).encode(), encoding)
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding.replace("raw-", "")}
    fault_server.add(raw(200, body, headers))
    async with make_client(fault_server.url) as client:
        assert (await client.create(HELLO)).content == "squeezed"


@row(
    "HTTP",
    "gzip bomb as a stream (zeros, no line break)",
    "StreamError: event too large (max_response_bytes), memory bounded",
)
async def test_gzip_bomb_stream_is_bounded(fault_server: FaultServer) -> None:
    fault_server.add(bomb(BOMB, content_type="text/event-stream", chunked=True))
    tracemalloc.start()
    try:
        async with make_client(fault_server.url, timeout=20, max_response_bytes=MIB) as client:
            with pytest.raises(StreamError, match="too large"):
                await text_of(client)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB


@row(
    "HTTP",
    "endless gzip stream of blank lines",
    "StreamError: stuck (max_stream_idle_lines), memory bounded",
)
async def test_endless_gzip_stream_of_blank_lines(fault_server: FaultServer) -> None:
    fault_server.add(endless(b"\n", encoding="gzip"))
    async with make_client(fault_server.url, max_stream_idle_lines=1000) as client:
        with pytest.raises(StreamError, match="max_stream_idle_lines"):
            await text_of(client)


@row(
    "Images",
    "gzip bomb as the API's answer",
    "success=False naming max_response_bytes, not retried, memory bounded",
)
async def test_image_api_gzip_bomb(fault_server: FaultServer) -> None:
    fault_server.add(bomb(BOMB))
    images = AsyncImageClient(
        api_key=KEY,
        base_url=fault_server.url,
        retry_initial_delay=0,
        timeout=20,
        max_response_bytes=MIB,
    )
    tracemalloc.start()
    try:
        async with images:
            result = await images.generate("a cat")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.success is False
    assert result.error is not None
    assert "max_response_bytes" in result.error
    assert peak < 16 * MIB
    assert len(fault_server.requests) == 1
    assert fault_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


# -- servers that never finish: trickles, endless streams -----------------------------------

#: How long past its deadline a call may take to give up (scheduling, a read under way).
SLACK = 1.0


@row(
    "HTTP",
    "body trickled a byte at a time (every read gets data)",
    "OpenRouterTimeoutError once timeout has passed in all, not after the whole trickle",
)
async def test_trickled_body_ends_at_the_deadline(fault_server: FaultServer) -> None:
    fault_server.add(trickle(json.dumps(completion("slow")).encode(), every=0.05))  # ~15 s in all
    async with make_client(fault_server.url, timeout=1.0, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match=r"within 1 s \(timeout\)"):
            await client.create(HELLO)
    assert time.monotonic() - started < 1.0 + SLACK


@row(
    "HTTP",
    "response head trickled, never complete",
    "OpenRouterTimeoutError once timeout has passed, each retry bounded alike",
)
async def test_trickled_head_ends_at_the_deadline(fault_server: FaultServer) -> None:
    fault_server.add(trickle_head(every=0.05), trickle_head(every=0.05))
    async with make_client(fault_server.url, timeout=0.8, max_retries=1) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match="timed out"):
            await client.create(HELLO)
    assert time.monotonic() - started < 2 * 0.8 + SLACK
    assert len(fault_server.requests) == 2


@row(
    "HTTP",
    "stream opened with a trickled head",
    "OpenRouterTimeoutError once timeout has passed",
)
async def test_stream_with_trickled_head(fault_server: FaultServer) -> None:
    fault_server.add(trickle_head(every=0.05))
    async with make_client(fault_server.url, timeout=0.8, max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match="timed out"):
            await text_of(client)
    assert time.monotonic() - started < 0.8 + SLACK


@row(
    "HTTP",
    "stream of comments only, as fast as it can",
    "StreamError: stuck after max_stream_idle_lines lines without a chunk",
)
async def test_stream_of_comments_only(fault_server: FaultServer) -> None:
    fault_server.add(endless())
    async with make_client(fault_server.url, max_stream_idle_lines=500) as client:
        with pytest.raises(StreamError, match="max_stream_idle_lines"):
            await text_of(client)


@row(
    "HTTP",
    "stream of comments only, slowly (keep-alives forever)",
    "OpenRouterTimeoutError at stream_timeout",
)
async def test_slow_keepalives_end_at_stream_timeout(fault_server: FaultServer) -> None:
    fault_server.add(endless(every=0.05))
    async with make_client(fault_server.url, stream_timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match=r"within 1 s \(stream_timeout\)"):
            await text_of(client)
    assert time.monotonic() - started < 1.0 + SLACK


@row(
    "HTTP",
    "stream of content that never ends",
    "chunks as they come, then OpenRouterTimeoutError at stream_timeout",
)
async def test_endless_content_ends_at_stream_timeout(fault_server: FaultServer) -> None:
    frame = b'data: {"choices": [{"index": 0, "delta": {"content": "la"}}]}\n\n'
    fault_server.add(endless(frame, every=0.01))
    parts: list[str] = []
    async with make_client(fault_server.url, stream_timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match="stream_timeout"):
            async with await client.create(HELLO, stream=True) as stream:
                async for chunk in stream:
                    parts.append(chunk.choices[0].delta.content or "")
    assert time.monotonic() - started < 1.0 + SLACK
    assert parts
    assert set(parts) == {"la"}


@row(
    "HTTP",
    "stream whose one event is trickled without end",
    "OpenRouterTimeoutError at stream_timeout",
)
async def test_trickled_stream_event_ends_at_stream_timeout(fault_server: FaultServer) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/event-stream\r\n"
        b"Content-Length: 1099511627776\r\n\r\ndata: "
    )
    fault_server.add(trickle(b"x", every=0.02, head=head, forever=True))
    async with make_client(fault_server.url, stream_timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match="stream_timeout"):
            await text_of(client)
    assert time.monotonic() - started < 1.0 + SLACK


@row(
    "Images",
    "API answer trickled a byte at a time",
    "success=False (timed out) once timeout has passed in all",
)
async def test_image_api_trickle_ends_at_the_deadline(fault_server: FaultServer) -> None:
    fault_server.add(trickle(b'{"data": [{"url": "https://i.example/a.png"}]}', every=0.05))
    async with AsyncImageClient(
        api_key=KEY, base_url=fault_server.url, max_retries=0, timeout=1.0
    ) as images:
        started = time.monotonic()
        result = await images.generate("a cat")
    assert time.monotonic() - started < 1.0 + SLACK
    assert result.success is False
    assert result.error is not None
    assert "timed out" in result.error


# -- stream requests answered with something else -------------------------------------------


@row(
    "HTTP",
    "stream request answered 200 + JSON error body",
    "the typed error with the provider's message and code, not 'no [DONE]'",
)
async def test_stream_answered_with_a_json_error(fault_server: FaultServer) -> None:
    fault_server.add(status(200, {"error": {"message": "no such model: x/y", "code": 404}}))
    async with make_client(fault_server.url) as client:
        with pytest.raises(NotFoundError, match="no such model") as info:
            await client.create(HELLO, stream=True)
    assert info.value.code == 404
    assert len(fault_server.requests) == 1


@row(
    "HTTP",
    "stream request answered 200 + retryable JSON error (code 502)",
    "InternalServerError, retried, the stream then works",
)
async def test_stream_answered_with_a_retryable_json_error(fault_server: FaultServer) -> None:
    fault_server.add(status(200, {"error": {"message": "upstream down", "code": 502}}), sse(["ok"]))
    async with make_client(fault_server.url) as client:
        assert await text_of(client) == "ok"
    assert len(fault_server.requests) == 2


@row(
    "HTTP",
    "stream request answered with an error under odd content types",
    "the typed error with the provider's message, whatever the label",
)
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/problem+json",
        "text/plain",
        "text/html",
        "text/event-stream",  # a JSON body labelled as a stream
        "TEXT/EVENT-STREAM; charset=utf-8",
        None,  # no label at all
    ],
)
async def test_stream_error_under_odd_content_types(
    fault_server: FaultServer, content_type: str | None
) -> None:
    body = json.dumps({"error": {"message": "key revoked", "code": 401}}, indent=2).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    fault_server.add(raw(200, body, headers))
    async with make_client(fault_server.url) as client:
        with pytest.raises(OpenRouterAPIError, match="key revoked") as info:
            await text_of(client)
    assert info.value.status_code == 401


@row(
    "HTTP",
    "stream request answered with an HTML page (HTTP 200)",
    "StreamError: not an event stream, the page kept in body",
)
async def test_stream_answered_with_html(fault_server: FaultServer) -> None:
    fault_server.add(status(200, "<html>maintenance</html>", text=True))
    async with make_client(fault_server.url) as client:
        with pytest.raises(StreamError, match="not an event stream") as info:
            await text_of(client)
    assert info.value.body == "<html>maintenance</html>"
    assert len(fault_server.requests) == 1


@row(
    "HTTP",
    "stream request answered 503 with an event-stream error body",
    "InternalServerError with the event's message, retried",
)
async def test_stream_error_status_with_an_event_body(fault_server: FaultServer) -> None:
    event = b'data: {"error": {"message": "overloaded", "code": 503}}\n\n'
    fault_server.add(*[raw(503, event, {"Content-Type": "text/event-stream"})] * 2)
    async with make_client(fault_server.url, max_retries=1) as client:
        with pytest.raises(InternalServerError, match="overloaded"):
            await text_of(client)
    assert len(fault_server.requests) == 2


@row(
    "HTTP",
    "stream request answered with a huge non-stream body",
    "OpenRouterAPIError past max_response_bytes, not read further",
)
async def test_stream_answered_with_a_huge_body(fault_server: FaultServer) -> None:
    fault_server.add(huge(64 * MIB))
    async with make_client(fault_server.url, timeout=20, max_response_bytes=MIB) as client:
        with pytest.raises(OpenRouterAPIError, match="max_response_bytes"):
            await text_of(client)


# -- credentials in the base URL ------------------------------------------------------------


@row(
    "Secrets",
    "password in base_url (https://user:pw@host/)",
    "sent as HTTP Basic; never in reprs, error.url, error text or logs (ours or httpx's)",
)
async def test_password_in_base_url_is_never_shown(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    password = "hunter2-Secret"
    caplog.set_level(logging.DEBUG)  # every logger: mbxai's, httpx's, httpcore's
    base = fault_server.url.replace("http://", f"http://alice:{password}@")
    fault_server.add(status(503), reply("one"), sse(["two"]), status(400))
    client = make_client(base)
    places: dict[str, Any] = {"repr": repr(client), "config": repr(client._config)}
    async with client:
        assert (await client.create(HELLO)).content == "one"  # retried once: logged
        assert await text_of(client) == "two"
        with pytest.raises(BadRequestError) as bad:
            await client.create(HELLO)
        places["api error"] = f"{bad.value!s} {bad.value!r} {bad.value.body!r}"
    refused = refused_url().replace("http://", f"http://alice:{password}@")
    async with make_client(refused, max_retries=0) as down:
        with pytest.raises(OpenRouterConnectionError) as info:
            await down.create(HELLO)
        places["down repr"] = repr(down)
    places["error"] = f"{info.value!s} {info.value!r}"
    places["error.url"] = info.value.url
    images = AsyncImageClient(api_key=KEY, base_url=refused, max_retries=0)
    places["images repr"] = repr(images)
    places["images config"] = repr(images._config)
    async with images:
        failed = await images.generate("a cat")
    places["images error"] = failed.error
    places["logs"] = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    assert [name for name, text in places.items() if password in str(text)] == []
    assert info.value.url is not None
    assert info.value.url.startswith("http://127.0.0.1:")  # requests carry no userinfo
    assert "http://***@127.0.0.1:" in places["repr"]
    assert "chat.retry" in places["logs"]
    # the request still authenticates as given: HTTP Basic, as httpx sends it
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    assert {r.headers["authorization"] for r in fault_server.requests} == {f"Basic {basic}"}
    assert all("@" not in r.headers["host"] for r in fault_server.requests)
