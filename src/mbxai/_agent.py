"""The agent's flavour-free half: the session record, the LLM-facing schemas and prompts,
plan application and human-response checking. The async agent (and its generated sync
twin) only add the calls: LLM, store, events.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Collection
from functools import lru_cache
from typing import Any, Literal

import pydantic_core
from pydantic import BaseModel, Field, PrivateAttr, create_model
from pydantic.json_schema import SkipJsonSchema

from . import _json
from ._errors import HumanResponseError
from ._usage import Spent
from .agent.models import (
    AgentResponse,
    AgentState,
    DialogOption,
    GoalEvaluation,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
    HumanInteractionType,
    RequirementAnalysis,
    Task,
    TaskStatus,
    TodoList,
    TokenSummary,
    ToolAnalysis,
)

__all__ = [
    "AgentSession",
    "JournalEntry",
    "PausedToolLoop",
    "Plan",
    "TaskOutcome",
    "Turn",
    "add_planned_tasks",
    "apply_responses",
    "approval_request",
    "build_response",
    "check_responses",
    "client_request_task",
    "clip",
    "compact_turns",
    "dialog_request",
    "evaluation_messages",
    "evaluation_model",
    "fallback_task",
    "forget_journal",
    "is_secret_name",
    "journal_key",
    "llm_calls",
    "normalize_responses",
    "pending_calls",
    "plan_messages",
    "plan_model",
    "progress_fingerprint",
    "task_messages",
]

RECORD_SCHEMA = 1
STANDARD_DECISIONS = ("proceed", "skip", "abort")
_SECRET_NAME = re.compile(r"(token|password|passwd|secret|api_?key|credential|auth)", re.IGNORECASE)
#: ``name:`` or ``name=`` where a pair of additional_context starts.
_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*[:=]\s*")
#: A comma followed by the start of another pair: the only place a value may end.
_NEXT_PAIR = re.compile(r",(?=\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*[:=])")


def is_secret_name(name: str) -> bool:
    """Parameter and field names treated as credentials unless declared otherwise."""
    return bool(_SECRET_NAME.search(name))


# -- what the LLM is asked to produce ------------------------------------------------------


# What the model is sent is every field's name and type, and a short description only where
# the name does not say it: the schema goes with every request (``response_format``), so its
# bytes are paid for each step. No class docstrings here for that reason (Pydantic sends them).


class PlannedHuman(BaseModel):
    # A human interaction the plan wants before a task runs.
    type: Literal["decision", "question", "dialog_option"]
    prompt: str
    options: list[str] = Field(description="Choices, for a decision")
    dialog_option_id: str | None = Field(description="For dialog_option")


class PlannedTask(BaseModel):
    id: str = Field(description="t1, t2, ...")
    title: str
    description: str
    dependencies: list[str] = Field(description="Task ids to finish first", max_length=8)
    tools: list[str] = Field(description="Tool names", max_length=8)
    estimated_complexity: int = Field(description="1-10")
    human_interaction: PlannedHuman | None = Field(description="Only if a human must act first")


class Plan(BaseModel):
    # Steps 1-3 in one reply: analysis, tool mapping, todo list.
    requirement_analysis: RequirementAnalysis
    tool_analysis: ToolAnalysis
    tasks: list[PlannedTask] = Field(
        description="Fewest tasks reaching the goal (1-5)", max_length=8
    )


class TaskOutcome(BaseModel):
    # Step 4: the result of one task.
    status: Literal["completed", "failed", "needs_human"]
    result: str = Field(description="What was done and found, with facts later steps need")
    question: str | None = Field(description="For needs_human")


#: A field's type, left out of the JSON schema (``SkipJsonSchema``, typed loosely for mypy).
_HIDDEN: Any = SkipJsonSchema


@lru_cache(maxsize=8)
def _task_model(tools: bool, humans: bool) -> type[PlannedTask]:
    """:class:`PlannedTask` without the fields a session cannot use (no tools, no human):
    they are left out of the schema sent and take their empty value."""
    if tools and humans:
        return PlannedTask
    fields: dict[str, Any] = {}
    if not tools:
        fields["tools"] = (_HIDDEN[list[str]], Field(default_factory=list))
    if not humans:
        fields["human_interaction"] = (_HIDDEN[PlannedHuman | None], None)
    return create_model("PlannedTask", __base__=PlannedTask, **fields)


@lru_cache(maxsize=8)
def plan_model(tools: bool, humans: bool) -> type[Plan]:
    """Steps 1-3's reply, for a session with or without tools and a human to ask."""
    if tools and humans:
        return Plan
    tasks: Any = list[_task_model(tools, humans)]  # type: ignore[misc]
    fields: dict[str, Any] = {
        "tasks": (tasks, Field(description="Fewest tasks reaching the goal (1-5)", max_length=8))
    }
    if not tools:
        fields["tool_analysis"] = (
            _HIDDEN[ToolAnalysis],
            Field(default_factory=ToolAnalysis),
        )
    return create_model("Plan", __base__=Plan, **fields)


