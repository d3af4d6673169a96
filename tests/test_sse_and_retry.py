"""Pure, flavour-free pieces: the SSE decoder, Retry-After parsing and the retry verdict."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mbxai import (
    BadRequestError,
    InternalServerError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    RateLimitError,
    StreamError,
    StructuredOutputError,
)
from mbxai._base import DONE, decode_event
from mbxai._retry import RetryPolicy, parse_retry_after
from mbxai._sse import ServerSentEvent, SSEDecoder


def feed_all(lines: list[str]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.feed(line)) is not None]
    last = decoder.flush()
    return [*events, last] if last else events


def test_sse_comments_multiline_data_and_fields() -> None:
    events = feed_all(
        [
            ": OPENROUTER PROCESSING",
            "",
            "event: update",
            "id: 7",
            "retry: 100",
            "data: a",
            "data:b",
            "",
            "data: [DONE]",
        ]
    )
    assert events == [
        ServerSentEvent(event="update", data="a\nb", id="7", retry=100),
        ServerSentEvent(event="message", data="[DONE]", id="7", retry=100),  # both persist
    ]


@given(st.lists(st.text(), max_size=30))
def test_sse_decoder_never_crashes(lines: list[str]) -> None:
    for line in lines:
        for piece in line.splitlines() or [""]:
            feed_all([piece])


def test_decode_event() -> None:
    assert decode_event(ServerSentEvent("message", "[DONE]")) is DONE
    chunk = decode_event(ServerSentEvent("message", '{"choices":[{"delta":{"content":"x"}}]}'))
    assert chunk is not DONE
    assert chunk is not None
    with pytest.raises(StreamError, match="malformed"):
        decode_event(ServerSentEvent("message", "{not json"))
    with pytest.raises(StreamError, match="quota"):
        decode_event(ServerSentEvent("error", '{"error": {"message": "quota", "code": 429}}'))


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(12.0)
    assert (
        parse_retry_after({"retry-after": email.utils.formatdate(now - 60, usegmt=True)}, now=now)
        == 0.0
    )
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "nonsense", "retry-after": "9"}) == 9.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-1"}) is None
    assert parse_retry_after({}) is None


def test_retry_policy_verdicts() -> None:
    policy = RetryPolicy(max_retry_after=5.0)
    assert policy(OpenRouterConnectionError("refused")) is True
    assert policy(InternalServerError("x", status_code=502)) is True
    assert policy(OpenRouterAPIError("x", status_code=408)) is True
    assert policy(OpenRouterAPIError("x", status_code=409)) is True
    assert policy(BadRequestError("x", status_code=400)) is False
    assert policy(OpenRouterAPIError("x", status_code=404)) is False
    assert policy(RateLimitError("x", status_code=429, retry_after=2.0)) == 2.0
    assert policy(RateLimitError("x", status_code=429, retry_after=100.0)) == 5.0
    assert policy(BadRequestError("x", status_code=400, should_retry=True)) is True
    assert policy(InternalServerError("x", status_code=500, should_retry=False)) is False
    assert policy(StructuredOutputError("x", raw_output="{}")) is False
    assert policy(ValueError("x")) is False
