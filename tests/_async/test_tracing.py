"""Tracing on OpenTelemetry: the spans, events and metrics of chats, tool calls, MCP calls
and agent runs, read back from the SDK's in-memory exporter and metric reader. Each test
has its own tracer provider (``tracer_provider=`` on the client); the global one is never
set. Written once (async), generated for sync.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AsyncAgentClient,
    AsyncFileSessionHandler,
    AsyncMCPClient,
    AsyncOpenRouterClient,
    AsyncToolClient,
    BadRequestError,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
    InMemorySessionHandler,
    MCPRequestError,
)
from mbxai._tracing import CAPTURE_CONTENT_ENV, Telemetry
from mbxai.mcp_server import RunningMCPServer
from mbxai.testing import Failure, FakeModel, Reply, call
from tests.fix_mcp import interactive_server

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

API_KEY = "sk-or-v1-tracing-key-0123456789"
INJECTED = "injected-db-password-5e1f"
HUMAN_SECRET = "human-typed-token-77c3"
USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18, "cost": 0.0025}
ASK = [{"role": "user", "content": "What is 1 + 2, please?"}]


class Traced:
    """A tracer provider of its own with an in-memory exporter, and a meter provider
    with an in-memory reader."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = sdk_trace.TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[Any]:
        return [s for s in self.spans() if s.name == name]

    def one(self, name: str) -> Any:
        found = self.named(name)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def text(self) -> str:
        """Every span name, attribute, event and link of every span, as one text."""
        out = []
        for span in self.spans():
            out.append(span.name)
            out.append(json.dumps(dict(span.attributes or {}), default=str))
            out.append(str(span.status.description))
            for event in span.events:
                out.append(event.name + json.dumps(dict(event.attributes or {}), default=str))
            for link in span.links:
                out.append(json.dumps(dict(link.attributes or {}), default=str))
        return "\n".join(out)

    def histogram(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def chat_client(self, fake: FakeModel, **options: Any) -> AsyncOpenRouterClient:
        options.setdefault("max_retries", 0)
        return AsyncOpenRouterClient(
            token=API_KEY,
            model="test/model",
            transport=fake,
            retry_initial_delay=0,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            **options,
        )


@pytest.fixture
def traced() -> Iterator[Traced]:
    telemetry = Traced()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


def parent_of(span: Any) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def adder(traced: Traced, fake: FakeModel) -> AsyncToolClient:
    tools = AsyncToolClient(traced.chat_client(fake))

    def add(a: int, b: int, password: str) -> int:
        assert password == INJECTED
        return a + b

    def broken(password: str) -> str:
        raise RuntimeError(f"the tool broke on {password}")

    tools.register_tool("add", "Add two numbers", add, injected=["password"])
    tools.register_tool("broken", "Always fails", broken, injected=["password"])
    return tools


# -- chats and tools ---------------------------------------------------------------------------


async def test_a_tool_calling_chat_is_a_tree_of_chat_and_tool_spans(traced: Traced) -> None:
    fake = FakeModel(
        [
            Reply(tool_calls=[call("add", a=1, b=2), call("broken")], usage=USAGE),
            Reply(content="It is 3.", usage=USAGE, model="test/served"),
        ],
        strict_script=True,
    )
    tools = adder(traced, fake)
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as root:
        response = await tools.chat(ASK, tool_context={"password": INJECTED})
    assert response.content == "It is 3."

    chats = traced.named("chat test/model")
    assert len(chats) == 2
    add_span = traced.one("execute_tool add")
    broken_span = traced.one("execute_tool broken")
    root_id = root.get_span_context().span_id
    # every span of the call hangs under the caller's span, in one trace
    for span in [*chats, add_span, broken_span]:
        assert parent_of(span) == root_id
        assert span.context.trace_id == root.get_span_context().trace_id
    first, second = sorted(chats, key=lambda s: s.start_time)
    assert first.end_time <= add_span.start_time
    assert add_span.end_time <= second.start_time
    assert first.kind == SpanKind.CLIENT
    assert add_span.kind == SpanKind.INTERNAL

    attributes = dict(second.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openrouter"
    assert attributes["gen_ai.system"] == "openrouter"
    assert attributes["gen_ai.request.model"] == "test/model"
    assert attributes["gen_ai.response.model"] == "test/served"
    assert attributes["gen_ai.usage.input_tokens"] == 11
    assert attributes["gen_ai.usage.output_tokens"] == 7
    assert attributes["mbxai.usage.cost"] == pytest.approx(0.0025)
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["server.address"] == "openrouter.ai"
    assert tuple(dict(first.attributes or {})["gen_ai.response.finish_reasons"]) == ("tool_calls",)

    tool_attributes = dict(add_span.attributes or {})
    assert tool_attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_attributes["gen_ai.tool.name"] == "add"
    assert tool_attributes["gen_ai.tool.call.id"] == fake.requests[1].messages[-2]["tool_call_id"]
    assert add_span.status.status_code == StatusCode.UNSET
    # a tool's exception goes back to the model, and is recorded on its span
    assert broken_span.status.status_code == StatusCode.ERROR
    assert dict(broken_span.attributes or {})["error.type"] == "RuntimeError"
    assert [e.name for e in broken_span.events] == ["exception"]

    text = traced.text()
    assert "What is 1 + 2" not in text  # no contents unless opted in
    assert "gen_ai.input.messages" not in text
    assert INJECTED not in text
    assert API_KEY not in text


async def test_a_tool_in_a_worker_thread_runs_in_its_span(traced: Traced) -> None:
    # sync tools run in worker threads: the span context goes with them, so what the tool
    # traces itself (another client's requests, say) hangs under its execute_tool span
    from opentelemetry import trace

    seen: list[int] = []

    def where() -> str:
        seen.append(trace.get_current_span().get_span_context().span_id)
        return "here"

    fake = FakeModel([Reply(tool_calls=[call("where")]), "Done."], strict_script=True)
    tools = AsyncToolClient(traced.chat_client(fake))
    tools.register_tool("where", "Where am I", where)
    await tools.chat(ASK)
    assert seen == [traced.one("execute_tool where").context.span_id]


async def test_contents_are_recorded_only_when_opted_in_and_never_secrets(
    traced: Traced, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    fake = FakeModel(
        [
            Reply(tool_calls=[call("add", a=1, b=2)]),
            # the model repeats the API key it must never see: redacted on the span
            Reply(content=f"It is 3. Your key is {API_KEY}"),
        ],
        strict_script=True,
    )
    tools = adder(traced, fake)
    await tools.chat(ASK, tool_context={"password": INJECTED})

    first, second = sorted(traced.named("chat test/model"), key=lambda s: s.start_time)
    sent = json.loads(dict(first.attributes or {})["gen_ai.input.messages"])
    assert sent == [{"role": "user", "parts": [{"type": "text", "content": ASK[0]["content"]}]}]
    output = json.loads(dict(second.attributes or {})["gen_ai.output.messages"])
    assert output[0]["role"] == "assistant"
    assert output[0]["parts"][0]["content"].startswith("It is 3. Your key is ")
    tool = dict(traced.one("execute_tool add").attributes or {})
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"a": 1, "b": 2}
    assert tool["gen_ai.tool.call.result"] == "3"
    text = traced.text()
    assert "What is 1 + 2" in text
    assert API_KEY not in text
    assert INJECTED not in text


async def test_retries_are_span_events_and_log_records_never_printed(
    traced: Traced, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeModel([Failure(503, "busy"), "Fine."], strict_script=True)
    client = traced.chat_client(fake, max_retries=2)
    with caplog.at_level(logging.WARNING, logger="mbxai"):
        assert (await client.create(ASK)).content == "Fine."
    span = traced.one("chat test/model")
    assert span.status.status_code == StatusCode.UNSET
    (retry,) = span.events
    assert retry.name == "retry"
    assert dict(retry.attributes or {})["http.response.status_code"] == 503
    assert dict(retry.attributes or {})["mbxai.retry.number"] == 1
    assert any("chat.retry" in r.getMessage() for r in caplog.records)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ""


async def test_a_failed_request_is_recorded_on_its_span_and_in_the_metrics(traced: Traced) -> None:
    fake = FakeModel([Failure(400, f"bad request with {API_KEY}")], strict_script=True)
    client = traced.chat_client(fake)
    with pytest.raises(BadRequestError):
        await client.create(ASK)
    span = traced.one("chat test/model")
    assert span.status.status_code == StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "BadRequestError"
    assert "exception" in [e.name for e in span.events]
    assert API_KEY not in traced.text()
    (point,) = traced.histogram("gen_ai.client.operation.duration")
    assert dict(point.attributes)["error.type"] == "BadRequestError"


async def test_token_usage_and_duration_metrics(traced: Traced) -> None:
    fake = FakeModel([Reply(content="Hi", usage=USAGE)], strict_script=True)
    await traced.chat_client(fake).create(ASK)
    tokens = {
        dict(p.attributes)["gen_ai.token.type"]: p
        for p in traced.histogram("gen_ai.client.token.usage")
    }
    assert tokens["input"].sum == 11
    assert tokens["output"].sum == 7
    assert dict(tokens["input"].attributes)["gen_ai.request.model"] == "test/model"
    (duration,) = traced.histogram("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert dict(duration.attributes)["gen_ai.operation.name"] == "chat"
    assert "error.type" not in dict(duration.attributes)


async def test_a_streams_span_ends_with_the_stream(traced: Traced) -> None:
    fake = FakeModel([Reply(content="Streamed words", usage=USAGE)], strict_script=True)
    client = traced.chat_client(fake)
    stream = await client.create(ASK, stream=True)
    assert traced.spans() == []  # open while the stream is
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Streamed words"
    span = traced.one("chat test/model")
    attributes = dict(span.attributes or {})
    assert attributes["mbxai.request.stream"] is True
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["gen_ai.usage.output_tokens"] == 7

    # a stream closed before it is read ends its span too
    fake.add("Never read")
    async with await client.create(ASK, stream=True):
        pass
    assert len(traced.named("chat test/model")) == 2


async def test_each_parse_round_is_a_chat_span(traced: Traced) -> None:
    class City(BaseModel):
        name: str

    fake = FakeModel(['{"nom": "Paris"}', '{"name": "Paris"}'], strict_script=True)
    client = traced.chat_client(fake, structured_output="json_schema")
    parsed = await client.parse(ASK, City)
    assert parsed.choices[0].message.parsed == City(name="Paris")
    assert len(traced.named("chat test/model")) == 2


async def test_without_a_provider_nothing_is_traced() -> None:
    # The global provider is the API's default (a proxy to nothing): tracing is off.
    assert Telemetry().tracer() is None
    assert Telemetry().instruments() is None
    fake = FakeModel(["Hi"])
    client = AsyncOpenRouterClient(token="test", transport=fake)
    assert (await client.create(ASK)).content == "Hi"
    # an agent run untraced keeps no span context in its session
    store = InMemorySessionHandler()
    agent = AsyncAgentClient(client, session_handler=store)
    done = await agent.agent("Say hi", Summary)
    assert done.is_complete(), done.error
    record = store.get_session(done.agent_id)
    assert record is not None
    assert record["trace_context"] is None


# -- MCP ------------------------------------------------------------------------------------


async def test_an_mcp_call_is_a_client_span_under_its_tool_span(
    traced: Traced, mcp_demo: RunningMCPServer
) -> None:
    pytest.importorskip("mcp")
    fake = FakeModel([Reply(tool_calls=[call("add", a=2, b=3)]), "5"], strict_script=True)
    async with AsyncMCPClient(traced.chat_client(fake)) as client:
        await client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        assert (await client.chat(ASK)).content == "5"
    tool = traced.one("execute_tool add")
    mcp = traced.one("tools/call add")
    assert parent_of(mcp) == tool.context.span_id
    assert mcp.kind == SpanKind.CLIENT
    attributes = dict(mcp.attributes or {})
    assert attributes["mcp.method.name"] == "tools/call"
    assert attributes["gen_ai.tool.name"] == "add"
    assert attributes["mbxai.mcp.server"] == "demo"
    assert attributes["network.transport"] == "tcp"
    assert attributes["server.address"] == "127.0.0.1"
    assert mcp.status.status_code == StatusCode.UNSET


async def test_a_failing_mcp_tool_marks_both_spans(
    traced: Traced, mcp_demo: RunningMCPServer
) -> None:
    pytest.importorskip("mcp")
    fake = FakeModel(
        [Reply(tool_calls=[call("fail", reason="no luck")]), "It failed."], strict_script=True
    )
    async with AsyncMCPClient(traced.chat_client(fake)) as client:
        await client.register_mcp_server("demo", mcp_demo.url, timeout=10)
        await client.chat(ASK)
    assert traced.one("tools/call fail").status.status_code == StatusCode.ERROR
    assert traced.one("execute_tool fail").status.status_code == StatusCode.ERROR


@pytest.fixture(scope="module")
def interactive() -> Iterator[RunningMCPServer]:
    pytest.importorskip("mcp")
    with interactive_server().serve_http() as running:
        yield running


async def test_mcp_resource_and_prompt_requests_are_spans(
    traced: Traced, interactive: RunningMCPServer
) -> None:
    async with AsyncMCPClient(traced.chat_client(FakeModel())) as client:
        await client.register_mcp_server("i", interactive.url, timeout=10)
        await client.list_resources("i")
        await client.read_resource("i", "notes://today")
        await client.list_prompts("i")
        await client.get_prompt("i", "review", {"code": "x = 1"})
        with pytest.raises(MCPRequestError):
            await client.read_resource("i", "notes://nothing")
    assert [s.name for s in sorted(traced.spans(), key=lambda s: s.start_time)] == [
        "resources/list",
        "resources/read",
        "prompts/list",
        "prompts/get review",
        "resources/read",
    ]
    read, failed = traced.named("resources/read")
    assert dict(read.attributes or {})["mcp.resource.uri"] == "notes://today"
    assert dict(read.attributes or {})["mcp.method.name"] == "resources/read"
    assert read.status.status_code == StatusCode.UNSET
    assert failed.status.status_code == StatusCode.ERROR
    prompt = dict(traced.one("prompts/get review").attributes or {})
    assert prompt["gen_ai.prompt.name"] == "review"
    assert prompt["mbxai.mcp.server"] == "i"


# -- the agent --------------------------------------------------------------------------------


class Summary(BaseModel):
    summary: str


JIRA = DialogOption(id="jira", title="Jira login", provides=["auth_token"])


def plan_reply(*tasks: dict[str, Any]) -> Reply:
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {
                    "goal": "summarise",
                    "success_criteria": ["done"],
                    "constraints": [],
                    "complexity_estimate": 2,
                },
                "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
                "tasks": list(tasks),
            }
        )
    )


def outcome(result: str) -> Reply:
    return Reply(content=json.dumps({"status": "completed", "result": result, "question": None}))


def evaluation() -> Reply:
    return Reply(
        content=json.dumps(
            {
                "goal_evaluation": {
                    "goal_achieved": True,
                    "completion_percentage": 100,
                    "feedback": "ok",
                    "missing_elements": [],
                },
                "final_response": {"summary": "all done"},
                "follow_up_tasks": [],
            }
        )
    )


def jira_agent(traced: Traced, fake: FakeModel, store: Any, seen: list[str]) -> AsyncAgentClient:
    def fetch_story(story_id: str, auth_token: str) -> str:
        """Fetch a story."""
        seen.append(auth_token)
        return f"{story_id}: the login page (token {auth_token})"

    agent = AsyncAgentClient(
        AsyncToolClient(traced.chat_client(fake)),
        human_in_loop=True,
        dialog_options=[JIRA],
        session_handler=store,
        secret_key="one-key-for-both-processes",
    )
    agent.register_tool("fetch_story", "Fetch a Jira story", fetch_story)
    return agent


def step_names(spans: Sequence[Any], run: Any) -> list[str]:
    children = [s for s in spans if parent_of(s) == run.context.span_id]
    return [s.name for s in sorted(children, key=lambda s: s.start_time)]


async def test_an_agent_run_paused_for_a_human_and_resumed_links_to_the_first_run(
    traced: Traced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")  # even then, no secret in any span
    store = AsyncFileSessionHandler(tmp_path, fsync=False)
    seen: list[str] = []
    fake = FakeModel(
        [
            plan_reply(
                {
                    "id": "t1",
                    "title": "fetch",
                    "description": "fetch the story",
                    "dependencies": [],
                    "tools": ["fetch_story"],
                    "estimated_complexity": 2,
                    "human_interaction": None,
                }
            ),
        ],
        strict_script=True,
    )
    paused = await jira_agent(traced, fake, store, seen).agent("Summarise PROJ-1", Summary)
    request = paused.human_interaction_request
    assert request is not None

    (first,) = traced.named("invoke_agent")
    assert dict(first.attributes or {})["gen_ai.agent.id"] == paused.agent_id
    assert dict(first.attributes or {})["mbxai.agent.state"] == "waiting_for_human"
    assert dict(first.attributes or {})["mbxai.agent.resumed"] is False
    assert step_names(traced.spans(), first) == ["agent.plan", "agent.pause"]
    (plan_span,) = traced.named("agent.plan")
    assert dict(plan_span.attributes or {})["mbxai.usage.requests"] == 1
    assert [s.name for s in traced.spans() if parent_of(s) == plan_span.context.span_id] == [
        "chat test/model"
    ]
    # the session keeps the first run's span context, ids only
    record = await store.get_session(paused.agent_id)
    assert record is not None
    assert record["trace_context"] == {
        "trace_id": format(first.context.trace_id, "032x"),
        "span_id": format(first.context.span_id, "016x"),
    }

    # another process (a new client on the same store) resumes with the human's answer
    fake.add(
        Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]),
        outcome("PROJ-1 is the login page"),
        evaluation(),
    )
    answer = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira",
        additional_context=f"auth_token:{HUMAN_SECRET}",
    )
    done = await jira_agent(traced, fake, store, seen).agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=answer
    )
    assert done.is_complete(), done.error
    assert seen == [HUMAN_SECRET]

    runs = sorted(traced.named("invoke_agent"), key=lambda s: s.start_time)
    assert len(runs) == 2
    second = runs[1]
    assert second.context.trace_id != first.context.trace_id  # its own trace...
    (link,) = second.links  # ...linked to the first run's
    assert link.context.trace_id == first.context.trace_id
    assert link.context.span_id == first.context.span_id
    assert dict(second.attributes or {})["mbxai.agent.resumed"] is True
    assert dict(second.attributes or {})["mbxai.agent.state"] == "completed"
    assert step_names(traced.spans(), second) == ["agent.task", "agent.evaluate"]
    (task_span,) = traced.named("agent.task")
    assert dict(task_span.attributes or {})["mbxai.agent.task_id"] == "t1"
    assert dict(task_span.attributes or {})["mbxai.usage.requests"] == 2
    assert dict(second.attributes or {})["mbxai.usage.requests"] == 4  # the session's, in all
    under_task = [s.name for s in traced.spans() if parent_of(s) == task_span.context.span_id]
    assert sorted(under_task) == ["chat test/model", "chat test/model", "execute_tool fetch_story"]

    text = traced.text()
    assert HUMAN_SECRET not in text
    assert API_KEY not in text


async def test_a_failing_agent_step_is_recorded_on_the_step_and_the_run(traced: Traced) -> None:
    fake = FakeModel([Failure(400, "no planning today")], strict_script=True)
    agent = AsyncAgentClient(traced.chat_client(fake))
    with pytest.raises(BadRequestError):
        await agent.agent("Plan something", Summary)
    run = traced.one("invoke_agent")
    step = traced.one("agent.plan")
    chat = traced.one("chat test/model")
    assert parent_of(step) == run.context.span_id
    assert parent_of(chat) == step.context.span_id
    for span in (run, step, chat):
        assert span.status.status_code == StatusCode.ERROR
        assert dict(span.attributes or {})["error.type"] == "BadRequestError"
