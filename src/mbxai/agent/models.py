"""The agent's public data model: plans, tasks, human interactions, state and results.

Everything here is a JSON-serialisable Pydantic model (no classes or callables inside),
so a session can be stored anywhere and resumed in another process.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from .._ids import new_id
from .._sessions import AsyncSessionHandler, InMemorySessionHandler, SessionHandler
from .._types import Usage, add_exact

__all__ = [
    "AgentEvent",
    "AgentResponse",
    "AgentState",
    "AgentStep",
    "AgentStreamEvent",
    "AsyncSessionHandler",
    "DialogOption",
    "GoalEvaluation",
    "HumanInLoopRequest",
    "HumanInLoopResponse",
    "HumanInLoopResponseBatch",
    "HumanInteractionType",
    "HumanRequestEvent",
    "InMemorySessionHandler",
    "PartialObjectEvent",
    "RequirementAnalysis",
    "RunFinishedEvent",
    "RunStartedEvent",
    "SessionHandler",
    "StepFinishedEvent",
    "StepStartedEvent",
    "Task",
    "TaskFinishedEvent",
    "TaskStartedEvent",
    "TaskStatus",
    "TextDeltaEvent",
    "TodoList",
    "TokenSummary",
    "TokenUsage",
    "ToolAnalysis",
    "ToolCallEvent",
    "ToolMapping",
    "ToolResultEvent",
]


def _new_id(prefix: str) -> str:
    return new_id(prefix)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TaskStatus(StrEnum):
    """Where a task stands."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_HUMAN = "waiting_for_human"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.SKIPPED, TaskStatus.FAILED)


class HumanInteractionType(StrEnum):
    """What kind of answer a human is asked for."""

    DECISION = "decision"  #: pick one of ``options``
    QUESTION = "question"  #: free text
    DIALOG_OPTION = "dialog_option"  #: a UI-handled flow (login, approval...) named by id
    TOOL_APPROVAL = "tool_approval"  #: allow (``approve``) or refuse (``deny``) one tool call


class AgentState(StrEnum):
    """The phase a run is in; ``COMPLETED``, ``FAILED`` and ``WAITING_FOR_HUMAN`` end a call."""

    ANALYZING_REQUIREMENTS = "analyzing_requirements"
    ANALYZING_TOOLS = "analyzing_tools"
    GENERATING_TODO = "generating_todo"
    EXECUTING_TASKS = "executing_tasks"
    WAITING_FOR_HUMAN = "waiting_for_human"
    EVALUATING_GOAL = "evaluating_goal"
    COMPLETED = "completed"
    FAILED = "failed"


class DialogOption(_Model):
    """A structured interaction the application's UI knows how to run (OAuth, approval...).

    The agent never runs it: it asks the human (through the UI) to complete it, and the
    UI sends the result back in :attr:`HumanInLoopResponse.additional_context` as
    ``key:value`` pairs. Keys listed in ``provides`` (and keys that look like credentials:
    token, password, secret, key...) are secrets: they are handed to tool parameters of
    the same name, never shown to the model, and stored only encrypted.
    """

    id: str
    title: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    provides: list[str] = Field(
        default_factory=list, description="Names of the values the UI's response supplies"
    )


class HumanInLoopRequest(_Model):
    """A question to a human; answer it with a :class:`HumanInLoopResponse` of the same id."""

    id: str = Field(default_factory=lambda: _new_id("hitl"))
    interaction_type: HumanInteractionType
    prompt: str
    options: list[str] = Field(default_factory=list)
    dialog_option_id: str | None = None
    dialog_options: list[DialogOption] = Field(default_factory=list)
    task_id: str | None = None
    context: str = ""
    #: For ``TOOL_APPROVAL``: the tool the call is for.
    tool: str | None = None
    #: For ``TOOL_APPROVAL``: the call's arguments (the model's; injected values never).
    arguments: dict[str, Any] = Field(default_factory=dict)

    @property
    def parameters(self) -> dict[str, Any]:
        """The requested dialog option's parameters (for the UI), if any."""
        for option in self.dialog_options:
            if option.id == self.dialog_option_id:
                return dict(option.parameters)
        return {}


class HumanInLoopResponse(_Model):
    """A human's answer to one :class:`HumanInLoopRequest`."""

    interaction_id: str
    response_type: HumanInteractionType
    decision: str | None = None
    answer: str | None = None
    dialog_option_id: str | None = None
    additional_context: str = ""

    def __repr__(self) -> str:
        # additional_context may carry credentials from a dialog option: never show it.
        context = "'***'" if self.additional_context else "''"
        return (
            f"HumanInLoopResponse(interaction_id={self.interaction_id!r}, "
            f"response_type={self.response_type.value!r}, decision={self.decision!r}, "
            f"dialog_option_id={self.dialog_option_id!r}, additional_context={context})"
        )

    __str__ = __repr__


