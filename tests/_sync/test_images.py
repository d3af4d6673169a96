# This file is generated from tests/_async/test_images.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Behaviour of the image client, written once (async) and generated for sync."""

from __future__ import annotations

import base64
import email
import email.policy
import gzip
import http.server
import json
import logging
import math
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from mbxai import (
    ClientClosedError,
    ConfigurationError,
    ImageClient,
    ImageResponse,
    _concurrency,
    _ssrf,
)

KEY = "sk-proj-image-test-secret-0123456789"
API = "https://api.openai.com/v1"
GENERATIONS = f"{API}/images/generations"
EDITS = f"{API}/images/edits"
PHOTO_URL = "https://example.com/cityscape.jpg"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(40, 90))
WEBP = b"RIFF\x30\x00\x00\x00WEBPVP8 " + bytes(range(90, 130))
GIF = b"GIF89a" + bytes(range(20))
MASK = b"\x89PNG\r\n\x1a\n" + b"mask-alpha" + bytes(20)
RESULT_PNG = b"\x89PNG\r\n\x1a\n" + b"generated-image-bytes" + bytes(30)
RESULT_B64 = base64.b64encode(RESULT_PNG).decode()

#: Fake DNS: tests never resolve real names (only ``localhost``, which is local).
DNS = {
    "example.com": ["93.184.215.14"],
    "cdn.example.org": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.net": ["93.184.215.14", "10.0.0.7"],
    "nat64.example.net": ["64:ff9b::7f00:1"],  # NAT64 spelling of 127.0.0.1
    "dns64.example.net": ["64:ff9b::5db8:d70e"],  # NAT64 spelling of 93.184.215.14
    "sixtofour.example.net": ["2002:a00:1::1"],  # 6to4 around 10.0.0.1
    "mapped.example.net": ["::ffff:169.254.169.254"],
}


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve the names above from the table and record every lookup."""
    real = _concurrency.getaddrinfo
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        if host in DNS:
            return DNS[host]
        if host == "localhost":
            return real(host, port)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(_concurrency, "getaddrinfo", resolve)
    return looked_up


def pinned(url: str, address: str | None = None) -> dict[str, Any]:
    """``add_response`` arguments for the request a download of ``url`` sends: to the
    address the fake DNS gives for its host, with the host name in ``Host``."""
    parsed = httpx.URL(url)
    host = parsed.host
    target = parsed.copy_with(host=address or (DNS[host][0] if host in DNS else host))
    shown = f"[{host}]" if ":" in host else host
    if parsed.port is not None:
        shown += f":{parsed.port}"
    return {"url": str(target), "match_headers": {"Host": shown}}


def make_client(**kwargs: Any) -> ImageClient:
    kwargs.setdefault("api_key", KEY)
    kwargs.setdefault("retry_initial_delay", 0)
    kwargs.setdefault("retry_max_delay", 0)
    return ImageClient(**kwargs)


def b64_result(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "created": 1713833628,
        "data": [{"b64_json": RESULT_B64} for _ in range(n)],
        "usage": {
            "total_tokens": 4260,
            "input_tokens": 100,
            "output_tokens": 4160,
            "input_tokens_details": {"text_tokens": 60, "image_tokens": 40},
        },
        **extra,
    }


def form_parts(request: httpx.Request) -> list[tuple[str, str | None, str, bytes]]:
    """(field name, filename, content type, content) of every multipart part, in order."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + request.content, policy=email.policy.HTTP)
    assert message.is_multipart()
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        assert isinstance(name, str)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), part.get_content_type(), payload))
    return parts


def form_fields(request: httpx.Request) -> dict[str, str]:
    return {
        name: content.decode() for name, filename, _, content in form_parts(request) if not filename
    }


def form_files(request: httpx.Request) -> list[tuple[str, str | None, str, bytes]]:
    return [part for part in form_parts(request) if part[1]]


# -- generation ---------------------------------------------------------------------------


def test_seed_generate_call_maps_hd_to_high_and_returns_a_data_url(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(
        url=GENERATIONS,
        method="POST",
        json=b64_result(quality="high", size="1024x1024", output_format="png"),
        headers={"x-request-id": "req_1"},
    )
    with make_client() as image_client:
        response = image_client.generate(
            prompt="A futuristic cityscape with flying cars at sunset",
            size="1024x1024",
            quality="hd",
            model="gpt-image-1",
        )

    assert response.success
    assert response.error is None
    assert response.image_url == f"data:image/png;base64,{RESULT_B64}"
    assert response.b64_json == RESULT_B64
    assert response.images[0].to_bytes() == RESULT_PNG
    assert response.images[0].mime_type == "image/png"
    assert response.usage is not None
    assert response.usage.total_tokens == 4260
    assert response.usage.input_tokens_details == {"text_tokens": 60, "image_tokens": 40}
    assert (response.model, response.quality, response.request_id) == (
        "gpt-image-1",
        "high",
        "req_1",
    )
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "gpt-image-1",
        "prompt": "A futuristic cityscape with flying cars at sunset",
        "n": 1,
        "size": "1024x1024",
        "quality": "high",
    }


def test_dall_e_3_url_response_with_revised_prompt(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=GENERATIONS,
        json={
            "created": 1,
            "data": [{"url": "https://images.example/1.png", "revised_prompt": "A robot, neon"}],
        },
    )
    with make_client() as client:
        response = client.generate(
            "A robot", size="1792x1024", quality="hd", model="dall-e-3", style="natural"
        )
    assert response.success
    assert response.image_url == "https://images.example/1.png"
    assert response.b64_json is None
    assert response.revised_prompt == "A robot, neon"
    assert response.images[0].to_bytes() is None
    assert response.usage is None
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {
        "model": "dall-e-3",
        "prompt": "A robot",
        "n": 1,
        "size": "1792x1024",
        "quality": "hd",
        "style": "natural",
    }


