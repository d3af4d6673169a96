"""Fixture plugin: ``https_server``, a real HTTPS chat endpoint on 127.0.0.1 (hypercorn).

Its certificate comes from a test CA made with trustme (``https_server.ca_pem`` is the
CA's PEM file, for ``verify=``). It offers HTTP/2 and HTTP/1.1 by ALPN, or HTTP/1.1 only
(``https_server_h1``), and answers a chat completion whose content is the HTTP version
the request came in (``"HTTP/2"``, ``"HTTP/1.1"``; ``{"answer": ...}`` when a
``response_format`` is asked for), or a stream of two chunks saying it
for ``"stream": true``. Under ``/slow/`` it answers after 30 s (deadline tests), under
``/big/`` with a 64 KiB body (size cap tests). Every request's HTTP version is recorded
in ``https_server.versions``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


@dataclass
class HttpsServer:
    base_url: str
    ca_pem: str
    versions: list[str] = field(default_factory=list)


def _completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "gen-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


def _chunk(content: str) -> bytes:
    data = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def _app(server: HttpsServer) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        version = f"HTTP/{scope['http_version']}"
        server.versions.append(version)
        path = scope["path"]
        if path.startswith("/slow/"):
            await asyncio.sleep(30)
        stream = bool(body) and json.loads(body).get("stream") is True
        if stream:
            headers = [(b"content-type", b"text/event-stream")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for part in (_chunk(version), _chunk("!"), b"data: [DONE]\n\n"):
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        content = "x" * 65536 if path.startswith("/big/") else version
        if b"response_format" in body:  # parse: the answer as the JSON asked for
            content = json.dumps({"answer": version})
        payload = _completion(content)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def _serve(tmp: Path, alpn: list[str]) -> Iterator[HttpsServer]:
    import trustme
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = (tmp / n for n in ("ca.pem", "cert.pem", "key.pem"))
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(cert_pem), append=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until hypercorn accepts
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.certfile, config.keyfile = str(cert_pem), str(key_pem)
    config.alpn_protocols = alpn
    config.accesslog = config.errorlog = None
    config.graceful_timeout = 0.5
    server = HttpsServer(f"https://127.0.0.1:{port}/v1", str(ca_pem))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        loop.call_soon(started.set)
        await serve(_app(server), config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        sock.detach()  # hypercorn owned and closed the descriptor


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[HttpsServer]:
    """HTTPS on 127.0.0.1 offering HTTP/2 and HTTP/1.1 (see the module docstring)."""
    yield from _serve(tmp_path, ["h2", "http/1.1"])


@pytest.fixture
def https_server_h1(tmp_path: Path) -> Iterator[HttpsServer]:
    """HTTPS on 127.0.0.1 offering HTTP/1.1 only."""
    yield from _serve(tmp_path, ["http/1.1"])
