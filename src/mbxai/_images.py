"""The flavour-free half of the image client: configuration, per-model parameter checks,
input-kind detection, request building (JSON and multipart) and response decoding.

The async :class:`~mbxai.AsyncImageClient` and its generated sync twin call into this
module, so only fetching, reading files and sending differ between them.

Quality words from the other model family are translated to the nearest level the model
has (``hd`` <-> ``high``, ``standard`` <-> ``medium``), so the seed's
``quality="hd"`` with ``gpt-image-1`` asks for ``high``. A value with no equivalent
(``low`` on DALL-E, ``hd`` on ``dall-e-2``) raises :class:`ConfigurationError`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias

import httpx
import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from ._base import (
    _USER_AGENT,
    _decode_body,
    api_error,
    check_base_url,
    check_retry_settings,
    http_timeout,
    retry_options,
)
from ._errors import ConfigurationError, MBXAIError, OpenRouterAPIError
from ._logging import redact, register_secret

__all__ = [
    "DEFAULT_IMAGE_BASE_URL",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_MAX_IMAGE_BYTES",
    "MAX_REDIRECTS",
    "EditPlan",
    "FetchError",
    "FileSource",
    "GeneratedImage",
    "ImageClientConfig",
    "ImageInput",
    "ImageResponse",
    "ImageSource",
    "ImageUsage",
    "LoadedImage",
    "ModelSpec",
    "UrlSource",
    "check_download",
    "check_edit_inputs",
    "check_fetch_target",
    "decode_images_response",
    "downloaded_image",
    "edit_parts",
    "failure_response",
    "generation_body",
    "literal_address",
    "loaded_image",
    "model_spec",
    "plan_edit",
    "read_image_file",
    "refuse_private_addresses",
    "sniff_mime",
]

DEFAULT_IMAGE_MODEL: Final = "gpt-image-1"
DEFAULT_IMAGE_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
#: Redirects followed when fetching an input URL; every hop's address is checked.
MAX_REDIRECTS: Final = 5

#: What ``images`` and ``mask`` accept: an http(s) URL, base64 text, a data URL, raw bytes
#: or a file path (``str`` or :class:`~pathlib.Path`).
ImageInput: TypeAlias = "str | bytes | bytearray | os.PathLike[str]"

_FETCH_HEADERS: Final[Mapping[str, str]] = {
    "Accept": "image/png,image/jpeg,image/webp,image/gif;q=0.9,*/*;q=0.1",
    # Compressed bodies would be inflated chunk by chunk before the size cap could stop
    # them; images are compressed already, so ask for them as they are.
    "Accept-Encoding": "identity",
    "User-Agent": _USER_AGENT,
}
_EXTENSIONS: Final[Mapping[str, str]] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
}
_OUTPUT_FORMATS: Final[Mapping[str, str]] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "webp": "image/webp",
}
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_RESERVED_PARAMS: Final = frozenset({"model", "prompt", "image", "image[]", "mask"})


# -- response models ----------------------------------------------------------------------


class _ImageModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # base64 payloads and data URLs run to megabytes: show their start and length only
        for name, value in super().__repr_args__():
            if isinstance(value, str) and len(value) > 100:
                value = f"{value[:48]}...({len(value)} chars)"
            yield name, value


class ImageUsage(BaseModel):
    """Token usage reported by gpt-image models (DALL-E reports none)."""

    model_config = ConfigDict(extra="allow")

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: dict[str, int] | None = None


class GeneratedImage(_ImageModel):
    """One image of a response.

    ``image_url`` is the URL the API returned, or a ``data:`` URL built from ``b64_json``
    when it returned base64 (gpt-image models always do).
    """

    image_url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None
    mime_type: str | None = None

    def to_bytes(self) -> bytes | None:
        """The decoded image when the API returned base64, else ``None`` (fetch the URL)."""
        return base64.b64decode(self.b64_json) if self.b64_json else None


class ImageResponse(_ImageModel):
    """The result of :meth:`~mbxai.AsyncImageClient.generate` or ``edit``.

    ``image_url``, ``b64_json`` and ``revised_prompt`` are those of the first image;
    ``images`` holds every image (``n > 1``). When the request failed (the API answered
    with an error, timed out or could not be reached after retries, or an input URL could
    not be downloaded), ``success`` is ``False`` and ``error`` says why, with the HTTP
    ``status_code`` and ``request_id`` when there was one.
    """

    success: bool
    image_url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None
    images: list[GeneratedImage] = Field(default_factory=list)
    usage: ImageUsage | None = None
    model: str | None = None
    created: int | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    error: str | None = None
    status_code: int | None = None
    request_id: str | None = None


class _WireImage(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class _WireResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    created: int | None = None
    data: list[_WireImage]
    usage: ImageUsage | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class ImageClientConfig:
    """Everything the image client needs, resolved and checked once."""

    api_key: SecretStr | None
    base_url: str
    headers: Mapping[str, str]
    timeout: httpx.Timeout
    max_retries: int
    retry_options: Mapping[str, Any]
    max_image_bytes: int
    fetch_timeout: float
    allow_private_urls: bool
    generations_url: str = field(init=False)
    edits_url: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "generations_url", f"{self.base_url}/images/generations")
        object.__setattr__(self, "edits_url", f"{self.base_url}/images/edits")

    def __repr__(self) -> str:
        return (
            f"ImageClientConfig(base_url={self.base_url!r}, "
            f"api_key={'***' if self.api_key else None}, max_retries={self.max_retries})"
        )

    @classmethod
    def create(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        default_headers: Mapping[str, str] | None,
        max_retries: int,
        retry_initial_delay: float,
        retry_max_delay: float,
        max_retry_after: float,
        timeout: float | httpx.Timeout | None,
        max_image_bytes: int,
        fetch_timeout: float,
        allow_private_urls: bool,
    ) -> ImageClientConfig:
        """Apply environment fallbacks (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) and check
        every argument, naming what is wrong. Nothing is written to the environment."""
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if key is not None and not isinstance(key, str):
            raise ConfigurationError(f"api_key must be a string, got {type(key).__name__}")
        key = key.strip() if key else None
        url = check_base_url(
            base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_IMAGE_BASE_URL
        )
        if key is None and httpx.URL(url).host == "api.openai.com":
            raise ConfigurationError(
                "no OpenAI API key: pass api_key=... or set OPENAI_API_KEY "
                "(or point base_url at an endpoint that needs none)"
            )
        check_retry_settings(
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
        )
        if (
            not isinstance(max_image_bytes, int)
            or isinstance(max_image_bytes, bool)
            or max_image_bytes < 1
        ):
            raise ConfigurationError(
                f"max_image_bytes must be an int >= 1, got {max_image_bytes!r}"
            )
        if (
            not isinstance(fetch_timeout, int | float)
            or isinstance(fetch_timeout, bool)
            or fetch_timeout <= 0
        ):
            raise ConfigurationError(f"fetch_timeout must be seconds > 0, got {fetch_timeout!r}")
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        for name, value in (default_headers or {}).items():
            if name.lower() == "authorization":
                raise ConfigurationError("pass the API key as api_key=..., not as a header")
            headers[name] = value
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        register_secret(key)
        return cls(
            api_key=SecretStr(key) if key else None,
            base_url=url,
            headers=headers,
            timeout=http_timeout(timeout),
            max_retries=max_retries,
            retry_options=retry_options(
                max_retries=max_retries,
                retry_initial_delay=float(retry_initial_delay),
                retry_max_delay=float(retry_max_delay),
                max_retry_after=float(max_retry_after),
            ),
            max_image_bytes=max_image_bytes,
            fetch_timeout=float(fetch_timeout),
            allow_private_urls=bool(allow_private_urls),
        )


# -- models and their parameters ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What one image model accepts (from OpenAI's Images API reference)."""

    name: str
    sizes: tuple[str, ...]
    #: Accepted quality word -> the value sent (translations between the two vocabularies).
    qualities: Mapping[str, str]
    max_n: int
    max_prompt: int
    max_edit_images: int  # 0: the model cannot edit
    edit_formats: tuple[str, ...]
    takes_reference_images: bool
    takes_response_format: bool
    takes_style: bool