def test_n_images_extras_and_quality_translations(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=GENERATIONS, json=b64_result(n=3))
    httpx_mock.add_response(url=GENERATIONS, json={"data": [{"url": "https://i.example/a"}]})
    httpx_mock.add_response(url=GENERATIONS, json={"data": [{"b64_json": RESULT_B64}]})
    with make_client() as client:
        many = client.generate("cats", n=3, quality="standard", size=None, background="transparent")
        client.generate("cats", model="dall-e-3", quality="high")
        client.generate("cats", model="dall-e-2", quality="standard", size="256x256")
    assert len(many.images) == 3
    assert all(image.b64_json == RESULT_B64 for image in many.images)
    bodies = [json.loads(r.content) for r in httpx_mock.get_requests()]
    assert bodies[0] == {
        "model": "gpt-image-1",
        "prompt": "cats",
        "n": 3,
        "quality": "medium",
        "background": "transparent",
    }
    assert bodies[1]["quality"] == "hd"
    assert bodies[2]["quality"] == "standard"
    assert bodies[2]["size"] == "256x256"


def test_generate_with_reference_images_goes_to_the_edits_endpoint(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client() as client:
        response = client.generate(
            "A gift basket with these items", images=[PNG, JPEG], quality="low"
        )
    assert response.success
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert form_fields(request) == {
        "model": "gpt-image-1",
        "prompt": "A gift basket with these items",
        "n": "1",
        "size": "1024x1024",
        "quality": "low",
    }
    assert form_files(request) == [
        ("image[]", "image-0.png", "image/png", PNG),
        ("image[]", "image-1.jpg", "image/jpeg", JPEG),
    ]


# -- editing and every input form ---------------------------------------------------------


def test_seed_edit_call_fetches_the_url_and_sends_no_mask(
    httpx_mock: HTTPXMock, dns: list[str]
) -> None:
    httpx_mock.add_response(**pinned(PHOTO_URL), method="GET", content=JPEG)
    httpx_mock.add_response(url=EDITS, method="POST", json=b64_result())
    with make_client() as image_client:
        edit_response = image_client.edit(
            prompt="Add a rainbow in the sky",
            images=["https://example.com/cityscape.jpg"],
            mask="",
            size="1024x1024",
            model="gpt-image-1",
        )
    assert edit_response.success, edit_response.error
    assert edit_response.image_url == f"data:image/png;base64,{RESULT_B64}"
    assert dns == ["example.com"]
    fetch, edit = httpx_mock.get_requests()
    assert fetch.method == "GET"
    # sent to the address that was checked, under the name that was asked for
    assert fetch.url == "https://93.184.215.14/cityscape.jpg"
    assert fetch.headers["host"] == "example.com"
    assert fetch.extensions["sni_hostname"] == "example.com"
    assert "authorization" not in fetch.headers  # the API key never goes to image hosts
    assert fetch.headers["accept-encoding"] == "identity"
    assert edit.headers["authorization"] == f"Bearer {KEY}"
    assert form_fields(edit) == {
        "model": "gpt-image-1",
        "prompt": "Add a rainbow in the sky",
        "n": "1",
        "size": "1024x1024",
    }
    assert form_files(edit) == [("image", "image-0.jpg", "image/jpeg", JPEG)]


def test_every_input_form_and_a_mask(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    webp_file = tmp_path / "product.webp"
    webp_file.write_bytes(WEBP)
    png_file = tmp_path / "photo.png"
    png_file.write_bytes(PNG)
    mask_file = tmp_path / "mask.png"
    mask_file.write_bytes(MASK)
    httpx_mock.add_response(**pinned(PHOTO_URL), content=JPEG)
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client(allow_local_files=True) as client:
        response = client.edit(
            "Put them on a table",
            images=[
                PHOTO_URL,
                base64.b64encode(PNG).decode(),
                "data:image/jpeg;base64," + base64.b64encode(JPEG).decode(),
                bytearray(WEBP),
                webp_file,
                str(png_file),  # a path as a string: read with allow_local_files=True
            ],
            mask=mask_file,
            quality="medium",
            size="1536x1024",
        )
    assert response.success, response.error
    edit = httpx_mock.get_requests()[-1]
    assert form_files(edit) == [
        ("image[]", "image-0.jpg", "image/jpeg", JPEG),
        ("image[]", "image-1.png", "image/png", PNG),
        ("image[]", "image-2.jpg", "image/jpeg", JPEG),
        ("image[]", "image-3.webp", "image/webp", WEBP),
        ("image[]", "image-4.webp", "image/webp", WEBP),
        ("image[]", "image-5.png", "image/png", PNG),
        ("mask", "mask.png", "image/png", MASK),
    ]
    assert form_fields(edit)["size"] == "1536x1024"
    assert form_fields(edit)["quality"] == "medium"


def test_mask_as_base64_and_data_url_and_dall_e_2_single_image(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(url=EDITS, json={"data": [{"url": "https://i.example/e.png"}]})
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client() as client:
        first = client.edit(
            "a hat",
            PNG,
            mask="data:image/png;base64," + base64.b64encode(MASK).decode(),
            size="512x512",
            model="dall-e-2",
            response_format="url",
        )
        client.edit("a hat", [JPEG], mask=base64.b64encode(MASK).decode())
    assert first.image_url == "https://i.example/e.png"
    dalle, gpt = httpx_mock.get_requests()
    assert form_files(dalle) == [
        ("image", "image-0.png", "image/png", PNG),
        ("mask", "mask.png", "image/png", MASK),
    ]
    assert form_fields(dalle) == {
        "model": "dall-e-2",
        "prompt": "a hat",
        "n": "1",
        "size": "512x512",
        "response_format": "url",
    }
    assert form_files(gpt)[-1] == ("mask", "mask.png", "image/png", MASK)


# -- inputs that are refused --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://localhost/x.png",  # a name that resolves to loopback
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/x.png",
        "http://0.0.0.0/x.png",
        "https://rebind.example.net/x.png",  # one public and one private address
    ],
)
def test_private_urls_are_refused_before_any_request(httpx_mock: HTTPXMock, url: str) -> None:
    with make_client() as client:
        with pytest.raises(ConfigurationError, match="images\\[0\\]: refusing to fetch"):
            client.edit("x", [url])
    assert httpx_mock.get_requests() == []


def test_private_urls_can_be_allowed(httpx_mock: HTTPXMock, dns: list[str]) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8000/x.png", content=PNG)
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client(allow_private_urls=True) as client:
        response = client.edit("x", ["http://127.0.0.1:8000/x.png"])
    assert response.success
    assert dns == []


def test_redirects_are_checked_at_every_hop(httpx_mock: HTTPXMock, dns: list[str]) -> None:
    httpx_mock.add_response(
        **pinned(PHOTO_URL), status_code=302, headers={"Location": "https://cdn.example.org/c.png"}
    )
    httpx_mock.add_response(**pinned("https://cdn.example.org/c.png"), content=PNG)
    httpx_mock.add_response(url=EDITS, json=b64_result())
    httpx_mock.add_response(
        **pinned("https://example.com/sneaky"),
        status_code=301,
        headers={"Location": "http://10.0.0.5/"},
    )
    with make_client() as client:
        response = client.edit("x", [PHOTO_URL])
        assert response.success
        with pytest.raises(ConfigurationError, match=r"10\.0\.0\.5"):
            client.edit("x", ["https://example.com/sneaky"])
    assert form_files(httpx_mock.get_requests()[2]) == [("image", "image-0.png", "image/png", PNG)]
    assert dns == ["example.com", "cdn.example.org", "example.com"]


def test_download_over_the_cap_stops_while_streaming(httpx_mock: HTTPXMock) -> None:
    pulled: list[int] = []

    def body() -> Iterator[bytes]:
        for index in range(20):
            pulled.append(index)
            yield PNG if index == 0 else bytes(500)

    httpx_mock.add_response(**pinned(PHOTO_URL), stream=IteratorStream(body()))
    with make_client(max_image_bytes=1000) as client:
        response = client.edit("x", [PHOTO_URL])
    assert not response.success
    assert response.error is not None
    assert "could not fetch images[0] from https://example.com/cityscape.jpg" in response.error
    assert "max_image_bytes" in response.error
    assert len(pulled) < 5  # stopped just past the cap, not after reading everything
    assert len(httpx_mock.get_requests()) == 1  # nothing was sent to the image API


def test_download_failures_come_back_as_unsuccessful(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(**pinned("https://example.com/big.png"), content=PNG + bytes(5000))
    httpx_mock.add_response(**pinned("https://example.com/page"), html="<html>not an image</html>")
    httpx_mock.add_response(**pinned("https://example.com/gone.png"), status_code=404)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), **pinned("https://example.com/slow.png"))
    with make_client(max_image_bytes=1000) as client:
        big = client.edit("x", ["https://example.com/big.png"])
        page = client.edit("x", ["https://example.com/page"])
        gone = client.edit("x", ["https://example.com/gone.png"])
        slow = client.edit("x", ["https://example.com/slow.png"])
        unknown = client.edit("x", ["https://nowhere.invalid/x.png"])
    assert big.error is not None
    assert f"{len(PNG) + 5000} bytes declared" in big.error
    assert page.error is not None
    assert "not a PNG, JPEG, WebP or GIF image (text/html" in page.error
    assert gone.error is not None
    assert gone.error.endswith("HTTP 404")
    assert slow.error is not None
    assert "timed out" in slow.error
    assert unknown.error is not None
    assert "cannot resolve 'nowhere.invalid'" in unknown.error
    assert not any(r.success for r in (big, page, gone, slow, unknown))
    assert all(r.method == "GET" for r in httpx_mock.get_requests())


