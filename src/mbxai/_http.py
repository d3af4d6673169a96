"""HTTP plumbing every client shares, in both flavours (no I/O of its own).

* **Credentials in URLs.** A ``base_url`` like ``https://user:pw@host/v1`` authenticates
  with HTTP Basic, as httpx would, but the password is never part of a request URL (httpx
  logs those), a repr, an error or a log line: :func:`split_credentials` moves it into the
  ``Authorization`` header and registers it as a secret, :class:`SafeURL` hides it in reprs.
* **Deadlines.** :class:`Deadline` is when a request or a stream must be done; the async
  clients enforce it with a cancel scope (``_concurrency.async_fail_at``), the sync ones
  with :func:`default_transport`, whose sockets never wait past it.
* **Backends.** :func:`async_pool_options` and :func:`pool_options` say how a client
  builds its connection pool for ``http_backend=`` (``"auto"``, ``"httpx"``, ``"aiohttp"``):
  HTTP/2 offered where the server has it (the default), aiohttp's pool for the async
  clients when asked for or, with ``"auto"``, when mbxai[aiohttp] is installed.
* **Bounded bodies.** :class:`BodyDecoder` undoes ``Content-Encoding`` (gzip, deflate)
  piece by piece with a bounded decompressor, so a small compressed body cannot inflate to
  gigabytes in memory (a "gzip bomb") before its size is checked.
"""

from __future__ import annotations

import base64
import importlib.util
import ssl
import sys
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

import httpx

from ._errors import ConfigurationError, OpenRouterAPIError, OpenRouterTimeoutError
from ._logging import redact_url, register_secret

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_HTTP_BACKEND",
    "HTTP_BACKENDS",
    "NO_DEADLINE",
    "BodyDecoder",
    "Deadline",
    "HttpBackend",
    "SafeURL",
    "async_default_transport",
    "async_pool_options",
    "body_too_large",
    "default_transport",
    "is_event_stream",
    "pool_options",
    "request_seconds",
    "split_credentials",
]

#: The encodings asked for: the ones :class:`BodyDecoder` can decode with a bound.
ACCEPT_ENCODING: Final = "gzip, deflate"
#: Most bytes one step of decompression may produce.
PIECE: Final = 64 * 1024


# -- credentials in URLs -------------------------------------------------------------------


class SafeURL(str):
    """A URL string whose repr hides its ``user:password@`` (its value keeps it).

    :func:`mbxai._client_base.check_base_url` returns one for a URL with credentials, so that a
    config or client repr built from it shows ``https://***@host/v1``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact_url(str(self)))


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without its ``user:password@``, and the ``Authorization`` value they stand
    for (HTTP Basic, exactly as httpx sends for credentials in a URL), or ``None``.

    The password and the header value are registered as secrets, so no log line shows them.
    """
    if "@" not in url:
        return url, None
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url, None
    username, password = parsed.username, parsed.password
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    for secret in (password, parsed.userinfo.decode("ascii", "replace"), token):
        register_secret(secret)
    return str(parsed.copy_with(username=None, password=None)), f"Basic {token}"


# -- deadlines --------------------------------------------------------------------------


