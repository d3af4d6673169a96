"""An offline, cooperative fake model for tests: no network, no API key.

:class:`FakeModel` is an httpx transport (sync and async) that answers chat
completion requests the way a helpful model would:

* a ``json_schema`` response format gets JSON valid for that schema;
* offered tools get called (those named in the last user message, else the first),
  with arguments valid for their schemas, and once tool results are in, a text answer;
* otherwise a short text reply; ``stream=True`` gets the same as Server-Sent Events.

Tests that need exact behaviour script the replies instead::

    fake = FakeModel(script=["Paris.", Failure(503), Reply(tool_calls=[call("add", a=1, b=2)])])
    client = AsyncOpenRouterClient(token="test", transport=fake)

Every request is recorded in :attr:`FakeModel.requests`.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import httpx

__all__ = [
    "Disconnect",
    "Failure",
    "FakeModel",
    "FakeRequest",
    "Raw",
    "Reply",
    "ScriptItem",
    "Timeout",
    "call",
    "example_for_schema",
]


@dataclass(frozen=True)
class FakeToolCall:
    name: str
    arguments: str
    id: str | None = None


def call(name: str, /, **arguments: Any) -> FakeToolCall:
    """A scripted tool call: ``call("get_weather", location="Tokyo")``."""
    return FakeToolCall(name=name, arguments=json.dumps(arguments))


@dataclass(frozen=True)
class Reply:
    """A scripted assistant reply: text, tool calls, or both; with reasoning (text and
    OpenRouter's ``reasoning_details``) and the ``model`` and ``provider`` that served it
    (default: the model asked for, ``"fake"``)."""

    content: str | None = None
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Mapping[str, Any] | None = None
    refusal: str | None = None
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] | None = None
    model: str | None = None
    provider: str | None = None
    #: Streamed: text and tool-call arguments in pieces of this many characters (default:
    #: text word by word, arguments in two halves).
    chunk_size: int | None = None
    #: Streamed: the stream breaks off after this many pieces of text and arguments (no
    #: finish reason, no ``[DONE]``), as when a connection drops mid-reply.
    break_after: int | None = None


@dataclass(frozen=True)
class Failure:
    """A scripted HTTP error (JSON error body unless ``body`` is given)."""

    status: int = 500
    message: str = "fake failure"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Raw:
    """A scripted raw HTTP response, sent as is (e.g. a hand-made SSE stream)."""

    content: bytes | str
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})


@dataclass(frozen=True)
class Disconnect:
    """A scripted connection failure (the request never reaches the model)."""


@dataclass(frozen=True)
class Timeout:
    """A scripted read timeout."""


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake received."""

    method: str
    url: str
    headers: httpx.Headers
    json: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.json.get("messages", []))


ScriptItem: TypeAlias = (
    str
    | Reply
    | Failure
    | Raw
    | Disconnect
    | Timeout
    | dict[str, Any]
    | Callable[[FakeRequest], Any]
)


