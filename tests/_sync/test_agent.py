# This file is generated from tests/_async/test_agent.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The planning agent, on the offline fake. Written once (async), generated for sync."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import BaseModel, Field

from mbxai import (
    AgentClient,
    AgentError,
    AgentEvent,
    AgentState,
    BadRequestError,
    ConfigurationError,
    DialogOption,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
    HumanInteractionType,
    HumanResponseError,
    InMemorySessionHandler,
    OpenRouterClient,
    SessionConflictError,
    SessionCorruptError,
    SessionNotFoundError,
    TaskStatus,
    ToolClient,
)
from mbxai.testing import Failure, FakeModel, FakeRequest, Reply, call


class ProjectPlan(BaseModel):
    project_name: str = Field(description="Name of the project")
    technologies: list[str] = Field(description="Technologies to be used")
    phases: list[str] = Field(description="Project phases")
    estimated_duration: str = Field(description="Estimated duration")


PLAN = ProjectPlan(
    project_name="Shop", technologies=["React"], phases=["build"], estimated_duration="2w"
)


def task(
    tid: str, title: str, deps: list[str] | None = None, human: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": tid,
        "title": title,
        "description": f"do {title}",
        "dependencies": deps or [],
        "tools": [],
        "estimated_complexity": 2,
        "human_interaction": human,
    }


def plan_reply(*tasks: dict[str, Any]) -> Reply:
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {
                    "goal": "Plan a React app",
                    "success_criteria": ["a plan exists"],
                    "constraints": [],
                    "complexity_estimate": 4,
                },
                "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
                "tasks": list(tasks),
            }
        )
    )


def outcome(result: str, status: str = "completed", question: str | None = None) -> Reply:
    return Reply(content=json.dumps({"status": status, "result": result, "question": question}))


def evaluation(achieved: bool = True, follow_ups: list[dict[str, Any]] | None = None) -> Reply:
    return Reply(
        content=json.dumps(
            {
                "goal_evaluation": {
                    "goal_achieved": achieved,
                    "completion_percentage": 100 if achieved else 50,
                    "feedback": "good" if achieved else "more needed",
                    "missing_elements": [],
                },
                "final_response": PLAN.model_dump(),
                "follow_up_tasks": follow_ups or [],
            }
        )
    )


def decision(
    prompt: str = "Deploy to production?", options: list[str] | None = None
) -> dict[str, Any]:
    return {
        "type": "decision",
        "prompt": prompt,
        "options": options or ["proceed", "wait"],
        "dialog_option_id": None,
    }


def make_agent(fake: FakeModel, **kwargs: Any) -> AgentClient:
    client = OpenRouterClient(
        token="test-token", transport=fake, retry_initial_delay=0, retry_max_delay=0
    )
    return AgentClient(client, **kwargs)


def texts(request: FakeRequest) -> str:
    return "\n".join(str(m.get("content")) for m in request.messages)


def test_seed_basic_example_on_the_cooperative_fake() -> None:
    agent = make_agent(FakeModel(), human_in_loop=False)
    response = agent.agent(
        "Create a project plan for a React web application", final_response_structure=ProjectPlan
    )
    assert response.state == AgentState.COMPLETED
    assert response.is_complete()
    assert response.requirement_analysis is not None
    assert response.requirement_analysis.goal
    assert response.todo_list is not None
    assert response.todo_list.tasks
    assert all(t.status == TaskStatus.COMPLETED for t in response.todo_list.tasks)
    assert isinstance(response.final_response, ProjectPlan)
    assert response.goal_evaluation is not None


