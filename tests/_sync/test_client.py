# This file is generated from tests/_async/test_client.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Behaviour of the OpenRouter client, written once (async) and generated for sync."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stamina
import stamina.instrumentation
from pydantic import BaseModel, Field
from pytest_httpx import HTTPXMock, IteratorStream

from mbxai import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    OpenRouterAPIError,
    OpenRouterClient,
    OpenRouterConnectionError,
    OpenRouterModel,
    OpenRouterTimeoutError,
    RateLimitError,
    StreamError,
)
from mbxai.testing import Disconnect, Failure, FakeModel, Raw, Timeout

KEY = "sk-or-v1-test-secret-0123456789"
URL = "https://openrouter.ai/api/v1/chat/completions"
HELLO = [{"role": "user", "content": "What is the capital of France?"}]


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


def completion(content: str = "Paris.", **extra: Any) -> dict[str, Any]:
    return {
        "id": "gen-1",
        "model": "openai/gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
        **extra,
    }


def make_client(**kwargs: Any) -> OpenRouterClient:
    kwargs.setdefault("token", KEY)
    kwargs.setdefault("retry_initial_delay", 0)
    kwargs.setdefault("retry_max_delay", 0)
    return OpenRouterClient(**kwargs)


# -- requests and responses ---------------------------------------------------------------


def test_create_sends_body_and_headers(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=completion())
    with make_client(default_headers={"X-Title": "my app", "X-Extra": "1"}) as client:
        response = client.create(HELLO, temperature=0.2, max_tokens=None)

    assert response.choices[0].message.content == "Paris."
    assert response.content == "Paris."
    assert response.usage is not None
    assert response.usage.total_tokens == 12
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["x-title"] == "my app"
    assert request.headers["http-referer"]
    assert request.headers["x-extra"] == "1"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "model": OpenRouterModel.GPT_4O_MINI.value,
        "messages": HELLO,
        "temperature": 0.2,
        "usage": {"include": True},  # usage accounting: on by default for OpenRouter
    }


def test_chat_is_create_and_model_resolves_everywhere(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json=completion(), is_reusable=True)
    OpenRouterClient.register_model("MY_TEST_MODEL", "provider/my-model")
    with make_client(model="MY_TEST_MODEL") as client:
        assert client.model == "provider/my-model"
        client.chat(HELLO)
        client.create(HELLO, model=OpenRouterModel.CLAUDE_SONNET_4)
        client.model = "GPT_4O"
        client.create(HELLO)
        client.create(HELLO, model="some/unlisted-slug")
    models = [json.loads(r.content)["model"] for r in httpx_mock.get_requests()]
    assert models == [
        "provider/my-model",
        "anthropic/claude-sonnet-4",
        "openai/gpt-4o",
        "some/unlisted-slug",
    ]
    assert OpenRouterClient.registered_models()["MY_TEST_MODEL"] == "provider/my-model"


def test_openrouter_extras_are_kept(httpx_mock: HTTPXMock) -> None:
    usage = {
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "total_tokens": 12,
        "cost": 0.0042,
        "completion_tokens_details": {"reasoning_tokens": 3},
    }
    httpx_mock.add_response(url=URL, json={**completion(), "usage": usage, "provider": "OpenAI"})
    with make_client() as client:
        response = client.create(HELLO)
    assert response.usage is not None
    assert response.usage.cost == pytest.approx(0.0042)
    assert response.usage.reasoning_tokens == 3
    assert response.provider == "OpenAI"


def test_message_models_and_tool_calls_round_trip() -> None:
    fake = FakeModel()
    with make_client(transport=fake) as client:
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
            }
        ]
        first = client.create(HELLO, tools=tools)
        message = first.choices[0].message
        assert message.tool_calls is not None
        assert message.tool_calls[0].function.name == "lookup"
        assert json.loads(message.tool_calls[0].function.arguments) == {"q": "example q"}
        follow_up = [
            *HELLO,
            message,
            {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "42"},
        ]
        second = client.create(follow_up, tools=tools)
    assert second.content is not None
    assert "42" in second.content
    sent = fake.requests[1].json["messages"][1]
    assert sent["role"] == "assistant"
    assert sent["tool_calls"][0]["function"]["name"] == "lookup"
    assert "parsed" not in sent


# -- bad input ----------------------------------------------------------------------------


