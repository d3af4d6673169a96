# This file is generated from tests/_async/test_agent_stream.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""``agent.stream()``: the typed events of a run, written once (async) and generated for
sync. The sequence of events on FakeModel streams, a human pause and the resume, tool
calls and results with the secret masked, every event JSON-serialisable, a stream that
breaks off mid-task (typed error, the session resumable), leaving a stream early, and
``on_event`` still called."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from mbxai import (
    AgentClient,
    AgentEvent,
    AgentStreamEvent,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
    HumanRequestEvent,
    OpenRouterClient,
    PartialObjectEvent,
    RunFinishedEvent,
    StreamError,
    TaskFinishedEvent,
    TextDeltaEvent,
    ToolCallEvent,
    ToolClient,
    ToolResultEvent,
    UsageLimits,
)
from mbxai._usage import current_meter
from mbxai.testing import FakeModel, Reply, call

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

JIRA = DialogOption(id="jira", title="Jira login", provides=["auth_token"])
SECRET = 'tok"en,with\\odd-chars'
EVENTS: TypeAdapter[Any] = TypeAdapter(AgentStreamEvent)


class Summary(BaseModel):
    summary: str


def plan(tools: list[str]) -> Reply:
    task = {
        "id": "t1",
        "title": "read the story",
        "description": "fetch the story and sum it up",
        "dependencies": [],
        "tools": tools,
        "estimated_complexity": 2,
        "human_interaction": None,
    }
    content = {
        "requirement_analysis": {
            "goal": "sum up the story",
            "success_criteria": ["summed up"],
            "constraints": [],
            "complexity_estimate": 2,
        },
        "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
        "tasks": [task],
    }
    return Reply(content=json.dumps(content), chunk_size=40)


def outcome(result: str, **reply: Any) -> Reply:
    content = json.dumps({"status": "completed", "result": result, "question": None})
    return Reply(content=content, **{"chunk_size": 7, **reply})


def evaluation(summary: str) -> Reply:
    content = {
        "goal_evaluation": {
            "goal_achieved": True,
            "completion_percentage": 100,
            "feedback": "ok",
            "missing_elements": [],
        },
        "final_response": {"summary": summary},
        "follow_up_tasks": [],
    }
    return Reply(content=json.dumps(content), chunk_size=9)


def chat_client(fake: FakeModel) -> OpenRouterClient:
    return OpenRouterClient(
        token="test-token", transport=fake, max_retries=0, retry_initial_delay=0
    )


def events_of(stream: Any) -> list[Any]:
    events: list[Any] = []
    with stream:
        for event in stream:
            events.append(event)
    return events


def types_of(events: list[Any]) -> list[str]:
    """The event types in order, runs of deltas collapsed into one."""
    out: list[str] = []
    for event in events:
        if event.type in ("text_delta", "partial_object") and out and out[-1] == "deltas":
            continue
        out.append("deltas" if event.type in ("text_delta", "partial_object") else event.type)
    return out


def test_a_run_streams_its_events_through_a_human_pause_and_the_resume() -> None:
    fake = FakeModel(
        [
            plan(["fetch_story"]),
            Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]),
            outcome("PROJ-1 is about the login page"),
            evaluation("The story is about the login page."),
        ],
        strict_script=True,
    )
    progress: list[AgentEvent] = []
    agent = AgentClient(
        ToolClient(chat_client(fake)),
        human_in_loop=True,
        dialog_options=[JIRA],
        on_event=progress.append,
    )

    def fetch_story(story_id: str, auth_token: str) -> str:
        """Fetch a story."""
        return f"{story_id}: the login page (read with {auth_token})"

    agent.register_tool("fetch_story", "Fetch a Jira story", fetch_story)

    first = events_of(agent.stream("Sum up PROJ-1", Summary))
    assert types_of(first) == [
        "run_started",
        "step_started",
        "deltas",
        "step_finished",
        "human_request",
        "run_finished",
    ]
    asked = first[-2]
    assert isinstance(asked, HumanRequestEvent)
    assert asked.requests[0].dialog_option_id == "jira"
    paused = first[-1]
    assert isinstance(paused, RunFinishedEvent)
    assert paused.response.is_waiting_for_human()
    planned = [e for e in first if isinstance(e, PartialObjectEvent)]
    assert planned
    assert planned[-1].step == "planning"
    assert "tasks" in planned[-1].object

    answer = HumanInLoopResponse(
        interaction_id=asked.requests[0].id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira",
        additional_context="auth_token:" + json.dumps(SECRET),
    )
    stream = agent.stream("Continue", Summary, agent_id=paused.agent_id, human_response=answer)
    second = events_of(stream)
    assert types_of(second) == [
        "run_started",
        "task_started",
        "tool_call",
        "tool_result",
        "deltas",
        "task_finished",
        "step_started",
        "deltas",
        "step_finished",
        "run_finished",
    ]
    assert second[0].resumed is True
    tool_call = next(e for e in second if isinstance(e, ToolCallEvent))
    assert tool_call.tool == "fetch_story"
    assert json.loads(tool_call.arguments) == {"story_id": "PROJ-1"}
    result = next(e for e in second if isinstance(e, ToolResultEvent))
    assert result.call_id == tool_call.call_id
    assert "the login page" in result.content
    # the task's outcome and the final response, as they were generated
    task_text = "".join(
        e.delta for e in second if isinstance(e, TextDeltaEvent) and e.step == "task"
    )
    assert json.loads(task_text)["result"] == "PROJ-1 is about the login page"
    outcomes = [e.object for e in second if isinstance(e, PartialObjectEvent) and e.step == "task"]
    assert len(outcomes) > 2
    assert outcomes[-1]["result"] == "PROJ-1 is about the login page"
    finals = [
        e.object for e in second if isinstance(e, PartialObjectEvent) and e.step == "evaluation"
    ]
    assert len(finals) > 2
    assert finals[-1] == {"summary": "The story is about the login page."}
    assert any(len(f.get("summary", "")) < len(finals[-1]["summary"]) for f in finals)
    finished = next(e for e in second if isinstance(e, TaskFinishedEvent))
    assert finished.status == "completed"
    done = second[-1]
    assert isinstance(done, RunFinishedEvent)
    assert done.response.is_complete()
    assert stream.response is done.response
    assert done.response.final_response == Summary(summary="The story is about the login page.")

    # every event serialises for a browser, reads back as itself, and hides the secret
    for event in first + second:
        text = event.model_dump_json()
        assert EVENTS.validate_json(text).type == event.type
        for form in (SECRET, json.dumps(SECRET)[1:-1]):
            assert form not in text
    assert "[hidden]" in result.content
    # on_event saw the same run
    kinds = [e.kind for e in progress]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert "waiting_for_human" in kinds
    assert "task_finished" in kinds


