"""Fuzzing with hypothesis: arbitrary input never crashes mbxai with anything but its typed
errors (:class:`~mbxai.MBXAIError` and its subclasses, or ``ValueError`` where documented).

Complements the properties already in tests/test_tool_schema.py (generated flat
signatures), tests/test_sse_and_retry.py (the line decoder) and tests/test_agent_logic.py
(one human response). Here: byte streams through the real streaming clients, split at
arbitrary points; arbitrary response bodies and headers; nested, generated annotations
and arbitrary docstrings for tool schemas; arbitrary tool arguments and structured
replies; batches of human responses.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
import keyword
import string
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal, Optional, Union

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from mbxai import (
    AsyncOpenRouterClient,
    ConfigurationError,
    HumanResponseError,
    MBXAIError,
    OpenRouterAPIError,
    OpenRouterClient,
    StreamError,
    StructuredOutputError,
)
from mbxai._agent import (
    AgentSession,
    PlannedHuman,
    PlannedTask,
    add_planned_tasks,
    apply_responses,
    check_responses,
)
from mbxai._chat import DONE, decode_completion, decode_event
from mbxai._function_schema import build_tool
from mbxai._retry import parse_retry_after
from mbxai._secrets import SecretBox
from mbxai._sse import ServerSentEvent
from mbxai._structured import Reask, StructuredReplies
from mbxai._types import ChatCompletion
from mbxai.agent.models import (
    AgentState,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
)
from mbxai.testing import example_for_schema

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HELLO = [{"role": "user", "content": "hi"}]


# -- SSE byte streams through the real Stream / AsyncStream -----------------------------------


def chunk(text: str) -> str:
    return json.dumps({"id": "g", "choices": [{"index": 0, "delta": {"content": text}}]})


def finish() -> str:
    return json.dumps({"id": "g", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given positions (any of them, in any order, repeated or not)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


class Pieces(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given pieces (empty ones included)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


def transport(pieces: list[bytes]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Pieces(pieces)
        )

    return httpx.MockTransport(handle)


def stream_sync(pieces: list[bytes]) -> list[str]:
    with OpenRouterClient(token="t", max_retries=0, transport=transport(pieces)) as client:
        with client.create(HELLO, stream=True) as stream:
            return [c.choices[0].delta.content or "" for c in stream]


def stream_async(pieces: list[bytes]) -> list[str]:
    async def run() -> list[str]:
        async with AsyncOpenRouterClient(
            token="t", max_retries=0, transport=transport(pieces)
        ) as client:
            async with await client.create(HELLO, stream=True) as stream:
                return [c.choices[0].delta.content or "" async for c in stream]

    return anyio.run(run)


FLAVOURS = [stream_sync, stream_async]
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


@pytest.mark.parametrize("read", FLAVOURS, ids=["sync", "async"])
@FUZZ
@given(
    texts=st.lists(st.text(max_size=12), max_size=8),
    newline=NEWLINES,
    comments=st.lists(st.booleans(), max_size=8),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_well_formed_streams_arrive_whole_however_they_are_cut(
    read: Any, texts: list[str], newline: str, comments: list[bool], cuts: list[int]
) -> None:
    events = []
    for i, text in enumerate(texts):
        if i < len(comments) and comments[i]:
            events.append(": OPENROUTER PROCESSING")
        events.append(f"data: {chunk(text)}")
    events += [f"data: {finish()}", "data: [DONE]"]
    data = "".join(e + newline + newline for e in events).encode()
    assert "".join(read(split(data, cuts))) == "".join(texts)


SSE_LINES = st.one_of(
    st.builds(lambda t: f"data: {chunk(t)}", st.text(max_size=8)),
    st.just(f"data: {finish()}"),
    st.just("data: [DONE]"),
    st.just(": keep-alive"),
    st.just(""),
    st.just("event: error"),
    st.just('data: {"error": {"message": "boom", "code": 502}}'),
    st.builds(lambda t: f"data: {t}", st.text(max_size=20)),
    st.builds(lambda f, v: f"{f}: {v}", st.sampled_from(["id", "retry", "event", "x"]), st.text()),
    st.text(max_size=30),
)


@pytest.mark.parametrize("read", FLAVOURS, ids=["sync", "async"])
@FUZZ
@given(
    lines=st.lists(SSE_LINES, max_size=12),
    newline=NEWLINES,
    noise=st.binary(max_size=40),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_arbitrary_streams_end_or_raise_typed_errors(
    read: Any, lines: list[str], newline: str, noise: bytes, cuts: list[int]
) -> None:
    data = newline.join(lines).encode("utf-8", "surrogatepass") + noise
    with contextlib.suppress(MBXAIError):
        read(split(data, cuts))


@FUZZ
@given(event=st.text(max_size=10), data=st.text(max_size=200))
def test_any_event_decodes_or_raises_stream_error(event: str, data: str) -> None:
    with contextlib.suppress(StreamError):
        result = decode_event(ServerSentEvent(event or "message", data))
        assert result is None or result is DONE or result.choices is not None


# -- response bodies and headers -------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
NEAR_COMPLETIONS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON,
        "model": JSON,
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": JSON,
                    "message": st.fixed_dictionaries(
                        {}, optional={"role": JSON, "content": JSON, "tool_calls": JSON}
                    ),
                    "finish_reason": JSON,
                },
            ),
            max_size=2,
        )
        | JSON,
        "usage": JSON,
        "error": JSON,
    },
)


@FUZZ
@given(
    status=st.sampled_from([200, 201, 400, 401, 404, 408, 429, 500, 502, 503, 599]),
    body=st.one_of(
        st.binary(max_size=200),
        JSON.map(lambda v: json.dumps(v).encode()),
        NEAR_COMPLETIONS.map(lambda v: json.dumps(v).encode()),
    ),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-should-retry", "x-request-id"]),
        st.text(max_size=30),
    ),
)
def test_any_response_decodes_or_raises_api_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    try:
        completion = decode_completion(status, headers, body, ChatCompletion)
    except OpenRouterAPIError as exc:
        error = exc
    else:
        assert status < 400
        assert isinstance(completion, ChatCompletion)
        return
    assert error.status_code is not None
    assert str(error)


@FUZZ
@given(
    value=st.text(max_size=40) | st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{0,6})?", fullmatch=True),
    name=st.sampled_from(["retry-after", "retry-after-ms"]),
)
def test_any_retry_after_is_a_sane_wait_or_none(value: str, name: str) -> None:
    wait = parse_retry_after({name: value})
    assert wait is None or (0 <= wait < float("inf"))


# -- tool schemas from generated nested annotations and arbitrary docstrings -------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: int
    y: int


LEAVES = st.sampled_from(
    [int, float, str, bool, type(None), Colour, Point, Literal["a", "b"], Literal[1, 2]]
)


def _nest(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        inner.map(lambda t: list[t]),  # type: ignore[valid-type]
        inner.map(lambda t: dict[str, t]),  # type: ignore[valid-type]
        inner.map(lambda t: Optional[t]),  # noqa: UP045  (the spelling under test)
        st.tuples(inner, inner).map(lambda ts: Union[ts]),  # noqa: UP007
        st.tuples(inner, inner).map(lambda ts: tuple[ts]),  # type: ignore[misc]
        inner.map(lambda t: set[t] if t in (int, str) else list[t]),  # type: ignore[valid-type]
    )


ANNOTATIONS = st.recursive(LEAVES, _nest, max_leaves=6)
IDENTIFIERS = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda n: (
        n not in {"self", "cls", "lambda", "def", "if", "in", "is", "or", "and", "not"}
        and n.isidentifier()
        and not keyword.iskeyword(n)
    )
)


def assert_names_the_tool(error: ConfigurationError) -> None:
    assert "fuzzed" in str(error)


@FUZZ
@given(
    params=st.dictionaries(IDENTIFIERS, ANNOTATIONS, max_size=4),
    docstring=st.one_of(st.none(), st.text(max_size=200)),
    description=st.one_of(st.none(), st.text(max_size=40)),
    strict=st.booleans(),
)
def test_nested_annotations_and_any_docstring_make_a_valid_schema_or_a_clear_error(
    params: dict[str, Any], docstring: str | None, description: str | None, strict: bool
) -> None:
    def function(**kwargs: Any) -> Any:
        return kwargs

    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            for name, annotation in params.items()
        ]
    )
    function.__annotations__ = dict(params)
    function.__doc__ = docstring
    try:
        tool = build_tool("fuzzed", description, function, strict=strict)
    except ConfigurationError as exc:
        assert_names_the_tool(exc)
        return
    Draft202012Validator.check_schema(tool.parameters)
    assert set(tool.parameters.get("properties", {})) == set(params)
    example = example_for_schema(tool.parameters)
    Draft202012Validator(tool.parameters).validate(example)
    arguments = tool.validate_arguments(json.dumps(example))
    assert set(arguments) == set(params)


def test_the_fake_models_example_for_a_tuple_parameter_is_valid() -> None:
    def move(to: tuple[int, int]) -> str:
        """Move to a point."""
        return str(to)

    tool = build_tool("move", None, move)
    example = example_for_schema(tool.parameters)
    Draft202012Validator(tool.parameters).validate(example)


@FUZZ
@given(
    arguments=st.one_of(
        st.text(max_size=60),
        JSON.map(json.dumps),
        st.dictionaries(st.sampled_from(["location", "days", "extra"]), JSON).map(json.dumps),
    )
)
def test_any_tool_arguments_validate_or_raise_value_error(arguments: str) -> None:
    def get_weather(location: str, days: int = 1) -> str:
        """Weather for a location."""
        return location

    tool = build_tool("get_weather", None, get_weather)
    try:
        kwargs = tool.validate_arguments(arguments)
    except ValueError as exc:
        error: ValueError | None = exc
    else:
        error = None
    if error is not None:
        assert str(error)  # a message the model can act on
        return
    assert isinstance(kwargs["location"], str)
    assert isinstance(kwargs.get("days", 1), int)


class City(BaseModel):
    name: str
    population: int


@FUZZ
@given(
    content=st.one_of(
        st.none(),
        st.text(max_size=80),
        JSON.map(json.dumps),
        st.builds(
            lambda fence, body: f"```{fence}\n{body}\n```",
            st.sampled_from(["", "json", "JSON"]),
            JSON.map(json.dumps),
        ),
    ),
    refusal=st.one_of(st.none(), st.text(max_size=20)),
)
def test_any_structured_reply_validates_reasks_or_raises(
    content: str | None, refusal: str | None
) -> None:
    completion = ChatCompletion.model_validate(
        {
            "id": "g",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "finish_reason": "stop",
                }
            ],
        }
    )
    replies = StructuredReplies(City, parse_retries=1)
    try:
        first = replies.check(completion)
        second = replies.check(completion)
    except StructuredOutputError as exc:
        error: StructuredOutputError | None = exc
    else:
        error = None
    if error is not None:
        assert error.response_format is City
        return
    assert isinstance(first, City | Reask)
    assert isinstance(second, City)  # the last attempt validates or raises


# -- batches of human responses --------------------------------------------------------------

OPTION = DialogOption(id="jira_auth", title="Jira", provides=["auth_token"])


class Final(BaseModel):
    text: str


def session_waiting_on_two() -> AgentSession:
    session = AgentSession.new("goal", Final)
    planned = [
        PlannedTask(
            id=tid,
            title=tid,
            description="d",
            dependencies=[],
            tools=[],
            estimated_complexity=1,
            human_interaction=PlannedHuman(
                type=kind,  # type: ignore[arg-type]
                prompt="?",
                options=["blue", "green"],
                dialog_option_id="jira_auth" if kind == "dialog_option" else None,
            ),
        )
        for tid, kind in (("a", "decision"), ("b", "dialog_option"))
    ]
    tasks = add_planned_tasks(
        session, planned, tool_names=set(), dialog_options=[OPTION], ask_humans=True
    )
    session.pending_requests = [t.human_interaction for t in tasks if t.human_interaction]
    session.state = AgentState.WAITING_FOR_HUMAN
    return session


TOKENS = st.text(string.ascii_letters + string.digits, min_size=10, max_size=24)


@FUZZ
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from([0, 1, 2]),  # which request (2: an unknown id)
            st.sampled_from(list(HumanInteractionType)),
            st.one_of(st.none(), st.sampled_from(["blue", "GREEN", "skip", "nope"])),
            st.one_of(st.none(), st.just("jira_auth"), st.text(max_size=6)),
        ),
        max_size=4,
    ),
    token=TOKENS,
    noise=st.text(max_size=40),
)
def test_batches_of_human_responses_apply_whole_or_not_at_all(
    picks: list[tuple[int, HumanInteractionType, str | None, str | None]], token: str, noise: str
) -> None:
    session = session_waiting_on_two()
    ids = [r.id for r in session.pending_requests] + ["unknown-id"]
    responses = [
        HumanInLoopResponse(
            interaction_id=ids[which],
            response_type=kind,
            decision=decision,
            dialog_option_id=option,
            additional_context=f"auth_token:{token}\n{noise}",
        )
        for which, kind, decision, option in picks
    ]
    before = session.model_dump()
    try:
        check_responses(session, responses)
    except HumanResponseError as exc:
        error: HumanResponseError | None = exc
    else:
        error = None
    if error is not None:
        assert "interaction" in str(error)  # it says which answer does not fit
        assert session.model_dump() == before  # a rejected batch changes nothing
        return
    box = SecretBox("fuzz-key")
    apply_responses(
        session,
        responses,
        declared_secrets={"auth_token"},
        dialog_options=[OPTION],
        encrypt=box.encrypt,
    )
    stored = session.model_dump_json()
    assume(token not in noise)
    assert token not in stored  # the dialog secret is stored encrypted only
    AgentSession.model_validate_json(stored)