class HumanInLoopResponseBatch(_Model):
    """Several answers at once, for a run waiting on several requests."""

    responses: list[HumanInLoopResponse]


class Task(_Model):
    """One step of the plan."""

    id: str
    title: str
    description: str = ""
    status: TaskStatus = TaskStatus.PENDING
    dependencies: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    estimated_complexity: int = 1
    human_interaction: HumanInLoopRequest | None = None
    human_input: str | None = None
    result: str | None = None
    error: str | None = None
    iteration: int = 1


class TodoList(_Model):
    """The plan's tasks in order, with their dependencies and statuses."""

    tasks: list[Task] = Field(default_factory=list)

    def get(self, task_id: str) -> Task | None:
        return next((task for task in self.tasks if task.id == task_id), None)

    def ready(self) -> list[Task]:
        """Pending tasks whose dependencies are all finished, in plan order."""
        finished = {t.id for t in self.tasks if t.status.is_final}
        known = {t.id for t in self.tasks}
        return [
            t
            for t in self.tasks
            if t.status in (TaskStatus.PENDING, TaskStatus.IN_PROGRESS)
            and all(dep in finished or dep not in known for dep in t.dependencies)
        ]

    @property
    def is_done(self) -> bool:
        return all(task.status.is_final for task in self.tasks)


class RequirementAnalysis(_Model):
    """Step 1: what the user wants and how hard it is."""

    goal: str
    success_criteria: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    complexity_estimate: int = Field(default=1, description="1 (trivial) to 10 (very hard)")


class ToolMapping(_Model):
    tool: str
    purpose: str


class ToolAnalysis(_Model):
    """Step 2: which tools serve the goal, and what is missing."""

    relevant_tools: list[ToolMapping] = Field(default_factory=list)
    missing_capabilities: list[str] = Field(default_factory=list)


class GoalEvaluation(_Model):
    """Step 6: was the goal met?"""

    goal_achieved: bool
    completion_percentage: int = Field(description="0 to 100")
    feedback: str = ""
    missing_elements: list[str] = Field(default_factory=list)


class TokenUsage(_Model):
    """Tokens spent by one step (or summed).

    ``usage`` is the exact sum of every usage the endpoint reported for the step: cached
    and reasoning tokens, ``cost_details`` and provider extras included.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    usage: Usage | None = None

    def add(self, usage: Usage | None, calls: int = 1) -> None:
        self.calls += calls
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.total_tokens += usage.total_tokens
            self.cost = add_exact(self.cost, usage.cost) or 0.0
            self.usage = usage + self.usage


class TokenSummary(_Model):
    """Tokens per step and in total, with the number of LLM calls."""

    planning: TokenUsage = Field(default_factory=TokenUsage)
    task_execution: TokenUsage = Field(default_factory=TokenUsage)
    goal_evaluation: TokenUsage = Field(default_factory=TokenUsage)

    @property
    def total(self) -> TokenUsage:
        total = TokenUsage()
        for step in (self.planning, self.task_execution, self.goal_evaluation):
            total.prompt_tokens += step.prompt_tokens
            total.completion_tokens += step.completion_tokens
            total.total_tokens += step.total_tokens
            total.cost = add_exact(total.cost, step.cost) or 0.0
            total.calls += step.calls
            if step.usage is not None:
                total.usage = step.usage + total.usage
        return total

    @property
    def llm_calls(self) -> int:
        return self.total.calls

    def steps(self) -> dict[str, TokenUsage]:
        """Each step's usage by name, then ``"total"``."""
        return {
            "planning": self.planning,
            "task execution": self.task_execution,
            "goal evaluation": self.goal_evaluation,
            "total": self.total,
        }

    def _html(self) -> str:
        cell = 'style="text-align:right;padding:1px 8px"'
        total = self.total
        rows = [
            f"<div style='color:#57606a'>{total.calls} LLM calls &middot; "
            f"{total.total_tokens} tokens ({total.prompt_tokens} prompt, "
            f"{total.completion_tokens} completion) &middot; ${total.cost:.6f}</div>",
            f'<table style="color:#57606a;border-collapse:collapse"><tr><th {cell}></th>'
            f"<th {cell}>LLM calls</th><th {cell}>prompt</th><th {cell}>completion</th>"
            f"<th {cell}>cached</th><th {cell}>cost (USD)</th></tr>",
        ]
        for name, step in self.steps().items():
            cached = step.usage.cached_tokens if step.usage is not None else 0
            rows.append(
                f'<tr><td style="padding:1px 8px">{name}</td><td {cell}>{step.calls}</td>'
                f"<td {cell}>{step.prompt_tokens}</td><td {cell}>{step.completion_tokens}</td>"
                f"<td {cell}>{cached}</td><td {cell}>{step.cost:.6f}</td></tr>"
            )
        rows.append("</table>")
        return "".join(rows)