class FakeModel(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A fake OpenAI-compatible chat endpoint, usable as a sync or async httpx transport.

    Args:
        script: Replies to serve first, in order; after that the fake is cooperative.
        model: The model name reported in responses.
        strict_script: If true, a request after the script ran out fails the test
            (HTTP 599 with an explanation) instead of getting a cooperative answer.
    """

    def __init__(
        self,
        script: Iterable[Any] = (),
        *,
        model: str = "fake/cooperative",
        strict_script: bool = False,
    ) -> None:
        self._script: deque[Any] = deque(script)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.model = model
        self.strict_script = strict_script
        self.requests: list[FakeRequest] = []

    def add(self, *items: Any) -> FakeModel:
        """Append scripted replies; returns the fake for chaining."""
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def pending(self) -> int:
        """How many scripted replies have not been served yet."""
        return len(self._script)

    # -- httpx transport API ----------------------------------------------------------------

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request)

    # -- behaviour --------------------------------------------------------------------------

    def _respond(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        recorded = FakeRequest(request.method, str(request.url), request.headers, body)
        with self._lock:
            self.requests.append(recorded)
            item = self._script.popleft() if self._script else None
            number = next(self._ids)
        if item is None:
            if self.strict_script:
                return _error(599, "FakeModel: the script ran out; this request was not expected")
            item = self._cooperate(body)
        while callable(item) and not isinstance(item, type):
            item = item(recorded)
        return self._serve(item, body, number, request)

    def _serve(
        self, item: Any, body: dict[str, Any], number: int, request: httpx.Request
    ) -> httpx.Response:
        if isinstance(item, Disconnect):
            raise httpx.ConnectError("FakeModel: scripted connection failure", request=request)
        if isinstance(item, Timeout):
            raise httpx.ReadTimeout("FakeModel: scripted timeout", request=request)
        if isinstance(item, Failure):
            payload = (
                item.body
                if item.body is not None
                else {"error": {"message": item.message, "code": item.status}}
            )
            content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            return httpx.Response(
                item.status,
                headers={"content-type": "application/json", **item.headers},
                content=content,
            )
        if isinstance(item, Raw):
            content = item.content.encode() if isinstance(item.content, str) else item.content
            return httpx.Response(item.status, headers=dict(item.headers), content=content)
        if isinstance(item, dict):
            return httpx.Response(200, json=item)
        if isinstance(item, str):
            item = Reply(content=item)
        if not isinstance(item, Reply):
            raise TypeError(f"FakeModel cannot serve script item {item!r}")
        if body.get("stream"):
            return httpx.Response(
                200,
                headers={"content-type": "text/event-stream"},
                content=self._sse(item, body, number),
            )
        return httpx.Response(200, json=self._completion(item, body, number))

    def _cooperate(self, body: dict[str, Any]) -> Reply:
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("function")]
        if tools and body.get("tool_choice") != "none" and last.get("role") != "tool":
            return Reply(tool_calls=_choose_tools(tools, last, body.get("tool_choice")))
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            return Reply(content=json.dumps(example_for_schema(schema)))
        if fmt.get("type") == "json_object":
            return Reply(content="{}")
        if last.get("role") == "tool":
            results = [str(m.get("content")) for m in _trailing_tool_results(messages)]
            return Reply(content="Based on the tool results: " + "; ".join(results))
        text = _text_of(last.get("content"))
        return Reply(
            content=f"This is a fake reply to: {text[:80]}" if text else "This is a fake reply."
        )

    def _completion(self, reply: Reply, body: dict[str, Any], number: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.refusal:
            message["refusal"] = reply.refusal
        if reply.reasoning is not None:
            message["reasoning"] = reply.reasoning
        if reply.reasoning_details is not None:
            message["reasoning_details"] = [dict(d) for d in reply.reasoning_details]
        calls = _tool_call_dicts(reply, number)
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"gen-fake-{number}",
            "object": "chat.completion",
            "created": 1_700_000_000 + number,
            "model": reply.model or body.get("model") or self.model,
            "provider": reply.provider or "fake",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop"),
                }
            ],
            "usage": dict(reply.usage) if reply.usage is not None else _usage(body, reply),
        }

    def _sse(self, reply: Reply, body: dict[str, Any], number: int) -> bytes:
        base = {
            "id": f"gen-fake-{number}",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000 + number,
            "model": reply.model or body.get("model") or self.model,
            "provider": reply.provider or "fake",
        }
        events: list[dict[str, Any]] = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
        ]
        for piece in _pieces(reply.reasoning or ""):
            events.append({**base, "choices": [{"index": 0, "delta": {"reasoning": piece}}]})
        for index, detail in enumerate(reply.reasoning_details or ()):
            events.extend(
                {**base, "choices": [{"index": 0, "delta": {"reasoning_details": [part]}}]}
                for part in _detail_pieces(index, detail)
            )
        size = reply.chunk_size
        pieces = 0
        for piece in _pieces(reply.content or "", size):
            events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
            pieces += 1
        for index, tool_call in enumerate(_tool_call_dicts(reply, number)):
            arguments = tool_call["function"]["arguments"]
            half = len(arguments) // 2
            parts = _pieces(arguments, size) if size else [arguments[:half], arguments[half:]]
            for position, part in enumerate(parts or [""]):
                delta: dict[str, Any] = {"index": index, "function": {"arguments": part}}
                if position == 0:
                    delta.update(id=tool_call["id"], type="function")
                    delta["function"]["name"] = tool_call["function"]["name"]
                events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [delta]}}]})
                pieces += 1
        if reply.break_after is not None:
            cut = len(events) - pieces + reply.break_after
            kept = [f"data: {json.dumps(event)}\n\n" for event in events[:cut]]
            return "".join([": OPENROUTER PROCESSING\n\n", *kept]).encode()
        reason = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
        usage = dict(reply.usage) if reply.usage is not None else _usage(body, reply)
        events.append({**base, "choices": [], "usage": usage})
        lines = [": OPENROUTER PROCESSING\n\n"]
        lines += [f"data: {json.dumps(event)}\n\n" for event in events]
        lines.append("data: [DONE]\n\n")
        return "".join(lines).encode()


def _detail_pieces(index: int, detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One reasoning detail as a stream sends it: its text in two pieces, the rest whole
    on the first (the signature on the last, as Anthropic's arrives)."""
    head = {k: v for k, v in detail.items() if k not in ("text", "signature")}
    head["index"] = index
    text = detail.get("text")
    if not isinstance(text, str):
        return [{**head, **({"signature": detail["signature"]} if "signature" in detail else {})}]
    half = len(text) // 2
    tail: dict[str, Any] = {"index": index, "type": detail.get("type"), "text": text[half:]}
    if "signature" in detail:
        tail["signature"] = detail["signature"]
    return [{**head, "text": text[:half]}, tail]


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "code": status}})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _trailing_tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        results.append(message)
    return list(reversed(results))