def request_seconds(timeout: httpx.Timeout) -> float | None:
    """How long one request may take in all under ``timeout`` (``None``: no limit).

    A number given as ``timeout=`` is that; for an ``httpx.Timeout`` it is its largest
    phase limit, and no limit when reads may wait forever.
    """
    if timeout.read is None:
        return None
    return max(
        value
        for value in (timeout.connect, timeout.read, timeout.write, timeout.pool)
        if value is not None
    )


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a request or a stream must be done: ``at`` on the monotonic clock (``None``:
    never), ``seconds`` after it started, as the ``setting`` named says."""

    at: float | None
    seconds: float | None
    setting: str

    @classmethod
    def after(cls, seconds: float | None, setting: str) -> Deadline:
        at = None if seconds is None else time.monotonic() + seconds
        return cls(at, seconds, setting)

    def earliest(self, other: Deadline) -> Deadline:
        """Whichever of the two comes first."""
        if other.at is None or (self.at is not None and self.at <= other.at):
            return self
        return other

    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def check(self) -> None:
        """Raise ``TimeoutError`` once the deadline has passed."""
        if self.at is not None and time.monotonic() >= self.at:
            raise TimeoutError(self.setting)

    def error(self, url: httpx.URL | str | None, *, stream: bool = False) -> OpenRouterTimeoutError:
        """The typed error for this deadline having passed."""
        if stream:
            message = f"stream timed out: it did not end within {self.seconds:g} s ({self.setting})"
        else:
            message = (
                f"request timed out: no complete response within {self.seconds:g} s "
                f"({self.setting})"
            )
        return OpenRouterTimeoutError(message, url=None if url is None else str(url))


NO_DEADLINE: Final = Deadline(None, None, "timeout")


# -- response bodies --------------------------------------------------------------------


def is_event_stream(headers: Mapping[str, str]) -> bool:
    """Whether the response says it is Server-Sent Events (or says nothing: assumed so)."""
    kind = headers.get("content-type")
    if kind is None:
        return True
    return kind.split(";", 1)[0].strip().lower() == "text/event-stream"


class _Inflate:
    """One gzip or deflate layer, undone in pieces of at most :data:`PIECE` bytes."""

    __slots__ = ("_decompressor", "_first", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        wbits = zlib.MAX_WBITS | 16 if name == "gzip" else zlib.MAX_WBITS
        self._decompressor = zlib.decompressobj(wbits)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        decompressor = self._decompressor
        while not decompressor.eof:
            try:
                out = decompressor.decompress(data, PIECE)
            except zlib.error:
                if not (self._first and self._name == "deflate"):
                    raise
                # "deflate" is often sent raw (no zlib header), as httpx also accepts
                self._decompressor = decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                continue
            self._first = False
            data = decompressor.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE:
                return  # all input used and nothing held back
        # after the end of the compressed data, anything more is ignored (as httpx does)

    def flush(self) -> Iterator[bytes]:
        if not self._decompressor.eof:
            yield from self.feed(b"")


class BodyDecoder:
    """A response body's ``Content-Encoding`` undone piece by piece, its size bounded.

    :meth:`feed` takes the bytes as they came off the wire and yields the decoded body in
    pieces of at most 64 KiB (as they came, without an encoding), so a compressed body is
    never inflated whole, however far it would inflate. With ``limit``, a body whose
    decoded size, or whose size on the wire, passes ``limit`` bytes raises ``error`` (an
    :class:`OpenRouterAPIError` class) before more than ``limit`` bytes plus one piece were
    produced; so does an encoding other than gzip and deflate (the ones asked for in
    ``Accept-Encoding``) and data that does not decompress.
    """

    __slots__ = ("_error", "_headers", "_layers", "_limit", "_raw", "_size", "_status")

    def __init__(
        self,
        headers: Mapping[str, str],
        status: int,
        *,
        limit: int | None,
        error: type[OpenRouterAPIError] = OpenRouterAPIError,
    ) -> None:
        self._headers = headers
        self._status = status
        self._limit = limit
        self._error = error
        self._size = 0
        self._raw = 0
        self._layers: list[_Inflate] = []
        encoding = headers.get("content-encoding")
        if encoding:
            names = [n.strip().lower() for n in encoding.split(",") if n.strip()]
            for name in reversed(names):  # the last encoding applied is undone first
                if name in ("gzip", "x-gzip"):
                    self._layers.append(_Inflate("gzip"))
                elif name == "deflate":
                    self._layers.append(_Inflate("deflate"))
                elif name != "identity":
                    raise self._fail(
                        f"the response has Content-Encoding {encoding!r}, which mbxai does "
                        f"not decode (it asks for {ACCEPT_ENCODING})"
                    )

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data``, the next bytes of the body on the wire."""
        if self._limit is not None:
            self._raw += len(data)
            if self._raw > self._limit:
                raise self.too_large()
        if not self._layers:
            if data:
                self._size += len(data)
                yield data
            return
        yield from self._through(0, data, final=False)

    def flush(self) -> Iterator[bytes]:
        """What the decompressors still hold once the body has ended."""
        if self._layers:
            yield from self._through(0, b"", final=True)

    def _through(self, index: int, data: bytes, *, final: bool) -> Iterator[bytes]:
        layer = self._layers[index]
        try:
            yield from self._chain(index, layer.feed(data))
            if final:
                yield from self._chain(index, layer.flush())
                if index + 1 < len(self._layers):
                    yield from self._through(index + 1, b"", final=True)
        except zlib.error as exc:
            raise self._fail(
                f"the response body does not decompress ({self._headers.get('content-encoding')}"
                f": {exc})"
            ) from None

    def _chain(self, index: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            if index + 1 < len(self._layers):
                yield from self._through(index + 1, piece, final=False)
                continue
            self._size += len(piece)
            if self._limit is not None and self._size > self._limit:
                raise self.too_large()
            yield piece

    def too_large(self) -> OpenRouterAPIError:
        """The error for a body over the limit (also when its length says so up front)."""
        return body_too_large(self._headers, self._status, self._limit, self._error)

    def _fail(self, message: str) -> OpenRouterAPIError:
        return _body_error(self._headers, self._status, message, self._error)


def body_too_large(
    headers: Mapping[str, str],
    status: int,
    limit: int | None,
    error: type[OpenRouterAPIError] = OpenRouterAPIError,
) -> OpenRouterAPIError:
    """The error for a response body over ``limit`` bytes (``max_response_bytes``)."""
    message = (
        f"the response is larger than max_response_bytes ({limit} bytes); it was not read further"
    )
    return _body_error(headers, status, message, error)


def _body_error(
    headers: Mapping[str, str], status: int, message: str, error: type[OpenRouterAPIError]
) -> OpenRouterAPIError:
    return error(
        message,
        status_code=status,
        request_id=headers.get("x-request-id"),
        should_retry=False,
    )


# -- the sync transport: sockets that honour the deadline --------------------------------


def async_default_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """``None``: httpx's own transport. Async clients bound each request with a cancel
    scope, which interrupts whatever the request waits for."""
    return None


def default_transport(
    limits: httpx.Limits, verify: ssl.SSLContext | bool = True
) -> httpx.BaseTransport:
    """httpx's transport, with sockets that honour the deadline of
    ``_concurrency.fail_at``: a blocking read, write, connect or TLS handshake waits at
    most until then, so a server trickling bytes cannot stretch a sync request past it."""
    import httpcore  # here: httpcore (and h2, h11) load with the first client, not with mbxai

    from ._http_deadline import DeadlineBackend

    transport = httpx.HTTPTransport(limits=limits, verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if pool is not None and isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = DeadlineBackend(backend)
    return transport


# -- backends: how a client's connection pool is built ------------------------------------

#: What ``http_backend=`` may be.
HttpBackend: TypeAlias = Literal["auto", "httpx", "aiohttp"]
HTTP_BACKENDS: Final = ("auto", "httpx", "aiohttp")
#: What a client sends over unless told otherwise.
DEFAULT_HTTP_BACKEND: Final = "httpx"
#: Certificates to trust: ``True`` (the system's / certifi's, and ``SSL_CERT_FILE``),
#: ``False`` (none checked), a CA bundle's path or an ``ssl.SSLContext``.
Verify: TypeAlias = "bool | str | ssl.SSLContext"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _checked_backend(backend: Any, verify: Any, transport: Any) -> str:
    if not isinstance(backend, str) or backend not in HTTP_BACKENDS:
        raise ConfigurationError(
            f"http_backend must be one of {', '.join(map(repr, HTTP_BACKENDS))}, got {backend!r}"
        )
    if not isinstance(verify, bool | str | ssl.SSLContext):
        raise ConfigurationError(
            "verify must be True, False, a CA bundle's path or an ssl.SSLContext, "
            f"got {type(verify).__name__}"
        )
    if transport is not None and (backend != DEFAULT_HTTP_BACKEND or verify is not True):
        raise ConfigurationError(
            "pass transport= or http_backend= / verify=, not both (a transport you pass "
            "makes its own connections)"
        )
    return backend


def _ssl_context(verify: Verify) -> ssl.SSLContext | bool:
    """``verify`` as httpx takes it without a deprecation warning (a path as a context)."""
    if isinstance(verify, str):
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"verify: cannot load CA bundle {verify!r} ({exc})") from None
    return verify


def _h2() -> bool:
    return _installed("h2")


def _httpx_mocked() -> bool:
    """Whether httpx's own transport has been replaced (pytest-httpx, respx): requests must
    then go through httpx so that the mock sees them."""
    import httpcore

    transport = httpx.AsyncHTTPTransport.handle_async_request
    pool = httpcore.AsyncConnectionPool.handle_async_request
    return not (
        getattr(transport, "__module__", "").startswith("httpx.")
        and getattr(pool, "__module__", "").startswith("httpcore.")
    )


def _env_proxies() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY`` ...), which httpx honours
    and httpx-aiohttp does not."""
    import urllib.request  # here: it loads http.client and email, which the rest never needs

    return any(scheme != "no" for scheme in urllib.request.getproxies())


def async_pool_options(
    limits: httpx.Limits,
    *,
    transport: httpx.AsyncBaseTransport | None,
    backend: Any,
    verify: Any,
) -> dict[str, Any]:
    """The ``httpx.AsyncClient`` arguments of an async client's own pool.

    * ``"httpx"``: httpx's transport offering HTTP/2 (one TLS connection carries many
      calls where the server speaks it; plain HTTP and servers without it get HTTP/1.1),
      proxies from the environment honoured as httpx does.
    * ``"aiohttp"``: aiohttp's connection pool under httpx's API (httpx-aiohttp, from
      ``mbxai[aiohttp]``): the fastest for bursts of calls; HTTP/1.1, asyncio only.
    * ``"auto"``: aiohttp's when mbxai[aiohttp] is installed and no proxy is set in the
      environment, else httpx's. Per request, httpx's serves where aiohttp cannot: on
      another event loop (trio) and while httpx's transport is mocked (pytest-httpx, respx).

    ``transport``, when given, is used as it is.
    """
    backend = _checked_backend(backend, verify, transport)
    if transport is not None:
        return {"transport": transport}
    if backend == "aiohttp" and not (_installed("httpx_aiohttp") and _installed("aiohttp")):
        raise ConfigurationError(
            "http_backend='aiohttp' needs aiohttp and httpx-aiohttp: pip install 'mbxai[aiohttp]'"
        )
    aiohttp = backend == "aiohttp" or (
        backend == "auto"
        and _installed("httpx_aiohttp")
        and _installed("aiohttp")
        and not _env_proxies()
    )
    context = _ssl_context(verify)
    if aiohttp:
        return {"transport": AiohttpOrHttpx(limits, context, fallback=backend == "auto")}
    return {"transport": async_default_transport(limits), "http2": _h2(), "verify": context}


def pool_options(
    limits: httpx.Limits,
    *,
    transport: httpx.BaseTransport | None,
    backend: Any,
    verify: Any,
) -> dict[str, Any]:
    """The ``httpx.Client`` arguments of a sync client's own pool: httpx's transport with
    the deadline-bounded sockets of :func:`default_transport`, one pool for every thread.

    HTTP/1.1: on a shared HTTP/2 connection, the socket read that one thread's deadline
    cuts short would fail every other thread's call on it. ``"aiohttp"`` is for the
    async clients only.
    """
    backend = _checked_backend(backend, verify, transport)
    if backend == "aiohttp":
        raise ConfigurationError(
            "http_backend='aiohttp' is for the async clients (aiohttp is an asyncio "
            "library); the sync clients send with httpx"
        )
    if transport is not None:
        return {"transport": transport}
    return {"transport": default_transport(limits, _ssl_context(verify))}


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or ``None`` (none running, or another event loop)."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _other_loop() -> bool:
    """Whether trio's event loop runs in this thread (the one other than asyncio's that
    anyio, and so mbxai, runs on)."""
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


class AiohttpOrHttpx(httpx.AsyncBaseTransport):
    """aiohttp's connection pool (httpx-aiohttp's transport) on asyncio, with httpx's
    transport (HTTP/2 offered) in its place where aiohttp cannot serve when ``fallback``:
    on another event loop, and while httpx's transport is mocked. Without ``fallback``
    (aiohttp asked for), another event loop is a :class:`ConfigurationError`.

    Failures come out as httpx's, as from httpx's transport: httpx-aiohttp reports a
    dropped connection as ``httpx.ConnectTimeout``, made a ``httpx.ReadError`` here (a
    connection error, not a timeout). Each pool is made on first use; :meth:`aclose`
    closes both.
    """

    def __init__(
        self, limits: httpx.Limits, verify: ssl.SSLContext | bool, *, fallback: bool
    ) -> None:
        self._limits = limits
        self._verify = verify
        self._fallback = fallback
        self._aiohttp: httpx.AsyncBaseTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._httpx: httpx.AsyncHTTPTransport | None = None
        # The pool likely to serve is made here, not on the first request: importing
        # aiohttp and loading the CAs would take a share of that request's deadline.
        if fallback and (_httpx_mocked() or _other_loop()):
            self._httpx = self._make_httpx()
        else:
            self._aiohttp = self._make_aiohttp()

    def _make_aiohttp(self) -> httpx.AsyncBaseTransport:
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport(self._verify, limits=self._limits)

    def _make_httpx(self) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self._verify, http2=_h2(), limits=self._limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = _asyncio_loop()
        if self._fallback and (loop is None or _httpx_mocked()):
            if self._httpx is None:
                self._httpx = self._make_httpx()
            return await self._httpx.handle_async_request(request)
        if loop is None:
            raise ConfigurationError(
                "http_backend='aiohttp' runs on asyncio only; use 'auto' or 'httpx' on "
                "another event loop"
            )
        if self._aiohttp is None or self._loop is not loop:
            # aiohttp's session belongs to the loop that made it: a new loop, a new pool
            if self._aiohttp is None or self._loop is not None:
                self._aiohttp = self._make_aiohttp()
            self._loop = loop
        with _remapped():
            response = await self._aiohttp.handle_async_request(request)
        response.stream = _RemappedStream(response.stream)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        if self._aiohttp is not None and self._loop is not None and self._loop is _asyncio_loop():
            await self._aiohttp.aclose()
        if self._httpx is not None:
            await self._httpx.aclose()


class _remapped:
    """aiohttp's failures as httpx's, as httpx's own transport raises them.

    httpx-aiohttp maps most of them, but a dropped connection to ``ConnectTimeout`` (made
    ``ReadError`` here: a connection error, not a timeout) and a malformed response not
    at all (made ``RemoteProtocolError``).
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        import aiohttp
        from aiohttp.http_exceptions import HttpProcessingError

        if isinstance(exc, httpx.ConnectTimeout) and not isinstance(
            exc.__cause__, TimeoutError | aiohttp.ServerTimeoutError | None
        ):
            raise httpx.ReadError(str(exc)) from exc.__cause__
        if isinstance(exc, aiohttp.ClientError | HttpProcessingError):
            raise httpx.RemoteProtocolError(str(exc)) from exc


class _RemappedStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _remapped():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        with _remapped():
            await self._stream.aclose()
