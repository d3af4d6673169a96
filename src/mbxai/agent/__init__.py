"""The planning agent: ``AgentClient`` / ``AsyncAgentClient``, their data model and the
session stores. The data model (:mod:`mbxai.agent.models`, also the seed's import path)
loads with this package; the clients and stores load on first use, as in ``mbxai``."""

import typing as _typing

from .models import (
    AgentEvent,
    AgentResponse,
    AgentState,
    AgentStep,
    AgentStreamEvent,
    AsyncSessionHandler,
    DialogOption,
    GoalEvaluation,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
    HumanInteractionType,
    HumanRequestEvent,
    InMemorySessionHandler,
    PartialObjectEvent,
    RequirementAnalysis,
    RunFinishedEvent,
    RunStartedEvent,
    SessionHandler,
    StepFinishedEvent,
    StepStartedEvent,
    Task,
    TaskFinishedEvent,
    TaskStartedEvent,
    TaskStatus,
    TextDeltaEvent,
    TodoList,
    TokenSummary,
    TokenUsage,
    ToolAnalysis,
    ToolCallEvent,
    ToolMapping,
    ToolResultEvent,
)

#: The names loaded on first use, by the module that defines them (see ``mbxai``).
_LAZY: dict[str, tuple[str, ...]] = {
    ".._async.agent": ("AsyncAgentClient", "AsyncAgentStream"),
    ".._async.sessions": (
        "AsyncFileSessionHandler",
        "AsyncRedisSessionHandler",
        "AsyncSQLSessionHandler",
    ),
    ".._sync.agent": ("AgentClient", "AgentStream"),
    ".._sync.sessions": ("FileSessionHandler", "RedisSessionHandler", "SQLSessionHandler"),
}

__all__ = [
    "AgentClient",
    "AgentEvent",
    "AgentResponse",
    "AgentState",
    "AgentStep",
    "AgentStream",
    "AgentStreamEvent",
    "AsyncAgentClient",
    "AsyncAgentStream",
    "AsyncFileSessionHandler",
    "AsyncRedisSessionHandler",
    "AsyncSQLSessionHandler",
    "AsyncSessionHandler",
    "DialogOption",
    "FileSessionHandler",
    "GoalEvaluation",
    "HumanInLoopRequest",
    "HumanInLoopResponse",
    "HumanInLoopResponseBatch",
    "HumanInteractionType",
    "HumanRequestEvent",
    "InMemorySessionHandler",
    "PartialObjectEvent",
    "RedisSessionHandler",
    "RequirementAnalysis",
    "RunFinishedEvent",
    "RunStartedEvent",
    "SQLSessionHandler",
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

if _typing.TYPE_CHECKING:
    from .._async.agent import AsyncAgentClient, AsyncAgentStream
    from .._async.sessions import (
        AsyncFileSessionHandler,
        AsyncRedisSessionHandler,
        AsyncSQLSessionHandler,
    )
    from .._sync.agent import AgentClient, AgentStream
    from .._sync.sessions import FileSessionHandler, RedisSessionHandler, SQLSessionHandler
else:
    from .._lazy import attach as _attach

    __getattr__, __dir__ = _attach(__name__, _LAZY, __all__)