def _choose_tools(
    tools: list[dict[str, Any]], last: dict[str, Any], choice: Any
) -> list[FakeToolCall]:
    if isinstance(choice, dict) and choice.get("function", {}).get("name"):
        wanted = choice["function"]["name"]
        tools = [t for t in tools if t["function"]["name"] == wanted] or tools[:1]
    else:
        text = _text_of(last.get("content")).lower()
        named = [t for t in tools if t["function"]["name"].lower() in text]
        tools = named or tools[:1]
    return [
        FakeToolCall(
            t["function"]["name"],
            json.dumps(example_for_schema(t["function"].get("parameters") or {})),
        )
        for t in tools
    ]


def _tool_call_dicts(reply: Reply, number: int) -> list[dict[str, Any]]:
    return [
        {
            "id": tc.id or f"call_{number}_{index}",
            "type": "function",
            "function": {"name": tc.name, "arguments": tc.arguments},
        }
        for index, tc in enumerate(reply.tool_calls)
    ]


def _pieces(text: str, size: int | None = None) -> list[str]:
    if size:
        return [text[i : i + size] for i in range(0, len(text), size)]
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)] if text else []


def _count(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    prompt = sum(_count(_text_of(m.get("content"))) + 4 for m in body.get("messages") or [])
    completion = _count(reply.content or "") + sum(
        _count(tc.arguments) + 4 for tc in reply.tool_calls
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": 0.0,
    }


def example_for_schema(
    schema: Mapping[str, Any], *, _root: Mapping[str, Any] | None = None, _name: str = "value"
) -> Any:
    """A deterministic instance valid for a JSON schema (the subset Pydantic emits)."""
    root = _root if _root is not None else schema
    if "$ref" in schema:
        ref = str(schema["$ref"])
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return example_for_schema(target, _root=root, _name=_name)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_for_schema(options[0], _root=root, _name=_name)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return example_for_schema(merged, _root=root, _name=_name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {key: example_for_schema(sub, _root=root, _name=key) for key, sub in props.items()}
    if kind == "array":
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and prefix:  # tuples: one example per position
            return [example_for_schema(item, _root=root, _name=_name) for item in prefix]
        items = schema.get("items") or {}
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for_schema(items, _root=root, _name=_name) for _ in range(count)]
    if kind == "integer":
        return int(
            schema.get(
                "minimum",
                schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1,
            )
        )
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2024-01-15T12:00:00Z"
    if fmt == "date":
        return "2024-01-15"
    if fmt == "email":
        return "user@example.com"
    if fmt in ("uri", "url"):
        return "https://example.com"
    text = f"example {_name}"
    min_length = int(schema.get("minLength", 0))
    return text.ljust(min_length, "x")
