"""Sending one request within its deadline, reading its body within bounds, retrying.

Shared by the chat and image clients. Every wait is bounded by a
:class:`~mbxai._http.Deadline`: here a cancel scope interrupts whatever the request waits
for; in the generated sync twin, mbxai's sync transport cuts every socket wait short
(``mbxai._http.default_transport``) and the deadline is checked between reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import httpx

from .. import _concurrency
from .._client_base import transport_errors
from .._errors import OpenRouterAPIError
from .._http import BodyDecoder, Deadline, body_too_large
from .._retry import RetrySchedule

__all__ = [
    "fetch",
    "next_chunk",
    "open_response",
    "raw_chunks",
    "read",
    "retry",
    "with_retries",
]


async def open_response(
    http: httpx.AsyncClient, request: httpx.Request, deadline: Deadline
) -> httpx.Response:
    """Send ``request`` and return its response once its head has arrived (the body is
    still to read), all by ``deadline``; failures as mbxai's typed errors."""
    with transport_errors(request.url, deadline):
        async with _concurrency.async_fail_at(deadline.at):
            return await http.send(request, stream=True)


async def read(
    response: httpx.Response,
    deadline: Deadline,
    limit: int,
    error: type[OpenRouterAPIError] = OpenRouterAPIError,
) -> bytes:
    """The whole body of ``response``, read and decoded by ``deadline``; more than
    ``limit`` bytes (on the wire or decoded) raise ``error``. The response stays open."""
    with transport_errors(response.request.url, deadline):
        async with _concurrency.async_fail_at(deadline.at):
            return await _read_body(response, deadline, limit, error)


async def fetch(
    http: httpx.AsyncClient, request: httpx.Request, deadline: Deadline, limit: int
) -> tuple[httpx.Response, bytes]:
    """Send ``request`` and read its whole body (see :func:`read`), then close it."""
    response: httpx.Response | None = None
    try:
        with transport_errors(request.url, deadline):
            async with _concurrency.async_fail_at(deadline.at):
                response = await http.send(request, stream=True)
                content = await _read_body(response, deadline, limit, OpenRouterAPIError)
                return response, content
    finally:
        if response is not None:
            await response.aclose()


async def _read_body(
    response: httpx.Response,
    deadline: Deadline,
    limit: int,
    error: type[OpenRouterAPIError],
) -> bytes:
    if response.is_stream_consumed:
        # an in-memory response (a transport built it from bytes): httpx has read it
        if len(response.content) > limit:
            raise body_too_large(response.headers, response.status_code, limit, error)
        return response.content
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise body_too_large(response.headers, response.status_code, limit, error)
    decoder = BodyDecoder(response.headers, response.status_code, limit=limit, error=error)
    parts: list[bytes] = []
    chunks = raw_chunks(response)
    while (data := await next_chunk(chunks)) is not None:
        parts.extend(decoder.feed(data))
        deadline.check()
    parts.extend(decoder.flush())
    return parts[0] if len(parts) == 1 else b"".join(parts)


def raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of ``response`` as it comes off the wire (still encoded): decoding is
    left to :class:`~mbxai._http.BodyDecoder`, which bounds it."""
    return cast("AsyncIterator[bytes]", response.stream).__aiter__()


async def next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The next bytes of ``chunks``, or ``None`` at its end."""
    try:
        return await chunks.__anext__()
    except StopAsyncIteration:
        return None


async def with_retries(send: Callable[[], Any], schedule: RetrySchedule, event: str) -> Any:
    """``await send()``, sent again after each failure ``schedule`` retries, as long
    after it as the schedule says; each retry is logged as ``event``.

    The first attempt runs on its own: a call that succeeds (nearly all of them) pays
    nothing for the retries it did not need.
    """
    try:
        return await send()
    except Exception as exc:
        failed = exc
    return await retry(send, schedule, event, failed)


async def retry(
    send: Callable[[], Any], schedule: RetrySchedule, event: str, failed: Exception
) -> Any:
    """The retries of :func:`with_retries` after a first attempt failed with ``failed``."""
    number = 1
    while True:
        wait = schedule.wait(failed, number)
        if wait is None:
            raise failed
        schedule.report(event, failed, number, wait)
        await _concurrency.async_sleep(wait)
        try:
            return await send()
        except Exception as exc:
            failed = exc
            number += 1
