# This file is generated from tests/_async/test_agent_resume.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Pausing and resuming the agent under the shapes that used to break it: answers given
one at a time, repeated task ids, a second process without the first one's key, tools
that outlive their timeout, secrets in tool results. Written once (async), generated for
sync.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mbxai import (
    AgentClient,
    AgentError,
    BadRequestError,
    DialogOption,
    FileSessionHandler,
    HumanInLoopResponse,
    HumanInteractionType,
    InMemorySessionHandler,
    MBXAIWarning,
    OpenRouterClient,
    TaskStatus,
    ToolClient,
)
from mbxai.testing import Failure, FakeModel, FakeRequest, Reply, call

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


class Summary(BaseModel):
    summary: str


def task(
    tid: str,
    title: str,
    *,
    deps: list[str] | None = None,
    tools: list[str] | None = None,
    human: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": tid,
        "title": title,
        "description": f"do {title}",
        "dependencies": deps or [],
        "tools": tools or [],
        "estimated_complexity": 2,
        "human_interaction": human,
    }


def plan(*tasks: dict[str, Any]) -> Reply:
    return Reply(
        content=json.dumps(
            {
                "requirement_analysis": {
                    "goal": "get it done",
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


def decision(prompt: str) -> dict[str, Any]:
    return {"type": "decision", "prompt": prompt, "options": ["proceed"], "dialog_option_id": None}


def proceed(request_id: str) -> HumanInLoopResponse:
    return HumanInLoopResponse(
        interaction_id=request_id,
        response_type=HumanInteractionType.DECISION,
        decision="proceed",
    )


def chat_client(fake: FakeModel) -> OpenRouterClient:
    return OpenRouterClient(
        token="test-token", transport=fake, max_retries=0, retry_initial_delay=0
    )


def sent(fake: FakeModel) -> str:
    return "\n".join(json.dumps(r.json) for r in fake.requests)


# -- answers given one at a time ------------------------------------------------------------


def test_answering_one_of_two_requests_runs_that_task_and_waits_for_the_other() -> None:
    fake = FakeModel(
        [
            plan(
                task("t1", "deploy", human=decision("Deploy?")),
                task("t2", "notify", human=decision("Notify?")),
            ),
            outcome("deployed"),
        ],
        strict_script=True,
    )
    agent = AgentClient(chat_client(fake), human_in_loop=True)
    response = agent.agent("Ship it", Summary)
    first, second = response.human_interaction_requests
    assert first.task_id != second.task_id

    # the seed's loop answers response.human_interaction_request, one request per call
    response = agent.agent(
        "Continue", Summary, agent_id=response.agent_id, human_response=proceed(first.id)
    )
    assert response.is_waiting_for_human()
    assert [r.id for r in response.human_interaction_requests] == [second.id]
    assert response.human_interaction_request is not None
    assert response.human_interaction_request.id == second.id
    statuses = {t.title: t.status for t in response.todo_list.tasks}  # type: ignore[union-attr]
    assert statuses == {"deploy": TaskStatus.COMPLETED, "notify": TaskStatus.WAITING_FOR_HUMAN}
    assert len(fake.requests) == 2  # the plan and the answered task, nothing else

    # asking again without an answer changes nothing and costs nothing
    again = agent.agent("Continue", Summary, agent_id=response.agent_id)
    assert [r.id for r in again.human_interaction_requests] == [second.id]
    assert len(fake.requests) == 2

    fake.add(outcome("notified"), evaluation())
    done = agent.agent(
        "Continue", Summary, agent_id=response.agent_id, human_response=proceed(second.id)
    )
    assert done.is_complete()
    assert done.final_response == Summary(summary="all done")
    assert len(fake.requests) == 4


def test_the_seed_loop_answering_the_first_request_each_time_completes() -> None:
    fake = FakeModel(
        [
            plan(
                task("a", "one", human=decision("One?")),
                task("b", "two", human=decision("Two?")),
                task("c", "three", deps=["a"], human=decision("Three?")),
            ),
            *[outcome("ok")] * 3,
            evaluation(),
        ],
        strict_script=True,
    )
    agent = AgentClient(chat_client(fake), human_in_loop=True)
    response = agent.agent("Go", Summary)
    answered = 0
    while not response.is_complete():
        request = response.human_interaction_request
        assert request is not None
        response = agent.agent(
            "Continue", Summary, agent_id=response.agent_id, human_response=proceed(request.id)
        )
        answered += 1
        assert answered <= 3
    assert answered == 3
    assert all(t.status == TaskStatus.COMPLETED for t in response.todo_list.tasks)  # type: ignore[union-attr]


def test_a_loop_that_makes_no_progress_raises_instead_of_spinning() -> None:
    fake = FakeModel([plan(task("t1", "work"))], strict_script=True)
    agent = AgentClient(chat_client(fake))

    def broken_step(session: Any, task: Any, final: Any, streaming: bool) -> Any:
        return  # changes nothing (an event generator that yields none)
        yield

    agent._execute = broken_step  # type: ignore[method-assign]
    with pytest.raises(AgentError, match="made no progress"):
        agent.agent("Go", Summary)


def test_repeated_task_ids_from_the_model_stay_distinct_tasks() -> None:
    fake = FakeModel(
        [
            plan(
                task("t1", "first", human=decision("First?")),
                task("t1", "second", human=decision("Second?")),
                task("t2", "last", deps=["t1"]),
            ),
            outcome("first done"),
        ],
        strict_script=True,
    )
    agent = AgentClient(chat_client(fake), human_in_loop=True)
    response = agent.agent("Go", Summary)
    tasks = response.todo_list.tasks  # type: ignore[union-attr]
    assert len({t.id for t in tasks}) == 3
    assert tasks[2].dependencies == [tasks[0].id, tasks[1].id]
    first, second = response.human_interaction_requests
    assert {first.task_id, second.task_id} == {tasks[0].id, tasks[1].id}

    response = agent.agent(
        "Continue", Summary, agent_id=response.agent_id, human_response=proceed(first.id)
    )
    assert [r.id for r in response.human_interaction_requests] == [second.id]
    fake.add(outcome("second done"), outcome("last done"), evaluation())
    done = agent.agent(
        "Continue", Summary, agent_id=response.agent_id, human_response=proceed(second.id)
    )
    assert done.is_complete()
    assert [t.result for t in done.todo_list.tasks] == ["first done", "second done", "last done"]  # type: ignore[union-attr]


# -- secrets across processes ---------------------------------------------------------------

JIRA = DialogOption(id="jira", title="Jira login", provides=["auth_token"])


def jira_agent(
    fake: FakeModel, store: Any, seen: list[str], *, secret_key: str | None
) -> AgentClient:
    def fetch_story(story_id: str, auth_token: str) -> str:
        """Fetch a story."""
        seen.append(auth_token)
        return f"{story_id}: the login page"

    agent = AgentClient(
        ToolClient(chat_client(fake)),
        human_in_loop=True,
        dialog_options=[JIRA],
        session_handler=store,
        secret_key=secret_key,
    )
    agent.register_tool("fetch_story", "Fetch a Jira story", fetch_story)
    return agent


def login(request_id: str, token: str) -> HumanInLoopResponse:
    return HumanInLoopResponse(
        interaction_id=request_id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira",
        additional_context=f"auth_token:{token}",
    )


def test_a_process_without_the_key_asks_for_the_secret_again(tmp_path: Path) -> None:
    store = FileSessionHandler(tmp_path, fsync=False)
    seen: list[str] = []
    fake = FakeModel(
        [
            plan(task("t1", "fetch", tools=["fetch_story"]), task("t2", "think")),
            outcome("thought about it"),  # what can run without the human runs first
            Failure(400, "this process stops here"),  # right after the answer was saved
        ],
        strict_script=True,
    )
    first = jira_agent(fake, store, seen, secret_key="key-of-process-one")
    paused = first.agent("Summarise PROJ-1", Summary)
    request = paused.human_interaction_request
    assert request is not None
    assert len(fake.requests) == 2
    with pytest.raises(BadRequestError):
        first.agent(
            "Continue", Summary, agent_id=paused.agent_id, human_response=login(request.id, "tok-1")
        )
    assert seen == []

    # another process, configured with another key: the stored secret is unreadable there
    second = jira_agent(fake, store, seen, secret_key="key-of-process-two")
    again = second.agent("Continue", Summary, agent_id=paused.agent_id)
    assert again.is_waiting_for_human()  # not stuck in executing_tasks, not an exception
    new_request = again.human_interaction_request
    assert new_request is not None
    assert new_request.id != request.id
    assert new_request.dialog_option_id == "jira"
    assert seen == []
    assert len(fake.requests) == 3  # asking again cost no LLM call
    statuses = {t.title: t.status for t in again.todo_list.tasks}  # type: ignore[union-attr]
    assert statuses == {"fetch": TaskStatus.WAITING_FOR_HUMAN, "think": TaskStatus.COMPLETED}

    fake.add(
        Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]),
        outcome("PROJ-1 is the login page"),
        evaluation(),
    )
    done = second.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=login(new_request.id, "tok-2")
    )
    assert done.is_complete(), done.error
    assert seen == ["tok-2"]


def test_a_task_whose_tools_need_no_secret_runs_where_the_secret_is_unreadable(
    tmp_path: Path,
) -> None:
    store = FileSessionHandler(tmp_path, fsync=False)
    seen: list[str] = []
    fake = FakeModel(
        [
            plan(task("t1", "fetch", tools=["fetch_story"])),
            Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]),
            outcome("fetched"),
            evaluation(),
        ],
        strict_script=True,
    )
    first = jira_agent(fake, store, seen, secret_key="key-one")
    paused = first.agent("Summarise", Summary)
    request = paused.human_interaction_request
    assert request is not None
    done = first.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=login(request.id, "tok")
    )
    assert done.is_complete()

    # the next request, in a process with another key, needs no secret: it just runs
    fake.add(plan(task("t1", "think")), outcome("thought"), evaluation())
    second = jira_agent(fake, store, seen, secret_key="key-two")
    follow_up = second.agent("And now think", Summary, agent_id=paused.agent_id)
    assert follow_up.is_complete(), follow_up.error
    assert seen == ["tok"]