@lru_cache(maxsize=128)
def evaluation_model(
    final: type[BaseModel], tools: bool = True, humans: bool = True
) -> type[BaseModel]:
    """Step 6's reply for a given final structure: evaluation, final response, follow-ups."""
    follow_ups: Any = list[_task_model(tools, humans)]  # type: ignore[misc]
    return create_model(
        f"Evaluation{final.__name__}"[:60],
        goal_evaluation=(GoalEvaluation, ...),
        final_response=(final, ...),
        follow_up_tasks=(
            follow_ups,
            Field(description="Only if the goal is not achieved: tasks to achieve it"),
        ),
    )


# -- the session record --------------------------------------------------------------------


class Turn(BaseModel):
    prompt: str
    final_response: Any = None
    goal_evaluation: GoalEvaluation | None = None


class HumanLogEntry(BaseModel):
    interaction_id: str
    task_id: str | None
    response_type: HumanInteractionType
    decision: str | None = None
    answer: str | None = None
    dialog_option_id: str | None = None
    provided: list[str] = Field(default_factory=list)
    at: float = Field(default_factory=time.time)


class JournalEntry(BaseModel):
    """A tool call of a task: claimed before it runs, its result saved when it returns.

    A resumed task replays a finished call's result and never re-runs a claimed one.
    """

    key: str
    tool: str
    task_id: str | None
    done: bool = True
    result: Any = None


class PausedToolLoop(BaseModel):
    """A task's tool loop stopped at calls waiting for approval: the conversation to send
    again, the request asking about each waiting call, and the answers given so far."""

    transcript: list[dict[str, Any]]
    #: The waiting call's id -> the request asking about it.
    requests: dict[str, HumanInLoopRequest] = Field(default_factory=dict)
    #: The call's id -> ``{"approved": bool, "reason": str | None}``.
    answers: dict[str, dict[str, Any]] = Field(default_factory=dict)