def test_bad_messages_are_rejected_before_sending() -> None:
    fake = FakeModel()
    with make_client(transport=fake) as client:
        with pytest.raises(ConfigurationError, match="must not be empty"):
            client.create([])
        with pytest.raises(ConfigurationError, match="list of message dicts"):
            client.create("hello")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match=r"messages\[1\].*'role'"):
            client.create([{"role": "user", "content": "hi"}, {"content": "no role"}])
        with pytest.raises(ConfigurationError, match="Pydantic model class"):
            client.parse(HELLO, response_format=dict)  # type: ignore[type-var]
    assert fake.requests == []


def test_bad_configuration_names_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("OPENROUTER_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="OPENROUTER_API_KEY"):
        OpenRouterClient()
    with pytest.raises(ConfigurationError, match="max_retries"):
        OpenRouterClient(token=KEY, max_retries=-1)
    with pytest.raises(ConfigurationError, match="base_url"):
        OpenRouterClient(token=KEY, base_url="ftp://example.com")
    with pytest.raises(ConfigurationError, match="retry_max_delay"):
        OpenRouterClient(token=KEY, retry_initial_delay=5, retry_max_delay=1)
    with pytest.raises(ConfigurationError, match="token="):
        OpenRouterClient(token=KEY, default_headers={"Authorization": "Bearer x"})
    with pytest.raises(ConfigurationError, match="model"):
        OpenRouterClient(token=KEY, model="")


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/v1/")
    client = OpenRouterClient()
    assert client.base_url == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("OPENROUTER_API_KEY")
    keyless = OpenRouterClient()  # a local endpoint needs no key
    assert keyless.base_url == "http://127.0.0.1:9/v1"


def test_key_never_in_repr(caplog: pytest.LogCaptureFixture) -> None:
    client = make_client()
    assert KEY not in repr(client)
    assert KEY not in repr(client._config)
    assert KEY not in str(vars(client))


def test_debug_logs_never_show_key_or_content(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="mbxai")
    fake = FakeModel(["top secret answer"])
    with make_client(transport=fake) as client:
        client.create([{"role": "user", "content": "my private question"}])
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "chat.request" in logged
    assert KEY not in logged
    assert "private question" not in logged
    assert "top secret answer" not in logged


# -- streaming ----------------------------------------------------------------------------


def test_stream_yields_chunks_and_usage() -> None:
    fake = FakeModel(["Paris is the capital."])
    with make_client(transport=fake) as client:
        stream = client.create(HELLO, stream=True)
        pieces = []
        with stream:
            for chunk in stream:
                if chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == "Paris is the capital."
    assert stream.usage is not None
    assert stream.usage.completion_tokens > 0
    assert stream.finish_reason == "stop"
    assert fake.requests[0].json["stream"] is True
    assert fake.requests[0].json["stream_options"] == {"include_usage": True}
    assert fake.requests[0].headers["accept"] == "text/event-stream"


def test_stream_error_event_raises_typed_error() -> None:
    raw = (
        ": OPENROUTER PROCESSING\n\n"
        'data: {"id":"1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
        'data: {"id":"1","error":{"code":502,"message":"provider went away"},'
        '"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n'
    )
    fake = FakeModel([Raw(raw, headers={"content-type": "text/event-stream"})])
    with make_client(transport=fake) as client:
        stream = client.create(HELLO, stream=True)
        received = []
        with pytest.raises(StreamError, match="provider went away") as info:
            for chunk in stream:
                received.append(chunk.choices[0].delta.content)
    assert received == ["Hel"]
    assert info.value.status_code == 502


def test_stream_cut_before_done_raises() -> None:
    raw = 'data: {"id":"1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    fake = FakeModel([Raw(raw, headers={"content-type": "text/event-stream"})])
    with make_client(transport=fake) as client:
        stream = client.create(HELLO, stream=True)
        with pytest.raises(StreamError, match="DONE"):
            for _ in stream:
                pass


def test_stream_http_error_is_typed_and_retried() -> None:
    fake = FakeModel([Failure(503), "ok then"])
    with make_client(transport=fake) as client:
        stream = client.create(HELLO, stream=True)
        text = "".join([c.choices[0].delta.content or "" for c in stream])
    assert text == "ok then"
    assert len(fake.requests) == 2


# -- errors and retries -------------------------------------------------------------------


def test_429_with_retry_after_is_retried_and_honoured(
    httpx_mock: HTTPXMock, retry_waits: list[float]
) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=429,
        headers={"Retry-After": "30"},
        json={"error": {"message": "slow down"}},
    )
    httpx_mock.add_response(
        url=URL,
        status_code=429,
        headers={"retry-after-ms": "20"},
        json={"error": {"message": "slow down"}},
    )
    httpx_mock.add_response(url=URL, json=completion())
    with make_client(max_retry_after=0.01) as client:
        response = client.create(HELLO)
    assert response.content == "Paris."
    assert len(httpx_mock.get_requests()) == 3
    assert retry_waits == [
        pytest.approx(0.01),
        pytest.approx(0.01),
    ]  # both capped at max_retry_after