class AgentEvent(_Model):
    """A progress event for UIs: a step started or finished, a task changed status."""

    kind: str
    agent_id: str
    state: AgentState
    task_id: str | None = None
    task_status: TaskStatus | None = None
    message: str = ""


class AgentResponse(_Model):
    """What one ``agent()`` call returns: the run's state and everything it produced."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent_id: str
    state: AgentState
    requirement_analysis: RequirementAnalysis | None = None
    tool_analysis: ToolAnalysis | None = None
    todo_list: TodoList | None = None
    current_task: Task | None = None
    human_interaction_request: HumanInLoopRequest | None = None
    human_interaction_requests: list[HumanInLoopRequest] = Field(default_factory=list)
    goal_evaluation: GoalEvaluation | None = None
    final_response: Any = None
    token_summary: TokenSummary = Field(default_factory=TokenSummary)
    error: str | None = None

    @property
    def llm_calls(self) -> int:
        """LLM calls spent by this run so far (all ``agent()`` calls of the session)."""
        return self.token_summary.llm_calls

    def is_complete(self) -> bool:
        """True when the run finished with a final response."""
        return self.state == AgentState.COMPLETED

    def is_failed(self) -> bool:
        return self.state == AgentState.FAILED

    def is_waiting_for_human(self) -> bool:
        """True while the run waits for :attr:`human_interaction_requests` to be answered."""
        return self.state == AgentState.WAITING_FOR_HUMAN

    def needs_human_interaction(self) -> bool:
        """True when a human must answer before the run can go on."""
        return self.is_waiting_for_human() and bool(self.human_interaction_requests)

    def has_final_response(self) -> bool:
        return self.final_response is not None

    def _repr_html_(self) -> str:
        """Jupyter rendering: state, the todo list as a table, pending requests, tokens."""
        from html import escape

        colors = {
            TaskStatus.COMPLETED: "#1a7f37",
            TaskStatus.FAILED: "#cf222e",
            TaskStatus.SKIPPED: "#6e7781",
            TaskStatus.WAITING_FOR_HUMAN: "#9a6700",
            TaskStatus.IN_PROGRESS: "#0969da",
            TaskStatus.PENDING: "#57606a",
        }
        parts = [
            '<div class="mbxai-agent-response" style="font-family:sans-serif">',
            f"<b>Agent</b> <code>{escape(self.agent_id)}</code> &middot; state "
            f"<b>{escape(self.state.value)}</b>",
        ]
        if self.requirement_analysis is not None:
            parts.append(f"<div>Goal: {escape(self.requirement_analysis.goal)}</div>")
        if self.todo_list and self.todo_list.tasks:
            parts.append(
                '<table style="border-collapse:collapse;margin:6px 0"><tr>'
                + "".join(
                    f'<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #ccc">{h}</th>'
                    for h in ("id", "task", "status", "depends on", "result")
                )
                + "</tr>"
            )
            for task in self.todo_list.tasks:
                result = task.result or task.error or ""
                short = result if len(result) <= 120 else result[:117] + "..."
                parts.append(
                    "<tr>"
                    f'<td style="text-align:left;vertical-align:top;padding:2px 8px">{escape(task.id)}</td>'
                    f'<td style="text-align:left;vertical-align:top;padding:2px 8px">{escape(task.title)}</td>'
                    f'<td style="text-align:left;vertical-align:top;padding:2px 8px;color:{colors[task.status]}"><b>{escape(task.status.value)}</b></td>'
                    f'<td style="text-align:left;vertical-align:top;padding:2px 8px">{escape(", ".join(task.dependencies))}</td>'
                    f'<td style="text-align:left;vertical-align:top;padding:2px 8px">{escape(short)}</td>'
                    "</tr>"
                )
            parts.append("</table>")
        for request in self.human_interaction_requests:
            options = f" (options: {escape(', '.join(request.options))})" if request.options else ""
            parts.append(
                f"<div>&#9995; waiting for a human ({escape(request.interaction_type.value)}, "
                f"id <code>{escape(request.id)}</code>): {escape(request.prompt)}{options}</div>"
            )
        if self.goal_evaluation is not None:
            parts.append(
                f"<div>Goal achievement: {self.goal_evaluation.completion_percentage}% "
                f"&middot; {escape(self.goal_evaluation.feedback)}</div>"
            )
        if self.error:
            parts.append(f'<div style="color:#cf222e">{escape(self.error)}</div>')
        parts.append(self.token_summary._html())
        parts.append("</div>")
        return "".join(parts)


# -- the event stream of agent.stream() -------------------------------------------------------

#: The LLM steps of a run: the plan, a task, the goal's evaluation (with the final response).
AgentStep: TypeAlias = Literal["planning", "task", "evaluation"]


class _StreamEvent(_Model):
    agent_id: str


class RunStartedEvent(_StreamEvent):
    """The run started: a new session, a resume (``resumed``), or the next request."""

    type: Literal["run_started"] = "run_started"
    prompt: str = ""
    resumed: bool = False


class StepStartedEvent(_StreamEvent):
    """Planning or the goal's evaluation started (tasks have :class:`TaskStartedEvent`)."""

    type: Literal["step_started"] = "step_started"
    step: AgentStep


