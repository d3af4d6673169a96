# This file is generated from src/mbxai/_async/sending.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Sending one request within its deadline, reading its body within bounds, retrying.

Shared by the chat and image clients. Every wait is bounded by a
:class:`~mbxai._http.Deadline`: here a cancel scope interrupts whatever the request waits
for; in the generated sync twin, mbxai's sync transport cuts every socket wait short
(``mbxai._http.default_transport``) and the deadline is checked between reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


def open_response(http: httpx.Client, request: httpx.Request, deadline: Deadline) -> httpx.Response:
    """Send ``request`` and return its response once its head has arrived (the body is
    still to read), all by ``deadline``; failures as mbxai's typed errors."""
    with transport_errors(request.url, deadline):
        with _concurrency.fail_at(deadline.at):
            return http.send(request, stream=True)


def read(
    response: httpx.Response,
    deadline: Deadline,
    limit: int,
    error: type[OpenRouterAPIError] = OpenRouterAPIError,
) -> bytes:
    """The whole body of ``response``, read and decoded by ``deadline``; more than
    ``limit`` bytes (on the wire or decoded) raise ``error``. The response stays open."""
    with transport_errors(response.request.url, deadline):
        with _concurrency.fail_at(deadline.at):
            return _read_body(response, deadline, limit, error)


def fetch(
    http: httpx.Client, request: httpx.Request, deadline: Deadline, limit: int
) -> tuple[httpx.Response, bytes]:
    """Send ``request`` and read its whole body (see :func:`read`), then close it."""
    response: httpx.Response | None = None
    try:
        with transport_errors(request.url, deadline):
            with _concurrency.fail_at(deadline.at):
                response = http.send(request, stream=True)
                content = _read_body(response, deadline, limit, OpenRouterAPIError)
                return response, content
    finally:
        if response is not None:
            response.close()


def _read_body(
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
    while (data := next_chunk(chunks)) is not None:
        parts.extend(decoder.feed(data))
        deadline.check()
    parts.extend(decoder.flush())
    return parts[0] if len(parts) == 1 else b"".join(parts)


def raw_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body of ``response`` as it comes off the wire (still encoded): decoding is
    left to :class:`~mbxai._http.BodyDecoder`, which bounds it."""
    return cast("Iterator[bytes]", response.stream).__iter__()


def next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    """The next bytes of ``chunks``, or ``None`` at its end."""
    try:
        return chunks.__next__()
    except StopIteration:
        return None


def with_retries(send: Callable[[], Any], schedule: RetrySchedule, event: str) -> Any:
    """``send()``, sent again after each failure ``schedule`` retries, as long
    after it as the schedule says; each retry is logged as ``event``.

    The first attempt runs on its own: a call that succeeds (nearly all of them) pays
    nothing for the retries it did not need.
    """
    try:
        return send()
    except Exception as exc:
        failed = exc
    return retry(send, schedule, event, failed)


def retry(send: Callable[[], Any], schedule: RetrySchedule, event: str, failed: Exception) -> Any:
    """The retries of :func:`with_retries` after a first attempt failed with ``failed``."""
    number = 1
    while True:
        wait = schedule.wait(failed, number)
        if wait is None:
            raise failed
        schedule.report(event, failed, number, wait)
        _concurrency.sleep(wait)
        try:
            return send()
        except Exception as exc:
            failed = exc
            number += 1