@pytest.mark.parametrize("make_store", ["file", "memory", "with_key"])
def test_dialog_options_with_a_shared_store_and_no_key_warn(
    make_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MBXAI_SECRET_KEY", raising=False)
    client = chat_client(FakeModel())
    store: Any = (
        InMemorySessionHandler() if make_store == "memory" else FileSessionHandler(tmp_path)
    )
    key = "app-key" if make_store == "with_key" else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AgentClient(
            client, human_in_loop=True, dialog_options=[JIRA], session_handler=store, secret_key=key
        )
    ours = [w for w in caught if issubclass(w.category, MBXAIWarning)]
    if make_store == "file":
        assert len(ours) == 1
        assert "secret_key" in str(ours[0].message)
        assert ours[0].filename == __file__  # points at the caller's line
    else:
        assert ours == []


# -- timeouts -------------------------------------------------------------------------------


def test_tool_timeout_holds_for_a_sync_tool_inside_an_agent_task() -> None:
    release = threading.Event()
    runs: list[str] = []

    def slow_lookup(query: str) -> str:
        """Look something up, slowly."""
        runs.append(query)
        release.wait(20)
        return "found"

    fake = FakeModel(
        [
            plan(task("t1", "look up", tools=["slow_lookup"])),
            Reply(tool_calls=[call("slow_lookup", query="x")]),
            Reply(tool_calls=[call("slow_lookup", query="x")]),  # the model tries once more
            outcome("the lookup timed out"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = AgentClient(ToolClient(chat_client(fake), tool_timeout=0.3))
    agent.register_tool("slow_lookup", "Look up", slow_lookup)
    started = time.monotonic()
    try:
        done = agent.agent("Look it up", Summary)
    finally:
        release.set()
    assert time.monotonic() - started < 10  # bounded by the timeout, not by the tool
    assert done.is_complete()
    results = [m["content"] for m in fake.requests[3].json["messages"] if m.get("role") == "tool"]
    assert "timed out" in results[0] or "within 0.3" in results[0]
    # the timed-out call may still take effect: it is never run a second time
    assert runs == ["x"]
    assert "may or may not have taken effect" in results[1]


# -- secrets in results and in the store ----------------------------------------------------


def stored_bytes(directory: Path) -> bytes:
    """Every byte the file store wrote."""
    return b"".join(path.read_bytes() for path in directory.glob("*.json"))


TRICKY = ['tok"en,with\\odd\nchars', "pl4in-token-value", "ünïcode-tökén"]


@pytest.mark.parametrize("secret", TRICKY)
def test_an_echoed_secret_is_masked_for_the_model_and_in_the_store(
    secret: str, tmp_path: Path
) -> None:
    store = FileSessionHandler(tmp_path, fsync=False)

    def whoami(auth_token: str) -> dict[str, Any]:
        """Who am I."""
        return {"token": auth_token, "nested": [repr(auth_token), {auth_token: "key"}]}

    fake = FakeModel(
        [
            plan(task("t1", "whoami", tools=["whoami"])),
            Reply(tool_calls=[call("whoami")]),
            Failure(400, "stop here, with the result journaled"),
        ],
        strict_script=True,
    )
    agent = AgentClient(
        ToolClient(chat_client(fake)),
        human_in_loop=True,
        dialog_options=[JIRA],
        session_handler=store,
        secret_key="app-key",
    )
    agent.register_tool("whoami", "Who am I", whoami)
    paused = agent.agent("Who am I?", Summary)
    request = paused.human_interaction_request
    assert request is not None
    answer = HumanInLoopResponse(
        interaction_id=request.id,
        response_type=HumanInteractionType.DIALOG_OPTION,
        dialog_option_id="jira",
        additional_context="auth_token:" + json.dumps(secret),
    )
    with pytest.raises(BadRequestError):
        agent.agent("Continue", Summary, agent_id=paused.agent_id, human_response=answer)

    stored = stored_bytes(tmp_path)
    record = store.get_session(paused.agent_id)
    assert record is not None
    assert record["journal"], "the finished call is journaled"
    for form in {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1]}:
        assert form not in sent(fake)
        assert form.encode() not in stored
        assert form not in json.dumps(record)
    assert "[hidden]" in sent(fake)

    # resumed, the journaled (masked) result is replayed, not the tool run again
    fake.add(Reply(tool_calls=[call("whoami")]), outcome("it is me"), evaluation())
    done = agent.agent("Continue", Summary, agent_id=paused.agent_id)
    assert done.is_complete()
    assert secret not in sent(fake)


def test_a_secret_with_commas_reaches_the_tool_whole() -> None:
    seen: list[str] = []
    secret = "pa,ss:wo,rd"
    fake = FakeModel(
        [
            plan(task("t1", "fetch", tools=["fetch_story"])),
            Reply(tool_calls=[call("fetch_story", story_id="PROJ-1")]),
            outcome("fetched"),
            evaluation(),
        ],
        strict_script=True,
    )
    agent = jira_agent(fake, InMemorySessionHandler(), seen, secret_key="app-key")
    paused = agent.agent("Fetch", Summary)
    request = paused.human_interaction_request
    assert request is not None
    done = agent.agent(
        "Continue", Summary, agent_id=paused.agent_id, human_response=login(request.id, secret)
    )
    assert done.is_complete()
    assert seen == [secret]
    for part in ("ss:wo", "wo,rd", "pa,ss"):
        assert part not in sent(fake)


def test_the_journal_key_does_not_depend_on_injected_secrets() -> None:
    keys: list[str] = []
    for pin in ("123456", "654321"):
        store = InMemorySessionHandler()

        def unlock(door: str, pin: str) -> str:
            """Unlock a door."""
            return "open"

        option = DialogOption(id="pin", title="PIN", provides=["pin"])
        fake = FakeModel(
            [
                plan(task("t1", "unlock", tools=["unlock"])),
                Reply(tool_calls=[call("unlock", door="front")]),
                Failure(400, "stop with the call journaled"),
            ],
            strict_script=True,
        )
        agent = AgentClient(
            ToolClient(chat_client(fake)),
            human_in_loop=True,
            dialog_options=[option],
            session_handler=store,
            secret_key="app-key",
        )
        agent.register_tool("unlock", "Unlock a door", unlock)
        paused = agent.agent("Open the door", Summary)
        request = paused.human_interaction_request
        assert request is not None
        answer = HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DIALOG_OPTION,
            additional_context=f"pin:{pin}",
        )
        with pytest.raises(BadRequestError):
            agent.agent("Go", Summary, agent_id=paused.agent_id, human_response=answer)
        record = store.get_session(paused.agent_id)
        assert record is not None
        (entry,) = record["journal"]
        assert pin not in json.dumps(record)
        keys.append(entry["key"])
    # nothing in the stored key depends on the PIN, so nothing can be recovered from it
    assert keys[0] == keys[1]


def test_a_huge_tool_result_is_clipped_for_the_model() -> None:
    def dump() -> str:
        """Dump everything."""
        return "x" * 2_000_000

    fake = FakeModel([Reply(tool_calls=[call("dump")]), "done"], strict_script=True)
    client = ToolClient(chat_client(fake), max_result_chars=1000)
    client.register_tool("dump", "Dump", dump)
    client.chat([{"role": "user", "content": "dump"}])

    def tool_messages(request: FakeRequest) -> list[str]:
        return [m["content"] for m in request.messages if m.get("role") == "tool"]

    (content,) = tool_messages(fake.requests[1])
    assert len(content) < 1200
    assert "clipped" in content
    assert "2000000" in content


# -- usage sums -----------------------------------------------------------------------------


def usage(prompt: int, cached: int, cost: float) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": 1,
        "total_tokens": prompt + 1,
        "cost": cost,
        "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 1},
        "completion_tokens_details": {"reasoning_tokens": 1},
        "cost_details": {"upstream_inference_cost": cost / 2},
        "is_byok": False,
    }


def test_usage_sums_keep_every_count_across_tool_rounds_and_agent_steps() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    fake = FakeModel(
        [
            Reply(tool_calls=[call("ping")], usage=usage(10, 4, 0.5)),
            Reply(content="pong received", usage=usage(20, 8, 0.25)),
        ],
        strict_script=True,
    )
    tools = ToolClient(chat_client(fake))
    tools.register_tool("ping", "Ping", ping)
    response = tools.chat([{"role": "user", "content": "ping"}])
    total = response.usage
    assert total is not None
    assert (total.prompt_tokens, total.completion_tokens, total.total_tokens) == (30, 2, 32)
    assert total.cost == 0.75
    assert total.prompt_tokens_details is not None
    assert total.prompt_tokens_details.cached_tokens == 12
    assert total.model_dump()["prompt_tokens_details"]["cache_write_tokens"] == 2
    assert total.reasoning_tokens == 2
    assert total.model_dump(exclude_none=True)["cost_details"] == {"upstream_inference_cost": 0.375}

    steps = FakeModel(
        [
            Reply(content=plan(task("t1", "one")).content, usage=usage(100, 50, 1.0)),
            Reply(content=outcome("done").content, usage=usage(10, 0, 0.5)),
            Reply(content=evaluation().content, usage=usage(20, 10, 0.25)),
        ],
        strict_script=True,
    )
    done = AgentClient(chat_client(steps)).agent("Go", Summary)
    summary = done.token_summary
    assert summary.planning.usage is not None
    assert summary.planning.usage.prompt_tokens_details is not None
    assert summary.planning.usage.prompt_tokens_details.cached_tokens == 50
    whole = summary.total.usage
    assert whole is not None
    assert whole.prompt_tokens == 130
    assert whole.prompt_tokens_details is not None
    assert whole.prompt_tokens_details.cached_tokens == 60
    assert whole.model_dump(exclude_none=True)["cost_details"] == {"upstream_inference_cost": 0.875}
    assert summary.total.cost == 1.75
