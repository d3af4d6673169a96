"""The flavour-free half of the image client: configuration, per-model parameter checks,
input-kind detection, request building (JSON and multipart) and response decoding.

The async :class:`~mbxai.AsyncImageClient` and its generated sync twin call into this
module, so only fetching, reading files and sending differ between them. Which URLs and
addresses may be fetched, and how a download is pinned to the address that was checked,
is :mod:`mbxai._ssrf`.

Quality words from the other model family are translated to the nearest level the model
has (``hd`` <-> ``high``, ``standard`` <-> ``medium``), so the seed's
``quality="hd"`` with ``gpt-image-1`` asks for ``high``. A value with no equivalent
(``low`` on DALL-E, ``hd`` on ``dall-e-2``) raises :class:`ConfigurationError`.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import stat
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias

import httpx
import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from ._checks import check_bool, check_int
from ._client_base import (
    decode_response,
)
from ._errors import ConfigurationError, FetchError, MBXAIError, OpenRouterAPIError
from ._logging import redact
from ._ssrf import check_fetch_target

__all__ = [
    "DEFAULT_IMAGE_BASE_URL",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_MAX_IMAGE_BYTES",
    "EditPlan",
    "FileSource",
    "GeneratedImage",
    "ImageInput",
    "ImageResponse",
    "ImageSettings",
    "ImageSource",
    "ImageUsage",
    "LoadedImage",
    "ModelSpec",
    "UrlSource",
    "check_download",
    "check_edit_inputs",
    "decode_images_response",
    "downloaded_image",
    "edit_parts",
    "failure_response",
    "generation_body",
    "loaded_image",
    "model_spec",
    "plan_edit",
    "read_image_file",
    "sniff_mime",
]

DEFAULT_IMAGE_MODEL: Final = "gpt-image-1"
DEFAULT_IMAGE_BASE_URL: Final = "https://api.openai.com/v1"
DEFAULT_MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
_MAX_FETCH_TIMEOUT: Final = 86_400  # beyond it, OS timers overflow

#: What ``images`` and ``mask`` accept: an http(s) URL, base64 text, a data URL, raw bytes
#: or a file path as :class:`~pathlib.Path` (or any ``os.PathLike``). A path given as a
#: ``str`` is read only by a client built with ``allow_local_files=True``.
ImageInput: TypeAlias = "str | bytes | bytearray | os.PathLike[str]"
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
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
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


@dataclass(frozen=True, slots=True)
class ImageSettings:
    """The image client's own settings (the endpoint's are an
    :class:`~mbxai._client_base.EndpointConfig`), checked once."""

    max_image_bytes: int
    fetch_timeout: float
    allow_private_urls: bool
    allow_local_files: bool

    @classmethod
    def create(
        cls,
        *,
        max_image_bytes: Any,
        fetch_timeout: Any,
        allow_private_urls: Any,
        allow_local_files: Any,
    ) -> ImageSettings:
        """Check every argument's type and range, naming what is wrong (a bool must be a
        real bool: ``"false"`` is refused, not read as true)."""
        check_int("max_image_bytes", max_image_bytes, minimum=1)
        if not _finite(fetch_timeout) or not 0 < fetch_timeout <= _MAX_FETCH_TIMEOUT:
            raise ConfigurationError(
                "fetch_timeout must be a finite number of seconds > 0 and at most "
                f"{_MAX_FETCH_TIMEOUT} (a day), got {fetch_timeout!r}"
            )
        return cls(
            max_image_bytes=max_image_bytes,
            fetch_timeout=float(fetch_timeout),
            allow_private_urls=check_bool("allow_private_urls", allow_private_urls),
            allow_local_files=check_bool("allow_local_files", allow_local_files),
        )


def _finite(value: object) -> bool:
    """A real, finite number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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
    """An http(s) URL to download (every hop resolved, checked and pinned: ``_ssrf``)."""

    label: str
    url: httpx.URL

    @property
    def display(self) -> str:
        """The URL without credentials or query (signed URLs carry secrets there), cut short
        when long."""
        host = f"[{self.url.host}]" if ":" in self.url.host else self.url.host
        port = f":{self.url.port}" if self.url.port is not None else ""
        shown = f"{self.url.scheme}://{host}{port}{self.url.path}"
        return shown if len(shown) <= 120 else shown[:100] + "..."


@dataclass(frozen=True, slots=True)
class FileSource:
    """A local file to read (a ``Path``, or a ``str`` with ``allow_local_files=True``)."""

    label: str
    path: Path


ImageSource: TypeAlias = LoadedImage | UrlSource | FileSource


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
    """Check that ``data`` is an image within the size cap; raise ConfigurationError if not.

    The error never quotes the data: an input may be a file the caller did not mean to
    show anyone."""
    if len(data) > max_bytes:
        raise _too_big(label, len(data), max_bytes)
    mime = sniff_mime(data)
    if mime is None:
        raise ConfigurationError(f"{label} is not a PNG, JPEG, WebP or GIF image")
    return LoadedImage(label, data, mime)


