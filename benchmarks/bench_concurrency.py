"""1000 concurrent async chat calls against a loopback server that answers after 100 ms.

The ideal wall time is one latency (100 ms): every call in flight at once. What a client
adds on top is its per-call CPU (on one event loop, 1000 calls' worth of it is serial)
and its connection pool: httpx's default pool allows 100 connections, so 1000 calls go
out in 10 waves of 100 ms each unless the pool is raised. Contenders:

* ``raw httpx``: ``httpx.AsyncClient`` with openai-python's pool limits (1000 connections,
  100 kept alive), ``post`` + ``json()``: the floor for anything built on httpx;
* ``mbxai``: ``AsyncOpenRouterClient`` as constructed (``http_backend="httpx"``, the
  default; 1000 connections, 100 kept alive);
* ``mbxai (httpx)``: the same client with ``http_backend="httpx"`` (httpx's pool, the same
  limits; on plain HTTP it speaks HTTP/1.1);
* ``openai``: ``AsyncOpenAI`` as constructed out of the box (its own pool allows 1000);
* ``asyncio sockets (floor)``: one ``asyncio.open_connection`` per call writing a fixed
  request and reading the reply: no client library at all, so what this machine can do.

Each repetition uses a fresh client (cold pool: connecting is part of the cost), the
contenders alternate, and the wall time of the whole burst is recorded. A contender that
is very slow stops repeating once it has used its time budget (so the whole benchmark
stays within minutes): its median then rests on fewer bursts, which the JSON records.
Memory per in-flight call is measured in a separate burst (tracemalloc slows everything
down): the peak of traced allocations during the burst, minus what was allocated before
it, over the number of calls. Memory that C extensions allocate outside Python's
allocator is not traced.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from _common import API_KEY, MESSAGES, MODEL, version_of

import mbxai

HERE = Path(__file__).parent
#: Not traced for memory (none: every contender allows 1000 calls on the wire).
NO_MEMORY: frozenset[str] = frozenset()


@contextlib.contextmanager
def loopback_server(delay: float) -> Any:
    """Start :mod:`loopback_server` in its own process; yield its base URL."""
    proc = subprocess.Popen(  # noqa: S603 - our own script, run with our own interpreter
        [sys.executable, str(HERE / "loopback_server.py"), "--delay", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=HERE,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server exits when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _limits(n: int) -> httpx.Limits:
    # openai-python's own limits. Not ``httpx.Limits(max_connections=n)`` alone: that leaves
    # keep-alive unbounded (so = n), and httpcore 1.0's pool bookkeeping then costs O(n^2)
    # per request: 1000 calls took 23-30 s instead of 3-5 s here (see docs/performance.md).
    return httpx.Limits(max_connections=n, max_keepalive_connections=min(n, 100))


@contextlib.asynccontextmanager
async def raw_httpx(base_url: str, n: int) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    url = f"{base_url}/chat/completions"
    payload = {"model": MODEL, "messages": MESSAGES}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(limits=_limits(n), timeout=60.0) as client:

        async def call() -> Any:
            return (await client.post(url, json=payload, headers=headers)).json()

        yield call


@contextlib.asynccontextmanager
async def mbxai_default(base_url: str, n: int) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    async with mbxai.AsyncOpenRouterClient(token=API_KEY, base_url=base_url, model=MODEL) as mb:
        yield lambda: mb.create(MESSAGES)


@contextlib.asynccontextmanager
async def mbxai_httpx(base_url: str, n: int) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    async with mbxai.AsyncOpenRouterClient(
        token=API_KEY, base_url=base_url, model=MODEL, http_backend="httpx"
    ) as mb:
        yield lambda: mb.create(MESSAGES)


@contextlib.asynccontextmanager
async def socket_floor(base_url: str, n: int) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    url = httpx.URL(base_url)
    body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
    request = (
        f"POST {url.path}/chat/completions HTTP/1.1\r\nhost: {url.host}:{url.port}\r\n"
        f"authorization: Bearer {API_KEY}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def call() -> Any:
        reader, writer = await asyncio.open_connection(url.host, url.port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            return json.loads(await reader.readexactly(length))
        finally:
            writer.close()

    yield call


@contextlib.asynccontextmanager
async def openai_default(base_url: str, n: int) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    import openai

    async with openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url) as oa:
        yield lambda: oa.chat.completions.create(model=MODEL, messages=MESSAGES)


def contenders() -> dict[str, Any]:
    found: dict[str, Any] = {
        "raw httpx": raw_httpx,
        "mbxai": mbxai_default,
        "mbxai (httpx)": mbxai_httpx,
    }
    if version_of("openai"):
        found["openai"] = openai_default
    found["asyncio sockets (floor)"] = socket_floor
    return found


async def burst(factory: Any, base_url: str, n: int) -> float:
    """Wall seconds for ``n`` concurrent calls on a fresh client (its setup not counted)."""
    async with factory(base_url, n) as call:
        gc.collect()
        start = time.perf_counter()
        results = await asyncio.gather(*(call() for _ in range(n)))
        wall = time.perf_counter() - start
    assert len(results) == n
    return wall


async def traced_burst(factory: Any, base_url: str, n: int) -> float:
    """Bytes of Python heap per in-flight call: (peak during the burst - before) / n."""
    async with factory(base_url, n) as call:
        await call()  # the client's lazy setup is not per-call memory
        gc.collect()
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            await asyncio.gather(*(call() for _ in range(n)))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return (peak - before) / n


def run(*, n: int, delay: float, reps: int, budget_s: float = 20.0) -> dict[str, Any]:
    """Bursts of ``n`` calls, up to ``reps`` per contender, interleaved; then memory.

    A contender stops repeating once its bursts took ``budget_s`` seconds in total.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    found = contenders()
    walls: dict[str, list[float]] = {name: [] for name in found}
    memory: dict[str, float] = {}
    failed: dict[str, int] = {}

    async def main(base_url: str) -> None:
        for factory in found.values():  # warm up: imports, first connections, code paths
            await burst(factory, base_url, min(n, 100))
        names = list(found)
        for r in range(reps):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                if sum(walls[name]) < budget_s:
                    try:
                        walls[name].append(await burst(found[name], base_url, n))
                    except Exception as exc:  # an overloaded machine: note it, go on
                        print(f"  {name}: burst failed ({type(exc).__name__})", flush=True)
                        failed[name] = failed.get(name, 0) + 1
        for name, factory in found.items():
            if name not in NO_MEMORY and walls[name]:
                with contextlib.suppress(Exception):
                    memory[name] = await traced_burst(factory, base_url, n)

    with loopback_server(delay) as base_url:
        asyncio.run(main(base_url))
    return {
        "calls": n,
        "latency_s": delay,
        "repetitions": reps,
        "cpu_count": os.cpu_count(),
        "failed_bursts": failed,
        "results": {
            name: {
                "wall_s_median": statistics.median(walls[name]),
                "wall_s_all": walls[name],
                "x_latency": statistics.median(walls[name]) / delay,
                "bytes_per_call": memory.get(name),
            }
            for name in found
            if walls[name]
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(n=1000, delay=0.1, reps=3), indent=2))  # a quick look on its own