class AgentSession(BaseModel):
    """Everything a run needs to resume anywhere: JSON only, versioned for concurrency."""

    schema_version: int = RECORD_SCHEMA
    version: int = 0
    agent_id: str
    #: Progress events of the running call not yet handed to its event stream (not saved).
    _unsent: list[Any] = PrivateAttr(default_factory=list)
    state: AgentState = AgentState.ANALYZING_REQUIREMENTS
    prompt: str
    final_response_type: str = ""
    turns: list[Turn] = Field(default_factory=list)
    turns_dropped: int = 0
    requirement_analysis: RequirementAnalysis | None = None
    tool_analysis: ToolAnalysis | None = None
    todo_list: TodoList | None = None
    current_task_id: str | None = None
    pending_requests: list[HumanInLoopRequest] = Field(default_factory=list)
    human_log: list[HumanLogEntry] = Field(default_factory=list)
    secrets: dict[str, str] = Field(default_factory=dict, description="name -> encrypted value")
    journal: list[JournalEntry] = Field(default_factory=list)
    #: Task id -> the requests a client of the agent waits on a human for (an MCP
    #: server's elicitation or OAuth sign-in), answered through that client.
    client_requests: dict[str, list[HumanInLoopRequest]] = Field(default_factory=dict)
    #: The content parts (images, PDFs, audio) given with the request, as JSON.
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    #: Task id -> its tool loop waiting for approvals.
    paused_loops: dict[str, PausedToolLoop] = Field(default_factory=dict)
    #: Requests, tokens and cost spent by the session so far (its usage limits count them).
    spent: Spent = Field(default_factory=Spent)
    goal_evaluation: GoalEvaluation | None = None
    final_response: Any = None
    token_summary: TokenSummary = Field(default_factory=TokenSummary)
    iterations: int = 0
    task_counter: int = 0
    ask_questions: bool = True
    error: str | None = None
    #: The first run's span (``trace_id``, ``span_id`` in hex; ids only, no secrets), which
    #: the spans of later runs (a resume, maybe in another process) link to.
    trace_context: dict[str, str] | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)

    @classmethod
    def new(cls, prompt: str, final: type[BaseModel], agent_id: str | None = None) -> AgentSession:
        return cls(
            agent_id=agent_id or uuid.uuid4().hex,
            prompt=prompt,
            final_response_type=f"{final.__module__}.{final.__qualname__}",
        )

    def task(self, task_id: str | None) -> Task | None:
        return self.todo_list.get(task_id) if self.todo_list and task_id else None

    def info(self) -> dict[str, Any]:
        """A summary for ``get_session_info``: no secrets, no raw conversation."""
        tasks = self.todo_list.tasks if self.todo_list else []
        total = self.token_summary.total
        return {
            "agent_id": self.agent_id,
            "state": self.state.value,
            "prompt": self.prompt,
            "final_response_type": self.final_response_type,
            "goal": self.requirement_analysis.goal if self.requirement_analysis else None,
            "turns": len(self.turns),
            "iterations": self.iterations,
            "tasks": {
                status.value: sum(t.status == status for t in tasks) for status in TaskStatus
            },
            "pending_requests": [r.id for r in self.pending_requests],
            "llm_calls": total.calls,
            "total_tokens": total.total_tokens,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


# -- prompts -------------------------------------------------------------------------------

_SYSTEM = (
    "You are a planning agent: plan the request's tasks, execute each, judge the goal. "
    "The last message names the step. Be concise. Reply with JSON matching the schema."
)


def _history(session: AgentSession) -> str:
    if not session.turns:
        return ""
    lines = ["Earlier requests in this conversation and their results:"]
    for turn in session.turns[-5:]:
        lines.append(f"- Request: {turn.prompt}")
        if turn.final_response is not None:
            lines.append(
                f"  Result: {clip(pydantic_core.to_json(turn.final_response).decode(), 1500)}"
            )
    return "\n".join(lines) + "\n\n"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so."""
    return text if len(text) <= limit else text[: max(0, limit - 15)] + " ...(truncated)"


MAX_HUMAN_LOG = 100


def compact_turns(session: AgentSession, max_turns: int) -> None:
    """Drop the oldest remembered requests beyond ``max_turns``."""
    excess = len(session.turns) - max_turns
    if excess > 0:
        del session.turns[:excess]
        session.turns_dropped += excess


def forget_journal(session: AgentSession, task_id: str) -> None:
    """Drop the tool-call journal of a finished task: it will never be re-run."""
    session.journal = [entry for entry in session.journal if entry.task_id != task_id]


def _system(
    tools: list[tuple[str, str, list[str]]],
    dialog_options: list[DialogOption],
    ask_humans: bool,
) -> dict[str, Any]:
    """The system prompt every step of a session shares: the same text for each call, so
    providers with prompt caching serve it (and the tool definitions before it) from the
    cache. What changes from step to step comes after it."""
    lines = [_SYSTEM]
    if tools:
        lines.append("Tools the tasks can call:")
        for name, description, needs in tools:
            extra = f" (needs credentials: {', '.join(needs)})" if needs else ""
            lines.append(f"- {name}: {description}{extra}")
    else:
        lines.append("No tools: tasks are reasoning steps.")
    if ask_humans:
        lines.append(
            "A human can be asked before a task runs (decision, question), only when truly needed."
        )
        if dialog_options:
            lines.append("Dialog options the human's UI can complete (use their id):")
            for option in dialog_options:
                lines.append(f"- {option.id}: {option.title}. {option.description}")
    else:
        lines.append("No human to ask: assume sensibly.")
    return {"role": "system", "content": "\n".join(lines)}


def _request(session: AgentSession, final: type[BaseModel]) -> dict[str, Any]:
    """The user's request, as every step of the session sees it (the stable part of the
    conversation, after the system prompt): earlier turns, the request, its attachments."""
    text = _history(session) + f"Request: {session.prompt}"
    if not session.attachments:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [{"type": "text", "text": text}, *session.attachments]}


def plan_messages(
    session: AgentSession,
    tools: list[tuple[str, str, list[str]]],
    dialog_options: list[DialogOption],
    ask_humans: bool,
    final: type[BaseModel],
) -> list[dict[str, Any]]:
    return [
        _system(tools, dialog_options, ask_humans),
        _request(session, final),
        {
            "role": "user",
            "content": "Step: planning. Analyse the request, plan the tasks that achieve it.",
        },
    ]


def task_messages(
    session: AgentSession,
    task: Task,
    max_chars: int,
    *,
    tools: list[tuple[str, str, list[str]]],
    dialog_options: list[DialogOption],
    ask_humans: bool,
    final: type[BaseModel],
) -> list[dict[str, Any]]:
    done = [
        t
        for t in (session.todo_list.tasks if session.todo_list else [])
        if t.status in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SKIPPED)
        and t.id != task.id
    ]
    # The request is in the shared prefix already; the goal is not repeated here.
    lines = ["Step: task execution." + (" Use tools when they help." if tools else "")]
    if done:
        lines.append("Finished tasks:")
        for t in done:
            outcome = (
                t.result
                if t.status == TaskStatus.COMPLETED
                else f"({t.status.value}) {t.error or ''}"
            )
            lines.append(f"- {t.id} {t.title}: {clip(outcome or '', max_chars)}")
    lines.append(f"Your task ({task.id}): {task.title}. {task.description}")
    if task.tools:
        lines.append(f"Suggested tools: {', '.join(task.tools)}.")
    if task.human_input:
        lines.append(task.human_input)
    return [
        _system(tools, dialog_options, ask_humans),
        _request(session, final),
        {"role": "user", "content": "\n".join(lines)},
    ]


def evaluation_messages(
    session: AgentSession,
    final: type[BaseModel],
    max_chars: int,
    *,
    tools: list[tuple[str, str, list[str]]],
    dialog_options: list[DialogOption],
    ask_humans: bool,
) -> list[dict[str, Any]]:
    analysis = session.requirement_analysis
    lines = ["Step: goal evaluation."]
    if analysis:
        lines.append(f"Goal: {analysis.goal}")
        if analysis.success_criteria:
            lines.append("Success criteria: " + "; ".join(analysis.success_criteria))
    lines.append("Task results:")
    for t in session.todo_list.tasks if session.todo_list else []:
        outcome = (
            t.result if t.status == TaskStatus.COMPLETED else f"({t.status.value}) {t.error or ''}"
        )
        lines.append(f"- {t.id} {t.title}: {clip(outcome or '', max_chars)}")
    lines.append("Judge the goal, give the final answer, follow-up tasks only if not achieved.")
    return [
        _system(tools, dialog_options, ask_humans),
        _request(session, final),
        {"role": "user", "content": "\n".join(lines)},
    ]


# -- applying replies ----------------------------------------------------------------------


def add_planned_tasks(
    session: AgentSession,
    planned: list[PlannedTask],
    *,
    tool_names: set[str],
    dialog_options: list[DialogOption],
    ask_humans: bool,
) -> list[Task]:
    """Turn planned tasks into todo entries with session-unique ids; returns the new ones."""
    if session.todo_list is None:
        session.todo_list = TodoList()
    # Every planned task gets its own id, even when the model repeated one; a dependency
    # on a repeated id means all tasks of that id (those before it, for one of them).
    ids: list[str] = []
    by_planned: dict[str, list[int]] = {}
    for index, item in enumerate(planned):
        session.task_counter += 1
        ids.append(f"t{session.task_counter}")
        by_planned.setdefault(item.id, []).append(index)

    def remap(index: int, dependencies: list[str]) -> list[str]:
        own = planned[index].id
        out: list[str] = []
        for dep in dependencies:
            targets = by_planned.get(dep, [])
            if dep == own:
                targets = [i for i in targets if i < index]
            out.extend(ids[i] for i in targets if i != index)
        return list(dict.fromkeys(out))

    added = []
    for index, item in enumerate(planned):
        request = None
        if ask_humans and item.human_interaction is not None:
            request = _planned_request(item.human_interaction, dialog_options)
        task = Task(
            id=ids[index],
            title=item.title,
            description=item.description,
            dependencies=remap(index, item.dependencies),
            tools=[name for name in item.tools if name in tool_names],
            estimated_complexity=min(10, max(1, item.estimated_complexity)),
            human_interaction=request,
            iteration=session.iterations + 1,
        )
        if request is not None:
            request.task_id = task.id
        session.todo_list.tasks.append(task)
        added.append(task)
    return added


def _planned_request(
    planned: PlannedHuman, dialog_options: list[DialogOption]
) -> HumanInLoopRequest:
    kind = HumanInteractionType(planned.type)
    if kind == HumanInteractionType.DIALOG_OPTION:
        option = next((o for o in dialog_options if o.id == planned.dialog_option_id), None)
        if option is None and dialog_options:
            option = dialog_options[0]
        if option is None:
            kind = HumanInteractionType.QUESTION
        else:
            return dialog_request(option, planned.prompt)
    options: list[str] = []
    if kind == HumanInteractionType.DECISION:
        options = list(
            dict.fromkeys([*(o.strip() for o in planned.options if o.strip()), *STANDARD_DECISIONS])
        )
    return HumanInLoopRequest(interaction_type=kind, prompt=planned.prompt, options=options)


def dialog_request(option: DialogOption, prompt: str | None = None) -> HumanInLoopRequest:
    return HumanInLoopRequest(
        interaction_type=HumanInteractionType.DIALOG_OPTION,
        prompt=prompt or f"{option.title}: {option.description}",
        dialog_option_id=option.id,
        dialog_options=[option],
    )


def normalize_responses(
    human_response: HumanInLoopResponse
    | HumanInLoopResponseBatch
    | list[HumanInLoopResponse]
    | None,
) -> list[HumanInLoopResponse]:
    if human_response is None:
        return []
    if isinstance(human_response, HumanInLoopResponse):
        return [human_response]
    if isinstance(human_response, HumanInLoopResponseBatch):
        return list(human_response.responses)
    if isinstance(human_response, list | tuple):
        items = list(human_response)
        if all(isinstance(item, HumanInLoopResponse) for item in items):
            return items
    raise HumanResponseError(
        "human_response must be a HumanInLoopResponse, a list of them or a HumanInLoopResponseBatch, "
        f"got {type(human_response).__name__}"
    )


def check_responses(session: AgentSession, responses: list[HumanInLoopResponse]) -> None:
    """Raise :class:`HumanResponseError` if any response does not fit; changes nothing."""
    pending = {r.id: r for r in session.pending_requests}
    seen: set[str] = set()
    for response in responses:
        request = pending.get(response.interaction_id)
        where = f"session {session.agent_id!r}"
        if request is None:
            raise HumanResponseError(
                f"unknown interaction_id {response.interaction_id!r} for {where}; "
                f"pending: {sorted(pending) or 'none'}",
                agent_id=session.agent_id,
            )
        if response.interaction_id in seen:
            raise HumanResponseError(
                f"interaction {response.interaction_id!r} answered twice", agent_id=session.agent_id
            )
        seen.add(response.interaction_id)
        if response.response_type != request.interaction_type:
            raise HumanResponseError(
                f"interaction {request.id!r} asks for a {request.interaction_type.value}, "
                f"got a {response.response_type.value} response",
                agent_id=session.agent_id,
            )
        if request.interaction_type in (
            HumanInteractionType.DECISION,
            HumanInteractionType.TOOL_APPROVAL,
        ):
            if not response.decision or response.decision.strip().lower() not in {
                o.lower() for o in request.options
            }:
                raise HumanResponseError(
                    f"decision {response.decision!r} is not one of {request.options} for interaction {request.id!r}",
                    agent_id=session.agent_id,
                )
        elif request.interaction_type == HumanInteractionType.QUESTION:
            if not (response.answer or "").strip() and not response.additional_context.strip():
                raise HumanResponseError(
                    f"interaction {request.id!r} needs an answer", agent_id=session.agent_id
                )
        elif (
            response.dialog_option_id
            and request.dialog_option_id
            and response.dialog_option_id != request.dialog_option_id
        ):
            raise HumanResponseError(
                f"interaction {request.id!r} asked for dialog option {request.dialog_option_id!r}, "
                f"got {response.dialog_option_id!r}",
                agent_id=session.agent_id,
            )


def parse_pairs(text: str, secret_keys: Collection[str] = ()) -> tuple[dict[str, str], str]:
    """Split the seed's ``additional_context`` (``"k1:v1,k2:v2"``) into pairs and free text.

    The format (documented in docs/human-in-the-loop.md):

    * a JSON object (``{"auth_token": "a,b", "site": "acme"}``) gives its pairs as they are;
    * otherwise ``name:value`` (or ``name=value``) pairs separated by commas. A value ends
      only at a comma that starts another pair (``,name:``), so it may hold commas. The
      value of a secret (a name in ``secret_keys`` or one that looks like a credential)
      ends only where another *secret* pair starts, so a password such as ``a,b:c`` stays
      whole and no part of it becomes text for the model; put plain pairs before the
      secrets. A value may also be a JSON string (``password:"a,b,\\"c"``);
    * text outside any pair is free text for the task.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = _json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return {
                str(k): v if isinstance(v, str) else _json.dumps(v)
                for k, v in data.items()
                if v is not None
            }, ""

    def secret(name: str) -> bool:
        return name in secret_keys or is_secret_name(name)

    def end_of(start: int, only_secrets: bool) -> int:
        for match in _NEXT_PAIR.finditer(text, start):
            if not only_secrets or secret(match.group(1)):
                return match.start()
        return len(text)

    pairs: dict[str, str] = {}
    free: list[str] = []
    pos = 0
    while pos < len(text):
        key = _KEY.match(text, pos)
        if key is None:
            end = end_of(pos, only_secrets=False)
            if chunk := text[pos:end].strip():
                free.append(chunk)
            pos = end + 1
            continue
        name, start = key.group(1), key.end()
        if text.startswith('"', start):
            quoted = _quoted(text, start)
            if quoted is not None:
                pairs[name], pos = quoted
                continue
        end = end_of(start, only_secrets=secret(name))
        if value := text[start:end].strip():
            pairs[name] = value
        pos = end + 1
    return pairs, ", ".join(free)


def _quoted(text: str, start: int) -> tuple[str, int] | None:
    """A JSON string value at ``start`` and the position after its comma, if it is one."""
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    rest = text[end:].lstrip()
    if not isinstance(value, str) or not (rest == "" or rest.startswith(",")):
        return None
    return value, len(text) - len(rest) + 1


def secret_names(dialog_options: list[DialogOption], declared: set[str]) -> set[str]:
    names = set(declared)
    for option in dialog_options:
        names.update(option.provides)
    return names


def apply_responses(
    session: AgentSession,
    responses: list[HumanInLoopResponse],
    *,
    declared_secrets: set[str],
    dialog_options: list[DialogOption],
    encrypt: Any,
) -> None:
    """Deliver checked responses into the tasks that asked (call :func:`check_responses` first)."""
    pending = {r.id: r for r in session.pending_requests}
    secret_keys = secret_names(dialog_options, declared_secrets)
    for response in responses:
        request = pending.pop(response.interaction_id)
        task = session.task(request.task_id)
        entry = HumanLogEntry(
            interaction_id=request.id,
            task_id=request.task_id,
            response_type=response.response_type,
            dialog_option_id=response.dialog_option_id,
        )
        if response.response_type == HumanInteractionType.TOOL_APPROVAL:
            _apply_approval(session, request, response, entry)
            session.human_log.append(entry)
            continue
        if client_request_task(session, request.id) is not None:
            _apply_client_answer(session, request, response, entry)
            session.human_log.append(entry)
            continue
        note = ""
        pairs, free = parse_pairs(response.additional_context, secret_keys)
        plain = {k: v for k, v in pairs.items() if not (k in secret_keys or is_secret_name(k))}
        for key, value in pairs.items():
            if key not in plain:
                session.secrets[key] = encrypt(value)
                entry.provided.append(key)
        details = "; ".join(f"{k}={v}" for k, v in plain.items())
        if free:
            details = f"{details}; {free}" if details else free
        if entry.provided:
            details = (details + "; " if details else "") + (
                f"credentials provided to tools (not shown): {', '.join(sorted(entry.provided))}"
            )
        if response.response_type == HumanInteractionType.DECISION:
            decision = (response.decision or "").strip()
            entry.decision = decision
            note = f"Human decision on '{request.prompt}': {decision}."
            if task is not None and decision.lower() == "skip":
                task.status = TaskStatus.SKIPPED
                task.result = "Skipped by the human."
            elif decision.lower() == "abort":
                session.state = AgentState.FAILED
                session.error = f"aborted by the human at interaction {request.id}"
                if task is not None:
                    task.status = TaskStatus.FAILED
                    task.error = "aborted by the human"
        elif response.response_type == HumanInteractionType.QUESTION:
            entry.answer = (response.answer or "").strip()
            note = f"Human answer to '{request.prompt}': {entry.answer}."
        else:
            note = f"The human completed dialog option {request.dialog_option_id or response.dialog_option_id}."
        if details:
            note += f" ({details})"
        if task is not None:
            task.human_input = ((task.human_input + "\n") if task.human_input else "") + note
            task.human_interaction = None
            if task.status == TaskStatus.WAITING_FOR_HUMAN:
                task.status = TaskStatus.PENDING
        session.human_log.append(entry)
    del session.human_log[:-MAX_HUMAN_LOG]
    # An aborted run asks nothing more now; a retry of it asks again (the requests stay
    # on their tasks).
    session.pending_requests = [] if session.state == AgentState.FAILED else list(pending.values())


def client_request_task(session: AgentSession, request_id: str) -> str | None:
    """The task whose client (an MCP server) asked ``request_id``, if a client asked it."""
    for task_id, asked in session.client_requests.items():
        if any(r.id == request_id for r in asked):
            return task_id
    return None


def _apply_client_answer(
    session: AgentSession,
    request: HumanInLoopRequest,
    response: HumanInLoopResponse,
    entry: HumanLogEntry,
) -> None:
    """Record that a client's request (already delivered to that client) was answered;
    the task runs again, and the server's repeated question gets the answer. Nothing of
    the answer is kept: it was for the server (a form's fields, a sign-in's callback URL
    with its code), not for the model or the session store."""
    task_id = client_request_task(session, request.id) or ""
    left = [r for r in session.client_requests.get(task_id, []) if r.id != request.id]
    if left:
        session.client_requests[task_id] = left
    else:
        session.client_requests.pop(task_id, None)
    entry.decision = (response.decision or "").strip() or None
    task = session.task(task_id)
    if task is not None:
        note = f"The human answered the tool server's request: {clip(request.prompt, 200)}"
        task.human_input = ((task.human_input + "\n") if task.human_input else "") + note
        if task.status == TaskStatus.WAITING_FOR_HUMAN and not left:
            task.status = TaskStatus.PENDING


def _apply_approval(
    session: AgentSession,
    request: HumanInLoopRequest,
    response: HumanInLoopResponse,
    entry: HumanLogEntry,
) -> None:
    """Record an answer to a tool approval in the task's paused tool loop; the task goes
    on (the answered calls run or are denied, the others keep waiting). ``additional_context``
    is the reason of a denial, for the model (not parsed for secrets: none is asked for)."""
    decision = (response.decision or "").strip().lower()
    entry.decision = decision
    task = session.task(request.task_id)
    paused = session.paused_loops.get(request.task_id or "")
    if paused is not None:
        call_id = next((c for c, r in paused.requests.items() if r.id == request.id), None)
        if call_id is not None:
            del paused.requests[call_id]
            reason = response.additional_context.strip() or None
            paused.answers[call_id] = {"approved": decision == "approve", "reason": reason}
    if task is not None and task.status == TaskStatus.WAITING_FOR_HUMAN:
        task.status = TaskStatus.PENDING  # it goes on: answered calls run, the rest wait


def approval_request(
    task: Task, call_id: str, tool: str, arguments: dict[str, Any]
) -> HumanInLoopRequest:
    """The request asking a human to allow one tool call of ``task``."""
    shown = clip(_json.dumps(arguments), 500)
    digest = hashlib.sha256(f"{task.id}\0{call_id}".encode()).hexdigest()[:16]
    return HumanInLoopRequest(
        id=f"approve_{digest}",
        interaction_type=HumanInteractionType.TOOL_APPROVAL,
        prompt=f"Task '{task.title}' wants to call {tool} with {shown}. Allow it?",
        options=["approve", "deny"],
        task_id=task.id,
        tool=tool,
        arguments=arguments,
    )


def progress_fingerprint(session: AgentSession) -> str:
    """What a step of the run loop must change: if two iterations see the same fingerprint,
    the loop is making no progress."""
    tasks = session.todo_list.tasks if session.todo_list else None
    return _json.dumps(
        [
            session.state.value,
            session.iterations,
            sorted(session.secrets),
            [r.id for r in session.pending_requests],
            {
                task_id: [sorted(paused.requests), sorted(paused.answers)]
                for task_id, paused in session.paused_loops.items()
            },
            {task_id: [r.id for r in asked] for task_id, asked in session.client_requests.items()},
            session.final_response is None,
            None
            if tasks is None
            else [
                [
                    t.id,
                    t.status.value,
                    t.dependencies,
                    t.human_interaction.id if t.human_interaction else None,
                    t.human_input,
                ]
                for t in tasks
            ],
        ]
    )


def journal_key(task_id: str | None, tool: str, arguments: dict[str, Any]) -> str:
    """A digest of one tool call. The caller leaves injected values (secrets) out of
    ``arguments``: an unkeyed digest of a short secret can be reversed by trying them all."""
    canonical = json.dumps(pydantic_core.to_jsonable_python(arguments), sort_keys=True, default=str)
    return hashlib.sha256(f"{task_id}\0{tool}\0{canonical}".encode()).hexdigest()


def build_response(session: AgentSession, final: type[BaseModel] | None) -> AgentResponse:
    final_response: Any = session.final_response
    if final_response is not None and final is not None and isinstance(final_response, dict):
        final_response = final.model_validate(final_response)
    requests = list(session.pending_requests)
    return AgentResponse(
        agent_id=session.agent_id,
        state=session.state,
        requirement_analysis=session.requirement_analysis,
        tool_analysis=session.tool_analysis,
        todo_list=session.todo_list,
        current_task=session.task(session.current_task_id),
        human_interaction_request=requests[0] if requests else None,
        human_interaction_requests=requests,
        goal_evaluation=session.goal_evaluation,
        final_response=final_response,
        token_summary=session.token_summary,
        error=session.error,
    )


def llm_calls(result: Any) -> int:
    """LLM calls a client's result took (a tool loop's rounds and re-asks included)."""
    return int(getattr(result, "llm_calls", None) or 1)


def fallback_task(prompt: str) -> PlannedTask:
    """The one task of a plan that came back empty: answer the request."""
    return PlannedTask(
        id="t1",
        title="Answer the request",
        description=prompt,
        dependencies=[],
        tools=[],
        estimated_complexity=1,
        human_interaction=None,
    )


def pending_calls(result: Any) -> list[Any]:
    """The calls a tool client's result stopped at for approval (a chat client's: none)."""
    return list(getattr(result, "pending_approvals", None) or [])