def test_bad_local_inputs_raise_before_sending(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    big_file = tmp_path / "big.png"
    big_file.write_bytes(PNG + bytes(2000))
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    with make_client(max_image_bytes=1000) as client:
        too_big = rf"images\[0\] is {len(PNG) + 2000} bytes, over the limit of 1000"
        with pytest.raises(ConfigurationError, match=too_big):
            client.edit("x", [PNG + bytes(2000)])
        with pytest.raises(ConfigurationError, match=too_big):
            client.edit("x", [big_file])
        with pytest.raises(ConfigurationError, match=r"images\[1\] is .* bytes, over"):
            client.edit("x", [PNG, base64.b64encode(PNG + bytes(3000)).decode()])
        with pytest.raises(ConfigurationError, match=r"images\[0\] is not a PNG, JPEG"):
            client.edit("x", [b"just some text"])
        with pytest.raises(ConfigurationError, match=r"images\[0\] is not a PNG, JPEG"):
            client.edit("x", [text_file])
        with pytest.raises(ConfigurationError, match=r"images\[0\] is not an http\(s\) URL"):
            client.edit("x", [str(text_file)])  # a str is not read as a path ...
        with pytest.raises(ConfigurationError, match=r"images\[0\] is not an http\(s\) URL"):
            client.edit("x", ["no/such/file.png"])
        with pytest.raises(ConfigurationError, match=r"images\[0\]: no such file"):
            client.edit("x", [Path("no/such/file.png")])
        with pytest.raises(ConfigurationError, match=r"only http\(s\) URLs.*ftp"):
            client.edit("x", ["ftp://example.com/x.png"])
        with pytest.raises(ConfigurationError, match=r"mask is not a PNG, JPEG"):
            client.edit("x", [PNG], mask="data:image/png;base64,aGVsbG8gd29ybGQh")
        with pytest.raises(ConfigurationError, match=r"images\[0\] is image/gif"):
            client.edit("x", [GIF])
        with pytest.raises(ConfigurationError, match="mask must be a PNG"):
            client.edit("x", [PNG], mask=JPEG)
        with pytest.raises(ConfigurationError, match="dall-e-2 takes PNG"):
            client.edit("x", [JPEG], model="dall-e-2")
        with pytest.raises(ConfigurationError, match="images must not be empty"):
            client.edit("x", [])
        with pytest.raises(ConfigurationError, match=r"images\[0\] must be a URL"):
            client.edit("x", [42])  # type: ignore[list-item]
    with make_client(max_image_bytes=1000, allow_local_files=True) as client:
        with pytest.raises(ConfigurationError, match=r"images\[0\] is not a PNG, JPEG"):
            client.edit("x", [str(text_file)])  # ... unless the client allows it
        with pytest.raises(ConfigurationError, match=r"images\[0\]: no such file"):
            client.edit("x", ["no/such/file.png"])
    assert httpx_mock.get_requests() == []


# -- parameter checks per model -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "1792x1024"}, r"size='1792x1024' is not available for gpt-image-1; use one of"),
        ({"model": "dall-e-3", "size": "1536x1024"}, "not available for dall-e-3"),
        ({"model": "dall-e-2", "size": "1024x1536"}, "not available for dall-e-2"),
        ({"quality": "ultra"}, r"quality='ultra' is not available for gpt-image-1.*high"),
        ({"model": "dall-e-3", "quality": "low"}, "quality='low' is not available for dall-e-3"),
        ({"model": "dall-e-2", "quality": "hd"}, "quality='hd' is not available for dall-e-2"),
        ({"model": "dall-e-3", "n": 2}, "n=2: dall-e-3 makes at most 1 image"),
        ({"n": 11}, "n=11: gpt-image-1 makes at most 10"),
        ({"n": 0}, "n must be an int >= 1"),
        ({"style": "vivid"}, "style is only available for dall-e-3"),
        ({"model": "dall-e-3", "style": "bold"}, "style must be 'vivid' or 'natural'"),
        ({"response_format": "url"}, "response_format is not available for gpt-image-1"),
        ({"prompt": "  "}, "prompt must be a non-empty string"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "dall-e-2 takes at most 1000"),
        ({"model": ""}, "model must be a non-empty string"),
        ({"model": "dall-e-3", "images": [PNG]}, "dall-e-3 takes no reference images"),
        ({"image": PNG}, "pass image as the method's own argument"),
    ],
)
def test_generate_parameters_are_checked_per_model(
    httpx_mock: HTTPXMock, kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("prompt", "a cat")
    with make_client() as client:
        with pytest.raises(ConfigurationError, match=message):
            client.generate(**kwargs)
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "dall-e-3"}, "dall-e-3 cannot edit images"),
        ({"model": "dall-e-2", "images": [PNG, PNG]}, "2 images given; dall-e-2 edits at most 1"),
        ({"images": [PNG] * 17}, "17 images given; gpt-image-1 edits at most 16"),
        ({"size": "256x256"}, "size='256x256' is not available for gpt-image-1"),
        ({"images": 42}, "images must be one image or a list"),
    ],
)
def test_edit_parameters_are_checked_per_model(
    httpx_mock: HTTPXMock, kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("images", [PNG])
    with make_client() as client:
        with pytest.raises(ConfigurationError, match=message):
            client.edit("a hat", **kwargs)
    assert httpx_mock.get_requests() == []


def test_unknown_models_are_sent_unchecked_to_a_compatible_endpoint(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    url = "http://localhost:8080/v1/images/generations"
    httpx_mock.add_response(url=url, json={"data": [{"b64_json": RESULT_B64}]})
    with ImageClient(base_url="http://localhost:8080/v1/") as client:
        assert client.base_url == "http://localhost:8080/v1"
        response = client.generate("x", model="flux-dev", size="640x480", steps=20)
    assert response.success
    request = httpx_mock.get_request()
    assert request is not None
    assert "authorization" not in request.headers
    assert json.loads(request.content) == {
        "model": "flux-dev",
        "prompt": "x",
        "n": 1,
        "size": "640x480",
        "steps": 20,
    }


# -- API errors and retries ---------------------------------------------------------------


def test_400_comes_back_with_status_and_message_and_is_not_retried(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_response(
        url=GENERATIONS,
        status_code=400,
        json={"error": {"message": "Your request was rejected by the safety system."}},
        headers={"x-request-id": "req_400"},
    )
    with make_client(max_retries=3) as client:
        response = client.generate("something")
    assert not response.success
    assert response.error == "HTTP 400: Your request was rejected by the safety system."
    assert response.status_code == 400
    assert response.request_id == "req_400"
    assert response.image_url is None
    assert len(httpx_mock.get_requests()) == 1


def test_500_is_retried_then_reported(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=GENERATIONS, status_code=500, json={"error": {"message": "boom"}}, is_reusable=True
    )
    with make_client(max_retries=2) as client:
        response = client.generate("something")
    assert not response.success
    assert response.error == "HTTP 500: boom"
    assert response.status_code == 500
    assert len(httpx_mock.get_requests()) == 3


def test_503_then_success_and_edits_are_resent_whole(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=EDITS, status_code=503, json={})
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client() as client:
        response = client.edit("x", [PNG, JPEG])
    assert response.success
    first, second = httpx_mock.get_requests()
    assert form_files(first) == form_files(second)
    assert len(form_files(second)) == 2


def test_connection_errors_and_timeouts_come_back_after_retries(
    httpx_mock: HTTPXMock,
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=GENERATIONS)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=GENERATIONS)
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=EDITS, is_reusable=True)
    with make_client(max_retries=1) as client:
        refused = client.generate("x")
        slow = client.edit("x", [PNG])
    assert not refused.success
    assert refused.error is not None
    assert "connection failed" in refused.error
    assert "refused" in refused.error
    assert refused.status_code is None
    assert not slow.success
    assert slow.error is not None
    assert "timed out" in slow.error
    assert len(httpx_mock.get_requests()) == 4


def test_odd_success_bodies_are_failures(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=GENERATIONS, text="<html>gateway</html>")
    httpx_mock.add_response(url=GENERATIONS, json={"data": []})
    with make_client(max_retries=0) as client:
        html = client.generate("x")
        empty = client.generate("x")
    assert html.error is not None
    assert "not an images response" in html.error
    assert empty.error == "HTTP 200: the endpoint returned no images"


# -- keys, logs, reprs, lifecycle ---------------------------------------------------------


def test_key_from_environment_and_never_written_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        ImageClient()
    client = ImageClient(api_key=KEY)
    assert "OPENAI_API_KEY" not in os.environ
    assert KEY not in repr(client)
    assert KEY not in repr(vars(client))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert ImageClient()._config.key is not None


def test_bad_configuration_names_the_argument() -> None:
    with pytest.raises(ConfigurationError, match="max_image_bytes"):
        make_client(max_image_bytes=0)
    with pytest.raises(ConfigurationError, match="fetch_timeout"):
        make_client(fetch_timeout=-1)
    with pytest.raises(ConfigurationError, match="max_retries"):
        make_client(max_retries=-1)
    with pytest.raises(ConfigurationError, match="base_url"):
        make_client(base_url="ftp://example.com")
    with pytest.raises(ConfigurationError, match="api_key="):
        make_client(default_headers={"Authorization": "Bearer x"})
    with pytest.raises(ConfigurationError, match="timeout"):
        make_client(timeout=0)


def test_logs_show_neither_key_nor_image_bytes(
    httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mbxai")
    httpx_mock.add_response(url=EDITS, json=b64_result())
    httpx_mock.add_response(
        url=GENERATIONS, status_code=401, json={"error": {"message": "bad key"}}
    )
    with make_client() as client:
        client.edit("x", [PNG], mask=base64.b64encode(MASK).decode())
        failed = client.generate("x")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "images.edit" in logged
    assert "images.failed" in logged
    assert KEY not in logged
    assert RESULT_B64[:20] not in logged
    assert base64.b64encode(MASK).decode()[:16] not in logged
    assert repr(PNG[:12])[2:-1] not in logged
    assert failed.error == "HTTP 401: bad key"


def test_response_repr_is_short(httpx_mock: HTTPXMock) -> None:
    big = base64.b64encode(RESULT_PNG + bytes(10_000)).decode()
    httpx_mock.add_response(url=GENERATIONS, json={"data": [{"b64_json": big}]})
    with make_client() as client:
        response = client.generate("x")
    assert isinstance(response, ImageResponse)
    assert big not in repr(response)
    assert f"({len(big)} chars)" in repr(response)
    assert response.model_dump()["b64_json"] == big


def test_a_closed_client_refuses_work() -> None:
    client = make_client()
    client.close()
    with pytest.raises(ClientClosedError):
        client.generate("x")
    with pytest.raises(ClientClosedError):
        client.edit("x", [PNG])


def test_a_given_http_client_is_used_and_left_open(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=GENERATIONS, json=b64_result())
    given = httpx.Client()
    client = make_client(http_client=given)
    assert (client.generate("x")).success
    client.close()
    assert not given.is_closed
    given.close()


# -- URL safety: every spelling of a private address --------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/x.png",  # NAT64 around 127.0.0.1
        "http://[64:ff9b::169.254.169.254]/latest/meta-data",  # NAT64 around metadata
        "http://[64:ff9b:1::a00:1]/x.png",  # local-use NAT64 prefix
        "http://[::ffff:7f00:1]/x.png",  # IPv4-mapped, hex spelling
        "http://[0:0:0:0:0:ffff:127.0.0.1]/x.png",  # IPv4-mapped, long spelling
        "http://[::127.0.0.1]/x.png",  # IPv4-compatible (deprecated)
        "http://[::ffff:0:7f00:1]/x.png",  # IPv4-translated (SIIT)
        "http://[2002:7f00:1::]/x.png",  # 6to4 around 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/x.png",  # 6to4 around 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x.png",  # Teredo client 127.0.0.1
        "http://[2001:0:7f00:1::1]/x.png",  # Teredo server 127.0.0.1
        "http://[2001:0:5db8:d70e::1]/x.png",  # Teredo, public server: still not global
        "http://[fec0::1]/x.png",  # site-local (deprecated, but is_global says True)
        "http://[fc00::1]/x.png",  # unique local
        "http://[fe80::1%25eth0]/x.png",  # link-local with a zone
        "http://[ff02::1]/x.png",  # multicast
        "http://[::]/x.png",  # unspecified
        "http://[3fff::1]/x.png",  # documentation (RFC 9637)
        "http://2130706433/x.png",  # 127.0.0.1 as one decimal number
        "http://0x7f.1/x.png",  # hex and short form
        "http://0177.1/x.png",  # octal (httpx itself refuses 0177.0.0.1)
        "http://127.1/x.png",  # short form
        "http://0/x.png",  # 0.0.0.0
        "http://224.0.0.1/x.png",  # multicast
        "http://100.64.0.1/x.png",  # carrier-grade NAT
        "https://nat64.example.net/x.png",  # names resolving to those forms
        "https://sixtofour.example.net/x.png",
        "https://mapped.example.net/x.png",
    ],
)
def test_every_spelling_of_a_private_address_is_refused(httpx_mock: HTTPXMock, url: str) -> None:
    with make_client() as client:
        with pytest.raises(ConfigurationError, match=r"images\[0\]: refusing to fetch"):
            client.edit("x", [url])
        with pytest.raises(ConfigurationError, match=r"mask: refusing to fetch"):
            client.edit("x", [PNG], mask=url)
    assert httpx_mock.get_requests() == []


