"""Crashes and several processes, with real processes on every persistent store.

* A process running an agent is killed (SIGKILL) right after a tool ran; a new process
  resumes the run from the store to completion, and the tool's side effect happened once.
* Processes incrementing one counter through compare-and-set lose no update.

Redis and PostgreSQL are real servers started by the tests (tests/fix_db.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from mbxai import FileSessionHandler, RedisSessionHandler, SQLSessionHandler

KINDS = ["file", "redis", "sql-sqlite", "sql-postgres"]

#: The agent process. argv[1] is a JSON spec: store kind, location, flavour, mode, paths.
AGENT_CHILD = r'''
import json, os, signal, sys
from pathlib import Path

import anyio
from pydantic import BaseModel

import mbxai
from mbxai.testing import FakeModel, Reply, call

spec = json.loads(sys.argv[1])
effects = Path(spec["effects"])
id_file = Path(spec["id_file"])


class Report(BaseModel):
    summary: str


def record_side_effect(line: str) -> str:
    """Append a line to the side-effect file: the effect that must happen once."""
    with effects.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return "recorded"


def die(request):
    os.kill(os.getpid(), signal.SIGKILL)  # the tool returned; the next LLM call never ends


task = {
    "id": "t1", "title": "record", "description": "record the effect", "dependencies": [],
    "tools": ["record_side_effect"], "estimated_complexity": 1, "human_interaction": None,
}
PLAN = Reply(content=json.dumps({
    "requirement_analysis": {"goal": "record", "success_criteria": [], "constraints": [],
                             "complexity_estimate": 1},
    "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
    "tasks": [task],
}))
TOOL_STEP = Reply(tool_calls=[call("record_side_effect", line="effect")])
OUTCOME = Reply(content=json.dumps(
    {"status": "completed", "result": "recorded the effect", "question": None}))
EVALUATION = Reply(content=json.dumps({
    "goal_evaluation": {"goal_achieved": True, "completion_percentage": 100, "feedback": "",
                        "missing_elements": []},
    "final_response": {"summary": "done"},
    "follow_up_tasks": [],
}))
script = [PLAN, TOOL_STEP, die] if spec["mode"] == "first" else [TOOL_STEP, OUTCOME, EVALUATION]
fake = FakeModel(script, strict_script=True)
agent_id = None if spec["mode"] == "first" else id_file.read_text()
prefix = "Async" if spec["flavour"] == "async" else ""


def make_store():
    kind, location, name = spec["kind"], spec["location"], spec["name"]
    if kind == "file":
        return getattr(mbxai, prefix + "FileSessionHandler")(location)
    if kind == "redis":
        return getattr(mbxai, prefix + "RedisSessionHandler")(location, prefix=name + ":")
    return getattr(mbxai, prefix + "SQLSessionHandler")(location, table=name)


def on_event(event):
    if event.kind == "run_started":
        id_file.write_text(event.agent_id)


def make_agent():
    llm = getattr(mbxai, prefix + "OpenRouterClient")(token="test-token", transport=fake)
    tools = getattr(mbxai, prefix + "ToolClient")(llm)
    agent = getattr(mbxai, prefix + "AgentClient")(
        tools, session_handler=make_store(), on_event=on_event
    )
    agent.register_tool("record_side_effect", "Record the effect", record_side_effect)
    return agent


if spec["flavour"] == "sync":
    response = make_agent().agent("Record the effect once", Report, agent_id=agent_id)
else:
    async def main():
        return await make_agent().agent("Record the effect once", Report, agent_id=agent_id)

    response = anyio.run(main)
print(json.dumps({"state": response.state.value, "requests": len(fake.requests),
                  "final": response.final_response.model_dump()}))
'''

#: A process adding 1 to a shared counter ``times`` times, retrying on conflicts.
COUNTER_CHILD = r"""
import json, sys

import mbxai

spec = json.loads(sys.argv[1])
kind, location, name = spec["kind"], spec["location"], spec["name"]
if kind == "file":
    store = mbxai.FileSessionHandler(location)
elif kind == "redis":
    store = mbxai.RedisSessionHandler(location, prefix=name + ":")
else:
    store = mbxai.SQLSessionHandler(location, table=name)
conflicts = 0
for _ in range(spec["times"]):
    while True:
        current = store.get_session("counter") or {"version": 0, "count": 0}
        new = {"version": current["version"] + 1, "count": current["count"] + 1}
        try:
            store.set_session("counter", new, expected_version=current["version"])
            break
        except mbxai.SessionConflictError:
            conflicts += 1
print(json.dumps({"conflicts": conflicts}))
"""


def location(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "file":
        return str(tmp_path / "sessions")
    if kind == "redis":
        return str(request.getfixturevalue("redis_url"))
    if kind == "sql-postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'sessions.db'}"


def open_store(spec: dict[str, Any]) -> Any:
    kind, where, name = spec["kind"], spec["location"], spec["name"]
    if kind == "file":
        return FileSessionHandler(where)
    if kind == "redis":
        return RedisSessionHandler(where, prefix=name + ":")
    return SQLSessionHandler(where, table=name)


def run(script: Path, spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_killed_run_resumes_in_a_new_process_and_its_tool_ran_once(
    kind: str, flavour: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    script = tmp_path / "agent_child.py"
    script.write_text(AGENT_CHILD)
    effects = tmp_path / "effects.txt"
    spec = {
        "kind": kind,
        "location": location(kind, request, tmp_path),
        "name": f"crash{uuid.uuid4().hex[:10]}",
        "flavour": flavour,
        "effects": str(effects),
        "id_file": str(tmp_path / "agent_id"),
    }

    first = run(script, {**spec, "mode": "first"})
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert effects.read_text() == "effect\n"
    agent_id = (tmp_path / "agent_id").read_text()
    store = open_store(spec)
    stored = store.get_session(agent_id)
    assert stored is not None
    assert stored["state"] == "executing_tasks"  # killed mid-run...
    assert [entry["tool"] for entry in stored["journal"]] == [
        "record_side_effect"
    ]  # ...after the tool

    second = run(script, {**spec, "mode": "resume"})
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout.splitlines()[-1])
    assert result == {"state": "completed", "requests": 3, "final": {"summary": "done"}}
    assert effects.read_text() == "effect\n"  # the resumed task replayed the journaled call
    assert store.get_session(agent_id)["state"] == "completed"  # type: ignore[index]
    getattr(store, "close", lambda: None)()


@pytest.mark.parametrize("kind", KINDS)
def test_processes_sharing_a_store_lose_no_update(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    script = tmp_path / "counter_child.py"
    script.write_text(COUNTER_CHILD)
    processes, times = 4, 15
    spec = {
        "kind": kind,
        "location": location(kind, request, tmp_path),
        "name": f"count{uuid.uuid4().hex[:10]}",
        "times": times,
    }
    children = [
        subprocess.Popen(
            [sys.executable, str(script), json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    store = open_store(spec)
    assert store.get_session("counter") == {
        "version": processes * times,
        "count": processes * times,
    }
    getattr(store, "close", lambda: None)()
