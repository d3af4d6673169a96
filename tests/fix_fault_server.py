"""Fixture: ``fault_server``, a misbehaving chat endpoint for the fault suite
(tests/_async/faults/, both flavours).

:class:`FaultServer` is an OpenAI-compatible chat endpoint on 127.0.0.1 (a free port) that
answers each request with the next scripted *behaviour*: a proper reply, an error status,
an SSE stream cut mid-way, a socket that never answers, garbage bytes, a huge body...
It is raw asyncio running in its own thread, so it serves async tests (asyncio and trio)
and sync tests alike, and every byte it sends is under the test's control. It records
every request (headers and body) so tests can look for leaked secrets. The behaviours
(:func:`reply`, :func:`status`, :func:`sse`, :func:`hang`...) are imported from here.

Everything here is bounded: a hanging behaviour waits for the server to stop, and
stopping releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gzip
import json
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest

__all__ = [
    "Behaviour",
    "FaultServer",
    "Received",
    "bomb",
    "close_at_once",
    "completion",
    "encode",
    "endless",
    "fault_server",
    "garbage",
    "hang",
    "http_date",
    "huge",
    "raw",
    "refused_url",
    "reply",
    "sse",
    "status",
    "tool_reply",
    "trickle",
    "trickle_head",
]

_STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Received:
    """One request the server read."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Connection:
    """What a behaviour uses to answer: the socket's writer, and a way to wait forever."""

    def __init__(self, writer: asyncio.StreamWriter, stopping: asyncio.Event) -> None:
        self.writer = writer
        self._stopping = stopping

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def head(self, code: int, headers: Mapping[str, str], *, length: int | None) -> None:
        lines = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        await self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def respond(self, code: int, body: bytes, headers: Mapping[str, str]) -> None:
        await self.head(code, headers, length=len(body))
        await self.send(body)

    async def wait_forever(self) -> None:
        """Hold the connection open until the server stops (never answers by itself)."""
        await self._stopping.wait()

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` if the server began to stop meanwhile (stop then)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return not self._stopping.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return not self._stopping.is_set()


#: A behaviour answers one request; it may write anything, or nothing, on the socket.
Behaviour = Callable[[Connection, Received], Awaitable[None]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


# -- behaviours ---------------------------------------------------------------------------


def completion(
    content: str | None = "ok", *, tool_calls: list[Any] | None = None
) -> dict[str, Any]:
    """A chat completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "gen-fault",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fault/server",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def status(
    code: int, body: Any = None, headers: Mapping[str, str] | None = None, *, text: bool = False
) -> Behaviour:
    """Answer ``code`` with a JSON ``body`` (or a text one with ``text=True``)."""
    if body is None:
        body = {"error": {"message": f"fault server says {code}", "code": code}}
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    kind = "text/html" if text else "application/json"

    async def behave(conn: Connection, request: Received) -> None:
        await conn.respond(code, raw, {"Content-Type": kind, **(headers or {})})

    return behave


def reply(content: str = "ok") -> Behaviour:
    """A proper chat completion with ``content``."""
    return status(200, completion(content))


def tool_reply(*calls: tuple[str, str]) -> Behaviour:
    """A completion that calls tools: ``(name, raw JSON arguments)`` pairs, sent as given."""
    tool_calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}
        for i, (name, args) in enumerate(calls)
    ]
    return status(200, completion(None, tool_calls=tool_calls))


def _chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "gen-fault",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "fault/server",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def sse(
    words: Iterable[str] = ("Hello", " world"),
    *,
    then: str = "done",
    events: Iterable[str] = (),
    chunked: bool = True,
) -> Behaviour:
    """An SSE stream of one chunk per word, then (``then``):

    * ``"done"``: a finish chunk and ``data: [DONE]``, the proper end;
    * ``"cut"``: the connection is closed (a chunked body left incomplete);
    * ``"close"``: the body simply ends, without a finish chunk or ``[DONE]``;
    * ``"stall"``: nothing more is sent, the connection stays open;
    * ``"events"``: the raw SSE ``events`` given (e.g. an ``event: error``), then the end.
    """
    frames = [f"data: {json.dumps(_chunk(w))}\n\n".encode() for w in words]

    async def behave(conn: Connection, request: Received) -> None:
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        await conn.head(200, headers, length=None)

        async def part(data: bytes) -> None:
            if chunked:
                await conn.send(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                await conn.send(data)

        await part(b": OPENROUTER PROCESSING\n\n")
        for frame in frames:
            await part(frame)
        if then == "cut":
            return  # the server closes the socket mid-body
        if then == "stall":
            await conn.wait_forever()
            return
        if then == "events":
            for event in events:
                await part(event.encode())
        elif then == "done":
            await part(f"data: {json.dumps(_chunk(finish='stop'))}\n\n".encode())
            await part(b"data: [DONE]\n\n")
        if chunked:
            await conn.send(b"0\r\n\r\n")

    return behave


async def hang(conn: Connection, request: Received) -> None:
    """Read the request, never answer."""
    await conn.wait_forever()


async def close_at_once(conn: Connection, request: Received) -> None:
    """Read the request and close the connection without a byte of response."""


def garbage(data: bytes = b"\x00\xff\xfeNOT HTTP AT ALL\r\n\r\n\x13\x37") -> Behaviour:
    """Answer with bytes that are not HTTP."""

    async def behave(conn: Connection, request: Received) -> None:
        await conn.send(data)

    return behave


def huge(size: int, *, prefix: bytes = b"", piece: int = 1 << 20) -> Behaviour:
    """HTTP 200 whose body is ``prefix`` then ``x`` up to ``size`` bytes, with a length."""

    async def behave(conn: Connection, request: Received) -> None:
        await conn.head(200, {"Content-Type": "application/json"}, length=size)
        await conn.send(prefix)
        left = size - len(prefix)
        block = b"x" * piece
        while left > 0:
            await conn.send(block[: min(piece, left)])
            left -= piece

    return behave


def encode(data: bytes, encoding: str) -> bytes:
    """``data`` compressed as a ``Content-Encoding`` says (``"gzip"``, ``"deflate"``, the
    raw-deflate variant ``"raw-deflate"``, or several, comma-separated, applied in order)."""
    for name in (n.strip() for n in encoding.split(",")):
        if name == "gzip":
            data = gzip.compress(data, compresslevel=9, mtime=0)
        elif name == "deflate":
            data = zlib.compress(data, 9)
        elif name == "raw-deflate":
            compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
            data = compressor.compress(data) + compressor.flush()
        elif name != "identity":
            raise ValueError(f"cannot encode {name!r}")
    return data


def raw(
    code: int,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    chunked: bool = False,
    piece: int = 1 << 16,
) -> Behaviour:
    """Answer ``code`` with exactly ``headers`` and ``body`` (sent with its length, or
    chunked in pieces of ``piece`` bytes)."""

    async def behave(conn: Connection, request: Received) -> None:
        if not chunked:
            await conn.respond(code, body, dict(headers or {}))
            return
        await conn.head(code, {**(headers or {}), "Transfer-Encoding": "chunked"}, length=None)
        for start in range(0, len(body), piece):
            part = body[start : start + piece]
            await conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        await conn.send(b"0\r\n\r\n")

    return behave


def bomb(
    size: int,
    encoding: str = "gzip",
    *,
    content_type: str = "application/json",
    fill: bytes = b"\0",
    chunked: bool = False,
) -> Behaviour:
    """HTTP 200 whose body, ``size`` bytes of ``fill`` once decoded, is sent compressed
    (``encoding``): a "gzip bomb", whose ``Content-Length`` is a small fraction of it."""
    body = encode(fill * (size // len(fill)), encoding)
    label = encoding.replace("raw-deflate", "deflate")
    headers = {"Content-Type": content_type, "Content-Encoding": label}
    return raw(200, body, headers, chunked=chunked)


def trickle(
    data: bytes,
    *,
    every: float = 0.1,
    head: bytes | None = None,
    piece: int = 1,
    forever: bool = False,
) -> Behaviour:
    """Send ``head`` (by default a 200 head for a JSON body of ``len(data)`` bytes) at
    once, then ``data`` ``piece`` bytes every ``every`` seconds (with ``forever``, over and
    over): each read gets something, so no read ever times out."""
    if head is None:
        head = (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % (1 << 40 if forever else len(data))
        )

    async def behave(conn: Connection, request: Received) -> None:
        await conn.send(head)
        deadline = time.monotonic() + 120  # bounded, whatever the client does
        while time.monotonic() < deadline:
            for start in range(0, len(data), piece):
                await conn.send(data[start : start + piece])
                if not await conn.pause(every):
                    return
            if not forever:
                return

    return behave


def trickle_head(every: float = 0.1) -> Behaviour:
    """Send a response head one byte every ``every`` seconds, with a header that never
    ends: the response never starts, yet every read gets a byte."""

    async def behave(conn: Connection, request: Received) -> None:
        await conn.send(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            await conn.send(b"a")
            if not await conn.pause(every):
                return

    return behave


def endless(
    frame: bytes = b": OPENROUTER PROCESSING\n\n",
    *,
    every: float = 0.0,
    content_type: str = "text/event-stream",
    encoding: str | None = None,
) -> Behaviour:
    """An HTTP 200 chunked body that never ends: ``frame`` over and over (every ``every``
    seconds, or as fast as the client reads), optionally through a streaming compressor
    (``encoding="gzip"``) so that a small wire size inflates without end."""

    async def behave(conn: Connection, request: Received) -> None:
        headers = {"Content-Type": content_type, "Transfer-Encoding": "chunked"}
        compressor = None
        if encoding is not None:
            headers["Content-Encoding"] = encoding
            wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
            compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
        await conn.head(200, headers, length=None)
        block = frame * max(1, (1 << 16) // len(frame)) if every == 0 else frame
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            data = block
            if compressor is not None:
                data = compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)
            if data:
                await conn.send(b"%x\r\n%s\r\n" % (len(data), data))
            if not await conn.pause(every):
                return

    return behave


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (as in ``Retry-After``), rounded up to the next whole second."""
    return email.utils.formatdate(time.time() + seconds_from_now + 1, usegmt=True)


# -- the server ---------------------------------------------------------------------------


@dataclass
class _State:
    script: deque[Behaviour] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultServer:
    """A scripted, misbehaving chat endpoint on 127.0.0.1; use as a context manager.

    Each request takes the next behaviour of the script (:meth:`add`); once the script
    is empty, requests get HTTP 599 saying so (the test then fails on an unexpected
    request rather than hanging).
    """

    def __init__(self) -> None:
        self._state = _State()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    # lifecycle

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._run, name="fault-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(_STOP_TIMEOUT):
            raise RuntimeError("the fault server did not start")
        if self._error is not None:
            raise RuntimeError("the fault server failed to start") from self._error
        return self

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RuntimeError("the fault server did not stop")

    @property
    def url(self) -> str:
        """The endpoint root, for ``base_url=``."""
        return f"http://127.0.0.1:{self.port}/api/v1"

    # scripting

    def add(self, *behaviours: Behaviour) -> FaultServer:
        with self._state.lock:
            self._state.script.extend(behaviours)
        return self

    @property
    def pending(self) -> int:
        with self._state.lock:
            return len(self._state.script)

    @property
    def requests(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.requests)

    # the event loop thread

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._serve(reader, writer)
            finally:
                tasks.discard(task)

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0, limit=1 << 20)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(tasks):
                task.cancel()
            if tasks:
                await asyncio.wait(list(tasks), timeout=_STOP_TIMEOUT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._stopping is not None
        try:
            request = await _read_request(reader)
            if request is None:
                return
            with self._state.lock:
                self._state.requests.append(request)
                behaviour = self._state.script.popleft() if self._state.script else None
            if behaviour is None:
                behaviour = status(599, {"error": {"message": "fault server: script ran out"}})
            await behaviour(Connection(writer, self._stopping), request)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: that is its business
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Received(method, path, headers, body)


def refused_url() -> str:
    """A loopback endpoint where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


# -- the fixture ------------------------------------------------------------------------------


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A scripted, misbehaving chat endpoint on 127.0.0.1, for this test only."""
    with FaultServer() as server:
        yield server
