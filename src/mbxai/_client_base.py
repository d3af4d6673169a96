"""The half every HTTP client shares, in both flavours (httpx's ``BaseClient`` is the model).

* :class:`EndpointConfig`: where a client sends and how, resolved and checked once: the
  key (argument or environment), the base URL (credentials in it sent as Basic auth and
  never shown), the headers of every request, the timeout and its deadline, the retry
  schedule and the largest response read. The chat and image clients build one each, with
  their own defaults, and add only their own settings.
* The checks of the arguments every client takes (``base_url``, headers, timeouts, retry
  settings), naming the argument that is wrong.
* Error mapping: :func:`api_error` (an error response as the typed error for its status
  or its ``error`` body) and :class:`transport_errors` (httpx's failures as mbxai's).

The I/O half is ``mbxai._async.base.AsyncBaseClient`` (and its generated sync twin).
"""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, TypeVar

import httpx
import pydantic_core
from pydantic import BaseModel, SecretStr, ValidationError

from ._checks import check_int, check_number, check_str, check_str_mapping
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    PermissionDeniedError,
    RateLimitError,
)
from ._http import (
    ACCEPT_ENCODING,
    NO_DEADLINE,
    Deadline,
    SafeURL,
    request_seconds,
    split_credentials,
)
from ._logging import redact_url, register_secret
from ._retry import RetryPolicy, RetrySchedule, parse_retry_after, should_retry_header
from ._version import __version__

__all__ = [
    "USER_AGENT",
    "EndpointConfig",
    "api_error",
    "check_base_url",
    "check_headers",
    "check_retry_settings",
    "check_seconds",
    "decode_body",
    "decode_response",
    "http_timeout",
    "retry_options",
    "transport_errors",
]

