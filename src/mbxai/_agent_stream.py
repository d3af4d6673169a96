"""The agent's event stream without I/O: progress and structured-stream updates as the
typed events of ``agent.stream()`` (:data:`~mbxai.agent.models.AgentStreamEvent`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ._agent import AgentSession
from ._partial import PartialUpdate
from .agent.models import (
    AgentStep,
    AgentStreamEvent,
    HumanRequestEvent,
    PartialObjectEvent,
    StepFinishedEvent,
    StepStartedEvent,
    Task,
    TaskFinishedEvent,
    TaskStartedEvent,
    TaskStatus,
    TextDeltaEvent,
    ToolCallEvent,
    ToolResultEvent,
)

__all__ = ["progress_event", "update_events"]

_STEPS: dict[str, tuple[AgentStep, bool]] = {
    "planning_started": ("planning", False),
    "planning_finished": ("planning", True),
    "evaluation_started": ("evaluation", False),
    "evaluation_finished": ("evaluation", True),
}


def _task(session: AgentSession, task_id: str | None) -> Task | None:
    tasks = session.todo_list.tasks if session.todo_list else []
    return next((task for task in tasks if task.id == task_id), None)


def progress_event(
    session: AgentSession,
    kind: str,
    *,
    task_id: str | None,
    task_status: TaskStatus | None,
    message: str,
) -> AgentStreamEvent | None:
    """The stream event of an ``on_event`` progress event, if it has one (the start and
    end of a run are the stream's own events)."""
    agent_id = session.agent_id
    if kind in _STEPS:
        step, finished = _STEPS[kind]
        if finished:
            return StepFinishedEvent(agent_id=agent_id, step=step, message=message)
        return StepStartedEvent(agent_id=agent_id, step=step)
    task = _task(session, task_id)
    if kind == "task_started" and task_id is not None:
        return TaskStartedEvent(
            agent_id=agent_id, task_id=task_id, title=task.title if task else ""
        )
    if kind in ("task_finished", "task_waiting") and task_id is not None and task_status:
        return TaskFinishedEvent(
            agent_id=agent_id,
            task_id=task_id,
            status=task_status,
            result=task.result if task else None,
            error=task.error if task else None,
        )
    if kind == "waiting_for_human":
        return HumanRequestEvent(agent_id=agent_id, requests=list(session.pending_requests))
    return None


def _shown(value: BaseModel) -> dict[str, Any]:
    """A partial object as JSON data: the fields that arrived."""
    data: dict[str, Any] = value.model_dump(mode="json", exclude_unset=True, warnings=False)
    return data


def update_events(
    agent_id: str, step: AgentStep, task_id: str | None, update: PartialUpdate[Any]
) -> list[AgentStreamEvent]:
    """The stream events of one structured-stream update of a step's LLM call."""
    events: list[AgentStreamEvent] = []
    where: dict[str, Any] = {"agent_id": agent_id, "step": step, "task_id": task_id}
    if update.text:
        events.append(TextDeltaEvent(**where, attempt=update.attempt, delta=update.text))
    shown = update.object if update.final is None else None
    if step == "evaluation" and shown is not None:
        shown = getattr(shown, "final_response", None)  # the user's object, not the verdict
    data = _shown(shown) if isinstance(shown, BaseModel) else None
    if data:
        events.append(PartialObjectEvent(**where, attempt=update.attempt, object=data))
    for call in update.calls:
        events.append(
            ToolCallEvent(
                agent_id=agent_id,
                task_id=task_id or "",
                call_id=call.id,
                tool=call.function.name,
                arguments=call.function.arguments,
            )
        )
    for result in update.results:
        events.append(
            ToolResultEvent(
                agent_id=agent_id,
                task_id=task_id or "",
                call_id=str(result.get("tool_call_id") or ""),
                content=str(result.get("content") or ""),
            )
        )
    return events
