"""A durable agent for the Temporal tests: built the same way by the test process and by
the worker processes it starts (``python -m tests.support.temporal_app ...``).

Its tools record each run in a file (one line per call), so a test counts how often a
tool ran across processes; the model is a loopback HTTP server the test runs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel

from mbxai import AsyncAgentClient, AsyncOpenRouterClient, AsyncToolClient, DialogOption
from mbxai.temporal import TemporalAgent, data_converter

__all__ = ["KEY", "Summary", "build"]

#: The agent's secret key (payload codec and dialog-option secrets).
KEY = "temporal-tests-key"


class Summary(BaseModel):
    """The final response structure of the durable runs."""

    summary: str


def build(name: str, base_url: str, effects: Path) -> TemporalAgent:
    """The agent: two tools that record their calls in ``effects``, a human in the loop."""
    chat = AsyncOpenRouterClient(
        token="test", base_url=base_url, timeout=5, max_retries=2, retry_initial_delay=0.01
    )
    tools = AsyncToolClient(chat)
    agent = AsyncAgentClient(
        tools,
        human_in_loop=True,
        dialog_options=[DialogOption(id="jira_auth", title="Jira login", provides=["auth_token"])],
        secret_key=KEY,
    )

    def step(n: int) -> str:
        """Do step number n."""
        with effects.open("a") as out:
            out.write(json.dumps({"tool": "step", "n": n}) + "\n")
        return f"step {n} done"

    def fetch_story(key: str, auth_token: str) -> str:
        """Fetch a Jira story."""
        with effects.open("a") as out:
            out.write(json.dumps({"tool": "fetch_story", "ok": auth_token.startswith("s3")}) + "\n")
        return f"story {key}: build the login page"

    def deploy(env: str) -> str:
        """Deploy to an environment."""
        with effects.open("a") as out:
            out.write(json.dumps({"tool": "deploy", "env": env}) + "\n")
        return f"deployed to {env}"

    async def slow() -> str:
        """Take longer than allowed."""
        await asyncio.sleep(5)
        return "too late"

    # On the tool client: its timeout is the activity's start_to_close_timeout.
    tools.register_tool("slow", "Take a while", slow, timeout=1)
    agent.register_tool("deploy", "Deploy the build", deploy, requires_approval=True)
    agent.register_tool("step", "Do one step", step)
    agent.register_tool("fetch_story", "Fetch a Jira story", fetch_story)
    return TemporalAgent(agent, name=name, llm_timeout=timedelta(seconds=4))


async def _worker(target: str, queue: str, name: str, base_url: str, effects: str) -> None:
    from temporalio.client import Client

    client = await Client.connect(target, data_converter=data_converter(KEY))
    durable = build(name, base_url, Path(effects))
    # A dying worker's sticky queue is given up on soon, so another worker takes over.
    worker = durable.worker(
        client, task_queue=queue, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(_worker(*sys.argv[1:6]))
