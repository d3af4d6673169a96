"""Retry decisions and waits, shared by both flavours (the clients count and sleep).

What is retried: HTTP 408, 409, 429 and 5xx, connection failures and timeouts. What is
not: every other 4xx (the same request would fail the same way), and validation errors.
A server that says how long to wait (``retry-after-ms``, ``Retry-After`` in seconds or as
an HTTP date) is obeyed up to a cap; an ``x-should-retry`` header overrides the status.

How long to wait otherwise is stamina's schedule: exponential backoff with jitter,
``min(wait_max, wait_initial * 2 ** (retry - 1) + random(0, wait_jitter))``. It is
computed here rather than by ``stamina.retry_context``, because stamina reports every
retry through process-wide instrumentation hooks (with structlog installed, its default
hook prints a warning on stdout) that a library must neither trigger nor reconfigure.
Each retry is reported through the ``mbxai`` logger instead (silent unless the
application configures logging). stamina's own process-wide switches still apply:
``stamina.set_active(False)`` turns mbxai's retries off, and in stamina's testing mode
(``stamina.set_testing(True)``) mbxai retries without waiting.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import OpenRouterAPIError, OpenRouterConnectionError
from ._logging import get_logger
from ._tracing import add_retry_event

__all__ = [
    "RETRYABLE_STATUS",
    "RetryPolicy",
    "RetrySchedule",
    "parse_retry_after",
    "should_retry_header",
]

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
        if 0 <= ms < float("inf"):  # rejects NaN and infinity
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
    """The verdict on a failure (what :class:`RetrySchedule` asks).

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


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Whether, and after how long, a failed request is sent again.

    ``retries`` counts the retries after the first attempt; the waits are stamina's
    (see the module docstring) unless the server asked for one (``policy``).
    """

    policy: RetryPolicy
    retries: int
    wait_initial: float
    wait_max: float
    wait_jitter: float

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RetrySchedule:
        """The schedule for ``_client_base.retry_options(...)`` (keyword arguments stamina takes)."""
        return cls(
            policy=options["on"],
            retries=int(options["attempts"]) - 1,
            wait_initial=float(options["wait_initial"]),
            wait_max=float(options["wait_max"]),
            wait_jitter=float(options["wait_jitter"]),
        )

    def wait(self, exc: Exception, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (from 1) after ``exc``, or
        ``None``: do not retry, raise ``exc``."""
        if retry > self.retries:
            return None
        verdict = self.policy(exc)
        if verdict is False:
            return None
        active, testing = _stamina_switches()
        if not active:
            return None
        if testing:
            return 0.0
        if verdict is True:
            jitter = random.uniform(0, self.wait_jitter) if self.wait_jitter else 0.0  # noqa: S311
            try:
                backoff = self.wait_initial * 2.0 ** (retry - 1) + jitter
            except OverflowError:  # pragma: no cover - thousands of retries
                return self.wait_max
            return min(self.wait_max, backoff)
        return float(verdict)

    def report(self, event: str, exc: Exception, retry: int, wait: float) -> None:
        """Report the retry about to happen: the ``mbxai`` logger (level WARNING, silent
        unless logging is configured) and a ``retry`` event on the current span."""
        status = exc.status_code if isinstance(exc, OpenRouterAPIError) else None
        add_retry_event(retry, self.retries, wait, exc)
        get_logger().warning(
            event,
            retry=retry,
            retries=self.retries,
            status=status,
            caused_by=f"{type(exc).__name__}: {exc}"[:300],
            wait=wait,
        )


def _stamina_switches() -> tuple[bool, bool]:
    """stamina's process-wide (active, testing) switches; (True, False) without stamina."""
    try:
        import stamina
    except ImportError:  # pragma: no cover - stamina is a dependency
        return True, False
    return stamina.is_active(), stamina.is_testing()