_GPT_IMAGE = ModelSpec(
    name="gpt-image",
    sizes=("auto", "1024x1024", "1536x1024", "1024x1536"),
    qualities={
        "auto": "auto",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "standard": "medium",
        "hd": "high",
    },
    max_n=10,
    max_prompt=32000,
    max_edit_images=16,
    edit_formats=("image/png", "image/jpeg", "image/webp"),
    takes_reference_images=True,
    takes_response_format=False,
    takes_style=False,
)
_DALL_E_3 = ModelSpec(
    name="dall-e-3",
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    qualities={
        "auto": "auto",
        "standard": "standard",
        "hd": "hd",
        "medium": "standard",
        "high": "hd",
    },
    max_n=1,
    max_prompt=4000,
    max_edit_images=0,
    edit_formats=(),
    takes_reference_images=False,
    takes_response_format=True,
    takes_style=True,
)
_DALL_E_2 = ModelSpec(
    name="dall-e-2",
    sizes=("256x256", "512x512", "1024x1024"),
    qualities={"auto": "auto", "standard": "standard", "medium": "standard"},
    max_n=10,
    max_prompt=1000,
    max_edit_images=1,
    edit_formats=("image/png",),
    takes_reference_images=False,
    takes_response_format=True,
    takes_style=False,
)


