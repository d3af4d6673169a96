"""An MCP server's request for user input (elicitation) during an agent's task becomes a
human-in-the-loop request of the agent, answered through the seed's HumanInLoopResponse;
against our MCPServer over HTTP, started by the test. Written once (async), generated
for sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from mbxai import (
    AsyncAgentClient,
    AsyncMCPClient,
    AsyncOpenRouterClient,
    HumanElicitation,
    HumanInLoopResponse,
    HumanInteractionType,
    HumanResponseError,
    InMemorySessionHandler,
)
from mbxai.mcp_server import RunningMCPServer
from mbxai.testing import FakeModel
from tests.fix_mcp import interactive_server
from tests.support.agent_replies import AgentModel, Summary

pytestmark = pytest.mark.anyio
mcp = pytest.importorskip("mcp")


@pytest.fixture(scope="module")
def interactive() -> Iterator[RunningMCPServer]:
    with interactive_server().serve_http() as running:
        yield running


def tool_results(fake: FakeModel) -> list[str]:
    return [m["content"] for r in fake.requests for m in r.json["messages"] if m["role"] == "tool"]


async def test_an_elicitation_in_a_task_pauses_the_run_and_the_answer_reaches_the_server(
    interactive: RunningMCPServer,
) -> None:
    script = AgentModel(tool="ask_user", arguments={"question": "Who are you?"})
    fake = FakeModel(script.script())
    store = InMemorySessionHandler()
    async with AsyncMCPClient(
        AsyncOpenRouterClient(token="test", transport=fake, max_retries=0)
    ) as client:
        await client.register_mcp_server(
            "i", interactive.url, timeout=10, elicitation=HumanElicitation()
        )
        agent = AsyncAgentClient(client, human_in_loop=True, session_handler=store)
        first = await agent.agent("Find out who the user is", Summary)

        assert first.is_waiting_for_human()
        (request,) = first.human_interaction_requests
        assert request.interaction_type == HumanInteractionType.QUESTION
        assert "Who are you?" in request.prompt
        assert request.task_id is not None
        # the server was told "cancel" meanwhile; the task did not finish on that
        assert tool_results(fake) == ['{"action":"cancel","content":null}']
        assert first.todo_list is not None
        assert first.todo_list.tasks[0].result is None

        # an answer that does not fit the server's form changes nothing
        with pytest.raises(HumanResponseError, match="must be a number"):
            await agent.agent(
                "",
                Summary,
                agent_id=first.agent_id,
                human_response=HumanInLoopResponse(
                    interaction_id=request.id,
                    response_type=HumanInteractionType.QUESTION,
                    answer="name:Zoltan, age:old",
                ),
            )
        assert len(fake.requests) == 3  # plan, the tool round, the outcome: nothing more

        done = await agent.agent(
            "",
            Summary,
            agent_id=first.agent_id,
            human_response=HumanInLoopResponse(
                interaction_id=request.id,
                response_type=HumanInteractionType.QUESTION,
                answer="name:Zoltan, age:42",
            ),
        )
        assert done.is_complete()
        assert tool_results(fake)[-1] == '{"action":"accept","content":{"name":"Zoltan","age":42}}'
        assert client.pending_human_requests() == []
        # the answer was for the server: the session store never holds it
        stored: Any = store.get_session(first.agent_id)
        assert "Zoltan" not in json.dumps(stored, default=str)


async def test_without_a_human_the_server_is_told_cancel_and_the_task_goes_on(
    interactive: RunningMCPServer,
) -> None:
    fake = FakeModel(AgentModel(tool="ask_user", arguments={"question": "Who?"}).script())
    async with AsyncMCPClient(
        AsyncOpenRouterClient(token="test", transport=fake, max_retries=0)
    ) as client:
        await client.register_mcp_server(
            "i", interactive.url, timeout=10, elicitation=HumanElicitation()
        )
        agent = AsyncAgentClient(client, human_in_loop=False)
        response = await agent.agent("Find out who the user is", Summary)
    assert response.is_complete()
    assert tool_results(fake) == ['{"action":"cancel","content":null}']