USER_AGENT: Final = f"mbxai/{__version__} python/{platform.python_version()}"
#: What a header name may be made of (RFC 9110 ``token``).
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_ERROR_CLASSES: Final[dict[int, type[OpenRouterAPIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


@dataclass(frozen=True, slots=True, repr=False)
class EndpointConfig:
    """Where a client sends and how, resolved and checked once (see the module docstring).

    Attributes:
        key: The API key (``None`` for an endpoint that needs none).
        base_url: The endpoint root as given (``user:password@`` included, never shown).
        headers: The headers of every request: ``Accept``, ``Accept-Encoding``,
            ``User-Agent``, the defaults and ``default_headers``, ``Authorization``.
        timeout: The per-request ``httpx.Timeout``; its largest phase is also the
            deadline of the whole request.
        retry: When and after how long a failed request is sent again.
        max_response_bytes: The largest response body read (decoded and on the wire).
    """

    key: SecretStr | None
    base_url: str
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    retry: RetrySchedule
    max_response_bytes: int
    #: The base URL without ``user:password@`` (requests go there).
    root: str = field(init=False)
    #: Seconds one request may take in all under ``timeout`` (``None``: no limit).
    request_seconds: float | None = field(init=False)

    def __post_init__(self) -> None:
        root, _ = split_credentials(self.base_url)
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "request_seconds", request_seconds(self.timeout))

    def __repr__(self) -> str:
        return (
            f"EndpointConfig(base_url={redact_url(self.base_url)!r}, "
            f"key={'***' if self.key else None}, max_retries={self.retry.retries})"
        )

    @property
    def max_retries(self) -> int:
        return self.retry.retries

    def url(self, path: str) -> str:
        """The URL of ``path`` under the endpoint (no credentials in it)."""
        return f"{self.root}{path}"

    def deadline(self, timeout: httpx.Timeout | None = None) -> Deadline:
        """The deadline of one request (``timeout``: this call's, else the client's)."""
        seconds = self.request_seconds if timeout is None else request_seconds(timeout)
        return NO_DEADLINE if seconds is None else Deadline.after(seconds, "timeout")

    @classmethod
    def create(
        cls,
        *,
        key: str | SecretStr | None,
        key_argument: str,
        key_variable: str,
        base_url: str | None,
        base_url_variable: str,
        default_base_url: str,
        default_headers: Any,
        header_defaults: Mapping[str, str],
        timeout: Any,
        max_retries: Any,
        retry_initial_delay: Any,
        retry_max_delay: Any,
        max_retry_after: Any,
        max_response_bytes: Any,
    ) -> EndpointConfig:
        """Apply the environment fallbacks (``key_variable``, ``base_url_variable``; nothing
        is written to the environment) and check every argument, naming what is wrong. A
        key is required when the URL is ``default_base_url``'s host (the provider's own)."""
        secret = key.get_secret_value() if isinstance(key, SecretStr) else key
        check_str(key_argument, secret, none=True)
        check_str("base_url", base_url, none=True)
        secret = secret if secret is not None else os.environ.get(key_variable)
        secret = secret.strip() if secret else None
        url = check_base_url(base_url or os.environ.get(base_url_variable) or default_base_url)
        provider = httpx.URL(default_base_url).host
        if secret is None and httpx.URL(url).host == provider:
            raise ConfigurationError(
                f"no API key for {provider}: pass {key_argument}=... or set {key_variable} "
                f"(or point base_url / {base_url_variable} at an endpoint that needs none)"
            )
        check_retry_settings(
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
        )
        check_int("max_response_bytes", max_response_bytes, minimum=1024)
        headers: dict[str, str] = {
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": USER_AGENT,
            **header_defaults,
        }
        for name, value in check_headers("default_headers", default_headers).items():
            if name.lower() == "authorization":
                raise ConfigurationError(f"pass the API key as {key_argument}=..., not as a header")
            if value is None:  # a None value removes a default header
                headers.pop(name, None)
            else:
                headers[name] = value
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        _, basic = split_credentials(url)
        if basic is not None:
            # credentials in the URL win, as they do in httpx (which sent them before)
            headers["Authorization"] = basic
        register_secret(secret)
        return cls(
            key=SecretStr(secret) if secret else None,
            base_url=url,
            headers=headers,
            timeout=http_timeout(timeout),
            retry=RetrySchedule.from_options(
                retry_options(
                    max_retries=max_retries,
                    retry_initial_delay=float(retry_initial_delay),
                    retry_max_delay=float(retry_max_delay),
                    max_retry_after=float(max_retry_after),
                )
            ),
            max_response_bytes=max_response_bytes,
        )


# -- checks of the arguments every client takes --------------------------------------------


def check_base_url(url: str) -> str:
    """``url`` without its trailing slash, checked to be an http(s) URL with a host.

    A URL with ``user:password@`` comes back as a :class:`~mbxai._http.SafeURL`, whose repr
    hides them; no message here shows them either.
    """
    check_str("base_url", url)
    url = url.rstrip("/")
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        reason = redact_url(str(exc))
        raise ConfigurationError(f"base_url is not a valid URL: {shown!r} ({reason})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {shown!r}")
    return SafeURL(url) if parsed.userinfo else url


def check_headers(name: str, headers: Any) -> dict[str, str | None]:
    """``headers`` as a dict of header name -> value (``None``: remove), checked: a mapping
    of valid header names to strings without line breaks."""
    checked: dict[str, str | None] = check_str_mapping(name, headers, values_none=True)
    for key, value in checked.items():
        if not _HEADER_NAME.match(key):
            raise ConfigurationError(f"{name}: {key!r} is not a valid header name")
        if value is not None and any(c in value for c in "\r\n\0"):
            raise ConfigurationError(f"{name}[{key!r}] must not contain line breaks or NUL")
    return checked


def check_seconds(name: str, value: Any) -> float:
    """``value`` if it is a finite number of seconds > 0."""
    seconds: float = check_number(name, value, positive=True)
    if math.isinf(seconds):
        raise ConfigurationError(f"{name} must be a finite number of seconds (None: no limit)")
    return seconds


def check_retry_settings(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> None:
    """Check the retry arguments every client takes, naming the one that is wrong."""
    check_int("max_retries", max_retries, minimum=0)
    for name, value in (
        ("retry_initial_delay", retry_initial_delay),
        ("retry_max_delay", retry_max_delay),
        ("max_retry_after", max_retry_after),
    ):
        check_number(name, value, minimum=0)
        if math.isinf(value):
            raise ConfigurationError(f"{name} must be a finite number of seconds")
    if retry_max_delay < retry_initial_delay:
        raise ConfigurationError(
            f"retry_max_delay ({retry_max_delay}) must be >= retry_initial_delay "
            f"({retry_initial_delay})"
        )


def http_timeout(timeout: float | httpx.Timeout | None, name: str = "timeout") -> httpx.Timeout:
    """The ``httpx.Timeout`` for a ``timeout=`` argument (connecting never waits over 10 s).

    A number is also the deadline of the whole request (see :meth:`EndpointConfig.deadline`).
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None, connect=10.0)
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and timeout > 0
        and math.isfinite(timeout)
    ):
        return httpx.Timeout(timeout, connect=min(timeout, 10.0))
    raise ConfigurationError(
        f"{name} must be a finite number of seconds > 0, an httpx.Timeout or None, "
        f"got {timeout!r} ({type(timeout).__name__})"
    )


def retry_options(
    *,
    max_retries: int,
    retry_initial_delay: float,
    retry_max_delay: float,
    max_retry_after: float,
) -> dict[str, Any]:
    """mbxai's retry policy and backoff, named as ``stamina.retry_context`` names them
    (:meth:`mbxai._retry.RetrySchedule.from_options` turns them into the schedule the
    clients follow; stamina's loop itself is not used, see ``mbxai._retry``).

    ``max_retries`` counts retries after the first attempt; jitter is as large as the
    first delay, and a server's ``Retry-After`` (capped) replaces the backoff.
    """
    return {
        "on": RetryPolicy(max_retry_after),
        "attempts": max_retries + 1,
        "timeout": None,
        "wait_initial": retry_initial_delay,
        "wait_max": retry_max_delay,
        "wait_jitter": retry_initial_delay,
    }


# -- error mapping -------------------------------------------------------------------------


def decode_body(content: bytes) -> Any:
    """A response body as JSON when it is, else its text (2,000 characters at most)."""
    if content.startswith(b"\xef\xbb\xbf"):  # a byte order mark before the JSON
        content = content[3:]
    try:
        return pydantic_core.from_json(content) if content else None
    except ValueError:
        return content.decode("utf-8", "replace")[:2000]


def _error_details(body: Any) -> tuple[str | None, Any]:
    """The (message, code) of an OpenAI/OpenRouter error body, when it has one."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            raw = (
                (error.get("metadata") or {}).get("raw")
                if isinstance(error.get("metadata"), dict)
                else None
            )
            text = str(message) if message else None
            if raw and text and str(raw) not in text:
                text = f"{text}: {str(raw)[:500]}"
            return text, error.get("code")
        if isinstance(error, str):
            return error, None
    return None, None


def api_error(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    cls: type[OpenRouterAPIError] | None = None,
) -> OpenRouterAPIError:
    """Build the typed error for an error response (status from HTTP or from the body)."""
    message, code = _error_details(body)
    effective = status
    if status < 400 and isinstance(code, int) and 400 <= code < 600:
        effective = code
    if cls is None:
        cls = _ERROR_CLASSES.get(effective) or (
            InternalServerError if effective >= 500 else OpenRouterAPIError
        )
    if not message:
        message = body if isinstance(body, str) and body else f"HTTP {effective} from the endpoint"
    return cls(
        str(message),
        status_code=effective,
        body=body,
        request_id=headers.get("x-request-id") or headers.get("x-generation-id"),
        code=code,
        retry_after=parse_retry_after(headers),
        should_retry=should_retry_header(headers),
    )


class transport_errors:  # used like a function: `with transport_errors(url, deadline):`
    """Turn httpx's transport failures inside the block, and ``TimeoutError`` (the
    ``deadline`` of the block passed), into mbxai's typed errors."""

    __slots__ = ("_deadline", "_stream", "_url")

    def __init__(
        self, url: httpx.URL | str | None, deadline: Deadline = NO_DEADLINE, *, stream: bool = False
    ) -> None:
        self._url = url
        self._deadline = deadline
        self._stream = stream

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            return
        shown = None if self._url is None else str(self._url)
        deadline, stream = self._deadline, self._stream
        if isinstance(exc, TimeoutError):
            if deadline.at is None:
                what = "stream" if stream else "request"
                raise OpenRouterTimeoutError(f"{what} timed out", url=shown) from None
            raise deadline.error(shown, stream=stream) from None
        if isinstance(exc, httpx.TimeoutException):
            if deadline.expired():
                raise deadline.error(shown, stream=stream) from exc
            what = "stream" if stream else "request"
            raise OpenRouterTimeoutError(f"{what} timed out: {exc!r}", url=shown) from exc
        if isinstance(exc, httpx.TransportError):
            what = "stream interrupted" if stream else "connection failed"
            raise OpenRouterConnectionError(f"{what}: {exc!r}", url=shown) from exc


M = TypeVar("M", bound=BaseModel)


def decode_response(
    status: int, headers: Mapping[str, str], content: bytes, cls: type[M], what: str
) -> M:
    """An HTTP response's JSON body validated into ``cls``, or the typed error it stands
    for: an error status, HTTP 200 with an ``error`` object (at the top, or beside the
    expected fields), or a body that is not ``what`` at all (not JSON, other JSON)."""
    if status >= 400:
        raise api_error(status, headers, decode_body(content))
    try:
        decoded = cls.model_validate_json(content)
    except ValidationError as exc:
        body = decode_body(content)
        if isinstance(body, dict) and "error" in body:
            raise api_error(status, headers, body) from None
        raise OpenRouterAPIError(
            f"the endpoint's response is not {what} ({exc.errors(include_url=False)[0]['msg']})",
            status_code=status,
            body=body,
            request_id=headers.get("x-request-id"),
        ) from None
    extra = decoded.model_extra
    if extra and extra.get("error"):
        raise api_error(status, headers, {"error": extra["error"]})
    return decoded
