"""Which event loop a test runs on, and how long it went without running.

* :func:`on_trio`: True inside a test running on trio (False on asyncio and in sync code);
* :class:`AsyncHeartbeat` / :class:`Heartbeat`: how long the event loop (the caller's,
  or mbxai's background loop for sync code) went without running during a block.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio

from mbxai._concurrency import run_coroutine_blocking

__all__ = ["AsyncHeartbeat", "Heartbeat", "on_trio"]


def on_trio() -> bool:
    """True inside a test running on trio (False on asyncio and in sync code)."""
    try:
        import trio.lowlevel

        trio.lowlevel.current_trio_token()
    except (ImportError, RuntimeError):
        return False
    return True


class AsyncHeartbeat:
    """The longest time the running event loop went without running a task, during the
    block: a task sleeping 5 ms at a time measures the gaps between its wake-ups."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._tg: Any = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while True:
            await anyio.sleep(0.005)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - 0.005)
            last = now

    async def __aenter__(self) -> AsyncHeartbeat:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._beat)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)


class Heartbeat:
    """Sync twin of :class:`AsyncHeartbeat`: the longest time mbxai's background event
    loop (where the sync client's MCP sessions run) took to run a task sent to it."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            run_coroutine_blocking(anyio.sleep, 0)
            self.longest = max(self.longest, time.perf_counter() - started)
            self._stop.wait(0.005)

    def __enter__(self) -> Heartbeat:
        run_coroutine_blocking(anyio.sleep, 0)  # the loop is up before measuring
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._thread.join(10)
