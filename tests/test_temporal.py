"""Durable agents on a real Temporal dev server (tests/fix_temporal.py starts it).

* A worker process is killed (SIGKILL) in the middle of a run; another worker continues
  it: the finished tool call is not run again and the run completes.
* A run pauses for a human; the answer (a dialog option's credential) goes through a
  workflow update, the tool gets it, and the workflow history holds no plain secret.
* The sync client (the background loop) starts and answers a run the same way.

temporalio is asyncio-only: the async tests run on asyncio, not trio.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

if not os.environ.get("CI"):  # in CI a missing SDK is a failure (nox -s tests installs it)
    pytest.importorskip("temporalio")

from temporalio.client import Client
from temporalio.worker import Replayer

from mbxai import (
    ConfigurationError,
    HumanInLoopResponse,
    HumanInteractionType,
    HumanResponseError,
    SessionNotFoundError,
)
from mbxai.temporal import (
    AgentWorkflow,
    AsyncTemporalAgentClient,
    TemporalAgentClient,
    data_converter,
    sandbox_runner,
)
from mbxai.testing import Failure, Reply, call
from tests.fix_temporal import LLMServer
from tests.support.agent_replies import evaluation, outcome, plan
from tests.support.temporal_app import KEY, Summary, build

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def temporal(temporal_target: str) -> Client:
    return await Client.connect(temporal_target, data_converter=data_converter(KEY))


def _effects(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _history_text(events: Any) -> str:
    return "\n".join(str(event) for event in events)


@pytest.mark.anyio
async def test_a_killed_worker_s_run_goes_on_in_another_and_no_tool_runs_twice(
    temporal: Client, temporal_target: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    queue, name = f"q-{uuid.uuid4().hex}", f"steps-{uuid.uuid4().hex[:8]}"
    llm_server.fake.add(
        plan("step"),
        Reply(tool_calls=[call("step", n=1)]),
        Reply(tool_calls=[call("step", n=2)]),
        outcome("two steps"),
        evaluation("both steps done"),
    )
    llm_server.hold(2)  # the request after step 1: the first worker dies while it waits
    first = await anyio.open_process(
        [sys.executable, "-m", "tests.support.temporal_app", temporal_target, queue, name,
         llm_server.url, str(effects)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        clients = AsyncTemporalAgentClient(temporal, name, task_queue=queue)
        handle = await temporal.start_workflow(
            "mbxai.Agent",
            {"agent": name, "prompt": "Do both steps", "final": f"{Summary.__module__}:Summary"},
            id=f"run-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        assert await anyio.to_thread.run_sync(llm_server.reached.wait, 60), (
            "the run never reached the second model request"
        )
        assert _effects(effects) == [{"tool": "step", "n": 1}]
        first.send_signal(signal.SIGKILL)
        await first.wait()
        llm_server.release()
        second = build(name, llm_server.url, effects)
        async with second.worker(temporal, task_queue=queue):
            done = await clients.agent("Do both steps", Summary, agent_id=handle.id)
            await handle.result()
    finally:
        if first.returncode is None:
            first.kill()
        await first.wait()
    assert done.is_complete(), done
    assert done.final_response == Summary(summary="both steps done")
    assert _effects(effects) == [{"tool": "step", "n": 1}, {"tool": "step", "n": 2}]
    assert llm_server.fake.pending == 0


@pytest.mark.anyio
async def test_a_human_answers_through_an_update_and_no_secret_enters_the_history(
    temporal: Client, llm_server: LLMServer, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    secret = f's3cret,"{uuid.uuid4().hex}\\\n'
    queue, name = f"q-{uuid.uuid4().hex}", f"jira-{uuid.uuid4().hex[:8]}"
    llm_server.fake.add(
        Failure(503),  # retried by Temporal, as the client's retry schedule says
        plan("fetch_story"),
        Reply(tool_calls=[call("fetch_story", key="PROJ-1")]),
        outcome("PROJ-1: build the login page"),
        evaluation("the story is about the login page"),
    )
    durable = build(name, llm_server.url, effects)
    clients = AsyncTemporalAgentClient(temporal, name, task_queue=queue)
    async with durable.worker(temporal, task_queue=queue):
        paused = await clients.agent("Summarise PROJ-1", Summary)
        request = paused.human_interaction_request
        assert request is not None, paused
        assert request.interaction_type == HumanInteractionType.DIALOG_OPTION
        assert paused.agent_id  # the workflow id
        info = await clients.get_session_info(paused.agent_id)
        assert info is not None
        assert info["state"] == "waiting_for_human"
        assert await clients.get_session_info("no-such-run") is None
        with pytest.raises(SessionNotFoundError):
            await clients.agent("Go on", Summary, agent_id="no-such-run")
        with pytest.raises(HumanResponseError):
            await clients.agent(
                "Go on",
                Summary,
                agent_id=paused.agent_id,
                human_response=HumanInLoopResponse(
                    interaction_id="nope", response_type=HumanInteractionType.QUESTION, answer="x"
                ),
            )
        answer = HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DIALOG_OPTION,
            dialog_option_id="jira_auth",
            additional_context=f"auth_token:{secret}",
        )
        # The same answer twice at once (two browser tabs): one is taken, one refused.
        outcomes: list[Any] = []

        async def send() -> None:
            try:
                outcomes.append(
                    await clients.agent(
                        "Go on", Summary, agent_id=paused.agent_id, human_response=answer
                    )
                )
            except HumanResponseError as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(send)
            group.start_soon(send)
        refused = [o for o in outcomes if isinstance(o, HumanResponseError)]
        (done,) = [o for o in outcomes if not isinstance(o, HumanResponseError)]
        assert len(refused) == 1
        assert done.is_complete(), done
        assert done.final_response == Summary(summary="the story is about the login page")
        assert _effects(effects) == [{"tool": "fetch_story", "ok": True}]
        history = await temporal.get_workflow_handle(paused.agent_id).fetch_history()
    # The history replays to the same decisions (the workflow is deterministic).
    replayer = Replayer(
        workflows=[AgentWorkflow],
        workflow_runner=sandbox_runner(),
        data_converter=temporal.data_converter,
    )
    await replayer.replay_workflow(history)
    text = _history_text(history.events)
    assert "auth_token" not in text
    assert secret.strip() not in text
    assert "PROJ-1" not in text  # every payload is encrypted, not only the secret
    # The store mirror holds the record too, its secret encrypted.
    stored = durable.agent.session_handler.get_session(paused.agent_id)
    assert stored["state"] == "completed"
    assert secret not in json.dumps(stored)
    for recorded in llm_server.fake.requests:
        assert secret not in json.dumps(recorded.json)


@pytest.mark.anyio
async def test_a_tool_s_timeout_is_its_activity_s_and_the_model_is_told(
    temporal: Client, llm_server: LLMServer, tmp_path: Path
) -> None:
    queue, name = f"q-{uuid.uuid4().hex}", f"slow-{uuid.uuid4().hex[:8]}"
    llm_server.fake.add(
        plan("slow"),
        Reply(tool_calls=[call("slow")]),
        outcome("the tool was too slow"),
        evaluation("gave up on the slow tool"),
    )
    durable = build(name, llm_server.url, tmp_path / "effects.jsonl")
    clients = AsyncTemporalAgentClient(temporal, name, task_queue=queue)
    async with durable.worker(temporal, task_queue=queue):
        done = await clients.agent("Use the slow tool", Summary)
    assert done.is_complete(), done
    (told,) = [m for m in llm_server.fake.requests[2].messages if m["role"] == "tool"]
    assert "ToolOutcomeUnknown" in told["content"]
    assert "did not finish in time" in told["content"]
    assert "too late" not in told["content"]


def test_the_sync_client_starts_a_run_and_answers_a_tool_approval(
    temporal_target: str, llm_server: LLMServer, tmp_path: Path
) -> None:
    effects = tmp_path / "effects.jsonl"
    queue, name = f"q-{uuid.uuid4().hex}", f"deploy-{uuid.uuid4().hex[:8]}"
    llm_server.fake.add(
        plan("deploy"),
        Reply(tool_calls=[call("deploy", env="prod")]),
        outcome("deployed"),
        evaluation("prod runs the build"),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.support.temporal_app", temporal_target, queue, name,
         llm_server.url, str(effects)],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        clients = TemporalAgentClient.connect(
            temporal_target, name, task_queue=queue, secret_key=KEY
        )
        paused = clients.agent("Deploy to prod", Summary)
        request = paused.human_interaction_request
        assert request is not None, paused
        assert request.interaction_type == HumanInteractionType.TOOL_APPROVAL
        assert (request.tool, request.arguments) == ("deploy", {"env": "prod"})
        assert _effects(effects) == []  # nothing ran before the approval
        done = clients.agent(
            "Go on",
            Summary,
            agent_id=paused.agent_id,
            human_response=HumanInLoopResponse(
                interaction_id=request.id,
                response_type=HumanInteractionType.TOOL_APPROVAL,
                decision="approve",
            ),
        )
        info = clients.get_session_info(paused.agent_id)
    finally:
        worker.kill()
        worker.wait(10)
    assert done.is_complete(), done
    assert done.final_response == Summary(summary="prod runs the build")
    assert _effects(effects) == [{"tool": "deploy", "env": "prod"}]
    assert info is not None
    assert info["state"] == "completed"


def test_payloads_and_failures_are_encrypted_with_the_agent_s_key() -> None:
    converter = data_converter(KEY)
    assert converter.failure_converter_class is not None
    assert "EncodedAttributes" in converter.failure_converter_class.__name__
    with pytest.raises(ConfigurationError, match="secret_key"):
        data_converter(None)


def test_the_docs_example_runs_on_the_dev_server(temporal_target: str) -> None:
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_target}
    env.pop("OPENROUTER_API_KEY", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "durable_agent.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "waiting: deploy({'version': '1.2.3'}), deployed so far: []" in result.stdout
    assert "completed version='1.2.3' deployed=True" in result.stdout
    assert "deployed: ['1.2.3']" in result.stdout
