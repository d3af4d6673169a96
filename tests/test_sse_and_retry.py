"""Pure, flavour-free pieces: the SSE decoder, Retry-After parsing and the retry verdict,
the retry schedule, bounded body decoding and URL credential redaction."""

from __future__ import annotations

import email.utils
import gzip
import re
import time
import zlib
from typing import Any

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
from mbxai._chat import DONE, decode_event
from mbxai._errors import LineTooLongError
from mbxai._http import PIECE, BodyDecoder, SafeURL, split_credentials
from mbxai._logging import redact, redact_url
from mbxai._retry import RetryPolicy, RetrySchedule, parse_retry_after
from mbxai._sse import LineDecoder, ServerSentEvent, SSEDecoder


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


@given(st.text(alphabet="ab\r\n\u00e9", max_size=60), st.lists(st.integers(1, 5), max_size=40))
def test_line_decoder_splits_like_the_spec_however_the_bytes_are_cut(
    text: str, cuts: list[int]
) -> None:
    data = text.encode()
    decoder = LineDecoder(1000)
    lines: list[str] = []
    start = 0
    for size in [*cuts, len(data)]:
        lines += decoder.feed(data[start : start + size])
        start += size
    lines += decoder.flush()
    expected = re.split(r"\r\n|\r|\n", text)
    if expected[-1] == "":
        expected.pop()
    assert lines == expected


def test_a_long_line_costs_linear_time_and_is_capped() -> None:
    decoder = LineDecoder(8 << 20)
    started = time.monotonic()
    for _ in range(120):  # 7.5 MiB in 64 KiB pieces: quadratic re-scanning took seconds
        decoder.feed(b"x" * 65536)
    assert time.monotonic() - started < 1.0
    with pytest.raises(LineTooLongError):
        for _ in range(20):
            decoder.feed(b"x" * 65536)


def test_an_event_of_endless_data_lines_is_capped() -> None:
    decoder = SSEDecoder(max_event=100)
    for _ in range(9):
        assert decoder.feed("data: 0123456789") is None
    with pytest.raises(LineTooLongError, match="event larger than 100"):
        decoder.feed("data: 0123456789")


def test_retry_schedule_is_staminas_backoff_or_the_servers_wait() -> None:
    schedule = RetrySchedule(RetryPolicy(max_retry_after=5.0), 4, 1.0, 6.0, 0.0)
    overloaded = InternalServerError("x", status_code=503)
    assert [schedule.wait(overloaded, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 6.0]
    assert schedule.wait(overloaded, 5) is None  # retries used up
    assert schedule.wait(RateLimitError("x", status_code=429, retry_after=30), 1) == 5.0
    assert schedule.wait(BadRequestError("x", status_code=400), 1) is None
    jittered = RetrySchedule(RetryPolicy(), 3, 1.0, 10.0, 1.0)
    waits = {jittered.wait(overloaded, 1) for _ in range(50)}
    assert all(1.0 <= w <= 2.0 for w in waits if w is not None)
    assert len(waits) > 1


def test_body_decoder_bounds_a_bomb_piece_by_piece() -> None:
    bomb = gzip.compress(bytes(64 << 20))
    decoder = BodyDecoder({"content-encoding": "gzip"}, 200, limit=1 << 20)
    sizes: list[int] = []
    with pytest.raises(OpenRouterAPIError, match="max_response_bytes") as info:
        sizes.extend(len(piece) for piece in decoder.feed(bomb))
    assert info.value.should_retry is False
    assert max(sizes) <= PIECE
    assert sum(sizes) <= 1 << 20  # the piece that went over was never handed out
    unbounded = BodyDecoder({"content-encoding": "gzip"}, 200, limit=None)
    pieces = unbounded.feed(bomb)
    assert all(len(next(pieces)) <= PIECE for _ in range(100))  # lazily, in bounded pieces


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("identity", lambda data: data),
    ],
)
def test_body_decoder_round_trips(encoding: str, encode: Any) -> None:
    data = b"hello, world " * 40_000
    wire = encode(data)
    decoder = BodyDecoder({"content-encoding": encoding}, 200, limit=len(data))
    out = b"".join(p for i in range(0, len(wire), 997) for p in decoder.feed(wire[i : i + 997]))
    assert out + b"".join(decoder.flush()) == data


def test_body_decoder_refuses_what_it_cannot_bound() -> None:
    with pytest.raises(OpenRouterAPIError, match="Content-Encoding 'br'"):
        BodyDecoder({"content-encoding": "br"}, 200, limit=None)
    with pytest.raises(StreamError, match="does not decompress"):
        list(
            BodyDecoder({"content-encoding": "gzip"}, 200, limit=None, error=StreamError).feed(
                b"??"
            )
        )
    identity = BodyDecoder({}, 200, limit=10)
    with pytest.raises(OpenRouterAPIError, match="max_response_bytes"):
        list(identity.feed(b"x" * 11))


def test_url_credentials_are_redacted_and_moved_to_a_header() -> None:
    assert redact_url("https://bob:pw@host/v1") == "https://***@host/v1"
    assert redact_url("http://bob:p@ss@host:8/v1?mail=a@b") == "http://***@host:8/v1?mail=a@b"
    assert redact("failed for HTTPS://tok@h.example/x") == "failed for HTTPS://***@h.example/x"
    url = SafeURL("https://bob:pw-42@host/v1")
    assert repr(url) == "'https://***@host/v1'"
    assert f"{url}/chat" == "https://bob:pw-42@host/v1/chat"  # the value keeps them
    plain, header = split_credentials("https://bob:p%40ss@host/v1/chat")
    assert plain == "https://host/v1/chat"
    assert header == "Basic Ym9iOnBAc3M="  # base64("bob:p@ss"), as httpx sends it
    assert redact("the password is p@ss") == "the password is ***"  # registered as a secret
    assert split_credentials("https://host/v1") == ("https://host/v1", None)