def test_retry_after_ms_is_used(httpx_mock: HTTPXMock, retry_waits: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers={"retry-after-ms": "5"}, json={})
    httpx_mock.add_response(url=URL, json=completion())
    with make_client() as client:
        client.create(HELLO)
    assert retry_waits == [pytest.approx(0.005)]


def test_max_retries_is_exact(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL, status_code=503, json={"error": {"message": "overloaded"}}, is_reusable=True
    )
    with make_client(max_retries=2) as client:
        with pytest.raises(InternalServerError, match="overloaded") as info:
            client.create(HELLO)
    assert info.value.status_code == 503
    assert len(httpx_mock.get_requests()) == 3


def test_503_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=503, json={})
    httpx_mock.add_response(url=URL, json=completion())
    with make_client() as client:
        assert (client.create(HELLO)).content == "Paris."
    assert len(httpx_mock.get_requests()) == 2


def test_400_is_not_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=400,
        json={"error": {"message": "bad model", "code": 400}},
        headers={"x-request-id": "req-9"},
    )
    with make_client(max_retries=5) as client:
        with pytest.raises(BadRequestError, match="bad model") as info:
            client.create(HELLO)
    assert info.value.request_id == "req-9"
    assert info.value.body == {"error": {"message": "bad model", "code": 400}}
    assert len(httpx_mock.get_requests()) == 1


def test_401_is_authentication_error_without_the_key(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL, status_code=401, json={"error": {"message": "No auth credentials found"}}
    )
    with make_client() as client:
        with pytest.raises(AuthenticationError) as info:
            client.create(HELLO)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)
    assert len(httpx_mock.get_requests()) == 1


def test_x_should_retry_overrides_status(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=400, headers={"x-should-retry": "true"}, json={})
    httpx_mock.add_response(url=URL, status_code=503, headers={"x-should-retry": "false"}, json={})
    with make_client() as client:
        with pytest.raises(InternalServerError):
            client.create(HELLO)
    assert len(httpx_mock.get_requests()) == 2


def test_connect_error_is_retried_then_typed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    with make_client(max_retries=1) as client:
        with pytest.raises(OpenRouterConnectionError, match="refused"):
            client.create(HELLO)
    assert len(httpx_mock.get_requests()) == 2


def test_timeouts_are_typed_and_retried() -> None:
    fake = FakeModel([Timeout(), Disconnect(), "finally"])
    with make_client(transport=fake) as client:
        assert (client.create(HELLO)).content == "finally"
    fake = FakeModel([Timeout(), Timeout()])
    with make_client(transport=fake, max_retries=1) as client:
        with pytest.raises(OpenRouterTimeoutError):
            client.create(HELLO)


def test_http_200_with_error_body_is_typed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        json={"error": {"code": 502, "message": "upstream failed", "metadata": {"raw": "boom"}}},
    )
    httpx_mock.add_response(url=URL, json={"error": {"code": 403, "message": "moderation"}})
    with make_client() as client:
        with pytest.raises(OpenRouterAPIError, match="moderation") as info:
            client.create(HELLO)
    # the 502 inside a 200 was retried, the 403 was not
    assert info.value.status_code == 403
    assert len(httpx_mock.get_requests()) == 2


def test_non_json_body_is_typed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, text="<html>gateway</html>")
    with make_client() as client:
        with pytest.raises(OpenRouterAPIError, match="not a chat completion") as info:
            client.create(HELLO)
    assert info.value.body == "<html>gateway</html>"


