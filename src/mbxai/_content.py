"""Multimodal message content: text, images, PDFs and audio as content parts.

:func:`image_part`, :func:`pdf_part` and :func:`audio_part` take bytes, a file path or a
URL and return a :class:`ContentPart` shaped as the chat API wants it (OpenRouter's
``image_url``, ``file`` and ``input_audio`` parts); local data is sent inline as base64.
Parts go into a message's ``content`` list (``user_message("What is this?",
image_part("cat.png"))``), into an agent's prompt (``attachments=``), and into a tool's
return value, which the tool loop turns into the tool's text result plus a user message
carrying the parts (the API takes text only in tool results).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

from ._errors import ConfigurationError

__all__ = [
    "MAX_INLINE_BYTES",
    "ContentPart",
    "Source",
    "audio_part",
    "content_param",
    "image_part",
    "message_with_parts",
    "parts_of",
    "pdf_part",
    "split_parts",
    "text_part",
    "user_message",
]

#: The largest file or byte string a helper inlines (20 MiB; providers refuse more).
MAX_INLINE_BYTES: Final = 20 * 1024 * 1024

#: Where a part's data comes from: bytes, a local file, or a URL (``https://``, ``data:``).
Source: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str]"


class ContentPart(BaseModel):
    """One piece of a message's content, as the chat API takes it: ``type`` and its
    payload (``text``, ``image_url``, ``file`` or ``input_audio``)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: Literal["text", "image_url", "file", "input_audio"]

    def to_param(self) -> dict[str, Any]:
        """The part as the JSON of a message's ``content`` list."""
        return self.model_dump(mode="json", exclude_none=True)

    def __repr__(self) -> str:
        # A part may hold megabytes of base64: show its kind and size, not its data.
        return f"ContentPart(type={self.type!r}, {_summary(self.to_param())})"

    __str__ = __repr__


def _summary(param: dict[str, Any]) -> str:
    kind = param["type"]
    if kind == "text":
        text = str(param.get("text", ""))
        return f"text={text[:40]!r}" + ("..." if len(text) > 40 else "")
    payload = param.get(kind, {})
    for key in ("url", "file_data", "data"):
        value = payload.get(key) if isinstance(payload, dict) else None
        if isinstance(value, str):
            if value.startswith(("http://", "https://")):
                return f"url={value[:60]!r}"
            return f"{len(value)} characters of inline data"
    return "..."


_IMAGE_TYPES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_IMAGE_SUFFIXES: Final = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_AUDIO_FORMATS: Final = ("wav", "mp3", "flac", "m4a", "ogg", "aac", "aiff")


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://", "data:"))


def _read(name: str, source: Any) -> tuple[bytes, str | None]:
    """The bytes of a bytes-like or path ``source`` and the file's suffix (if a path)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        suffix = None
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ConfigurationError(
                f"{name}: cannot read {str(source)[:200]!r} ({exc.strerror or exc}); "
                "give bytes, an existing file's path or an http(s):// or data: URL"
            ) from None
        if size > MAX_INLINE_BYTES:
            raise ConfigurationError(
                f"{name}: {path.name} has {size} bytes, more than the "
                f"{MAX_INLINE_BYTES} a request can carry inline; give a URL instead"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"{name}: cannot read {path.name}: {exc}") from None
        suffix = path.suffix.lower()
    else:
        raise ConfigurationError(
            f"{name} takes bytes, a file path or a URL, got {type(source).__name__}"
        )
    if not data:
        raise ConfigurationError(f"{name}: the data is empty")
    if len(data) > MAX_INLINE_BYTES:
        raise ConfigurationError(
            f"{name}: {len(data)} bytes is more than the {MAX_INLINE_BYTES} a request can "
            "carry inline; give a URL instead"
        )
    return data, suffix


def _image_type(data: bytes, suffix: str | None) -> str:
    for magic, media_type in _IMAGE_TYPES:
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if suffix in _IMAGE_SUFFIXES:
        return _IMAGE_SUFFIXES[suffix]
    raise ConfigurationError(
        "image_part: the data is not a PNG, JPEG, GIF or WebP image (pass media_type= "
        "if it is another kind the model reads)"
    )


def _data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def text_part(text: str) -> ContentPart:
    """A text part."""
    if not isinstance(text, str):
        raise ConfigurationError(f"text_part takes a string, got {type(text).__name__}")
    return ContentPart(type="text", text=text)  # type: ignore[call-arg]


def image_part(
    source: Source,
    *,
    detail: Literal["auto", "low", "high"] | None = None,
    media_type: str | None = None,
) -> ContentPart:
    """An image: a URL (sent as the link, fetched by the provider) or bytes or a file
    (PNG, JPEG, GIF or WebP, sent inline). ``detail`` is OpenAI's resolution hint."""
    if isinstance(source, str) and _is_url(source):
        url = source
    else:
        data, suffix = _read("image_part", source)
        url = _data_url(media_type or _image_type(data, suffix), data)
    if detail not in (None, "auto", "low", "high"):
        raise ConfigurationError(f"image_part: detail must be auto, low or high, got {detail!r}")
    image: dict[str, Any] = {"url": url}
    if detail is not None:
        image["detail"] = detail
    return ContentPart(type="image_url", image_url=image)  # type: ignore[call-arg]


