# This file is generated from src/mbxai/_async/base.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The I/O half every HTTP client shares: the connection pool, requests, retries.

:class:`BaseClient` holds a client's :class:`~mbxai._client_base.EndpointConfig` and
its httpx client (made with a deadline-bounded transport, or given by the caller and then
not closed here), builds each request with the endpoint's headers, and sends it within its
deadline, reading the body within bounds, with the endpoint's retries. The chat client
(:class:`~mbxai.OpenRouterClient`) and the image client
(:class:`~mbxai.ImageClient`) add their APIs on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from .._checks import check_instance
from .._client_base import EndpointConfig, check_headers, http_timeout
from .._errors import ClientClosedError, ConfigurationError
from .._http import DEFAULT_HTTP_BACKEND, Deadline, pool_options
from .._logging import redact_url
from . import sending

__all__ = ["BaseClient"]


class BaseClient:
    """What every HTTP client of mbxai shares (see the module docstring)."""

    #: The ``mbxai`` logger event each retry is reported as.
    _retry_event: ClassVar[str] = "http.retry"

    def __init__(
        self,
        config: EndpointConfig,
        *,
        http_client: httpx.Client | None,
        transport: httpx.BaseTransport | None,
        limits: httpx.Limits,
        http_backend: Any = DEFAULT_HTTP_BACKEND,
        verify: Any = True,
    ) -> None:
        check_instance("http_client", http_client, httpx.Client)
        check_instance("transport", transport, httpx.BaseTransport)
        if http_client is not None and transport is not None:
            raise ConfigurationError(
                "pass transport= or http_client=, not both (the transport of a client you "
                "pass is that client's)"
            )
        self._config = config
        self._owns_http = http_client is None
        if http_client is not None and (http_backend != DEFAULT_HTTP_BACKEND or verify is not True):
            raise ConfigurationError(
                "pass http_client= or http_backend= / verify=, not both (a client you pass "
                "sends as it was made)"
            )
        self._http = http_client or httpx.Client(
            timeout=config.timeout,
            limits=limits,
            **pool_options(limits, transport=transport, backend=http_backend, verify=verify),
        )
        # Built once: the headers merged as httpx would merge them on every request.
        self._headers = httpx.Headers(self._http.headers)
        self._headers.update(config.headers)
        self._extensions = {"timeout": config.timeout.as_dict()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The endpoint root requests go to (a password in it shown as ``***``)."""
        return redact_url(self._config.base_url)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._http.is_closed:
            raise ClientClosedError(f"{type(self).__name__} is closed; create a new client")

    # -- requests -------------------------------------------------------------------------

    def _request(
        self,
        url: httpx.URL | str,
        *,
        method: str = "POST",
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        headers: httpx.Headers | None = None,
        extra_headers: Mapping[str, str | None] | None = None,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> httpx.Request:
        """A ``method`` request (``POST`` by default) to ``url`` with the endpoint's headers (or ``headers``), this call's
        ``extra_headers`` (a ``None`` value removes one) and ``timeout``."""
        self._check_open()
        merged = self._headers if headers is None else headers
        if extra_headers:
            merged = httpx.Headers(merged)
            for name, value in extra_headers.items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
        if self._owns_http and method == "POST" and content is not None and not self._http.cookies:
            # Our own client adds nothing per call that is not already in `merged`, so
            # skip httpx's per-request merging (a measurable share of the call's cost).
            extensions = self._extensions if timeout is None else {"timeout": timeout.as_dict()}
            return httpx.Request(
                "POST", url, headers=merged, content=content, extensions=extensions
            )
        return self._http.build_request(
            method,
            url,
            params=params,
            content=content,
            data=data,
            files=files,
            headers=merged,
            timeout=timeout if timeout is not None else self._config.timeout,
        )

    def _call_settings(
        self, timeout: Any, extra_headers: Any
    ) -> tuple[httpx.Timeout | None, dict[str, str | None]]:
        """This call's ``timeout`` and ``extra_headers``, checked."""
        call_timeout = None if timeout is None else http_timeout(timeout)
        return call_timeout, check_headers("extra_headers", extra_headers)

    def _deadline(self, request: httpx.Request) -> Deadline:
        """The deadline of ``request``: its own ``timeout`` (largest phase), in all."""
        limits = request.extensions.get("timeout")
        return self._config.deadline(httpx.Timeout(**limits) if limits else None)

    def _send_and_read(
        self, request: httpx.Request, deadline: Deadline
    ) -> tuple[httpx.Response, bytes]:
        """Send ``request`` and read its whole body, within ``deadline`` and the size cap."""
        return sending.fetch(self._http, request, deadline, self._config.max_response_bytes)

    def _with_retries(self, send: Callable[[], Any]) -> Any:
        """``send()``, sent again as the endpoint's retry schedule says (each retry
        logged as :attr:`_retry_event`). The first attempt runs on its own: a call that
        succeeds (nearly all of them) pays nothing for the retries it did not need."""
        return sending.with_retries(send, self._config.retry, self._retry_event)
