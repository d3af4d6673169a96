"""What every benchmark shares: the canned response, in-memory transports, interleaved timing.

The machines this runs on have 2 noisy cores, so absolute times mean little. Every
benchmark therefore runs its contenders *interleaved* in the same process (round after
round, the order rotating each round), warms them up first, and reports medians of many
rounds and the ratios between contenders measured in the same run.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, Field

BASE_URL = "http://bench.invalid/api/v1"
CHAT_URL = f"{BASE_URL}/chat/completions"
API_KEY = "sk-bench-not-a-real-key"
MODEL = "openai/gpt-4o-mini"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are a concise geography assistant."},
    {"role": "user", "content": "Tell me about Paris: name, population and country."},
]


class CityInfo(BaseModel):
    """The structured-output model every parse contender validates into."""

    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


CITY_JSON = '{"name": "Paris", "population": 2102650, "country": "France"}'

#: One realistic OpenRouter chat completion. Every contender gets exactly these bytes.
RESPONSE_BODY: bytes = json.dumps(
    {
        "id": "gen-1749000000-AbCdEfGhIjKlMnOpQrSt",
        "provider": "OpenAI",
        "model": MODEL,
        "object": "chat.completion",
        "created": 1749000000,
        "system_fingerprint": "fp_34a54ae93c",
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": CITY_JSON,
                    "refusal": None,
                    "reasoning": None,
                },
            }
        ],
        "usage": {"prompt_tokens": 87, "completion_tokens": 18, "total_tokens": 105},
    }
).encode()
RESPONSE_HEADERS: dict[str, str] = {
    "content-type": "application/json",
    "x-request-id": "req_bench_0001",
}


def _transport_classes(http: Any) -> tuple[type, type]:
    """A sync and an async transport for an httpx-compatible module, answering the canned body.

    openai-python 3.x ships on ``httpx2`` (a fork with httpx's API but its own classes),
    so the same transport is built once per HTTP module rather than shared.
    """

    def respond(request: Any) -> Any:
        request.read()  # a real transport sends the body: make everyone pay for it
        return http.Response(200, headers=RESPONSE_HEADERS, content=RESPONSE_BODY)

    class Canned(http.BaseTransport):
        def handle_request(self, request: Any) -> Any:
            return respond(request)

    class AsyncCanned(http.AsyncBaseTransport):
        async def handle_async_request(self, request: Any) -> Any:
            return respond(request)

    return Canned, AsyncCanned


CannedTransport, AsyncCannedTransport = _transport_classes(httpx)


def httpx2_transports() -> tuple[type, type] | None:
    """Canned transports for ``httpx2`` (what openai-python 3.x sends with), if installed."""
    try:
        import httpx2
    except ImportError:
        return None
    return _transport_classes(httpx2)


def openai_http_module() -> Any:
    """The HTTP module openai-python builds its clients from (``httpx`` or ``httpx2``)."""
    import openai

    sig = str(openai.OpenAI.__init__.__annotations__.get("http_client", ""))
    if "httpx2" in sig:
        import httpx2

        return httpx2
    return httpx


# -- timing -----------------------------------------------------------------------------


@dataclass
class Samples:
    """Per-call seconds of one contender, one figure per round."""

    name: str
    per_call: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def spread(self) -> tuple[float, float]:
        """Inter-quartile range, to show how noisy the run was."""
        if len(self.per_call) < 4:
            return (min(self.per_call), max(self.per_call))
        q = statistics.quantiles(self.per_call, n=4)
        return (q[0], q[2])


def _freeze_heap() -> None:
    """Move everything alive now out of the collector's sight (``gc.freeze``).

    With openai-python and instructor imported, one full collection takes tens of
    milliseconds; frozen, the per-batch collection only sees what the calls allocate.
    """
    gc.collect()
    gc.freeze()


def _rotated(names: list[str], shift: int) -> list[str]:
    shift %= len(names)
    return names[shift:] + names[:shift]


def time_sync(
    contenders: Mapping[str, Callable[[], object]], *, rounds: int, batch: int, warmup: int
) -> dict[str, Samples]:
    """Interleave the contenders: each round times ``batch`` calls of each, order rotating."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    samples = {name: Samples(name) for name in names}
    _freeze_heap()
    try:
        for r in range(rounds):
            for name in _rotated(names, r):
                fn = contenders[name]
                gc.collect()  # cheap once the heap is frozen: each batch starts clean
                start = time.perf_counter()
                for _ in range(batch):
                    fn()
                samples[name].per_call.append((time.perf_counter() - start) / batch)
    finally:
        gc.unfreeze()
    return samples


async def time_async(
    contenders: Mapping[str, Callable[[], Awaitable[object]]],
    *,
    rounds: int,
    batch: int,
    warmup: int,
) -> dict[str, Samples]:
    """The async twin of :func:`time_sync`: one awaited call after another on one loop."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            await contenders[name]()
    samples = {name: Samples(name) for name in names}
    _freeze_heap()
    try:
        for r in range(rounds):
            for name in _rotated(names, r):
                fn = contenders[name]
                gc.collect()  # cheap once the heap is frozen: each batch starts clean
                start = time.perf_counter()
                for _ in range(batch):
                    await fn()
                samples[name].per_call.append((time.perf_counter() - start) / batch)
    finally:
        gc.unfreeze()
    return samples


def version_of(dist: str) -> str | None:
    """An installed distribution's version, or ``None``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