def pdf_part(source: Source, *, filename: str | None = None) -> ContentPart:
    """A PDF: a URL or bytes or a file (sent inline). Models that cannot read PDFs get
    its text through OpenRouter's file parser (:class:`FileParserPlugin` picks the
    engine)."""
    if isinstance(source, str) and _is_url(source):
        file_data = source
        name = filename or source.rsplit("/", 1)[-1].split("?", 1)[0] or "document.pdf"
        if source.startswith("data:"):
            name = filename or "document.pdf"
    else:
        data, _ = _read("pdf_part", source)
        if not data.startswith(b"%PDF"):
            raise ConfigurationError("pdf_part: the data is not a PDF (no %PDF header)")
        file_data = _data_url("application/pdf", data)
        default = Path(source).name if isinstance(source, str | os.PathLike) else None
        name = filename or default or "document.pdf"
    return ContentPart(type="file", file={"filename": name, "file_data": file_data})  # type: ignore[call-arg]


def _audio_format(data: bytes, suffix: str | None) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if data[4:8] == b"ftyp":
        return "m4a"
    if suffix and suffix.lstrip(".") in _AUDIO_FORMATS:
        return suffix.lstrip(".")
    raise ConfigurationError(
        f"audio_part: cannot tell the audio format; pass format= (one of "
        f"{', '.join(_AUDIO_FORMATS)})"
    )


def audio_part(source: Source, *, format: str | None = None) -> ContentPart:
    """Audio from bytes or a file, sent inline as base64 (the API takes no audio URLs:
    download it first). ``format`` (``"wav"``, ``"mp3"``...) is found from the data
    when not given."""
    if isinstance(source, str) and _is_url(source):
        raise ConfigurationError(
            "audio_part: the chat API takes audio only inline, not by URL; download it "
            "and pass the bytes"
        )
    data, suffix = _read("audio_part", source)
    if format is not None and format not in _AUDIO_FORMATS:
        raise ConfigurationError(
            f"audio_part: format must be one of {', '.join(_AUDIO_FORMATS)}, got {format!r}"
        )
    kind = format or _audio_format(data, suffix)
    return ContentPart(  # type: ignore[call-arg]
        type="input_audio",
        input_audio={"data": base64.b64encode(data).decode(), "format": kind},
    )


def user_message(*content: str | ContentPart) -> dict[str, Any]:
    """A user message of text and parts: ``user_message("Compare:", image_part(a),
    image_part(b))``."""
    if not content:
        raise ConfigurationError("user_message needs at least one text or part")
    parts = [content_param(index, item) for index, item in enumerate(content)]
    return {"role": "user", "content": parts}


def content_param(index: int, item: Any) -> Any:
    """One item of a content list as JSON: a part's param, a string as a text part,
    a dict as it is (the endpoint judges it)."""
    if isinstance(item, ContentPart):
        return item.to_param()
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, dict):
        return item
    raise ConfigurationError(
        f"content[{index}] must be a string, a ContentPart (image_part(), pdf_part(), ...) "
        f"or a dict, got {type(item).__name__}"
    )


def message_with_parts(message: Any) -> Any:
    """A message mapping with the :class:`ContentPart` items of its ``content`` list as
    JSON (a copy if there were any; the message itself otherwise)."""
    content = message.get("content")
    if not isinstance(content, list) or not any(isinstance(i, ContentPart) for i in content):
        return message
    return {
        **message,
        "content": [i.to_param() if isinstance(i, ContentPart) else i for i in content],
    }


def split_parts(value: Any) -> tuple[Any, list[ContentPart]]:
    """A tool's return value divided into what goes in its text result and the parts to
    attach: a part alone, or the parts in a list or tuple (the other items stay)."""
    if isinstance(value, ContentPart):
        return (value.text if value.type == "text" else None), (  # type: ignore[attr-defined]
            [] if value.type == "text" else [value]
        )
    if isinstance(value, list | tuple) and any(isinstance(v, ContentPart) for v in value):
        rest: list[Any] = []
        parts: list[ContentPart] = []
        for item in value:
            if isinstance(item, ContentPart) and item.type != "text":
                parts.append(item)
            elif isinstance(item, ContentPart):
                rest.append(item.text)  # type: ignore[attr-defined]
            else:
                rest.append(item)
        text: Any = rest[0] if len(rest) == 1 else (rest or None)
        return text, parts
    return value, []


def parts_of(value: Sequence[Any] | None, name: str) -> list[ContentPart]:
    """``attachments=``: a sequence of content parts, checked."""
    if value is None:
        return []
    if isinstance(value, ContentPart):
        return [value]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigurationError(
            f"{name} must be a list of content parts (image_part(), pdf_part(), ...), "
            f"got {type(value).__name__}"
        )
    for index, item in enumerate(value):
        if not isinstance(item, ContentPart):
            raise ConfigurationError(
                f"{name}[{index}] must be a ContentPart (image_part(), pdf_part(), "
                f"audio_part(), text_part()), got {type(item).__name__}"
            )
    return list(value)