def _decode_base64(text: str, label: str, max_bytes: int) -> bytes | None:
    """The bytes ``text`` encodes when it is base64 (whitespace ignored), else ``None``;
    raises ConfigurationError when they would be over the cap, before decoding them."""
    longest = (max_bytes + 2) // 3 * 4  # the base64 of max_bytes
    if len(text) > 2 * longest + 1024 and _BASE64.fullmatch("".join(text[:1024].split())):
        raise _too_big(label, len(text) * 3 // 4, max_bytes)  # no copy of a huge string
    compact = "".join(text.split())
    if len(compact) < 8 or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    size = len(compact) // 4 * 3 - compact[-2:].count("=")
    if size > max_bytes:
        raise _too_big(label, size, max_bytes)
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_data_url(text: str, label: str, max_bytes: int) -> bytes:
    header, sep, payload = text.partition(",")
    if not sep:
        raise ConfigurationError(f"{label} is a data URL without a ',' before its data")
    if header.lower().endswith(";base64"):
        data = _decode_base64(payload, label, max_bytes) if payload else None
        if data is None:
            raise ConfigurationError(f"{label} is a data URL whose base64 data does not decode")
        return data
    return urllib.parse.unquote_to_bytes(payload)


def _source(value: object, label: str, max_bytes: int, local_files: bool) -> ImageSource:
    """Classify one input (no I/O): bytes, base64 and data URLs are decoded and checked
    here; URLs and file paths are returned to be fetched or read. A ``str`` is a file path
    only when ``local_files`` (the client's ``allow_local_files``) is set: an application
    that forwards user text must not upload its own server's files."""
    if isinstance(value, bytes | bytearray | memoryview):
        return loaded_image(bytes(value), label, max_bytes)
    if isinstance(value, os.PathLike):
        return FileSource(label, Path(os.fsdecode(value)))
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{label} must be a URL, base64 string, data URL, bytes or a pathlib.Path, "
            f"got {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ConfigurationError(f"{label} is an empty string")
    head = text[:16].lower()
    if head.startswith("data:"):
        if len(text) * 3 // 4 > max_bytes + 1024:  # refuse before decoding megabytes
            raise _too_big(label, len(text) * 3 // 4, max_bytes)
        return loaded_image(_decode_data_url(text, label, max_bytes), label, max_bytes)
    if head.startswith(("http://", "https://")):
        return UrlSource(label, check_fetch_target(text, label))
    scheme = _SCHEME.match(text)
    if scheme:
        name = scheme.group(0)[:-3]
        raise ConfigurationError(
            f"{label}: only http(s) URLs are fetched, got "
            f"{name + '://' if len(name) <= 20 else 'another scheme'} "
            "(pass a local file as a pathlib.Path)"
        )
    decoded = _decode_base64(text, label, max_bytes)
    if decoded is not None and sniff_mime(decoded) is not None:
        return loaded_image(decoded, label, max_bytes)
    if local_files:
        return FileSource(label, Path(text))
    raise ConfigurationError(
        f"{label} is not an http(s) URL, a data: URL or base64 of a PNG, JPEG, WebP or GIF "
        f"image (got a {len(text)}-character string). Local files are read when given as "
        "a pathlib.Path, or as a path string by a client made with allow_local_files=True"
    )


def read_image_file(path: Path, label: str, max_bytes: int) -> bytes:
    """Read an input file (blocking I/O): a regular file only (a FIFO or device would
    block or never end), refused over the cap before it is read."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ConfigurationError(f"{label}: no such file: {_preview(str(path))}") from None
    except OSError as exc:
        raise ConfigurationError(
            f"{label}: cannot read {_preview(str(path))}: {exc.strerror or type(exc).__name__}"
        ) from None
    try:
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigurationError(f"{label}: {_preview(str(path))} is not a regular file")
            if info.st_size > max_bytes:
                raise _too_big(label, info.st_size, max_bytes)
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"{label}: cannot read {_preview(str(path))}: {exc.strerror or type(exc).__name__}"
        ) from None
    if len(data) > max_bytes:
        raise _too_big(label, len(data), max_bytes)
    return data


# -- downloads ----------------------------------------------------------------------------


def check_download(source: UrlSource, status: int, headers: httpx.Headers, max_bytes: int) -> None:
    """Fail fast on an error status, a compressed body or a declared length over the cap.

    Downloads ask for ``Accept-Encoding: identity``; a body sent compressed anyway is
    refused before a byte of it is read, since its inflated size has no bound (a small
    gzip "bomb" inflates to gigabytes in one step)."""
    if status >= 400:
        raise FetchError(source, f"HTTP {status}")
    encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",")]
    if any(e not in ("", "identity") for e in encodings):
        shown = _preview(headers.get("content-encoding", ""))
        raise FetchError(
            source,
            f"the body is sent with Content-Encoding {shown}; only unencoded (identity) "
            "bodies are accepted",
        )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            source,
            f"{int(declared)} bytes declared, over the limit of {max_bytes} (max_image_bytes)",
        )


def downloaded_image(source: UrlSource, data: bytes, content_type: str | None) -> LoadedImage:
    """The downloaded bytes as an image, or a FetchError saying what came instead."""
    mime = sniff_mime(data)
    if mime is None:
        shown = (
            content_type
            if content_type is None or len(content_type) <= 60
            else (content_type[:57] + "...")
        )
        raise FetchError(source, f"the response is not a PNG, JPEG, WebP or GIF image ({shown})")
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
    local_files: bool,
) -> EditPlan:
    """Check an edit (or a generation with reference images) before any I/O; ``local_files``
    says whether a path given as a ``str`` is read (``allow_local_files``)."""
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
    sources = tuple(
        _source(value, f"images[{i}]", max_bytes, local_files) for i, value in enumerate(inputs)
    )
    no_mask = mask is None or (isinstance(mask, str) and not mask.strip())
    return EditPlan(
        model=fields["model"],
        spec=spec,
        fields=fields,
        images=sources,
        mask=None if no_mask else _source(mask, "mask", max_bytes, local_files),
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
    wire = decode_response(status, headers, content, _WireResponse, "an images response")
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
