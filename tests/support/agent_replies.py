"""Model replies for agent runs: the JSON each agent step expects (used by the fault suite)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from mbxai.testing import Reply, call

__all__ = ["AgentModel", "Summary", "decision", "evaluation", "outcome", "plan"]


class Summary(BaseModel):
    """The final response structure of the fault suite's agent runs."""

    summary: str


def plan(*tools: str, human: dict[str, Any] | None = None) -> str:
    """A one-task plan; the task uses ``tools`` and may ask a human first."""
    task = {
        "id": "t1",
        "title": "do the work",
        "description": "do the work with the tools",
        "dependencies": [],
        "tools": list(tools),
        "estimated_complexity": 2,
        "human_interaction": human,
    }
    return json.dumps(
        {
            "requirement_analysis": {
                "goal": "get it done",
                "success_criteria": ["done"],
                "constraints": [],
                "complexity_estimate": 2,
            },
            "tool_analysis": {
                "relevant_tools": [{"tool": t, "purpose": "the work"} for t in tools],
                "missing_capabilities": [],
            },
            "tasks": [task],
        }
    )


def decision() -> dict[str, Any]:
    return {
        "type": "decision",
        "prompt": "Go ahead?",
        "options": ["proceed", "wait"],
        "dialog_option_id": None,
    }


def outcome(result: str = "done") -> str:
    return json.dumps({"status": "completed", "result": result, "question": None})


def evaluation(summary: str = "all done") -> str:
    return json.dumps(
        {
            "goal_evaluation": {
                "goal_achieved": True,
                "completion_percentage": 100,
                "feedback": "ok",
                "missing_elements": [],
            },
            "final_response": {"summary": summary},
            "follow_up_tasks": [],
        }
    )


class AgentModel:
    """A FakeModel script item that answers each agent request by its kind.

    Plans one task using ``tool`` (called with ``arguments``), answers the task's tool
    round with that call and then with an outcome, and evaluates. ``faults`` maps
    ``(kind, n)`` (the n-th request of that kind, from 0) to a function run before
    answering; what it returns (a ``Failure``, say) replaces the answer. Kinds: ``plan``,
    ``tool_call``, ``outcome``, ``evaluation``. Use :meth:`script` for FakeModel.
    """

    def __init__(
        self,
        tool: str = "charge_card",
        arguments: dict[str, Any] | None = None,
        *,
        human: dict[str, Any] | None = None,
        faults: dict[tuple[str, int], Any] | None = None,
    ) -> None:
        self.tool = tool
        self.arguments = arguments if arguments is not None else {"amount": 42}
        self.human = human
        self.faults = dict(faults or {})
        self.seen: list[str] = []

    def script(self, size: int = 40) -> list[Any]:
        return [self] * size

    @staticmethod
    def kind(body: dict[str, Any]) -> str:
        fmt = (body.get("response_format") or {}).get("json_schema") or {}
        name = str(fmt.get("name", ""))
        if name == "Plan":
            return "plan"
        if name.startswith("Evaluation"):
            return "evaluation"
        messages = body.get("messages") or []
        if body.get("tools") and (not messages or messages[-1].get("role") != "tool"):
            return "tool_call"
        return "outcome"

    def __call__(self, request: Any) -> Any:
        kind = self.kind(request.json)
        number = self.seen.count(kind)
        self.seen.append(kind)
        fault = self.faults.pop((kind, number), None)
        if fault is not None:
            replaced = fault()
            if replaced is not None:
                return replaced
        if kind == "plan":
            return Reply(content=plan(self.tool, human=self.human))
        if kind == "tool_call":
            return Reply(tool_calls=[call(self.tool, **self.arguments)])
        if kind == "evaluation":
            return Reply(content=evaluation())
        return Reply(content=outcome())
