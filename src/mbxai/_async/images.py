"""The image client: generation and editing on OpenAI's Images API or a compatible one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from .. import _concurrency, _ssrf
from .._client_base import EndpointConfig
from .._concurrency import async_call_blocking
from .._errors import (
    FetchError,
    MBXAIError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
)
from .._images import (
    DEFAULT_IMAGE_BASE_URL,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_MAX_IMAGE_BYTES,
    EditPlan,
    FileSource,
    ImageInput,
    ImageResponse,
    ImageSettings,
    ImageSource,
    LoadedImage,
    UrlSource,
    check_download,
    check_edit_inputs,
    decode_images_response,
    downloaded_image,
    edit_parts,
    failure_response,
    generation_body,
    loaded_image,
    plan_edit,
    read_image_file,
)
from .._logging import get_logger, is_debug
from .._ssrf import MAX_REDIRECTS, literal_address, refuse_private_addresses
from .base import AsyncBaseClient

__all__ = ["AsyncImageClient"]

#: httpx's default connection limits, for the client this one makes.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class AsyncImageClient(AsyncBaseClient):
    """Image generation and editing with gpt-image-1 (default), dall-e-3 and dall-e-2.

    Speaks OpenAI's Images API: ``POST /images/generations`` (JSON) and
    ``POST /images/edits`` (multipart). Point ``base_url`` at any compatible endpoint.

    What raises and what returns:

    * Anything wrong with the arguments raises :class:`~mbxai.ConfigurationError` before a
      request is sent: a constructor argument of the wrong type or range (named in the
      message; ``allow_private_urls="false"`` is refused, not read as true), a size,
      quality, ``n`` or option the model does not take, an input of a kind not accepted
      (below), an input that is not a PNG/JPEG/WebP/GIF image or is over
      ``max_image_bytes``, a format the model cannot edit, and a URL whose host is,
      resolves to or redirects to a private address. Errors never quote an input's
      content.
    * Anything that goes wrong remotely comes back as ``ImageResponse(success=False,
      error=...)``: the API's errors (after retries for 408/409/429/5xx, timeouts and
      connection failures), and input URLs that cannot be downloaded (HTTP error, timeout,
      unresolvable host, more than ``max_image_bytes``, a compressed body, not an image).

    Inputs (``images``, ``mask``) are http(s) URLs, base64 text, ``data:`` URLs, bytes, or
    local files given as a :class:`~pathlib.Path` (any ``os.PathLike``). A path given as a
    plain ``str`` is read only when the client is made with ``allow_local_files=True``;
    otherwise a string that is not a URL or base64 image raises, so an application that
    forwards user text cannot be made to upload its server's files. Only regular files
    are read.

    Input URLs are fetched over http(s) only, never with the API key or ``http_client``'s
    headers and cookies. Each hop (at most five redirects) has its host resolved once,
    (in async code, in a worker thread); unless ``allow_private_urls=True``, it is refused when
    any address is loopback, private, link-local, reserved, multicast or an IPv6 form
    embedding such an IPv4 address (IPv4-mapped, NAT64, 6to4, Teredo ...). The request
    then goes to that checked address itself (a connection of its own, with the original
    ``Host`` header, and for https the original name for SNI and certificate checks), so
    DNS answering differently a second time (rebinding) cannot redirect it. Downloads
    connect directly (no proxy; ``http_client`` and ``transport`` carry only API
    requests), ask for an unencoded body and refuse a compressed one, stop past
    ``max_image_bytes``, and are bounded as a whole by ``fetch_timeout``: resolution,
    connects, redirects and body together.

    Args:
        api_key: OpenAI API key; falls back to ``OPENAI_API_KEY`` (never written to the
            environment). May be omitted for an endpoint that needs none.
        base_url: Endpoint root; falls back to ``OPENAI_BASE_URL``, then OpenAI.
        default_headers: Extra headers on every API request (not on input downloads).
        max_retries: Retries after the first attempt (``2`` means at most 3 requests).
        retry_initial_delay: First backoff in seconds; it doubles up to ``retry_max_delay``.
        retry_max_delay: Longest backoff between two attempts, in seconds.
        max_retry_after: Longest wait honoured from a server's ``Retry-After``.
        timeout: Seconds per API request (image models are slow), an ``httpx.Timeout``, or
            ``None`` to wait forever.
        max_image_bytes: Largest input image accepted, in bytes (default 20 MB).
        max_response_bytes: Largest API response read into memory (decoded and on the
            wire; default 256 MiB, a few base64 images are far less).
        fetch_timeout: Seconds one input URL's download may take in all, redirects
            included.
        allow_private_urls: Fetch input URLs on private, loopback and link-local addresses
            (the connection is still pinned to the address resolved).
        allow_local_files: Read inputs given as ``str`` paths too (``Path`` objects are
            always read). Leave it off when inputs may come from users.
        http_client: An ``httpx.AsyncClient`` for API requests (you then close it yourself).
        transport: An httpx transport for the API client mbxai creates (not with
            ``http_client``).
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 10.0,
        max_retry_after: float = 60.0,
        timeout: float | httpx.Timeout | None = 300.0,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        max_response_bytes: int = 256 * 1024 * 1024,
        fetch_timeout: float = 30.0,
        allow_private_urls: bool = False,
        allow_local_files: bool = False,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = EndpointConfig.create(
            key=api_key,
            key_argument="api_key",
            key_variable="OPENAI_API_KEY",
            base_url=base_url,
            base_url_variable="OPENAI_BASE_URL",
            default_base_url=DEFAULT_IMAGE_BASE_URL,
            default_headers=default_headers,
            header_defaults={},
            timeout=timeout,
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
            max_response_bytes=max_response_bytes,
        )
        super().__init__(config, http_client=http_client, transport=transport, limits=_LIMITS)
        self._settings = ImageSettings.create(
            max_image_bytes=max_image_bytes,
            fetch_timeout=fetch_timeout,
            allow_private_urls=allow_private_urls,
            allow_local_files=allow_local_files,
        )
        self._generations_url = config.url("/images/generations")
        self._edits_url = config.url("/images/edits")

    # -- the API --------------------------------------------------------------------------

    async def generate(
        self,
        prompt: str,
        size: str | None = "1024x1024",
        quality: str | None = None,
        model: str = DEFAULT_IMAGE_MODEL,
        images: ImageInput | Sequence[ImageInput] | None = None,
        n: int = 1,
        *,
        style: str | None = None,
        response_format: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ImageResponse:
        """Generate ``n`` images from ``prompt``.

        ``quality`` takes the model's own words (gpt-image: ``low``/``medium``/``high``/
        ``auto``; dall-e-3: ``standard``/``hd``); the other family's word for the same
        level is translated (``hd`` -> ``high``, ``standard`` -> ``medium`` and back).
        ``None`` leaves size or quality to the API's default. With reference ``images``
        (gpt-image models only) the request goes to the edits endpoint, which is how
        OpenAI's API takes images alongside a prompt; they are the same kinds of input as
        :meth:`edit` takes. ``params`` (``background``, ``output_format``, ``moderation``,
        ``user`` ...) are sent as given.
        """
        if images is not None and not (isinstance(images, Sequence) and len(images) == 0):
            plan = plan_edit(
                model=model,
                prompt=prompt,
                images=images,
                mask=None,
                size=size,
                quality=quality,
                n=n,
                style=style,
                response_format=response_format,
                params=params,
                max_bytes=self._settings.max_image_bytes,
                reference=True,
                local_files=self._settings.allow_local_files,
            )
            return await self._edit(plan, timeout, extra_headers)
        body = generation_body(
            model=model,
            prompt=prompt,
            size=size,
            quality=quality,
            n=n,
            style=style,
            response_format=response_format,
            params=params,
        )
        self._check_open()
        if is_debug():
            get_logger().debug("images.generate", model=model, n=n, bytes=len(body))
        return await self._send(
            lambda: self._build_request(
                self._generations_url,
                timeout,
                extra_headers,
                content=body,
                headers={"Content-Type": "application/json"},
            ),
            model,
        )

    async def edit(
        self,
        prompt: str,
        images: ImageInput | Sequence[ImageInput],
        mask: ImageInput | None = None,
        size: str | None = "1024x1024",
        model: str = DEFAULT_IMAGE_MODEL,
        quality: str | None = None,
        n: int = 1,
        *,
        response_format: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **params: Any,
    ) -> ImageResponse:
        """Edit ``images`` as ``prompt`` describes (gpt-image models: up to 16 images;
        dall-e-2: one square PNG; dall-e-3 cannot edit).

        Each image (and the ``mask``) may be an http(s) URL, base64 text, a data URL,
        bytes or a :class:`~pathlib.Path` (a ``str`` path only with
        ``allow_local_files=True``). ``mask`` is a PNG whose transparent pixels mark where
        the first image may change; ``None`` or ``""`` means no mask.
        """
        plan = plan_edit(
            model=model,
            prompt=prompt,
            images=images,
            mask=mask,
            size=size,
            quality=quality,
            n=n,
            style=None,
            response_format=response_format,
            params=params,
            max_bytes=self._settings.max_image_bytes,
            reference=False,
            local_files=self._settings.allow_local_files,
        )
        return await self._edit(plan, timeout, extra_headers)

    # -- editing --------------------------------------------------------------------------

    async def _edit(
        self,
        plan: EditPlan,
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
    ) -> ImageResponse:
        self._check_open()
        try:
            images = [await self._load(source) for source in plan.images]
            mask = await self._load(plan.mask) if plan.mask is not None else None
        except FetchError as exc:
            if is_debug():
                get_logger().debug("images.fetch_failed", model=plan.model, error=str(exc))
            return failure_response(exc, plan.model)
        check_edit_inputs(plan, images, mask)
        data, files = edit_parts(plan, images, mask)
        if is_debug():
            get_logger().debug(
                "images.edit",
                model=plan.model,
                images=len(images),
                mask=mask is not None,
                bytes=sum(len(image.data) for image in images),
            )
        return await self._send(
            lambda: self._build_request(
                self._edits_url, timeout, extra_headers, data=data, files=files
            ),
            plan.model,
        )

    async def _load(self, source: ImageSource) -> LoadedImage:
        cap = self._settings.max_image_bytes
        if isinstance(source, LoadedImage):
            return source
        if isinstance(source, FileSource):
            data = await async_call_blocking(read_image_file, source.path, source.label, cap)
            return loaded_image(data, source.label, cap)
        return await self._download(source)

    async def _download(self, source: UrlSource) -> LoadedImage:
        """Fetch an input URL within ``fetch_timeout`` in all (every hop, resolution,
        connect and body), or raise FetchError (ConfigurationError for a private address)."""
        deadline = _concurrency.AsyncDeadline(self._settings.fetch_timeout)
        try:
            with deadline:
                return await self._fetch(source, deadline)
        except TimeoutError:
            raise FetchError(
                source, f"timed out (fetch_timeout={self._settings.fetch_timeout:g} s)"
            ) from None

    async def _fetch(self, source: UrlSource, deadline: _concurrency.AsyncDeadline) -> LoadedImage:
        cap = self._settings.max_image_bytes

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            # httpcore's trace extension: the sync twin shuts this socket when time is up
            if event == "connection.connect_tcp.complete":
                deadline.watch(info["return_value"])

        url = source.url
        for _ in range(MAX_REDIRECTS + 1):
            addresses = await self._check_host(source, url, deadline)
            target: httpx.URL | None = None
            body = bytearray()
            # A connection pool of its own per hop: nothing is shared with the API client
            # (headers, cookies, proxies) or with another host's TLS session.
            async with httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(verify=_ssrf.fetch_ssl_context()),
                trust_env=False,
                follow_redirects=False,
            ) as client:
                try:
                    response = await self._connect(client, url, addresses, deadline, trace)
                    try:
                        try:
                            target = _ssrf.redirect_target(
                                url, response.status_code, response.headers
                            )
                        except ValueError as exc:
                            raise FetchError(source, str(exc)) from None
                        if target is None:
                            check_download(source, response.status_code, response.headers, cap)
                            async for chunk in response.aiter_bytes():
                                body += chunk
                                if len(body) > cap:
                                    raise FetchError(
                                        source,
                                        f"more than {cap} bytes, the limit (max_image_bytes)",
                                    )
                                deadline.check()
                    finally:
                        await response.aclose()
                except httpx.TimeoutException:
                    raise TimeoutError from None
                except httpx.TransportError as exc:
                    deadline.check()  # the sync twin's deadline ends a transfer this way
                    raise FetchError(source, f"connection failed ({type(exc).__name__})") from exc
            if target is None:
                if is_debug():
                    get_logger().debug("images.fetched", host=url.host, bytes=len(body))
                return downloaded_image(source, bytes(body), response.headers.get("content-type"))
            url = target
        raise FetchError(source, f"more than {MAX_REDIRECTS} redirects")

    async def _connect(
        self,
        client: httpx.AsyncClient,
        url: httpx.URL,
        addresses: Sequence[str],
        deadline: _concurrency.AsyncDeadline,
        trace: Callable[[str, Mapping[str, Any]], Any],
    ) -> httpx.Response:
        """Send the GET to the first checked address that accepts a connection."""
        for index, address in enumerate(addresses):
            deadline.check()
            request = _ssrf.pinned_request(url, address, deadline.remaining(), trace)
            try:
                return await client.send(request, stream=True)
            except httpx.ConnectError:
                if index == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable: there is at least one address")  # pragma: no cover

    async def _check_host(
        self, source: UrlSource, url: httpx.URL, deadline: _concurrency.AsyncDeadline
    ) -> list[str]:
        """The addresses to connect to for ``url``: resolved once (in async code, in a worker thread),
        each checked unless ``allow_private_urls``; the download is pinned to them."""
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchError(source, f"redirected to a non-http(s) URL ({url.scheme[:20]}:)")
        host = url.raw_host.decode("ascii")
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                resolved = await deadline.call(_concurrency.async_getaddrinfo, host, port)
            except TimeoutError:  # an OSError too, but the deadline's: not a failed lookup
                raise
            except OSError as exc:
                raise FetchError(source, f"cannot resolve {host[:100]!r} ({exc})") from exc
            addresses = list(dict.fromkeys(resolved))
            if not addresses:
                raise FetchError(source, f"{host[:100]!r} resolves to no address")
        if not self._settings.allow_private_urls:
            refuse_private_addresses(host, addresses, source.label)
        return addresses

    # -- sending --------------------------------------------------------------------------

    _retry_event = "images.retry"

    def _build_request(
        self,
        url: str,
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[tuple[str, tuple[str, bytes, str]]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        # a fresh request per attempt: a multipart body is a stream read once
        call_timeout, extra = self._call_settings(timeout, extra_headers)
        return self._request(
            url,
            timeout=call_timeout,
            extra_headers={**(headers or {}), **extra},
            content=content,
            data=data,
            files=files,
        )

    async def _send(self, build: Callable[[], httpx.Request], model: str) -> ImageResponse:
        """Send with retries; whatever still fails comes back as ``success=False``."""
        try:
            result: ImageResponse = await self._with_retries(lambda: self._send_once(build, model))
        except (OpenRouterAPIError, OpenRouterConnectionError) as exc:
            return self._failed(exc, model)
        return result

    async def _send_once(self, build: Callable[[], httpx.Request], model: str) -> ImageResponse:
        request = build()
        # `timeout` bounds the whole request (and reading its body), as in the chat client
        response, content = await self._send_and_read(request, self._deadline(request))
        result = decode_images_response(response.status_code, response.headers, content, model)
        if is_debug():
            get_logger().debug(
                "images.response",
                model=model,
                status=response.status_code,
                images=len(result.images),
                tokens=result.usage.total_tokens if result.usage else None,
            )
        return result

    def _failed(self, exc: MBXAIError, model: str) -> ImageResponse:
        result = failure_response(exc, model)
        if is_debug():
            get_logger().debug("images.failed", model=model, error=result.error)
        return result
