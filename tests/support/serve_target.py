"""A module for ``python -m mbxai.serve tests.support.serve_target:agent``: an agent on a
scripted FakeModel that answers a one-task run, and the models it may answer with."""

from __future__ import annotations

import json

from pydantic import BaseModel

from mbxai import AsyncAgentClient, AsyncOpenRouterClient
from mbxai.serve import create_app
from mbxai.testing import FakeModel, Reply


class Greeting(BaseModel):
    text: str


def _replies() -> list[Reply]:
    analysis = {"goal": "greet", "success_criteria": ["greeted"], "constraints": []}
    task = {"id": "t1", "title": "greet", "description": "greet", "dependencies": [], "tools": []}
    plan = {
        "requirement_analysis": {**analysis, "complexity_estimate": 1},
        "tool_analysis": {"relevant_tools": [], "missing_capabilities": []},
        "tasks": [{**task, "estimated_complexity": 1, "human_interaction": None}],
    }
    evaluation = {
        "goal_evaluation": {
            "goal_achieved": True,
            "completion_percentage": 100,
            "feedback": "ok",
            "missing_elements": [],
        },
        "final_response": {"text": "hello from the service"},
        "follow_up_tasks": [],
    }
    outcome = {"status": "completed", "result": "greeted", "question": None}
    return [Reply(content=json.dumps(x)) for x in (plan, outcome, evaluation)]


agent = AsyncAgentClient(
    AsyncOpenRouterClient(token="test-token", transport=FakeModel(_replies(), strict_script=True))
)

#: An app already built: its settings are create_app's, not the command line's.
app = create_app(agent, [Greeting])