def test_public_addresses_behind_nat64_and_literals_are_fetched(
    httpx_mock: HTTPXMock,
) -> None:
    dns64 = "http://dns64.example.net/x.png"  # what DNS64 answers on an IPv6-only network
    literal = "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/y.png"
    httpx_mock.add_response(**pinned(dns64), content=PNG)
    httpx_mock.add_response(**pinned(literal), content=JPEG)
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client() as client:
        response = client.edit("x", [dns64, literal])
    assert response.success, response.error
    first, second, _ = httpx_mock.get_requests()
    assert first.url.host == "64:ff9b::5db8:d70e"
    assert "sni_hostname" not in first.extensions  # plain http
    assert second.headers["host"] == "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443"
    assert "sni_hostname" not in second.extensions  # an address literal is its own name


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://[64:ff9b::7f00:1]/", r"refusing to fetch .*which is 64:ff9b::7f00:1, a NAT64"),
        ("//10.0.0.1/x", r"refusing to fetch from '10\.0\.0\.1'"),
        ("http://0x7f.1/", r"which is 127\.0\.0\.1, a loopback"),
        ("http://[::ffff:a9fe:a9fe]/latest", r"169\.254\.169\.254, a link-local"),
        ("https://nat64.example.net/", r"resolves to 64:ff9b::7f00:1"),
    ],
)
def test_a_redirect_to_a_private_address_in_any_spelling_is_refused(
    httpx_mock: HTTPXMock, location: str, error: str
) -> None:
    httpx_mock.add_response(**pinned(PHOTO_URL), status_code=302, headers={"Location": location})
    with make_client() as client:
        with pytest.raises(ConfigurationError, match=error):
            client.edit("x", [PHOTO_URL])
    assert len(httpx_mock.get_requests()) == 1  # the redirect target was never asked


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("file:///etc/passwd", "redirected to a non-http(s) URL (file:)"),
        ("gopher://example.com/", "redirected to a non-http(s) URL (gopher:)"),
        ("http://", "redirected to a non-http(s) URL (http:)"),
    ],
)
def test_a_redirect_to_another_scheme_is_a_failed_download(
    httpx_mock: HTTPXMock, location: str, error: str
) -> None:
    httpx_mock.add_response(**pinned(PHOTO_URL), status_code=301, headers={"Location": location})
    with make_client() as client:
        response = client.edit("x", [PHOTO_URL])
    assert not response.success
    assert response.error is not None
    assert response.error.endswith(error)
    assert len(httpx_mock.get_requests()) == 1