def model_spec(model: str) -> ModelSpec | None:
    """The rules for ``model``, or ``None`` for a model mbxai does not know (those are sent
    unchecked, for compatible endpoints with their own models)."""
    if model == "dall-e-2":
        return _DALL_E_2
    if model == "dall-e-3":
        return _DALL_E_3
    if model.startswith("gpt-image-"):  # gpt-image-1, gpt-image-1-mini, ...
        return _GPT_IMAGE
    return None


def _check_params(
    *,
    model: Any,
    prompt: Any,
    size: Any,
    quality: Any,
    n: Any,
    style: Any,
    response_format: Any,
    params: Mapping[str, Any],
) -> tuple[ModelSpec | None, dict[str, Any]]:
    """Check the arguments shared by generation and editing; return the request fields."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(f"model must be a non-empty string, got {model!r}")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigurationError("prompt must be a non-empty string")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigurationError(f"n must be an int >= 1, got {n!r}")
    for name, value in (("size", size), ("quality", quality), ("style", style)):
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    if response_format not in (None, "url", "b64_json"):
        raise ConfigurationError(
            f"response_format must be 'url' or 'b64_json', got {response_format!r}"
        )
    spec = model_spec(model)
    if spec is not None:
        if len(prompt) > spec.max_prompt:
            raise ConfigurationError(
                f"prompt is {len(prompt)} characters; {model} takes at most {spec.max_prompt}"
            )
        if n > spec.max_n:
            raise ConfigurationError(
                f"n={n}: {model} makes at most {spec.max_n} image(s) per request"
            )
        if size is not None and size not in spec.sizes:
            raise ConfigurationError(
                f"size={size!r} is not available for {model}; use one of: {', '.join(spec.sizes)}"
            )
        if quality is not None:
            if quality not in spec.qualities:
                raise ConfigurationError(
                    f"quality={quality!r} is not available for {model}; use one of: "
                    f"{', '.join(sorted(set(spec.qualities.values())))}"
                )
            quality = spec.qualities[quality]
        if style is not None and not spec.takes_style:
            raise ConfigurationError(f"style is only available for dall-e-3, not {model}")
        if response_format is not None and not spec.takes_response_format:
            raise ConfigurationError(
                f"response_format is not available for {model}: it always returns base64"
            )
    if style is not None and style not in ("vivid", "natural"):
        raise ConfigurationError(f"style must be 'vivid' or 'natural', got {style!r}")
    reserved = _RESERVED_PARAMS & set(params)
    if reserved:
        raise ConfigurationError(
            f"pass {', '.join(sorted(reserved))} as the method's own argument, not as an extra"
        )
    fields: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
    for name, value in (
        ("size", size),
        ("quality", quality),
        ("style", style),
        ("response_format", response_format),
        *params.items(),
    ):
        if value is not None:
            fields[name] = value
    return spec, fields


def generation_body(
    *,
    model: Any,
    prompt: Any,
    size: Any,
    quality: Any,
    n: Any,
    style: Any,
    response_format: Any,
    params: Mapping[str, Any],
) -> bytes:
    """The JSON body of ``POST /images/generations``, after the per-model checks."""
    _, fields = _check_params(
        model=model,
        prompt=prompt,
        size=size,
        quality=quality,
        n=n,
        style=style,
        response_format=response_format,
        params=params,
    )
    return pydantic_core.to_json(fields)


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """An input image in memory: its bytes and the type read from its magic bytes."""

    label: str
    data: bytes = field(repr=False)
    mime: str

    def filename(self, stem: str) -> str:
        return f"{stem}.{_EXTENSIONS.get(self.mime, 'bin')}"


@dataclass(frozen=True, slots=True)
class UrlSource:
    """An http(s) URL to download (checked against private addresses first)."""

    label: str
    url: httpx.URL

    @property
    def display(self) -> str:
        """The URL without credentials or query (signed URLs carry secrets there)."""
        return f"{self.url.scheme}://{self.url.host}{self.url.path}"


@dataclass(frozen=True, slots=True)
class FileSource:
    """A local file to read."""

    label: str
    path: Path


ImageSource: TypeAlias = LoadedImage | UrlSource | FileSource


class FetchError(MBXAIError):
    """An input URL could not be downloaded; reported as ``success=False``, not raised."""

    def __init__(self, source: UrlSource, reason: str) -> None:
        super().__init__(f"could not fetch {source.label} from {source.display}: {reason}")


def sniff_mime(data: bytes) -> str | None:
    """The image type from the file's magic bytes: PNG, JPEG, WebP or GIF, else ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def _preview(text: str) -> str:
    return repr(text) if len(text) <= 60 else f"{text[:40]!r}... ({len(text)} chars)"