def test_rate_limit_error_after_retries(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=URL,
        status_code=429,
        json={"error": {"message": "slow"}},
        headers={"retry-after": "0"},
        is_reusable=True,
    )
    with make_client(max_retries=1) as client:
        with pytest.raises(RateLimitError) as info:
            client.create(HELLO)
    assert info.value.retry_after == 0.0
    assert len(httpx_mock.get_requests()) == 2


def test_closing_an_owned_client_and_keeping_a_given_one() -> None:
    fake = FakeModel(["a", "b"])
    given = httpx.Client(transport=fake)
    client = make_client(http_client=given)
    client.close()
    assert (client.create(HELLO)).content == "a"  # the caller's pool is still open
    given.close()
    owned = make_client(transport=fake)
    owned.close()
    with pytest.raises(ClientClosedError):
        owned.create(HELLO)


def test_response_size_is_capped_and_not_retried(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, content=b"x" * 5000)
    with make_client(max_response_bytes=4096) as client:
        with pytest.raises(OpenRouterAPIError, match="max_response_bytes"):
            client.create(HELLO)
    assert len(httpx_mock.get_requests()) == 1
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        make_client(max_response_bytes=10)


def test_stream_event_size_is_capped() -> None:
    raw = "data: " + "y" * 6000 + "\n\n"
    fake = FakeModel([Raw(raw, headers={"content-type": "text/event-stream"})])
    with make_client(transport=fake, max_response_bytes=4096) as client:
        stream = client.create(HELLO, stream=True)
        with pytest.raises(StreamError, match="too large"):
            for _ in stream:
                pass


# -- retries are quiet ------------------------------------------------------------------


def test_retries_print_nothing_and_leave_stamina_alone(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    hooks = stamina.instrumentation.get_on_retry_hooks()
    capfd.readouterr()
    fake = FakeModel([Failure(503), Timeout(), "recovered"])
    with make_client(transport=fake) as client:
        assert (client.create(HELLO)).content == "recovered"
    assert len(fake.requests) == 3
    assert capfd.readouterr() == ("", "")  # nothing on stdout or stderr
    assert stamina.instrumentation.get_on_retry_hooks() == hooks  # stamina's hooks untouched

    # ... and the retries are there for an application that enables the mbxai logger
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="mbxai")
    fake = FakeModel([Failure(503, message="overloaded"), "again"])
    with make_client(transport=fake) as client:
        assert (client.create(HELLO)).content == "again"
    [record] = [r for r in caplog.records if "chat.retry" in r.getMessage()]
    assert record.name == "mbxai"
    assert record.levelno == logging.WARNING
    assert "overloaded" in record.getMessage()
    assert "status=503" in record.getMessage()
    assert capfd.readouterr() == ("", "")


def test_stamina_switches_still_apply() -> None:
    fake = FakeModel([Failure(503), "not reached"])
    stamina.set_active(False)
    try:
        with make_client(transport=fake) as client:
            with pytest.raises(InternalServerError):
                client.create(HELLO)
    finally:
        stamina.set_active(True)
    assert len(fake.requests) == 1  # retries off process-wide, as for any stamina user
    fake = FakeModel([Failure(503), "recovered"])
    started = time.monotonic()
    with stamina.set_testing(True):  # tests of an application: retries without waiting
        with make_client(transport=fake, retry_initial_delay=30, retry_max_delay=60) as c:
            assert (c.create(HELLO)).content == "recovered"
    assert time.monotonic() - started < 5


