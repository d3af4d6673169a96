"""Secrets: an API key and a dialog-option secret never leak, whatever goes wrong.

A whole agent run (plan, a pause for a login dialog, a tool that fails quoting its
credential, a retried server error, the tool again, evaluation) goes to the loopback
fault server, which records every request. Every log line (stdlib ``logging`` at DEBUG,
and structlog's own output), every repr, every request body and header, every event and
every stored byte is then searched for both secrets. Written once (async), generated
for sync.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from mbxai import (
    AgentEvent,
    AsyncAgentClient,
    AsyncFileSessionHandler,
    AsyncOpenRouterClient,
    AsyncToolClient,
    AuthenticationError,
    DialogOption,
    HumanInLoopResponse,
    HumanInteractionType,
)
from tests.faults_matrix import row
from tests.fix_fault_server import FaultServer, reply, status, tool_reply
from tests.support.agent_replies import Summary, evaluation, outcome, plan

pytestmark = pytest.mark.anyio


def leaks(secret: str, **places: Any) -> list[str]:
    """The names of the places whose text contains ``secret``."""
    return [name for name, text in places.items() if secret in str(text)]


def log_text(caplog: pytest.LogCaptureFixture, structlog_events: list[Any]) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(repr(record.exc_info[1]))
        lines.append(repr(record.__dict__))
    lines += [repr(event) for event in structlog_events]
    return "\n".join(lines)


@row(
    "Secrets",
    "API key + dialog secret through a faulty agent run",
    "neither in logs, reprs, events, requests (key only in Authorization) or stored bytes",
)
async def test_no_secret_escapes_a_faulty_run(
    fault_server: FaultServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = f"sk-or-v1-{uuid.uuid4().hex}"
    secret = f"jira-{uuid.uuid4().hex}"  # not key-shaped: only registration can hide it
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def fetch_story(story_id: str, auth_token: str) -> dict[str, Any]:
        """Fetch a Jira story."""
        seen.append(auth_token)
        if len(seen) == 1:
            raise PermissionError(f"token {auth_token} was rejected by Jira")
        return {"id": story_id, "title": "Login page"}

    events: list[AgentEvent] = []
    store = AsyncFileSessionHandler(tmp_path / "sessions", fsync=False)
    client = AsyncOpenRouterClient(
        token=key, base_url=fault_server.url, max_retries=2, retry_initial_delay=0, timeout=2
    )
    agent = AsyncAgentClient(
        AsyncToolClient(client),
        human_in_loop=True,
        dialog_options=[DialogOption(id="jira", title="Jira login", provides=["auth_token"])],
        session_handler=store,
        secret_key="faults-app-key",
        on_event=events.append,
    )
    agent.register_tool("fetch_story", "Fetch a Jira story", fetch_story)
    fault_server.add(reply(plan("fetch_story")))
    with structlog.testing.capture_logs() as structlog_events:
        paused = await agent.agent("Summarise PROJ-1", Summary)
        request = paused.human_interaction_request
        assert request is not None
        assert request.dialog_option_id == "jira"
        answer = HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.DIALOG_OPTION,
            dialog_option_id="jira",
            additional_context=f"auth_token:{secret}",
        )
        fault_server.add(
            tool_reply(("fetch_story", '{"story_id": "PROJ-1"}')),  # the tool fails, quoting it
            status(503, {"error": {"message": "overloaded", "code": 503}}),  # retried
            tool_reply(("fetch_story", '{"story_id": "PROJ-1"}')),
            reply(outcome("PROJ-1 is the login page")),
            reply(evaluation()),
        )
        done = await agent.agent(
            "Continue", Summary, agent_id=paused.agent_id, human_response=answer
        )
    assert done.is_complete(), done.error
    assert seen == [secret, secret]  # the secret did reach the tool, both times
    assert fault_server.pending == 0

    requests = fault_server.requests
    for received in requests:
        assert received.headers["authorization"] == f"Bearer {key}"  # where the key belongs
    headers = [{k: v for k, v in r.headers.items() if k != "authorization"} for r in requests]
    stored = b"".join(
        p.read_bytes() for p in sorted((tmp_path / "sessions").rglob("*")) if p.is_file()
    )
    places = {
        "logs": log_text(caplog, structlog_events),
        "request bodies": b"".join(r.body for r in requests).decode(),
        "request headers": headers,
        "stored session": stored.decode(errors="replace"),
        "session info": await agent.get_session_info(done.agent_id),
        "reprs": [repr(x) for x in (client, agent, store, paused, done, answer, request)],
        "strs": [str(x) for x in (paused, done, answer)],
        # (the answer object itself carries the secret, as the UI sent it: not searched)
        "dumps": [done.model_dump_json(), paused.model_dump_json()],
        "events": [repr(e) for e in events],
        "html": done._repr_html_(),
    }
    assert leaks(secret, **places) == []
    assert leaks(key, **places) == []
    assert "[hidden]" in places["request bodies"]  # the failing tool's message was masked


@row(
    "Secrets",
    "provider echoes the API key in an error body",
    "the key is not in the error's str/repr/body nor in logs",
)
async def test_echoed_key_is_redacted_from_errors(
    fault_server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = f"sk-or-v1-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    body = {"error": {"message": f"No auth credentials found for {key}", "code": 401}}
    fault_server.add(status(503, body), status(401, body))
    async with AsyncOpenRouterClient(
        token=key, base_url=fault_server.url, max_retries=1, retry_initial_delay=0, timeout=2
    ) as client:
        with structlog.testing.capture_logs() as structlog_events:
            with pytest.raises(AuthenticationError) as info:
                await client.create([{"role": "user", "content": "hi"}])
    error = info.value
    places = {
        "str": str(error),
        "repr": repr(error),
        "body": json.dumps(error.body),
        "logs": log_text(caplog, structlog_events),
    }
    assert leaks(key, **places) == []
