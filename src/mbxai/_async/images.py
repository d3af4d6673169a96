"""The image client: generation and editing on OpenAI's Images API or a compatible one."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from .. import _concurrency
from .._concurrency import async_call_blocking
from .._errors import (
    ClientClosedError,
    MBXAIError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
)
from .._images import (
    _FETCH_HEADERS,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_MAX_IMAGE_BYTES,
    MAX_REDIRECTS,
    EditPlan,
    FetchError,
    FileSource,
    ImageClientConfig,
    ImageInput,
    ImageResponse,
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
    literal_address,
    loaded_image,
    plan_edit,
    read_image_file,
    refuse_private_addresses,
)
from .._logging import get_logger, is_debug

__all__ = ["AsyncImageClient"]


class AsyncImageClient:
    """Image generation and editing with gpt-image-1 (default), dall-e-3 and dall-e-2.

    Speaks OpenAI's Images API: ``POST /images/generations`` (JSON) and
    ``POST /images/edits`` (multipart). Point ``base_url`` at any compatible endpoint.

    What raises and what returns:

    * Anything wrong with the arguments raises :class:`~mbxai.ConfigurationError` before a
      request is sent: a size, quality, ``n`` or option the model does not take, an input
      that is not a URL, base64 text, a data URL, bytes or an existing file, an input that
      is not a PNG/JPEG/WebP/GIF image or is over ``max_image_bytes``, a format the model
      cannot edit, and a URL whose host is, resolves to or redirects to a private address.
    * Anything that goes wrong remotely comes back as ``ImageResponse(success=False,
      error=...)``: the API's errors (after retries for 408/409/429/5xx, timeouts and
      connection failures), and input URLs that cannot be downloaded (HTTP error, timeout,
      unresolvable host, more than ``max_image_bytes``, not an image).

    Input URLs are fetched over http(s) only, with a timeout, a size cap enforced while
    the body streams in, at most five redirects, and each hop's host resolved (without
    blocking the event loop) and refused when any of its addresses is not public, unless
    ``allow_private_urls=True``. The check and the connection resolve the name separately,
    so a DNS server that answers differently the second time (DNS rebinding) can slip
    through; allow only URLs you trust to be fetched where that matters. Downloads never
    carry the API key.

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
        fetch_timeout: Seconds an input URL's download may take in all.
        allow_private_urls: Fetch input URLs on private, loopback and link-local addresses.
        http_client: An ``httpx.AsyncClient`` to send with (you then close it yourself).
        transport: An httpx transport for the client mbxai creates.
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
        fetch_timeout: float = 30.0,
        allow_private_urls: bool = False,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._config = ImageClientConfig.create(
            api_key=secret,
            base_url=base_url,
            default_headers=default_headers,
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
            timeout=timeout,
            max_image_bytes=max_image_bytes,
            fetch_timeout=fetch_timeout,
            allow_private_urls=allow_private_urls,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self._config.timeout
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._config.base_url!r})"

    @property
    def base_url(self) -> str:
        """The endpoint root requests go to."""
        return self._config.base_url

    # -- lifecycle ------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (only if this client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncImageClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

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
        OpenAI's API takes images alongside a prompt. ``params`` (``background``,
        ``output_format``, ``moderation``, ``user`` ...) are sent as given.
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
                max_bytes=self._config.max_image_bytes,
                reference=True,
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
                self._config.generations_url,
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
        bytes or a file path. ``mask`` is a PNG whose transparent pixels mark where the
        first image may change; ``None`` or ``""`` means no mask.
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
            max_bytes=self._config.max_image_bytes,
            reference=False,
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
                self._config.edits_url, timeout, extra_headers, data=data, files=files
            ),
            plan.model,
        )

    async def _load(self, source: ImageSource) -> LoadedImage:
        cap = self._config.max_image_bytes
        if isinstance(source, LoadedImage):
            return source
        if isinstance(source, FileSource):
            data = await async_call_blocking(read_image_file, source.path, source.label, cap)
            return loaded_image(data, source.label, cap)
        return await self._download(source)

    async def _download(self, source: UrlSource) -> LoadedImage:
        cap = self._config.max_image_bytes
        deadline = time.monotonic() + self._config.fetch_timeout
        request = self._http.build_request(
            "GET", source.url, headers=_FETCH_HEADERS, timeout=self._config.fetch_timeout
        )
        for _ in range(MAX_REDIRECTS + 1):
            await self._check_host(source, request.url)
            try:
                response = await self._http.send(request, stream=True, follow_redirects=False)
            except httpx.TimeoutException as exc:
                raise FetchError(source, "timed out") from exc
            except httpx.TransportError as exc:
                raise FetchError(source, f"connection failed ({type(exc).__name__})") from exc
            try:
                if response.next_request is not None:
                    request = response.next_request
                    continue
                check_download(source, response.status_code, response.headers, cap)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > cap:
                        raise FetchError(
                            source, f"more than {cap} bytes, the limit (max_image_bytes)"
                        )
                    if time.monotonic() > deadline:
                        raise FetchError(source, "timed out (fetch_timeout)")
            except httpx.TimeoutException as exc:
                raise FetchError(source, "timed out") from exc
            except httpx.TransportError as exc:
                raise FetchError(source, f"connection failed ({type(exc).__name__})") from exc
            finally:
                await response.aclose()
            if is_debug():
                get_logger().debug("images.fetched", host=source.url.host, bytes=len(body))
            return downloaded_image(source, bytes(body), response.headers.get("content-type"))
        raise FetchError(source, f"more than {MAX_REDIRECTS} redirects")

    async def _check_host(self, source: UrlSource, url: httpx.URL) -> None:
        """Refuse hosts on private addresses (resolving names off the event loop)."""
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchError(source, f"redirected to a non-http(s) URL ({url.scheme}:)")
        if self._config.allow_private_urls:
            return
        host = url.host
        literal = literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                addresses = await _concurrency.async_getaddrinfo(host, port)
            except OSError as exc:
                raise FetchError(source, f"cannot resolve {host!r} ({exc})") from exc
            if not addresses:
                raise FetchError(source, f"{host!r} resolves to no address")
        refuse_private_addresses(host, addresses, source.label)

    # -- sending --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._http.is_closed:
            raise ClientClosedError(f"{type(self).__name__} is closed; create a new client")

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
        return self._http.build_request(
            "POST",
            url,
            content=content,
            data=data,
            files=files,
            headers={**self._config.headers, **(headers or {}), **(extra_headers or {})},
            timeout=timeout if timeout is not None else self._config.timeout,
        )

    async def _send(self, build: Callable[[], httpx.Request], model: str) -> ImageResponse:
        """Send with retries; whatever still fails comes back as ``success=False``."""
        try:
            if self._config.max_retries == 0:
                return await self._send_once(build, model)
            import stamina

            async for attempt in stamina.retry_context(**self._config.retry_options):
                with attempt:
                    return await self._send_once(build, model)
        except (OpenRouterAPIError, OpenRouterConnectionError) as exc:
            return self._failed(exc, model)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def _send_once(self, build: Callable[[], httpx.Request], model: str) -> ImageResponse:
        request = build()
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException as exc:
            raise OpenRouterTimeoutError(
                f"request timed out: {exc!r}", url=str(request.url)
            ) from exc
        except httpx.TransportError as exc:
            raise OpenRouterConnectionError(
                f"connection failed: {exc!r}", url=str(request.url)
            ) from exc
        result = decode_images_response(
            response.status_code, response.headers, response.content, model
        )
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