def test_agent_and_stream_agree() -> None:
    script = [plan([]), outcome("done"), evaluation("all done")]
    plain = AgentClient(chat_client(FakeModel(list(script)))).agent("Go", Summary)
    streamed = events_of(AgentClient(chat_client(FakeModel(list(script)))).stream("Go", Summary))
    response = streamed[-1].response
    assert response.state == plain.state
    assert response.final_response == plain.final_response
    assert [t.result for t in response.todo_list.tasks] == ["done"]


def test_a_stream_breaking_off_mid_task_raises_and_leaves_the_session_resumable() -> None:
    fake = FakeModel([plan([]), outcome("half of it", break_after=3)], strict_script=True)
    agent = AgentClient(chat_client(fake))
    seen: list[Any] = []
    with pytest.raises(StreamError, match="ended before the completion finished"):
        with agent.stream("Go", Summary) as stream:
            for event in stream:
                seen.append(event)
    assert [e.type for e in seen if e.type not in ("text_delta", "partial_object")][-1] == (
        "task_started"
    )
    assert any(isinstance(e, TextDeltaEvent) and e.step == "task" for e in seen)
    assert stream.response is None
    agent_id = seen[0].agent_id
    info = agent.get_session_info(agent_id)
    assert info is not None
    assert info["state"] == "executing_tasks"

    fake.add(outcome("all of it"), evaluation("finished"))
    done = agent.agent("Go", Summary, agent_id=agent_id)
    assert done.is_complete()
    assert [t.result for t in done.todo_list.tasks] == ["all of it"]  # type: ignore[union-attr]


def test_leaving_a_stream_early_stops_the_run_at_the_last_saved_step() -> None:
    fake = FakeModel([plan([]), outcome("done"), evaluation("all done")], strict_script=True)
    agent = AgentClient(chat_client(fake))
    with agent.stream("Go", Summary) as stream:
        for event in stream:
            if event.type == "task_started":
                agent_id = event.agent_id
                break
    assert len(fake.requests) == 1  # the task's request was never sent
    done = agent.agent("Go", Summary, agent_id=agent_id)
    assert done.is_complete()
    assert len(fake.requests) == 3


def test_a_call_waiting_for_approval_pauses_the_stream_and_runs_once_after() -> None:
    payments: list[int] = []

    def pay(amount: int) -> str:
        """Pay an amount."""
        payments.append(amount)
        return f"paid {amount}"

    fake = FakeModel(
        [plan(["pay"]), Reply(tool_calls=[call("pay", amount=120)])], strict_script=True
    )
    agent = AgentClient(ToolClient(chat_client(fake)), human_in_loop=True)
    agent.register_tool("pay", "Pay an invoice", pay, requires_approval=True)
    first = events_of(agent.stream("Pay it", Summary))
    waiting = next(e for e in first if isinstance(e, TaskFinishedEvent))
    assert waiting.status == "waiting_for_human"
    asked = next(e for e in first if isinstance(e, HumanRequestEvent))
    assert asked.requests[0].interaction_type == "tool_approval"
    assert payments == []
    assert not any(isinstance(e, ToolResultEvent) for e in first)

    fake.add(outcome("paid"), evaluation("paid the invoice"))
    approve = HumanInLoopResponse(
        interaction_id=asked.requests[0].id,
        response_type=HumanInteractionType.TOOL_APPROVAL,
        decision="approve",
    )
    second = events_of(
        agent.stream("Go on", Summary, agent_id=first[0].agent_id, human_response=approve)
    )
    assert payments == [120]
    paid = next(e for e in second if isinstance(e, ToolResultEvent))
    assert paid.content == "paid 120"
    assert second[-1].response.is_complete()
    assert [e.type for e in second if e.type in ("task_started", "task_finished")] == [
        "task_started",
        "task_finished",
    ]


def test_the_run_sets_nothing_in_the_readers_context() -> None:
    fake = FakeModel([plan([]), outcome("done"), evaluation("all done")], strict_script=True)
    agent = AgentClient(chat_client(fake), usage_limits=UsageLimits(max_requests=10))
    stream = agent.stream("Go", Summary)
    for event in stream:
        # the session's usage meter is the run's, not the reader's (nor left behind)
        assert current_meter() is None
        if event.type == "task_started":
            break
    assert current_meter() is None
    stream.close()
