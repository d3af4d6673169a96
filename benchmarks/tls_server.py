"""An HTTPS server on 127.0.0.1 (hypercorn) answering every request after a fixed delay.

What users meet: TLS, with HTTP/2 and HTTP/1.1 offered by ALPN, as OpenRouter and most
OpenAI-compatible endpoints do. Run as its own process (``python tls_server.py --cert
CERT --key KEY --delay 0.1``): it prints the port it listens on and exits after
``--lifetime`` seconds or when its stdin closes, so it never outlives the benchmark. The
certificate comes from a test CA (``trustme``) that the benchmark makes.

hypercorn keeps what a real server does: at most 100 concurrent streams per HTTP/2
connection (its default), keep-alive. The listen backlog is raised so that a burst of
1000 new connections is not refused. It is pure Python, about 1 ms of server CPU per
request here, on the second core: that floors every contender's burst alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import socket
import sys
from typing import Any

from _common import RESPONSE_BODY, RESPONSE_HEADERS

HEADERS = [(k.encode(), v.encode()) for k, v in RESPONSE_HEADERS.items()] + [
    (b"content-length", str(len(RESPONSE_BODY)).encode())
]


def app(delay: float) -> Any:
    """A raw ASGI app: read the body, wait ``delay``, answer the canned completion."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": RESPONSE_BODY})

    return asgi


async def serve(args: argparse.Namespace) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.certfile = args.cert
    config.keyfile = args.key
    config.backlog = 4096
    config.accesslog = None
    config.errorlog = None
    print(sock.getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def on_stdin() -> None:
        if not sys.stdin.buffer.read1(4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)

    async def shutdown() -> None:
        await asyncio.wait_for(asyncio.shield(stdin_closed), timeout=args.lifetime)

    with contextlib.suppress(TimeoutError):
        await serve(app(args.delay), config, shutdown_trigger=shutdown)  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", required=True, help="PEM certificate chain")
    parser.add_argument("--key", required=True, help="PEM private key")
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each answer")
    parser.add_argument("--lifetime", type=float, default=900.0, help="exit after this long")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))