class StepFinishedEvent(_StreamEvent):
    """Planning or the evaluation finished; ``message`` sums it up ("3 tasks", "100%")."""

    type: Literal["step_finished"] = "step_finished"
    step: AgentStep
    message: str = ""


class TaskStartedEvent(_StreamEvent):
    """A task started (or resumed)."""

    type: Literal["task_started"] = "task_started"
    task_id: str
    title: str = ""


class TaskFinishedEvent(_StreamEvent):
    """A task ended, or stopped to wait for a human (``status`` says which)."""

    type: Literal["task_finished"] = "task_finished"
    task_id: str
    status: TaskStatus
    result: str | None = None
    error: str | None = None


class ToolCallEvent(_StreamEvent):
    """A task's tool call, about to run; values from the tool context (credentials,
    dialog-option secrets) are masked in ``arguments`` (the call's JSON)."""

    type: Literal["tool_call"] = "tool_call"
    task_id: str
    call_id: str
    tool: str
    arguments: str


class ToolResultEvent(_StreamEvent):
    """A tool call's result as the model is shown it: masked and clipped."""

    type: Literal["tool_result"] = "tool_result"
    task_id: str
    call_id: str
    content: str


class TextDeltaEvent(_StreamEvent):
    """Text of a step's reply as it is generated (its JSON, in the structured steps).
    ``attempt`` goes up when the reply is asked for again (invalid output): start over."""

    type: Literal["text_delta"] = "text_delta"
    step: AgentStep
    task_id: str | None = None
    attempt: int = 1
    delta: str


class PartialObjectEvent(_StreamEvent):
    """The object a step's reply builds, as far as it arrived (only the fields present):
    a task's outcome (``status``, ``result``...), the plan, or, in the evaluation, the
    final response in your ``final_response_structure``."""

    type: Literal["partial_object"] = "partial_object"
    step: AgentStep
    task_id: str | None = None
    attempt: int = 1
    object: dict[str, Any]


class HumanRequestEvent(_StreamEvent):
    """The run stopped to wait for a human: answer these with ``human_response=``."""

    type: Literal["human_request"] = "human_request"
    requests: list[HumanInLoopRequest]


class RunFinishedEvent(_StreamEvent):
    """The last event of a stream: the run completed, failed or waits for a human, with
    what :meth:`AsyncAgentClient.agent` would have returned."""

    type: Literal["run_finished"] = "run_finished"
    response: AgentResponse


#: What ``agent.stream()`` yields; every event is a Pydantic model with a ``type`` naming
#: it, so ``event.model_dump_json()`` is ready for Server-Sent Events, and
#: ``TypeAdapter(AgentStreamEvent)`` reads one back.
AgentStreamEvent = TypeAliasType(
    "AgentStreamEvent",
    Annotated[
        RunStartedEvent
        | StepStartedEvent
        | StepFinishedEvent
        | TaskStartedEvent
        | TaskFinishedEvent
        | ToolCallEvent
        | ToolResultEvent
        | TextDeltaEvent
        | PartialObjectEvent
        | HumanRequestEvent
        | RunFinishedEvent,
        Field(discriminator="type"),
    ],
)
