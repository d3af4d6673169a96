"""Retry decisions, shared by both flavours; stamina does the waiting and counting.

What is retried: HTTP 408, 409, 429 and 5xx, connection failures and timeouts. What is
not: every other 4xx (the same request would fail the same way), and validation errors.
A server that says how long to wait (``retry-after-ms``, ``Retry-After`` in seconds or as
an HTTP date) is obeyed up to a cap; an ``x-should-retry`` header overrides the status.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ._errors import OpenRouterAPIError, OpenRouterConnectionError

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait as the server asked, or ``None`` when it did not (or said nonsense).

    ``retry-after-ms`` wins over ``Retry-After``; an HTTP date in the past means 0.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = -1.0
        if ms >= 0 and ms == ms:  # rejects NaN
            return ms / 1000.0
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if parsed is None or parsed.tzinfo is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, parsed.timestamp() - current)
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        return None
    return seconds


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    """The server's explicit ``x-should-retry`` verdict, if it gave one."""
    value = headers.get("x-should-retry")
    if value == "true":
        return True
    if value == "false":
        return False
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The backoff hook handed to stamina.

    Returns ``False`` (do not retry), ``True`` (retry after exponential backoff) or a
    number of seconds to wait, taken from the server's ``Retry-After``.
    """

    max_retry_after: float = 60.0

    def __call__(self, exc: Exception) -> bool | float:
        if isinstance(exc, OpenRouterConnectionError):
            return True
        if not isinstance(exc, OpenRouterAPIError):
            return False
        verdict = exc.should_retry
        if verdict is None:
            verdict = exc.status_code in RETRYABLE_STATUS
        if not verdict:
            return False
        if exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return True
