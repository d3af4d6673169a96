"""A tiny HTTP/1.1 server on 127.0.0.1 that answers every request after a fixed delay.

Run as its own process (``python loopback_server.py --delay 0.1``): it prints the port it
listens on, serves keep-alive connections with the canned chat completion, and exits
after ``--lifetime`` seconds or when its stdin closes, so it never outlives the benchmark.

A raw asyncio protocol rather than a framework: parsing a request line, headers and a
``Content-Length`` body is all that is needed, and it costs the server a few
microseconds per request, so the client side is what the measurement shows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import sys

from _common import RESPONSE_BODY

RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: application/json\r\n"
    b"x-request-id: req_bench_0001\r\n"
    b"content-length: " + str(len(RESPONSE_BODY)).encode() + b"\r\n"
    b"\r\n" + RESPONSE_BODY
)
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class DelayedResponder(asyncio.Protocol):
    """One connection: answer each complete request ``delay`` seconds after it arrived."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":  # no client here sends chunked bodies
                    self._send(BAD_REQUEST)
                    return
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.loop.call_later(self.delay, self._send, RESPONSE)

    def _send(self, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(payload)


async def serve(delay: float, lifetime: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: DelayedResponder(delay), "127.0.0.1", 0, backlog=4096, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    stdin_closed = loop.create_future()

    def on_stdin() -> None:
        if not sys.stdin.buffer.read1(4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with server:
        await asyncio.wait_for(asyncio.shield(stdin_closed), timeout=lifetime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.1, help="seconds before each answer")
    parser.add_argument("--lifetime", type=float, default=600.0, help="exit after this long")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    with contextlib.suppress(TimeoutError, KeyboardInterrupt):  # lifetime over, or Ctrl-C
        asyncio.run(serve(args.delay, args.lifetime))


if __name__ == "__main__":
    main()