# -- every argument is checked ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"token": 123}, "token"),
        ({"model": 5}, "model"),
        ({"base_url": 5}, "base_url"),
        ({"base_url": b"http://x"}, "base_url"),
        ({"default_headers": "X-Title: mine"}, "default_headers"),
        ({"default_headers": ["X-Title"]}, "default_headers"),
        ({"default_headers": {"X-Count": 1}}, "default_headers"),
        ({"default_headers": {1: "x"}}, "default_headers"),
        ({"default_headers": {"X-Evil": "a\r\nInjected: yes"}}, "default_headers"),
        ({"default_headers": {"Bad Name": "x"}}, "default_headers"),
        ({"max_retries": "3"}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"retry_initial_delay": "1"}, "retry_initial_delay"),
        ({"retry_initial_delay": float("nan")}, "retry_initial_delay"),
        ({"retry_max_delay": float("inf")}, "retry_max_delay"),
        ({"max_retry_after": None}, "max_retry_after"),
        ({"timeout": "60"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": (5, 60)}, "timeout"),
        ({"parse_retries": 1.0}, "parse_retries"),
        ({"parse_retries": "1"}, "parse_retries"),
        ({"max_response_bytes": "32MB"}, "max_response_bytes"),
        ({"max_response_bytes": 2.0**30}, "max_response_bytes"),
        ({"http_client": object()}, "http_client"),
        ({"http_client": "http://127.0.0.1:9"}, "http_client"),
        ({"transport": "fake"}, "transport"),
        ({"transport": object()}, "transport"),
        ({"http_client": httpx.Client(), "transport": FakeModel()}, "http_client="),
        ({"structured_output": 5}, "structured_output"),
        ({"structured_output": "yaml"}, "structured_output"),
        ({"describe_schema": "false"}, "describe_schema"),
        ({"describe_schema": 1}, "describe_schema"),
        ({"max_items": "3"}, "max_items"),
        ({"max_items": True}, "max_items"),
        ({"max_items": 0}, "max_items"),
        ({"max_string_length": 1.5}, "max_string_length"),
        ({"stream_timeout": "600"}, "stream_timeout"),
        ({"stream_timeout": 0}, "stream_timeout"),
        ({"stream_timeout": float("inf")}, "stream_timeout"),
        ({"max_stream_idle_lines": 0}, "max_stream_idle_lines"),
        ({"max_stream_idle_lines": "many"}, "max_stream_idle_lines"),
    ],
)
def test_every_constructor_argument_is_checked(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named.replace("=", "")):
        make_client(**kwargs)


def test_per_call_timeout_and_headers_are_checked() -> None:
    fake = FakeModel()
    with make_client(transport=fake) as client:
        with pytest.raises(ConfigurationError, match="timeout"):
            client.create(HELLO, timeout="5")  # type: ignore[call-overload]
        with pytest.raises(ConfigurationError, match="timeout"):
            client.create(HELLO, stream=True, timeout=-1)
        with pytest.raises(ConfigurationError, match="extra_headers"):
            client.create(HELLO, extra_headers={"X-N": 1})  # type: ignore[dict-item]
        with pytest.raises(ConfigurationError, match="extra_headers"):
            client.parse(HELLO, CityInfo, extra_headers={"X": "a\nb"})
        # a per-call number is that call's deadline; None values remove a default header
        client.create(HELLO, timeout=5, extra_headers={"X-Title": None})
    assert len(fake.requests) == 1
    assert "x-title" not in fake.requests[0].headers


# -- credentials in the base URL --------------------------------------------------------


def test_credentials_in_base_url_are_sent_as_basic_auth_and_hidden() -> None:
    fake = FakeModel()
    base = "https://alice:s3cret-pw@proxy.example/v1"
    with make_client(base_url=base, transport=fake) as client:
        assert "s3cret-pw" not in repr(client)
        assert "s3cret-pw" not in repr(client._config)
        assert "s3cret-pw" not in repr(vars(client).get("_config"))
        assert repr(client).count("***@proxy.example") == 1
        client.create(HELLO)
        for _ in client.create(HELLO, stream=True):
            pass
    assert [r.url for r in fake.requests] == ["https://proxy.example/v1/chat/completions"] * 2
    basic = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    assert {r.headers["authorization"] for r in fake.requests} == {basic}
    with pytest.raises(ConfigurationError) as bad:
        make_client(base_url="ftp://alice:s3cret-pw@proxy.example/v1")
    assert "s3cret-pw" not in str(bad.value)


# -- deadlines ------------------------------------------------------------------------------


def test_a_slow_body_fails_at_the_deadline_even_from_an_in_memory_transport() -> None:
    """Whatever the transport, the body is read within ``timeout`` (checked between reads)."""

    def body() -> Iterator[bytes]:
        for byte in json.dumps(completion()).encode():
            time.sleep(0.02)
            yield bytes([byte])

    def slow(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=IteratorStream(body()))

    with make_client(transport=httpx.MockTransport(slow), timeout=0.3, max_retries=0) as c:
        started = time.monotonic()
        with pytest.raises(OpenRouterTimeoutError, match=r"within 0.3 s \(timeout\)"):
            c.create(HELLO)
    assert time.monotonic() - started < 1.0