def test_redirect_loops_stop_and_relative_redirects_keep_the_name(
    httpx_mock: HTTPXMock, dns: list[str]
) -> None:
    loop = "https://example.com/loop"
    httpx_mock.add_response(
        **pinned(loop), status_code=302, headers={"Location": "/loop"}, is_reusable=True
    )
    httpx_mock.add_response(**pinned(PHOTO_URL), status_code=307, headers={"Location": "c.png"})
    httpx_mock.add_response(**pinned("https://example.com/c.png"), content=PNG)
    httpx_mock.add_response(url=EDITS, json=b64_result())
    with make_client() as client:
        looped = client.edit("x", [loop])
        relative = client.edit("x", [PHOTO_URL])
    assert looped.error is not None
    assert looped.error.endswith("more than 5 redirects")
    assert relative.success, relative.error
    fetches = [r for r in httpx_mock.get_requests() if r.method == "GET"]
    assert len(fetches) == 6 + 2  # the first request and five redirects, then two hops
    assert {r.headers["host"] for r in fetches} == {"example.com"}
    assert {r.url.host for r in fetches} == {"93.184.215.14"}
    assert dns == ["example.com"] * 8  # every hop resolved (and checked) again


# -- URL safety: the connection goes to the address that was checked -----------------------


class _Server(http.server.ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1: image downloads, the edits endpoint, a slow reply."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, str | None]] = []
        self.sni: list[str | None] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, self.headers.get("Host")))
        if self.path == "/drip":  # a header trickling in, each byte well within a timeout
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(40):
                    time.sleep(0.1)
                    self.wfile.write(b"x")
            except OSError:
                pass
            self.close_connection = True
            return
        self._reply("image/png", PNG)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.seen.append(("POST", self.path, self.headers.get("Host")))
        self._reply("application/json", json.dumps(b64_result()).encode())

    def _reply(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(server: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve(_Server())


def fake_resolver(
    monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]], *, system: bool = True
) -> list[str]:
    """Answer names from ``answers`` (one list of addresses per lookup, the last repeated)
    for mbxai's resolver and, with ``system``, for the socket module too, so a connection
    that resolved the name again itself would get the next answer (without, the socket
    module does not know the names at all). Returns the names mbxai looked up."""
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def answer(host: str, *, ours: bool = True) -> list[str] | None:
        if host not in answers:
            return None
        if not ours and not system:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        looked_up.append(host)
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def socket_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        addresses = answer(name, ours=False) if isinstance(name, str) else None
        if addresses is None:
            return real(host, port, *args, **kwargs)
        return [info for a in addresses for info in real(a, port, *args, **kwargs)]

    def resolve(host: str, port: int) -> list[str]:
        addresses = answer(host)
        if addresses is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(addresses)

    monkeypatch.setattr(socket, "getaddrinfo", socket_getaddrinfo)
    monkeypatch.setattr(_concurrency, "getaddrinfo", resolve)
    return looked_up


