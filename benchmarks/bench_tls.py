"""Bursts of concurrent async chat calls over HTTPS, the way users meet an endpoint.

The server (:mod:`tls_server`, hypercorn in its own process) speaks TLS with a
certificate from a test CA made here with ``trustme``, offers HTTP/2 and HTTP/1.1 by
ALPN, allows 100 concurrent streams per HTTP/2 connection (hypercorn's default, and a
common one) and answers each request after ``delay`` seconds. Bursts of 100 and of 1000
calls, each on a fresh client (a cold pool: TLS handshakes are part of the cost),
contenders interleaved, order rotating. Contenders:

* ``mbxai``: ``AsyncOpenRouterClient`` as constructed (``http_backend="httpx"``, the
  default: HTTP/2 offered);
* ``mbxai (httpx)`` / ``mbxai (aiohttp)``: the same client with ``http_backend="httpx"``
  (HTTP/2 offered) or ``"aiohttp"``; before mbxai had the option, the aiohttp row used
  httpx-aiohttp's ``AiohttpTransport`` in its place;
* ``openai``: ``AsyncOpenAI`` as constructed;
* ``raw httpx h1`` / ``raw httpx h2``: ``httpx.AsyncClient`` with openai-python's limits
  (1000 connections, 100 kept alive), HTTP/1.1 only or HTTP/2 allowed, ``post`` + ``json()``;
* ``raw aiohttp``: ``aiohttp.ClientSession`` with a 1000-connection pool, ``post`` + ``json()``.

Every client trusts the test CA: the raw ones through an SSL context given to them, the
libraries as constructed, through ``SSL_CERT_FILE`` (which httpx, httpx2 and OpenSSL
honour), set for the duration of this benchmark.

Two figures per burst: its wall time and the client process's CPU time
(``time.process_time``) over the number of calls. Ratios compare each contender with the
fastest raw stack (by median wall time) and with openai-python, measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from _common import API_KEY, MESSAGES, MODEL, version_of

import mbxai

HERE = Path(__file__).parent
RAW = ("raw httpx h1", "raw httpx h2", "raw aiohttp")
Factory = Callable[[str, int, str], Any]


def _context(ca_pem: str) -> ssl.SSLContext:
    """A new SSL context trusting the test CA: one per client, since httpx sets ALPN
    protocols on the context it is given, and aiohttp on a context with ``h2`` offered
    would be answered in HTTP/2."""
    return ssl.create_default_context(cafile=ca_pem)


@contextlib.contextmanager
def tls_server(delay: float) -> Iterator[tuple[str, str]]:
    """A test CA, the server in its own process; yield its base URL and the CA's PEM path."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    with tempfile.TemporaryDirectory(prefix="mbxai-bench-tls-") as tmp:
        ca_pem, cert_pem, key_pem = (Path(tmp) / n for n in ("ca.pem", "cert.pem", "key.pem"))
        ca.cert_pem.write_to_path(str(ca_pem))
        cert.private_key_pem.write_to_path(str(key_pem))
        for blob in cert.cert_chain_pems:
            blob.write_to_path(str(cert_pem), append=True)
        proc = subprocess.Popen(  # noqa: S603 - our own script, run with our own interpreter
            [
                sys.executable,
                str(HERE / "tls_server.py"),
                "--cert",
                str(cert_pem),
                "--key",
                str(key_pem),
                "--delay",
                str(delay),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=HERE,
        )
        try:
            assert proc.stdout is not None
            port = int(proc.stdout.readline())
            yield f"https://127.0.0.1:{port}/api/v1", str(ca_pem)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()  # the server exits when its stdin closes
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _limits(n: int) -> httpx.Limits:
    return httpx.Limits(max_connections=max(n, 1000), max_keepalive_connections=100)


@contextlib.asynccontextmanager
async def raw_httpx(
    base_url: str, n: int, ca_pem: str, *, http2: bool
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    url = f"{base_url}/chat/completions"
    payload = {"model": MODEL, "messages": MESSAGES}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(
        limits=_limits(n), timeout=60.0, verify=_context(ca_pem), http2=http2
    ) as client:

        async def call() -> Any:
            return (await client.post(url, json=payload, headers=headers)).json()

        yield call


@contextlib.asynccontextmanager
async def raw_httpx_h1(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
    async with raw_httpx(base_url, n, ca_pem, http2=False) as call:
        yield call


@contextlib.asynccontextmanager
async def raw_httpx_h2(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
    async with raw_httpx(base_url, n, ca_pem, http2=True) as call:
        yield call


@contextlib.asynccontextmanager
async def raw_aiohttp(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
    import aiohttp

    url = f"{base_url}/chat/completions"
    payload = {"model": MODEL, "messages": MESSAGES}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    connector = aiohttp.TCPConnector(limit=max(n, 1000), ssl=_context(ca_pem))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> Any:
            async with session.post(url, json=payload, headers=headers) as response:
                return await response.json()

        yield call


@contextlib.asynccontextmanager
async def mbxai_default(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
    async with mbxai.AsyncOpenRouterClient(token=API_KEY, base_url=base_url, model=MODEL) as mb:
        yield lambda: mb.create(MESSAGES)


def mbxai_has_backends() -> bool:
    """Whether this mbxai offers ``http_backend=`` (else httpx-aiohttp stands in)."""
    try:
        mbxai.AsyncOpenRouterClient(token=API_KEY, http_backend="httpx")  # type: ignore[call-arg]
    except TypeError:
        return False
    return True


def _mbxai_backend(backend: str) -> Factory:
    @contextlib.asynccontextmanager
    async def factory(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
        if mbxai_has_backends():
            options: dict[str, Any] = {"http_backend": backend}
        else:  # before http_backend=: the third-party transport, as docs/performance.md said
            from httpx_aiohttp import AiohttpTransport

            options = {"transport": AiohttpTransport(limits=_limits(n))}
        async with mbxai.AsyncOpenRouterClient(
            token=API_KEY, base_url=base_url, model=MODEL, **options
        ) as mb:
            yield lambda: mb.create(MESSAGES)

    return factory


@contextlib.asynccontextmanager
async def openai_default(base_url: str, n: int, ca_pem: str) -> AsyncIterator[Any]:
    import openai

    async with openai.AsyncOpenAI(api_key=API_KEY, base_url=base_url) as oa:
        yield lambda: oa.chat.completions.create(model=MODEL, messages=MESSAGES)


def contenders() -> dict[str, Factory]:
    found: dict[str, Factory] = {"mbxai": mbxai_default}
    if mbxai_has_backends():
        found["mbxai (httpx)"] = _mbxai_backend("httpx")
    if version_of("aiohttp") and (mbxai_has_backends() or version_of("httpx-aiohttp")):
        found["mbxai (aiohttp)"] = _mbxai_backend("aiohttp")
    if version_of("openai"):
        found["openai"] = openai_default
    found["raw httpx h1"] = raw_httpx_h1
    if version_of("h2"):
        found["raw httpx h2"] = raw_httpx_h2
    if version_of("aiohttp"):
        found["raw aiohttp"] = raw_aiohttp
    return found


async def burst(factory: Factory, base_url: str, n: int, ca_pem: str) -> tuple[float, float]:
    """Wall seconds and client CPU seconds per call for ``n`` concurrent calls on a fresh
    client (its construction not counted)."""
    async with factory(base_url, n, ca_pem) as call:
        gc.collect()
        cpu = time.process_time()
        start = time.perf_counter()
        results = await asyncio.gather(*(call() for _ in range(n)))
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    assert len(results) == n
    return wall, cpu / n


def run(
    *,
    sizes: tuple[int, ...] = (100, 1000),
    delay: float = 0.1,
    reps: int = 5,
    budget_s: float = 20.0,
) -> dict[str, Any]:
    """For each burst size, up to ``reps`` bursts per contender, interleaved; a contender
    stops repeating a size once its bursts of that size took ``budget_s`` seconds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    found = contenders()
    figures: dict[int, dict[str, dict[str, list[float]]]] = {
        n: {name: {"wall": [], "cpu": []} for name in found} for n in sizes
    }
    failed: dict[str, int] = {}

    async def main(base_url: str, ca_pem: str) -> None:
        for factory in found.values():  # warm up: imports, first handshakes, code paths
            await burst(factory, base_url, 20, ca_pem)
        names = list(found)
        for n in sizes:
            for r in range(reps):
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    if sum(figures[n][name]["wall"]) < budget_s:
                        try:
                            wall, cpu = await burst(found[name], base_url, n, ca_pem)
                        except Exception as exc:  # an overloaded machine: note it, go on
                            print(f"  {name} x{n}: burst failed ({type(exc).__name__})")
                            failed[f"{name} x{n}"] = failed.get(f"{name} x{n}", 0) + 1
                            continue
                        figures[n][name]["wall"].append(wall)
                        figures[n][name]["cpu"].append(cpu)

    with tls_server(delay) as (base_url, ca_pem):
        previous = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = ca_pem
        try:
            asyncio.run(main(base_url, ca_pem))
        finally:
            if previous is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = previous
    bursts: dict[str, Any] = {}
    for n in sizes:
        rows = {
            name: {
                "wall_s_median": statistics.median(f["wall"]),
                "wall_s_all": f["wall"],
                "cpu_us_per_call_median": statistics.median(f["cpu"]) * 1e6,
                "cpu_us_per_call_all": [c * 1e6 for c in f["cpu"]],
                "x_latency": statistics.median(f["wall"]) / delay,
            }
            for name, f in figures[n].items()
            if f["wall"]
        }
        raw = [name for name in RAW if name in rows]
        fastest = min(raw, key=lambda name: rows[name]["wall_s_median"])
        for row in rows.values():
            row["wall_vs_fastest_raw"] = row["wall_s_median"] / rows[fastest]["wall_s_median"]
            row["cpu_vs_fastest_raw"] = (
                row["cpu_us_per_call_median"] / rows[fastest]["cpu_us_per_call_median"]
            )
            if "openai" in rows:
                row["wall_vs_openai"] = row["wall_s_median"] / rows["openai"]["wall_s_median"]
                row["cpu_vs_openai"] = (
                    row["cpu_us_per_call_median"] / rows["openai"]["cpu_us_per_call_median"]
                )
        bursts[str(n)] = {"calls": n, "fastest_raw": fastest, "results": rows}
    return {
        "latency_s": delay,
        "repetitions": reps,
        "server": f"hypercorn {version_of('hypercorn')}, TLS (trustme CA), ALPN h2 + http/1.1",
        "cpu_count": os.cpu_count(),
        "failed_bursts": failed,
        "bursts": bursts,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(reps=3), indent=1))  # a quick look on its own