def test_two_task_run_costs_four_llm_calls() -> None:
    fake = FakeModel(
        [
            plan_reply(task("t1", "design"), task("t2", "write", ["t1"])),
            outcome("designed"),
            outcome("written"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = make_agent(fake)
    response = agent.agent("Plan a shop", ProjectPlan)
    assert response.is_complete()
    assert response.final_response == PLAN
    assert len(fake.requests) == 4
    assert response.llm_calls == 4
    assert response.token_summary.total.total_tokens > 0
    assert [t.status for t in response.todo_list.tasks] == [TaskStatus.COMPLETED] * 2  # type: ignore[union-attr]
    # the second task sees the first one's result; the evaluation sees both
    assert "designed" in texts(fake.requests[2])
    assert "designed" in texts(fake.requests[3])
    assert "written" in texts(fake.requests[3])
    # the plan was asked as a strict structured output
    assert fake.requests[0].json["response_format"]["json_schema"]["strict"] is True


def test_decision_pauses_then_the_task_runs_exactly_once() -> None:
    fake = FakeModel(
        [plan_reply(task("t1", "deploy", human=decision())), outcome("deployed"), evaluation()],
        strict_script=True,
    )
    agent = make_agent(fake, human_in_loop=True)
    response = agent.agent("Deploy the app", ProjectPlan)
    assert response.is_waiting_for_human()
    assert response.needs_human_interaction()
    assert not response.is_complete()
    request = response.human_interaction_request
    assert request is not None
    assert request.interaction_type == HumanInteractionType.DECISION
    assert {"proceed", "wait", "skip", "abort"} <= set(request.options)
    assert len(fake.requests) == 1
    # asking again without an answer changes nothing and costs nothing
    again = agent.agent("Continue processing", ProjectPlan, agent_id=response.agent_id)
    assert again.is_waiting_for_human()
    assert len(fake.requests) == 1

    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    done = agent.agent(
        "Continue with user input", ProjectPlan, agent_id=response.agent_id, human_response=answer
    )
    assert done.is_complete()
    assert len(fake.requests) == 3
    assert "Human decision" in texts(fake.requests[1])
    assert "proceed" in texts(fake.requests[1])


def test_question_answer_reaches_the_task() -> None:
    question = {
        "type": "question",
        "prompt": "Which cloud?",
        "options": [],
        "dialog_option_id": None,
    }
    fake = FakeModel(
        [plan_reply(task("t1", "deploy", human=question)), outcome("on AWS"), evaluation()],
        strict_script=True,
    )
    agent = make_agent(fake, human_in_loop=True)
    response = agent.agent("Deploy", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None
    assert request.interaction_type == HumanInteractionType.QUESTION
    answer = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.QUESTION,
        answer="Use AWS for deployment",
    )
    done = agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answer)
    assert done.is_complete()
    assert "Use AWS for deployment" in texts(fake.requests[1])


def test_a_task_can_ask_while_running() -> None:
    fake = FakeModel(
        [
            plan_reply(task("t1", "write")),
            outcome("", status="needs_human", question="Which language?"),
            outcome("written in Go"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = make_agent(fake, human_in_loop=True)
    response = agent.agent("Write it", ProjectPlan)
    assert response.is_waiting_for_human()
    request = response.human_interaction_request
    assert request is not None
    assert request.prompt == "Which language?"
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.QUESTION, answer="Go"
    )
    done = agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answer)
    assert done.is_complete()
    assert "Go" in texts(fake.requests[2])


def test_invalid_human_responses_leave_the_session_unchanged() -> None:
    store = InMemorySessionHandler()
    fake = FakeModel([plan_reply(task("t1", "deploy", human=decision()))])
    agent = make_agent(fake, human_in_loop=True, session_handler=store)
    response = agent.agent("Deploy", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None
    before = store.get_session(response.agent_id)
    bad = [
        HumanInLoopResponse(
            interaction_id="nope", response_type=HumanInteractionType.DECISION, decision="proceed"
        ),
        HumanInLoopResponse(
            interaction_id=request.id, response_type=HumanInteractionType.QUESTION, answer="x"
        ),
        HumanInLoopResponse(
            interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="maybe"
        ),
    ]
    for item in bad:
        with pytest.raises(HumanResponseError):
            agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=item)
    with pytest.raises(HumanResponseError):
        agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response="proceed")  # type: ignore[arg-type]
    assert store.get_session(response.agent_id) == before
    assert len(fake.requests) == 1


def test_batch_answers_and_skip() -> None:
    question = {"type": "question", "prompt": "Budget?", "options": [], "dialog_option_id": None}
    fake = FakeModel(
        [
            plan_reply(
                task("t1", "deploy", human=decision()), task("t2", "budget", human=question)
            ),
            outcome("budget 5k"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = make_agent(fake, human_in_loop=True)
    response = agent.agent("Deploy", ProjectPlan)
    assert len(response.human_interaction_requests) == 2
    first, second = response.human_interaction_requests
    answers = HumanInLoopResponseBatch(
        responses=[
            HumanInLoopResponse(
                interaction_id=first.id,
                response_type=HumanInteractionType.DECISION,
                decision="skip",
            ),
            HumanInLoopResponse(
                interaction_id=second.id, response_type=HumanInteractionType.QUESTION, answer="5k"
            ),
        ]
    )
    done = agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answers)
    assert done.is_complete()
    statuses = {t.title: t.status for t in done.todo_list.tasks}  # type: ignore[union-attr]
    assert statuses == {"deploy": TaskStatus.SKIPPED, "budget": TaskStatus.COMPLETED}
    assert len(fake.requests) == 3  # the skipped task never reached the model


def test_a_list_of_answers_works_too_and_abort_fails_the_run() -> None:
    fake = FakeModel([plan_reply(task("t1", "deploy", human=decision()))], strict_script=True)
    agent = make_agent(fake, human_in_loop=True, max_task_iterations=1)
    response = agent.agent("Deploy", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None
    answer = [
        HumanInLoopResponse(
            interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="abort"
        )
    ]
    failed = agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answer)
    assert failed.state == AgentState.FAILED
    assert failed.error is not None
    assert "aborted" in failed.error
    with pytest.raises(AgentError, match="no iterations left"):
        agent.agent("Continue processing", ProjectPlan, agent_id=response.agent_id)


def test_resume_from_a_new_agent_sharing_only_the_store() -> None:
    store = InMemorySessionHandler()
    fake = FakeModel(
        [plan_reply(task("t1", "deploy", human=decision())), outcome("deployed"), evaluation()],
        strict_script=True,
    )
    first = make_agent(fake, human_in_loop=True, session_handler=store)
    response = first.agent("Deploy", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None
    second = make_agent(fake, human_in_loop=True, session_handler=store)
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    done = second.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answer)
    assert done.is_complete()
    assert done.final_response == PLAN
    assert second.list_sessions() == [response.agent_id]
    info = second.get_session_info(response.agent_id)
    assert info is not None
    assert info["state"] == "completed"
    assert info["llm_calls"] == 3
    assert second.delete_session(response.agent_id) is True
    assert second.get_session_info(response.agent_id) is None
    with pytest.raises(SessionNotFoundError):
        second.agent("Continue", ProjectPlan, agent_id=response.agent_id)


def test_session_continuation_builds_on_the_previous_result() -> None:
    fake = FakeModel(
        [
            plan_reply(task("t1", "plan")),
            outcome("planned"),
            evaluation(),
            plan_reply(task("t1", "extend")),
            outcome("extended"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = make_agent(fake)
    first = agent.agent("Create a microservices architecture", ProjectPlan)
    second = agent.agent("Add payments", ProjectPlan, agent_id=first.agent_id)
    assert second.is_complete()
    assert second.agent_id == first.agent_id
    assert "Create a microservices architecture" in texts(
        fake.requests[3]
    )  # history in the new plan
    assert "Shop" in texts(fake.requests[3])  # and the earlier result
    assert [t.id for t in second.todo_list.tasks] == ["t2"]  # type: ignore[union-attr]


def test_unmet_goal_plans_follow_ups_within_the_iteration_cap() -> None:
    fake = FakeModel(
        [
            plan_reply(task("t1", "draft")),
            outcome("draft"),
            evaluation(False, [task("x", "polish")]),
            outcome("polished"),
            evaluation(False, [task("y", "more")]),
        ],
        strict_script=True,
    )
    agent = make_agent(fake, max_task_iterations=2)
    response = agent.agent("Write", ProjectPlan)
    assert response.is_complete()
    assert [t.title for t in response.todo_list.tasks] == ["draft", "polish"]  # type: ignore[union-attr]
    assert response.error is not None
    assert "not fully achieved" in response.error
    assert len(fake.requests) == 5


def test_concurrent_writer_gets_a_conflict_and_nothing_is_lost() -> None:
    store = InMemorySessionHandler()
    fake = FakeModel([plan_reply(task("t1", "deploy", human=decision()))])
    agent = make_agent(fake, human_in_loop=True, session_handler=store)
    response = agent.agent("Deploy", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None

    def other_worker_writes_first(req: FakeRequest) -> Reply:
        data = store.get_session(response.agent_id)
        assert data is not None
        data["version"] += 1
        store.set_session(response.agent_id, data)
        return outcome("deployed")

    fake.add(other_worker_writes_first)
    answer = HumanInLoopResponse(
        interaction_id=request.id, response_type=HumanInteractionType.DECISION, decision="proceed"
    )
    with pytest.raises(SessionConflictError) as info:
        agent.agent("Continue", ProjectPlan, agent_id=response.agent_id, human_response=answer)
    assert info.value.expected_version is not None
    assert info.value.actual_version == info.value.expected_version + 1


def test_corrupt_record_names_the_session() -> None:
    store = InMemorySessionHandler()
    store.set_session("broken", {"version": 1, "state": "nonsense"})
    agent = make_agent(FakeModel(), session_handler=store)
    with pytest.raises(SessionCorruptError, match="broken"):
        agent.agent("Continue", ProjectPlan, agent_id="broken")


def test_events_report_progress() -> None:
    events: list[AgentEvent] = []
    fake = FakeModel([plan_reply(task("t1", "a")), outcome("done"), evaluation()])
    agent = make_agent(fake, on_event=events.append)
    agent.agent("Go", ProjectPlan)
    kinds = [e.kind for e in events]
    assert kinds == [
        "run_started",
        "planning_started",
        "planning_finished",
        "task_started",
        "task_finished",
        "evaluation_started",
        "evaluation_finished",
        "run_finished",
    ]
    assert events[4].task_status == TaskStatus.COMPLETED


def test_bad_arguments_are_named() -> None:
    agent = make_agent(FakeModel())
    with pytest.raises(ConfigurationError, match="final_response_structure"):
        agent.agent("x", dict)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="cannot take tools"):
        agent.register_tool("t", "d", lambda: 1)
    with pytest.raises(ConfigurationError, match="unique"):
        make_agent(
            FakeModel(),
            dialog_options=[DialogOption(id="a", title="A"), DialogOption(id="a", title="B")],
        )
    with pytest.raises(ConfigurationError, match="ai_client"):
        AgentClient(object())


def test_long_lived_sessions_stay_bounded() -> None:
    store = InMemorySessionHandler()
    script: list[Any] = []
    for i in range(4):
        script += [plan_reply(task("t1", f"step {i}")), outcome("x" * 10_000), evaluation()]
    agent = make_agent(
        FakeModel(script, strict_script=True),
        session_handler=store,
        max_turns=2,
        max_result_chars=100,
    )
    response = agent.agent("turn 0", ProjectPlan)
    for i in range(1, 4):
        response = agent.agent(f"turn {i}", ProjectPlan, agent_id=response.agent_id)
    assert response.is_complete()
    data = store.get_session(response.agent_id)
    assert data is not None
    assert [t["prompt"] for t in data["turns"]] == ["turn 1", "turn 2"]
    assert data["turns_dropped"] == 1
    assert len(json.dumps(data)) < 10_000  # the 10 kB task results were clipped


def test_jupyter_rendering_shows_state_tasks_and_requests() -> None:
    fake = FakeModel([plan_reply(task("t1", "a <b>", human=decision())), outcome("done")])
    agent = make_agent(fake, human_in_loop=True)
    response = agent.agent("Go", ProjectPlan)
    html = response._repr_html_()
    assert "waiting_for_human" in html
    assert "<table" in html
    assert "a &lt;b&gt;" in html
    assert "Deploy to production?" in html
    assert "1 LLM calls" in html


# -- with tools ----------------------------------------------------------------------------


class FlightInfo(BaseModel):
    flights: list[dict[str, str]] = Field(description="Available flights")
    recommendation: str = Field(description="Flight recommendation")


def tool_task(tid: str, title: str, tools: list[str]) -> dict[str, Any]:
    return {**task(tid, title), "tools": tools}


def make_tool_agent(fake: FakeModel, **kwargs: Any) -> AgentClient:
    client = OpenRouterClient(token="test-token", transport=fake, max_retries=0)
    return AgentClient(ToolClient(client), **kwargs)


def test_seed_tool_example_a_registered_tool_is_used() -> None:
    calls: list[tuple[str, str, str]] = []

    def search_flights(origin: str, destination: str, date: str) -> dict[str, Any]:
        """Search for flights between cities."""
        calls.append((origin, destination, date))
        return {"flights": [{"airline": "Example Air", "price": "$450", "duration": "3h 15m"}]}

    final = {
        "goal_evaluation": {
            "goal_achieved": True,
            "completion_percentage": 100,
            "feedback": "ok",
            "missing_elements": [],
        },
        "final_response": {
            "flights": [{"airline": "Example Air"}],
            "recommendation": "Example Air",
        },
        "follow_up_tasks": [],
    }
    fake = FakeModel(
        [
            plan_reply(tool_task("t1", "search", ["search_flights"])),
            Reply(
                tool_calls=[
                    call("search_flights", origin="NYC", destination="LAX", date="2025-01-02")
                ]
            ),
            outcome("Example Air, $450"),
            Reply(content=json.dumps(final)),
        ],
        strict_script=True,
    )
    agent = make_tool_agent(fake)
    agent.register_tool(
        name="search_flights",
        description="Search for flights between cities",
        function=search_flights,
    )
    response = agent.agent(
        prompt="Find flights from New York to Los Angeles for tomorrow",
        final_response_structure=FlightInfo,
        ask_questions=False,
    )
    assert response.is_complete()
    flight_info = response.final_response
    assert isinstance(flight_info, FlightInfo)
    assert len(flight_info.flights) == 1
    assert calls == [("NYC", "LAX", "2025-01-02")]
    assert "search_flights" in json.dumps(
        fake.requests[0].json["messages"]
    )  # the planner saw the tool
    assert "tools" not in fake.requests[0].json  # planning and evaluation send no tools
    assert [t["function"]["name"] for t in fake.requests[1].json["tools"]] == ["search_flights"]
    assert response.llm_calls == 4  # plan, two tool rounds for the task, evaluation


def test_dialog_secret_reaches_the_tool_and_nothing_else(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "oauth_token_abc123_VERY_SECRET"
    seen: list[str] = []

    def fetch_jira_story(story_id: str, jira_url: str, auth_token: str) -> dict[str, Any]:
        """Fetch a Jira story using the API."""
        seen.append(auth_token)
        return {"id": story_id, "title": "Implement user authentication", "status": "In Progress"}

    store = InMemorySessionHandler()
    fake = FakeModel(
        [
            plan_reply(tool_task("t1", "fetch story", ["fetch_jira_story"])),
            Reply(
                tool_calls=[
                    call(
                        "fetch_jira_story",
                        story_id="PROJ-123",
                        jira_url="https://company.atlassian.net",
                    )
                ]
            ),
            outcome("Story PROJ-123: Implement user authentication"),
            evaluation(),
        ],
        strict_script=True,
    )
    options = [
        DialogOption(
            id="jira_auth", title="Jira Authentication", description="Authenticate with Jira"
        )
    ]
    agent = make_tool_agent(
        fake,
        human_in_loop=True,
        dialog_options=options,
        session_handler=store,
        secret_key="app-key",
    )
    agent.register_tool(
        name="fetch_jira_story",
        description="Fetch Jira story details using API",
        function=fetch_jira_story,
    )
    response = agent.agent("Summarise Jira story PROJ-123", ProjectPlan)
    request = response.human_interaction_request
    assert request is not None
    assert request.interaction_type == HumanInteractionType.DIALOG_OPTION
    assert request.dialog_option_id == "jira_auth"
    assert request.dialog_options
    answer = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira_auth",
        additional_context=f"auth_token:{secret}",
    )
    done = agent.agent(
        "Continue with Jira authentication",
        ProjectPlan,
        agent_id=response.agent_id,
        human_response=answer,
    )
    assert done.is_complete()
    assert seen == [secret]
    tool_schema = json.dumps(fake.requests[1].json["tools"])
    assert "auth_token" not in tool_schema  # the model never even sees the parameter
    for recorded in fake.requests:
        assert secret not in json.dumps(recorded.json)
    assert secret not in json.dumps(store.get_session(done.agent_id))
    assert secret not in "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in repr(answer)
    assert secret not in str(answer)
    assert secret not in repr(done)
    assert secret not in repr(agent)
    assert secret not in done.model_dump_json()


def test_interrupted_task_resumes_and_each_side_effect_happens_once() -> None:
    effects: list[str] = []

    def charge_card(amount: int) -> str:
        """Charge the customer's card."""
        effects.append(f"charged {amount}")
        return "receipt-1"

    store = InMemorySessionHandler()
    fake = FakeModel(
        [
            plan_reply(tool_task("t1", "charge", ["charge_card"])),
            Reply(tool_calls=[call("charge_card", amount=42)]),
            Failure(400, "the process died here"),  # the run stops right after the tool ran
        ],
        strict_script=True,
    )
    agent = make_tool_agent(fake, session_handler=store)
    agent.register_tool("charge_card", "Charge the card", charge_card)
    with pytest.raises(BadRequestError):
        agent.agent("Charge 42", ProjectPlan)
    assert effects == ["charged 42"]
    (agent_id,) = store.list_sessions()
    saved = store.get_session(agent_id)
    assert saved is not None
    assert saved["todo_list"]["tasks"][0]["status"] == "in_progress"
    assert len(saved["journal"]) == 1

    # a fresh agent (another process, say) resumes; the model asks for the same call again
    fake.add(
        Reply(tool_calls=[call("charge_card", amount=42)]),
        outcome("charged, receipt-1"),
        evaluation(),
    )
    resumed = make_tool_agent(fake, session_handler=store)
    resumed.register_tool("charge_card", "Charge the card", charge_card)
    done = resumed.agent("Continue processing", ProjectPlan, agent_id=agent_id)
    assert done.is_complete()
    assert effects == ["charged 42"]  # replayed from the journal, not charged twice
    assert "receipt-1" in json.dumps(fake.requests[-2].json["messages"])  # the model got the result
    final = store.get_session(agent_id)
    assert final is not None
    assert final["journal"] == []  # pruned once the task finished


def test_a_cyclic_plan_still_runs_every_task() -> None:
    fake = FakeModel(
        [
            plan_reply(task("t1", "a", ["t2"]), task("t2", "b", ["t1"])),
            outcome("a"),
            outcome("b"),
            evaluation(),
        ],
        strict_script=True,
    )
    response = make_agent(fake).agent("Go", ProjectPlan)
    assert response.is_complete()
    assert [t.status for t in response.todo_list.tasks] == [TaskStatus.COMPLETED] * 2  # type: ignore[union-attr]


def test_a_task_stuck_calling_tools_fails_and_the_run_goes_on() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    fake = FakeModel(
        [
            plan_reply(tool_task("t1", "loop", ["ping"])),
            Reply(tool_calls=[call("ping")]),
            Reply(tool_calls=[call("ping")]),
            evaluation(),
        ],
        strict_script=True,
    )
    client = OpenRouterClient(token="test-token", transport=fake, max_retries=0)
    agent = AgentClient(ToolClient(client, max_tool_rounds=1))
    agent.register_tool("ping", "Ping", ping)
    response = agent.agent("Go", ProjectPlan)
    assert response.is_complete()
    (stuck,) = response.todo_list.tasks  # type: ignore[union-attr]
    assert stuck.status == TaskStatus.FAILED
    assert stuck.error is not None
    assert "kept calling tools" in stuck.error
    assert response.llm_calls == 4