@pytest.mark.httpx_mock(should_mock=lambda request: request.url.host == "93.184.215.14")
def test_dns_rebinding_never_reaches_the_second_answer(
    httpx_mock: HTTPXMock, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name is public when checked and loopback when asked again: the download must go
    # to the public address checked (mocked here), never to the loopback server.
    looked_up = fake_resolver(monkeypatch, {"rebind.test": [["93.184.215.14"], ["127.0.0.1"]]})
    url = f"http://rebind.test:{server.port}/x.png"
    httpx_mock.add_response(**pinned(url, "93.184.215.14"), content=PNG)
    base_url = f"http://127.0.0.1:{server.port}/v1"  # the API is real, on the loopback server
    with make_client(base_url=base_url, fetch_timeout=5) as client:
        response = client.edit("x", [url])
    assert response.success, response.error
    assert looked_up == ["rebind.test"]  # resolved once, for the check and the connection
    assert server.seen == [("POST", "/v1/images/edits", f"127.0.0.1:{server.port}")]


def test_the_download_connects_to_the_resolved_address_with_the_name_as_host(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only mbxai's resolver knows images.test (the socket module says no such name), so a
    # fetch that reaches the server connected to the address mbxai resolved.
    looked_up = fake_resolver(monkeypatch, {"images.test": [["::1", "127.0.0.1"]]}, system=False)
    url = f"http://images.test:{server.port}/pictures/x.png?size=1"
    base_url = f"http://127.0.0.1:{server.port}/v1"
    with make_client(base_url=base_url, allow_private_urls=True, fetch_timeout=5) as client:
        response = client.edit("x", [url])
    assert response.success, response.error
    assert looked_up == ["images.test"]
    assert server.seen == [
        # ::1 refused the connection (the server listens on 127.0.0.1): the next address
        ("GET", "/pictures/x.png?size=1", f"images.test:{server.port}"),
        ("POST", "/v1/images/edits", f"127.0.0.1:{server.port}"),
    ]


@pytest.fixture
def tls_server() -> Iterator[_Server]:
    """The server over TLS with a certificate for images.test only (from a test CA made
    with trustme), trusted by downloads."""
    import trustme

    ca = trustme.CA()
    served = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("images.test").configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: served.sni.append(name)
    served.socket = context.wrap_socket(served.socket, server_side=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            _ssrf,
            "fetch_ssl_context",
            lambda: ssl.create_default_context(cadata=ca.cert_pem.bytes().decode()),
        )
        yield from _serve(served)


def test_https_downloads_are_pinned_but_verify_the_certificate_for_the_name(
    tls_server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_resolver(monkeypatch, {"images.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    port = tls_server.port

    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=b64_result())

    with make_client(
        allow_private_urls=True, fetch_timeout=5, transport=httpx.MockTransport(api)
    ) as client:
        good = client.edit("x", [f"https://images.test:{port}/x.png"])
        wrong_name = client.edit("x", [f"https://other.test:{port}/x.png"])
        by_address = client.edit("x", [f"https://127.0.0.1:{port}/x.png"])
    assert good.success, good.error
    # SNI and the certificate check used the name, though the connection went to 127.0.0.1
    assert tls_server.sni[0] == "images.test"
    assert tls_server.seen == [("GET", "/x.png", f"images.test:{port}")]
    for failed in (wrong_name, by_address):  # the certificate is not for that name
        assert not failed.success
        assert failed.error is not None
        assert "connection failed (ConnectError)" in failed.error
    assert tls_server.sni[1:] == ["other.test", None]  # no SNI for an address


# -- URL safety: one deadline for the whole download --------------------------------------


def test_fetch_timeout_bounds_a_slow_redirect_chain(httpx_mock: HTTPXMock) -> None:
    def hop(request: httpx.Request) -> httpx.Response:
        _concurrency.sleep(0.3)  # each hop well within any per-request timeout
        step = int(request.url.path.rsplit("/", 1)[1])
        if step < 5:
            return httpx.Response(302, headers={"Location": f"/hop/{step + 1}"})
        return httpx.Response(200, content=PNG)

    httpx_mock.add_callback(
        hop, url=re.compile(r"https://93\.184\.215\.14/hop/\d+"), is_reusable=True
    )
    with make_client(fetch_timeout=0.5) as client:
        started = time.monotonic()
        response = client.edit("x", ["https://example.com/hop/0"])
        elapsed = time.monotonic() - started
    assert response.error is not None
    assert response.error.endswith("timed out (fetch_timeout=0.5 s)")
    assert elapsed < 1.2  # not six hops of 0.3 s
    assert len(httpx_mock.get_requests()) <= 3


def test_fetch_timeout_bounds_name_resolution(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow(host: str, port: int) -> list[str]:
        _concurrency.sleep(2)
        return ["93.184.215.14"]

    monkeypatch.setattr(_concurrency, "getaddrinfo", slow)
    with make_client(fetch_timeout=0.3) as client:
        started = time.monotonic()
        response = client.edit("x", [PHOTO_URL])
        elapsed = time.monotonic() - started
    assert response.error is not None
    assert response.error.endswith("timed out (fetch_timeout=0.3 s)")
    assert elapsed < 1.5
    assert httpx_mock.get_requests() == []


def test_fetch_timeout_bounds_a_server_trickling_its_headers(server: _Server) -> None:
    with make_client(allow_private_urls=True, fetch_timeout=0.5) as client:
        started = time.monotonic()
        response = client.edit("x", [f"http://127.0.0.1:{server.port}/drip"])
        elapsed = time.monotonic() - started
    assert response.error is not None
    assert response.error.endswith("timed out (fetch_timeout=0.5 s)")
    assert elapsed < 1.5  # the server would take 4 s, each byte within a read timeout


# -- URL safety: the body's size is bounded as it arrives -------------------------------


def test_a_compressed_body_is_refused_before_it_is_inflated(httpx_mock: HTTPXMock) -> None:
    bomb = gzip.compress(PNG + bytes(20_000_000), compresslevel=9)  # 20 MB in ~20 kB
    assert len(bomb) < 100_000
    httpx_mock.add_response(
        **pinned("https://example.com/bomb.png"),
        content=bomb,
        headers={"Content-Encoding": "gzip"},
    )
    httpx_mock.add_response(
        **pinned("https://example.com/small.png"),
        content=gzip.compress(PNG),
        headers={"Content-Encoding": "identity, br"},
    )
    with make_client(max_image_bytes=1000) as client:
        bombed = client.edit("x", ["https://example.com/bomb.png"])
        small = client.edit("x", ["https://example.com/small.png"])
    assert bombed.error is not None
    assert "Content-Encoding 'gzip'; only unencoded (identity) bodies" in bombed.error
    assert small.error is not None
    assert "Content-Encoding 'identity, br'" in small.error


# -- local files --------------------------------------------------------------------------


def test_strings_are_not_read_as_server_files_and_contents_are_never_quoted(
    httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nDB_PASSWORD=hunter2\n")
    with make_client() as client:
        for value in (str(secret), f"  {secret}  ", "../../../../etc/passwd", "~/.ssh/id_rsa"):
            with pytest.raises(ConfigurationError) as refused:
                client.edit("x", [value])
            message = str(refused.value)
            assert "allow_local_files=True" in message
            assert "pathlib.Path" in message
            assert value.strip() not in message  # user text is not echoed either
        with pytest.raises(ConfigurationError, match=r"^mask is not an http\(s\) URL"):
            client.edit("x", [PNG], mask=str(secret))
        with pytest.raises(ConfigurationError, match=r"only http\(s\) URLs .*file://"):
            client.edit("x", [f"file://{secret}"])
        # a Path is read, but what it holds is never shown
        with pytest.raises(ConfigurationError) as not_image:
            client.edit("x", [secret])
        assert str(not_image.value) == "images[0] is not a PNG, JPEG, WebP or GIF image"
    with make_client(allow_local_files=True) as client:
        with pytest.raises(ConfigurationError) as not_image:
            client.edit("x", [str(secret)])
        assert str(not_image.value) == "images[0] is not a PNG, JPEG, WebP or GIF image"
    for input_bytes in (secret.read_bytes(), base64.b64encode(b"DB_PASSWORD=hunter2!")):
        with make_client() as client:
            with pytest.raises(ConfigurationError) as not_image:
                client.edit("x", [input_bytes])
            assert "root" not in str(not_image.value)
            assert "DB_PASS" not in str(not_image.value)
    assert httpx_mock.get_requests() == []


def test_huge_or_odd_string_inputs_fail_fast_with_short_messages(
    httpx_mock: HTTPXMock,
) -> None:
    huge = base64.b64encode(PNG + bytes(3_000_000)).decode()
    wrapped = "\n".join(huge[i : i + 76] for i in range(0, len(huge), 76))  # MIME style
    with make_client(max_image_bytes=1000) as client:
        for value, error in [
            ("~/" + "a" * 5_000_000 + ".png", "is not an http(s) URL"),
            ("~" * 5_000_000, "is not an http(s) URL"),
            ("/" * 5_000_000, "bytes, over the limit"),  # base64's alphabet: too long for it
            (huge, "bytes, over the limit"),
            (wrapped, "bytes, over the limit"),
            ("data:image/png;base64," + "A" * 5_000_000, "bytes, over the limit"),
            ("a" * 5000 + "://x", "only http(s) URLs are fetched, got another scheme"),
        ]:
            with pytest.raises(ConfigurationError) as refused:
                client.edit("x", [value])
            assert error in str(refused.value)
            assert len(str(refused.value)) < 400
    assert httpx_mock.get_requests() == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.timeout(20)
def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with make_client() as client:
        with pytest.raises(ConfigurationError, match=r"images\[0\]: .* is not a regular file"):
            client.edit("x", [fifo])
        with pytest.raises(ConfigurationError, match=r"images\[0\]: .*(regular file|directory)"):
            client.edit("x", [tmp_path])


# -- constructor arguments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"allow_private_urls": "false"}, "allow_private_urls must be True or False"),
        ({"allow_private_urls": 1}, "allow_private_urls must be True or False"),
        ({"allow_local_files": "yes"}, "allow_local_files must be True or False"),
        ({"allow_local_files": None}, "allow_local_files must be True or False"),
        ({"max_image_bytes": True}, "max_image_bytes must be an int"),
        ({"max_image_bytes": 1.5}, "max_image_bytes must be an int"),
        ({"max_image_bytes": "1000"}, "max_image_bytes must be an int"),
        ({"fetch_timeout": "30"}, "fetch_timeout must be a finite number"),
        ({"fetch_timeout": True}, "fetch_timeout must be a finite number"),
        ({"fetch_timeout": math.nan}, "fetch_timeout must be a finite number"),
        ({"fetch_timeout": math.inf}, "fetch_timeout must be a finite number"),
        ({"fetch_timeout": 1e10}, "fetch_timeout must be a finite number"),
        ({"timeout": True}, "timeout must be a finite number of seconds > 0"),
        ({"timeout": "300"}, "timeout must be a finite number of seconds > 0"),
        ({"timeout": math.nan}, "timeout must be a finite number of seconds > 0"),
        ({"max_retries": "2"}, "max_retries must be an int"),
        ({"max_retries": False}, "max_retries must be an int"),
        ({"retry_initial_delay": math.nan}, "retry_initial_delay must be a number"),
        ({"retry_max_delay": "10"}, "retry_max_delay must be a number"),
        ({"max_retry_after": None}, "max_retry_after must be a number"),
        ({"base_url": 42}, "base_url must be a string"),
        ({"api_key": 42}, "api_key must be a string"),
        ({"default_headers": "X-Team: a"}, "default_headers must be a mapping"),
        ({"default_headers": {"X-Team": 1}}, r"default_headers\['X-Team'\] must be a string"),
        ({"default_headers": {"X-A": "a\r\nX-Injected: 1"}}, "must not contain line breaks"),
        ({"default_headers": {"Bad Name": "x"}}, "'Bad Name' is not a valid header name"),
        ({"http_client": "client"}, "http_client must be a"),
        ({"transport": object()}, "transport must be a"),
    ],
)
def test_every_constructor_argument_is_type_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make_client(**kwargs)


def test_transport_and_http_client_together_are_refused() -> None:
    given = httpx.Client()
    try:
        with pytest.raises(ConfigurationError, match="transport= or http_client=, not both"):
            make_client(
                http_client=given, transport=httpx.MockTransport(lambda r: httpx.Response(200))
            )
    finally:
        given.close()