def _too_big(label: str, size: int, cap: int) -> ConfigurationError:
    return ConfigurationError(
        f"{label} is {size} bytes, over the limit of {cap} bytes (max_image_bytes)"
    )


def loaded_image(data: bytes, label: str, max_bytes: int) -> LoadedImage:
    """Check that ``data`` is an image within the size cap; raise ConfigurationError if not."""
    if len(data) > max_bytes:
        raise _too_big(label, len(data), max_bytes)
    mime = sniff_mime(data)
    if mime is None:
        raise ConfigurationError(
            f"{label} is not a PNG, JPEG, WebP or GIF image (starts with {data[:8]!r})"
        )
    return LoadedImage(label, data, mime)


def _decode_base64(text: str) -> bytes | None:
    compact = "".join(text.split())
    if len(compact) < 8 or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_data_url(text: str, label: str) -> bytes:
    header, sep, payload = text.partition(",")
    if not sep:
        raise ConfigurationError(f"{label} is a data URL without a ',' before its data")
    if header.lower().endswith(";base64"):
        data = _decode_base64(payload) if payload else None
        if data is None:
            raise ConfigurationError(f"{label} is a data URL whose base64 data does not decode")
        return data
    return urllib.parse.unquote_to_bytes(payload)


def _source(value: object, label: str, max_bytes: int) -> ImageSource:
    """Classify one input (no I/O): bytes, base64 and data URLs are decoded and checked
    here; URLs and file paths are returned to be fetched or read."""
    if isinstance(value, bytes | bytearray | memoryview):
        return loaded_image(bytes(value), label, max_bytes)
    if isinstance(value, os.PathLike):
        return FileSource(label, Path(value))
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{label} must be a URL, base64 string, data URL, bytes or a file path, "
            f"got {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ConfigurationError(f"{label} is an empty string")
    head = text[:16].lower()
    if head.startswith("data:"):
        if len(text) * 3 // 4 > max_bytes + 1024:  # refuse before decoding megabytes
            raise _too_big(label, len(text) * 3 // 4, max_bytes)
        return loaded_image(_decode_data_url(text, label), label, max_bytes)
    if head.startswith(("http://", "https://")):
        return UrlSource(label, check_fetch_target(text, label))
    if _SCHEME.match(text):
        raise ConfigurationError(
            f"{label}: only http(s) URLs are fetched, got {text.split(':', 1)[0]}:// "
            "(read files yourself or pass their path)"
        )
    if len(text) * 3 // 4 > max_bytes + 1024 and _BASE64.fullmatch(text[:1024]):
        raise _too_big(label, len(text) * 3 // 4, max_bytes)
    decoded = _decode_base64(text)
    if decoded is not None and sniff_mime(decoded) is not None:
        return loaded_image(decoded, label, max_bytes)
    return FileSource(label, Path(text))


def read_image_file(path: Path, label: str, max_bytes: int) -> bytes:
    """Read an input file, refusing one over the cap before reading it (blocking I/O)."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size > max_bytes:
                raise _too_big(label, size, max_bytes)
            data = file.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigurationError(
            f"{label} is not an http(s) URL, a data URL, base64 image data or an existing "
            f"file: {_preview(str(path))}"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{label}: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise _too_big(label, len(data), max_bytes)
    return data


# -- fetching URLs safely -----------------------------------------------------------------


def check_fetch_target(url: str | httpx.URL, label: str) -> httpx.URL:
    """Parse an input URL; only http(s) with a host is fetched."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"{label} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"{label} must be an http(s) URL with a host")
    return parsed


def literal_address(host: str) -> str | None:
    """``host`` itself when it is an IP address literal (no DNS needed), else ``None``."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def refuse_private_addresses(host: str, addresses: Sequence[str], label: str) -> None:
    """Raise unless every address ``host`` resolved to is public.

    Loopback, private (RFC 1918, ULA), link-local (cloud metadata at 169.254.169.254),
    multicast, reserved and unspecified addresses are refused, including IPv4 addresses
    mapped into IPv6. Checking *every* address stops a name that resolves to one public
    and one private address.
    """
    for raw in addresses:
        ip = ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 zone index
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise ConfigurationError(
                f"{label}: refusing to fetch from {host!r}, which resolves to {ip}, a "
                "private, loopback, link-local or reserved address (pass "
                "allow_private_urls=True to the client to allow it)"
            )


def check_download(
    source: UrlSource, status: int, headers: Mapping[str, str], max_bytes: int
) -> None:
    """Fail fast on an error status or a declared length over the cap."""
    if status >= 400:
        raise FetchError(source, f"HTTP {status}")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            source, f"{declared} bytes declared, over the limit of {max_bytes} (max_image_bytes)"
        )


def downloaded_image(source: UrlSource, data: bytes, content_type: str | None) -> LoadedImage:
    """The downloaded bytes as an image, or a FetchError saying what came instead."""
    mime = sniff_mime(data)
    if mime is None:
        raise FetchError(
            source, f"the response is not a PNG, JPEG, WebP or GIF image ({content_type})"
        )
    return LoadedImage(source.label, data, mime)


# -- editing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EditPlan:
    """A checked edit request whose images still have to be read or fetched."""

    model: str
    spec: ModelSpec | None
    fields: Mapping[str, Any]
    images: tuple[ImageSource, ...]
    mask: ImageSource | None


def _as_inputs(images: Any) -> list[Any]:
    if isinstance(images, str | bytes | bytearray | memoryview | os.PathLike):
        return [images]
    if isinstance(images, Sequence):
        return list(images)
    raise ConfigurationError(
        f"images must be one image or a list of them, got {type(images).__name__}"
    )


def plan_edit(
    *,
    model: Any,
    prompt: Any,
    images: Any,
    mask: Any,
    size: Any,
    quality: Any,
    n: Any,
    style: Any,
    response_format: Any,
    params: Mapping[str, Any],
    max_bytes: int,
    reference: bool,
) -> EditPlan:
    """Check an edit (or a generation with reference images) before any I/O."""
    spec, fields = _check_params(
        model=model,
        prompt=prompt,
        size=size,
        quality=quality,
        n=n,
        style=style,
        response_format=response_format,
        params=params,
    )
    inputs = _as_inputs(images)
    if not inputs:
        raise ConfigurationError("images must not be empty: pass at least one image to edit")
    if spec is not None:
        if reference and not spec.takes_reference_images:
            raise ConfigurationError(
                f"{model} takes no reference images; use a gpt-image model such as gpt-image-1"
            )
        if spec.max_edit_images == 0:
            raise ConfigurationError(f"{model} cannot edit images; use gpt-image-1 (or dall-e-2)")
        if len(inputs) > spec.max_edit_images:
            raise ConfigurationError(
                f"{len(inputs)} images given; {model} edits at most {spec.max_edit_images}"
            )
    sources = tuple(_source(value, f"images[{i}]", max_bytes) for i, value in enumerate(inputs))
    no_mask = mask is None or (isinstance(mask, str) and not mask.strip())
    return EditPlan(
        model=fields["model"],
        spec=spec,
        fields=fields,
        images=sources,
        mask=None if no_mask else _source(mask, "mask", max_bytes),
    )


def check_edit_inputs(
    plan: EditPlan, images: Sequence[LoadedImage], mask: LoadedImage | None
) -> None:
    """Check the loaded images' formats against what the model takes."""
    spec = plan.spec
    if spec is None:
        return
    for image in images:
        if image.mime not in spec.edit_formats:
            kinds = ", ".join(m.removeprefix("image/").upper() for m in spec.edit_formats)
            raise ConfigurationError(
                f"{image.label} is {image.mime}; {plan.model} takes {kinds} images"
            )
    if mask is not None and mask.mime != "image/png":
        raise ConfigurationError(
            f"mask must be a PNG (its transparent pixels mark what to edit), got {mask.mime}"
        )


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return pydantic_core.to_json(value).decode()


def edit_parts(
    plan: EditPlan, images: Sequence[LoadedImage], mask: LoadedImage | None
) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """The multipart form of ``POST /images/edits``: text fields, then file parts.

    One image goes as ``image`` (every model and compatible server takes that); several go
    as repeated ``image[]`` parts, as OpenAI's reference shows for gpt-image models. The
    ``mask`` applies to the first image. Each part carries the detected content type.
    """
    data = {name: _form_value(value) for name, value in plan.fields.items()}
    key = "image" if len(images) == 1 else "image[]"
    files = [
        (key, (image.filename(f"image-{i}"), image.data, image.mime))
        for i, image in enumerate(images)
    ]
    if mask is not None:
        files.append(("mask", (mask.filename("mask"), mask.data, mask.mime)))
    return data, files


# -- responses ----------------------------------------------------------------------------


def _data_url(b64: str, output_format: str | None) -> tuple[str, str]:
    try:
        head = base64.b64decode(b64[:32])
    except (binascii.Error, ValueError):
        head = b""
    mime = sniff_mime(head) or _OUTPUT_FORMATS.get(output_format or "", "image/png")
    return f"data:{mime};base64,{b64}", mime


def decode_images_response(
    status: int, headers: Mapping[str, str], content: bytes, model: str
) -> ImageResponse:
    """Turn an HTTP response into an :class:`ImageResponse`, or raise its typed error
    (which the retry policy inspects)."""
    if status >= 400:
        raise api_error(status, headers, _decode_body(content))
    try:
        wire = _WireResponse.model_validate_json(content)
    except ValidationError as exc:
        body = _decode_body(content)
        if isinstance(body, dict) and "error" in body:
            raise api_error(status, headers, body) from None
        raise OpenRouterAPIError(
            "the endpoint's response is not an images response "
            f"({exc.errors(include_url=False)[0]['msg']})",
            status_code=status,
            body=body,
            request_id=headers.get("x-request-id"),
        ) from None
    if wire.model_extra and wire.model_extra.get("error"):
        raise api_error(status, headers, {"error": wire.model_extra["error"]})
    if not wire.data:
        raise OpenRouterAPIError(
            "the endpoint returned no images",
            status_code=status,
            request_id=headers.get("x-request-id"),
        )
    images = []
    for item in wire.data:
        if item.b64_json:
            url, mime = _data_url(item.b64_json, wire.output_format)
            images.append(
                GeneratedImage(
                    image_url=url,
                    b64_json=item.b64_json,
                    revised_prompt=item.revised_prompt,
                    mime_type=mime,
                )
            )
        else:
            images.append(GeneratedImage(image_url=item.url, revised_prompt=item.revised_prompt))
    first = images[0]
    return ImageResponse(
        success=True,
        image_url=first.image_url,
        b64_json=first.b64_json,
        revised_prompt=first.revised_prompt,
        images=images,
        usage=wire.usage,
        model=model,
        created=wire.created,
        size=wire.size,
        quality=wire.quality,
        output_format=wire.output_format,
        background=wire.background,
        request_id=headers.get("x-request-id"),
    )


def failure_response(exc: MBXAIError, model: str) -> ImageResponse:
    """A failed request as ``success=False`` with a clear, redacted ``error``."""
    if isinstance(exc, OpenRouterAPIError):
        status = exc.status_code
        message = f"HTTP {status}: {exc.message}" if status is not None else exc.message
        return ImageResponse(
            success=False,
            model=model,
            error=redact(message),
            status_code=status,
            request_id=exc.request_id,
        )
    return ImageResponse(success=False, model=model, error=redact(str(exc)))
