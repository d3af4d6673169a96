"""Durable agents on Temporal: a run survives its worker, across machines.

An :class:`~mbxai.AsyncAgentClient` run becomes a Temporal workflow (extra
``mbxai[temporal]``, on the official ``temporalio`` SDK):

* the agent's run loop (plan, tasks, evaluation) is the workflow's code, and its session
  record is the workflow's state; every save is mirrored to the agent's session store by
  an activity, so the stores stay usable for listing and inspection;
* each LLM request is an activity (one HTTP attempt; the client's retry schedule becomes
  the activity's Temporal :class:`~temporalio.common.RetryPolicy`, a ``Retry-After`` its
  next retry delay), and each tool call (MCP tools included) is an activity whose
  ``start_to_close_timeout`` is the tool's timeout, run at most once: a finished call is
  in the workflow's history and never runs again, a call whose worker died is reported to
  the model as of unknown outcome, like the agent's journal does;
* a pause for a human is the workflow waiting; answers (``HumanInLoopResponse``, tool
  approvals included) arrive through a workflow update, checked before they are accepted;
  the session's ``agent_id`` is the workflow id;
* every payload (workflow input, activity arguments and results, updates) is encrypted
  with the agent's secret key (:class:`SecretPayloadCodec`), so dialog-option secrets and
  tool arguments never enter the workflow history in plain text.

Workers run :class:`TemporalAgent`; applications talk to runs through
:class:`AsyncTemporalAgentClient` (or its sync twin :class:`TemporalAgentClient`), whose
``agent()`` has the call shape of :meth:`AsyncAgentClient.agent`. See docs/temporal.md.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import importlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

try:
    import temporalio.converter
    from temporalio import activity, workflow
    from temporalio.api.common.v1 import Payload
    from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError, ApplicationError
    from temporalio.exceptions import TimeoutError as ActivityTimeoutError
    from temporalio.service import RPCError, RPCStatusCode
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        "mbxai.temporal needs the temporalio SDK: pip install 'mbxai[temporal]'"
    ) from exc

from ._agent import AgentSession, build_response, check_responses, normalize_responses
from ._async.agent import AsyncAgentClient, journaled
from ._async.client import AsyncOpenRouterClient
from ._async.tools import AsyncToolClient
from ._chat import decode_completion
from ._concurrency import async_call_user_code, run_coroutine_blocking
from ._errors import (
    ConfigurationError,
    HumanResponseError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    OpenRouterTimeoutError,
    SessionNotFoundError,
    ToolOutcomeUnknown,
)
from ._ids import id_source
from ._secrets import SecretBox
from ._tools import ToolRegistry
from ._types import ChatCompletion
from ._usage import current_meter
from .agent.models import (
    AgentResponse,
    AgentState,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
)

__all__ = [
    "WORKFLOW_NAME",
    "AgentWorkflow",
    "AsyncTemporalAgentClient",
    "SecretPayloadCodec",
    "TemporalAgent",
    "TemporalAgentClient",
    "data_converter",
    "sandbox_runner",
]

#: The workflow type every durable agent run is started as.
WORKFLOW_NAME = "mbxai.Agent"

#: The payload encoding of :class:`SecretPayloadCodec` (what its payloads' metadata say).
ENCODING = b"binary/mbxai-fernet"

#: Modules the workflow sandbox passes through: mbxai's run loop runs in the workflow, and
#: it (and what it imports) is deterministic given the activities' results.
PASSTHROUGH = (
    "mbxai",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "sniffio",
    "idna",
    "certifi",
    "structlog",
    "stamina",
    "tenacity",
    "cryptography",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "rpds",
    "attrs",
    "docstring_parser",
    "json_repair",
    "filelock",
    "mcp",
)

#: How long a tool call may take when neither the tool nor its client says.
DEFAULT_TOOL_TIMEOUT = timedelta(minutes=5)

#: Final response models by "module:QualName": those this process's clients and agents
#: named (the workflow imports the others by name).
_MODELS: dict[str, type[BaseModel]] = {}

#: The agents the workers of this process run, by name (the workflow finds its agent here).
_AGENTS: dict[str, TemporalAgent] = {}


# -- the payload codec ------------------------------------------------------------------------


class SecretPayloadCodec(temporalio.converter.PayloadCodec):
    """Encrypts every payload with Fernet under the agent's secret key.

    Workflow inputs, activity arguments and results, update arguments (a human's answer,
    a dialog option's credentials) and query results are all payloads: with this codec
    the Temporal server, and anyone reading the history, sees only ciphertext. Workers and
    clients of one agent must share the key (``secret_key=``, else ``MBXAI_SECRET_KEY``).
    """

    def __init__(self, secret_key: str | bytes | None = None) -> None:
        box = SecretBox(secret_key)
        if box.ephemeral:
            raise ConfigurationError(
                "a durable agent needs a secret_key (or MBXAI_SECRET_KEY) shared by its workers "
                "and clients: payloads encrypted with a per-process key are unreadable elsewhere"
            )
        self._fernet = box._cipher()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key=***)"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(
                metadata={"encoding": ENCODING},
                data=self._fernet.encrypt(payload.SerializeToString()),
            )
            for payload in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            out.append(Payload.FromString(self._fernet.decrypt(payload.data)))
        return out


def data_converter(secret_key: str | bytes | None = None) -> temporalio.converter.DataConverter:
    """Temporal's default data converter with :class:`SecretPayloadCodec`: pass it to
    ``Client.connect(..., data_converter=)`` in every worker and client of an agent."""
    return dataclasses.replace(
        temporalio.converter.DataConverter.default,
        payload_codec=SecretPayloadCodec(secret_key),
        # Failure messages and stack traces (a tool's error may quote its arguments) are
        # payloads too, encrypted like the rest.
        failure_converter_class=temporalio.converter.DefaultFailureConverterWithEncodedAttributes,
    )


def sandbox_runner(*modules: str) -> SandboxedWorkflowRunner:
    """The workflow sandbox with mbxai (and ``modules``) passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH, *modules)
    return SandboxedWorkflowRunner(restrictions=restrictions)


# -- what travels between the workflow, its activities and clients --------------------------


@dataclasses.dataclass
class RunInput:
    """A workflow's input: which agent runs which request."""

    agent: str
    prompt: str
    final: str  # "module:QualName" of the final response model
    ask_questions: bool = True
    #: The finished session a follow-up request continues (None: a new session).
    record: dict[str, Any] | None = None


@dataclasses.dataclass
class HTTPReply:
    """One LLM request's HTTP answer (the workflow decodes it: typed errors included)."""

    status: int
    headers: list[tuple[str, str]]
    content: str  # base64

    def decode(self) -> ChatCompletion:
        body = base64.b64decode(self.content)
        return decode_completion(self.status, dict(self.headers), body, ChatCompletion)


def _path_of(model: type[BaseModel]) -> str:
    if "<locals>" in model.__qualname__:
        raise ConfigurationError(
            f"final_response_structure {model.__qualname__} is defined in a function: a durable "
            "run's workers import it by name, so define it at module level"
        )
    path = f"{model.__module__}:{model.__qualname__}"
    _MODELS.setdefault(path, model)
    return path


def _import(path: str) -> type[BaseModel]:
    known = _MODELS.get(path)
    if known is not None:
        return known
    module, _, name = path.partition(":")
    if module == "__main__":
        raise ConfigurationError(
            f"the worker cannot import {path}: define the final response model in an "
            "importable module, or pass it to TemporalAgent(response_models=[...])"
        )
    with workflow.unsafe.imports_passed_through():
        found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise ConfigurationError(f"{path} is not a Pydantic model class")
    return found


# -- the worker side ---------------------------------------------------------------------------


class TemporalAgent:
    """An agent a Temporal worker runs durably.

    ``agent`` is configured as usual (client, tools, dialog options, session store); in
    the workflow its run loop runs with LLM requests and tool calls sent to activities,
    which use this same object's clients and tools.

    Args:
        agent: The agent (async flavour: Temporal workers are async).
        name: The agent's name; runs name it, and workers of every machine must register
            the same agent under it.
        tool_timeout: A tool call's ``start_to_close_timeout`` when neither the tool nor
            its client has a timeout.
        llm_timeout: An LLM request's ``start_to_close_timeout``: how long a request may
            take before another attempt starts (a worker that died is noticed then).
            Default: the client's timeout plus 5 s, or 10 minutes without one.
        response_models: Final response models the workflow may be asked for that it
            cannot import by name (one defined in the ``__main__`` script, say).
    """

    def __init__(
        self,
        agent: AsyncAgentClient,
        *,
        name: str,
        tool_timeout: timedelta = DEFAULT_TOOL_TIMEOUT,
        llm_timeout: timedelta | None = None,
        response_models: Sequence[type[BaseModel]] = (),
    ) -> None:
        if not isinstance(agent, AsyncAgentClient):
            raise ConfigurationError(
                f"agent must be an AsyncAgentClient (Temporal workers are async), got {type(agent).__name__}"
            )
        if not isinstance(name, str) or not name or len(name) > 200:
            raise ConfigurationError("name must be a non-empty string of at most 200 characters")
        for model in response_models:
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise ConfigurationError(
                    f"response_models must be Pydantic model classes, got {model!r}"
                )
            _path_of(model)
        self.agent = agent
        self.name = name
        self._tool_timeout = tool_timeout
        self._llm_timeout = llm_timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, agent={self.agent!r})"

    # clients of the agent --------------------------------------------------------------------

    def _chat(self) -> AsyncOpenRouterClient:
        client = self.agent._client
        chat = client.openrouter_client if isinstance(client, AsyncToolClient) else client
        if not isinstance(chat, AsyncOpenRouterClient):
            raise ConfigurationError(
                f"a durable agent needs an OpenRouter, Tool or MCP client, got {type(chat).__name__}"
            )
        return chat

    def _tool_client(self) -> AsyncToolClient | None:
        client = self.agent._client
        return client if isinstance(client, AsyncToolClient) else None

    # activities --------------------------------------------------------------------------------

    def activities(self) -> list[Callable[..., Any]]:
        """The activities this agent's workflows call (a worker registers them)."""

        async def llm(
            body: str, timeout: float | None, headers: dict[str, str | None]
        ) -> HTTPReply:
            return await self._llm_activity(body, timeout, headers)

        async def tool(name: str, arguments: dict[str, Any]) -> Any:
            return await self._tool_activity(name, arguments)

        async def save(agent_id: str, record: dict[str, Any]) -> None:
            await self._save_activity(agent_id, record)

        return [
            activity.defn(name=f"{self.name}.llm")(llm),
            activity.defn(name=f"{self.name}.tool")(tool),
            activity.defn(name=f"{self.name}.save")(save),
        ]

    async def _llm_activity(
        self, body: str, timeout: float | None, extra_headers: dict[str, str | None]
    ) -> HTTPReply:
        """One HTTP attempt of an LLM request; a retryable failure raises for Temporal to
        retry (on this worker or another), anything else is returned for the workflow."""
        chat = self._chat()
        call_timeout, headers = chat._call_settings(timeout, extra_headers)
        request = chat._request(
            chat._url, timeout=call_timeout, extra_headers=headers, content=base64.b64decode(body)
        )
        try:
            response, content = await chat._send_and_read(
                request, chat._config.deadline(call_timeout)
            )
        except OpenRouterConnectionError as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__) from None
        reply = HTTPReply(
            status=response.status_code,
            headers=list(response.headers.items()),
            content=base64.b64encode(content).decode(),
        )
        if response.status_code >= 400:
            try:
                reply.decode()
            except OpenRouterAPIError as exc:
                verdict = chat._config.retry.policy(exc)
                if verdict is not False:
                    delay = None if verdict is True else timedelta(seconds=float(verdict))
                    raise ApplicationError(
                        str(exc), reply, type="OpenRouterAPIError", next_retry_delay=delay
                    ) from None
        return reply

    async def _tool_activity(self, name: str, arguments: dict[str, Any]) -> Any:
        tools = self._tool_client()
        tool = tools.tools.get(name) if tools is not None else None
        if tool is None:
            raise ApplicationError(f"no tool {name!r} on this worker", non_retryable=True)
        function = getattr(tool.function, "__wrapped__", tool.function)
        try:
            result = await async_call_user_code(function, arguments)
        except Exception as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from None
        return _jsonable(result)

    async def _save_activity(self, agent_id: str, record: dict[str, Any]) -> None:
        """Mirror the workflow's record into the agent's session store (for listing and
        inspection; the workflow is its only writer)."""
        await self.agent._store("set_session", agent_id, record)

    # the workflow's view of the agent ----------------------------------------------------------

    def _retry_policy(self) -> RetryPolicy:
        schedule = self._chat()._config.retry
        return RetryPolicy(
            initial_interval=timedelta(seconds=max(schedule.wait_initial, 0.001)),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(
                seconds=max(schedule.wait_max, schedule.wait_initial, 0.001)
            ),
            maximum_attempts=schedule.retries + 1,
        )

    def _llm_start_to_close(self) -> timedelta:
        if self._llm_timeout is not None:
            return self._llm_timeout
        seconds = self._chat()._config.request_seconds
        return timedelta(minutes=10) if seconds is None else timedelta(seconds=seconds + 5)

    def _in_workflow(self, store: _WorkflowStore) -> AsyncAgentClient:
        """A copy of the agent whose I/O goes to activities and whose store is the
        workflow's state."""
        shadow = copy.copy(self.agent)
        shadow.session_handler = store
        shadow._cas = True
        shadow._on_event = None  # events would fire again on every replay
        chat = self._in_workflow_chat()
        tools = self._tool_client()
        if tools is None:
            shadow._client = chat
            return shadow
        shadow_tools = object.__new__(AsyncToolClient)
        shadow_tools.__dict__.update(vars(tools))
        shadow_tools._client = chat
        shadow_tools._tool_timeout = None  # the activity's timeout bounds the call
        registry = ToolRegistry()
        for tool in tools.tools.values():
            registry.add(
                dataclasses.replace(
                    tool,
                    function=journaled(tool.name, functools.partial(self._tool_call, tool)),
                    timeout=None,
                )
            )
        shadow_tools._tools = registry
        shadow._client = shadow_tools
        return shadow

    def _in_workflow_chat(self) -> AsyncOpenRouterClient:
        real = self._chat()
        chat = copy.copy(real)
        # What the client learns about its endpoint is learnt again in each run: a replay
        # must take the same decisions as the run it replays.
        chat._structured = copy.deepcopy(real._structured)
        chat._complete = functools.partial(self._llm_call, chat)  # type: ignore[method-assign]
        chat._open_stream = _no_stream  # type: ignore[method-assign]
        return chat

    async def _llm_call(
        self,
        chat: AsyncOpenRouterClient,
        body: bytes,
        slug: str,
        timeout: Any,
        extra_headers: Mapping[str, str] | None,
        cls: type[Any],
    ) -> Any:
        seconds = timeout if isinstance(timeout, int | float) else None
        meter = current_meter()
        if meter is not None:
            meter.before_request()
        try:
            reply: HTTPReply = await workflow.execute_activity(
                f"{self.name}.llm",
                args=[base64.b64encode(body).decode(), seconds, dict(extra_headers or {})],
                result_type=HTTPReply,
                start_to_close_timeout=self._llm_start_to_close(),
                retry_policy=self._retry_policy(),
            )
        except ActivityError as exc:
            raise _llm_error(exc, chat) from None
        completion = decode_completion(
            reply.status, dict(reply.headers), base64.b64decode(reply.content), cls
        )
        if meter is not None:
            meter.after_response(getattr(completion, "usage", None))
        return completion

    async def _tool_call(self, tool: Any, **arguments: Any) -> Any:
        client = self._tool_client()
        limit = tool.timeout if tool.timeout is not None else getattr(client, "_tool_timeout", None)
        try:
            return await workflow.execute_activity(
                f"{self.name}.tool",
                args=[tool.name, arguments],
                start_to_close_timeout=timedelta(seconds=limit) if limit else self._tool_timeout,
                retry_policy=RetryPolicy(maximum_attempts=1),  # a tool runs at most once
            )
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, ActivityTimeoutError):
                raise ToolOutcomeUnknown(
                    f"the call of {tool.name} did not finish in time (or its worker died): it may "
                    "or may not have taken effect, so it is not run again"
                ) from None
            message = cause.message if isinstance(cause, ApplicationError) else str(exc)
            kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "Error"
            raise _tool_error(kind)(message) from None

    # -- a worker ------------------------------------------------------------------------------

    def worker(self, client: Client, *, task_queue: str, **options: Any) -> Worker:
        """A Temporal worker running this agent's workflows and activities on
        ``task_queue`` (run it with ``async with worker:`` or ``await worker.run()``).

        ``options`` go to :class:`temporalio.worker.Worker` (concurrency limits, ...).
        """
        _AGENTS[self.name] = self
        options.setdefault("workflow_runner", sandbox_runner())
        return Worker(
            client,
            task_queue=task_queue,
            workflows=[AgentWorkflow],
            activities=self.activities(),
            **options,
        )


def _no_stream(*args: Any, **kwargs: Any) -> Any:
    raise ConfigurationError("a durable agent's requests are not streamed")


def _jsonable(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


@functools.cache
def _tool_error(kind: str) -> type[Exception]:
    """An exception class named like the one the tool raised (the model sees the name)."""
    return type(kind if kind.isidentifier() else "Error", (Exception,), {})


def _llm_error(exc: ActivityError, chat: AsyncOpenRouterClient) -> Exception:
    cause = exc.cause
    if isinstance(cause, ApplicationError):
        if cause.type == "OpenRouterAPIError" and cause.details:
            detail = cause.details[0]
            reply = detail if isinstance(detail, HTTPReply) else HTTPReply(**dict(detail))
            try:
                reply.decode()
            except OpenRouterAPIError as api_error:
                return api_error
        if cause.type == "OpenRouterTimeoutError":
            return OpenRouterTimeoutError(cause.message, url=chat._config.root)
        return OpenRouterConnectionError(cause.message, url=chat._config.root)
    return OpenRouterTimeoutError(f"the LLM request did not finish: {exc}", url=chat._config.root)


class _WorkflowStore:
    """The workflow's session store: the record is workflow state; each save is
    mirrored to the agent's own store by an activity."""

    def __init__(self, agent: TemporalAgent, on_save: Callable[[dict[str, Any]], None]) -> None:
        self._agent = agent
        self._on_save = on_save
        self.record: dict[str, Any] | None = None

    async def get_session(self, agent_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.record)

    async def set_session(
        self, agent_id: str, session_data: dict[str, Any], expected_version: int | None = None
    ) -> None:
        self.record = copy.deepcopy(session_data)
        self._on_save(self.record)
        try:
            await workflow.execute_local_activity(
                f"{self._agent.name}.save",
                args=[agent_id, session_data],
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as exc:  # the store is a view: the run goes on without it
            workflow.logger.warning("mbxai: session store not updated: %s", exc)

    async def delete_session(self, agent_id: str) -> bool:
        return False

    async def list_sessions(self) -> list[str]:
        return [] if self.record is None else [str(self.record["agent_id"])]

    async def session_exists(self, agent_id: str) -> bool:
        return self.record is not None


# -- the workflow ------------------------------------------------------------------------------


@workflow.defn(name=WORKFLOW_NAME)
class AgentWorkflow:
    """An agent's run: the run loop until it completes or fails, waiting for a human
    (the ``answer`` update) whenever it pauses. Its result is the session record."""

    def __init__(self) -> None:
        self._record: dict[str, Any] | None = None
        self._answers: list[HumanInLoopResponse] | None = None
        self._settled = False
        self._error: str | None = None

    def _saved(self, record: dict[str, Any]) -> None:
        self._record = record

    @workflow.run
    async def run(self, spec: RunInput) -> dict[str, Any]:
        durable = _AGENTS.get(spec.agent)
        if durable is None:
            raise ApplicationError(f"no agent {spec.agent!r} on this worker", non_retryable=True)
        final = _import(spec.final)
        agent_id = workflow.info().workflow_id
        token = id_source.set(workflow.uuid4)
        try:
            store = _WorkflowStore(durable, self._saved)
            agent = durable._in_workflow(store)
            if spec.record is not None:
                session = AgentSession.model_validate(spec.record)
                session.agent_id = agent_id
                if session.state == AgentState.COMPLETED:
                    agent._start_turn(session, spec.prompt)
            else:
                session = AgentSession.new(spec.prompt, final, agent_id=agent_id)
            session.ask_questions = spec.ask_questions
            await agent._save(session)
            responses: list[HumanInLoopResponse] | None = None
            while True:
                try:
                    await agent.agent(
                        spec.prompt,
                        final,
                        agent_id=agent_id,
                        human_response=responses,
                        ask_questions=spec.ask_questions,
                    )
                except Exception as exc:  # the run ends; the record says why
                    self._error = f"{type(exc).__name__}: {exc}"
                    record = dict(self._record or {})
                    if record.get("state") not in (AgentState.COMPLETED, AgentState.FAILED):
                        record["state"] = AgentState.FAILED.value
                        record["error"] = self._error
                    self._record = record
                    self._settled = True
                    break
                self._settled = True
                if (self._record or {}).get("state") != AgentState.WAITING_FOR_HUMAN.value:
                    break
                await workflow.wait_condition(lambda: self._answers is not None)
                responses, self._answers = self._answers, None
            await workflow.wait_condition(workflow.all_handlers_finished)
            return dict(self._record or {})
        finally:
            id_source.reset(token)

    @workflow.query
    def record(self) -> dict[str, Any] | None:
        """The session record as it is now."""
        return self._record

    @workflow.update
    async def settled(self) -> dict[str, Any]:
        """The record once the run has paused, completed or failed."""
        await workflow.wait_condition(lambda: self._settled)
        return dict(self._record or {})

    @workflow.update
    async def answer(self, responses: list[dict[str, Any]]) -> dict[str, Any]:
        """Deliver a human's answers to the pending requests; the record once the run has
        paused, completed or failed again."""
        if not self._settled or self._answers is not None:
            # Two answers accepted in one workflow task: the validator ran for both before
            # either handler; the first one wins.
            raise HumanResponseError("the run is not waiting for a human now")
        self._answers = [HumanInLoopResponse.model_validate(r) for r in responses]
        self._settled = False
        await workflow.wait_condition(lambda: self._settled)
        return dict(self._record or {})

    @answer.validator
    def _check_answer(self, responses: list[dict[str, Any]]) -> None:
        if not self._settled or self._answers is not None:
            raise HumanResponseError("the run is not waiting for a human now")
        record = self._record or {}
        if record.get("state") != AgentState.WAITING_FOR_HUMAN.value:
            raise HumanResponseError(f"session is {record.get('state')}, not waiting for a human")
        parsed = [HumanInLoopResponse.model_validate(r) for r in responses]
        check_responses(AgentSession.model_validate(record), parsed)


# -- the application side ----------------------------------------------------------------------


class AsyncTemporalAgentClient:
    """Start, answer and read durable agent runs, with the call shape of
    :meth:`AsyncAgentClient.agent`: an application switches to durable runs by changing
    the client it constructs.

    Args:
        client: A Temporal client connected with :func:`data_converter` (the agent's key).
        agent: The agent's name (as its workers register it with :class:`TemporalAgent`).
        task_queue: The task queue its workers poll.
        session_handler: The agent's session store, for :meth:`list_sessions` (optional:
            reading a run asks its workflow).
    """

    def __init__(
        self,
        client: Client,
        agent: str,
        *,
        task_queue: str,
        session_handler: Any = None,
        execution_timeout: timedelta | None = None,
    ) -> None:
        if not isinstance(client, Client):
            raise ConfigurationError(
                f"client must be a temporalio Client, got {type(client).__name__}"
            )
        codec = client.data_converter.payload_codec
        if not isinstance(codec, SecretPayloadCodec):
            raise ConfigurationError(
                "connect the Temporal client with data_converter=mbxai.temporal.data_converter(key): "
                "without it the run's payloads (a human's credentials too) are stored in plain text"
            )
        self._client = client
        self.agent_name = agent
        self.task_queue = task_queue
        self.session_handler = session_handler
        self._execution_timeout = execution_timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(agent={self.agent_name!r}, task_queue={self.task_queue!r})"

    async def agent(
        self,
        prompt: str,
        final_response_structure: type[BaseModel],
        agent_id: str | None = None,
        human_response: HumanInLoopResponse
        | HumanInLoopResponseBatch
        | list[HumanInLoopResponse]
        | None = None,
        *,
        ask_questions: bool = True,
    ) -> AgentResponse:
        """Start a run, answer its human requests, or read it; returns once the run has
        paused for a human, completed or failed (as :meth:`AsyncAgentClient.agent`).

        A finished session with a new ``prompt`` continues as a new run of the same
        workflow id (the earlier requests remembered).
        """
        if not (
            isinstance(final_response_structure, type)
            and issubclass(final_response_structure, BaseModel)
        ):
            raise ConfigurationError(
                f"final_response_structure must be a Pydantic model class, got {final_response_structure!r}"
            )
        if not isinstance(prompt, str):
            raise ConfigurationError(f"prompt must be a string, got {type(prompt).__name__}")
        responses = normalize_responses(human_response)
        final = _path_of(final_response_structure)
        if agent_id is None:
            if responses:
                raise ConfigurationError(
                    "human_response needs the agent_id of the session that asked"
                )
            agent_id = uuid.uuid4().hex
            record = await self._start(
                agent_id, RunInput(self.agent_name, prompt, final, ask_questions)
            )
            return self._response(record, final_response_structure)
        handle = self._client.get_workflow_handle(agent_id)
        if responses:
            try:
                record = await handle.execute_update(
                    AgentWorkflow.answer,
                    [r.model_dump(mode="json") for r in responses],
                )
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                message = getattr(cause, "message", None) or str(exc)
                raise HumanResponseError(message, agent_id=agent_id) from None
            return self._response(record, final_response_structure)
        if await self._running(agent_id):
            record = await handle.execute_update(AgentWorkflow.settled)
            return self._response(record, final_response_structure)
        previous: dict[str, Any] = await handle.result()
        if previous.get("state") == AgentState.COMPLETED.value:
            record = await self._start(
                agent_id,
                RunInput(self.agent_name, prompt, final, ask_questions, record=previous),
            )
            return self._response(record, final_response_structure)
        return self._response(previous, final_response_structure)

    async def _start(self, agent_id: str, spec: RunInput) -> dict[str, Any]:
        handle = await self._client.start_workflow(
            AgentWorkflow.run,
            spec,
            id=agent_id,
            task_queue=self.task_queue,
            execution_timeout=self._execution_timeout,
        )
        return await handle.execute_update(AgentWorkflow.settled)

    @staticmethod
    def _response(record: dict[str, Any], final: type[BaseModel]) -> AgentResponse:
        return build_response(AgentSession.model_validate(record), final)

    async def get_session_info(self, agent_id: str) -> dict[str, Any] | None:
        """A summary of one run's session (as :meth:`AsyncAgentClient.get_session_info`),
        read from its workflow; None if there is no such run."""
        try:
            running = await self._running(agent_id)
        except SessionNotFoundError:
            return None
        handle = self._client.get_workflow_handle(agent_id)
        # A finished run's record is its result: no worker needed to read it.
        record = await (handle.query(AgentWorkflow.record) if running else handle.result())
        return None if record is None else AgentSession.model_validate(record).info()

    async def _running(self, agent_id: str) -> bool:
        """Whether the run's workflow is running (SessionNotFoundError: there is none)."""
        try:
            description = await self._client.get_workflow_handle(agent_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise SessionNotFoundError(
                    f"no durable run {agent_id!r}", agent_id=agent_id
                ) from None
            raise
        return description.status == WorkflowExecutionStatus.RUNNING

    async def list_sessions(self) -> list[str]:
        """Ids of the sessions in the agent's store (needs ``session_handler``)."""
        if self.session_handler is None:
            raise ConfigurationError("list_sessions needs the session_handler the workers use")
        found = self.session_handler.list_sessions()
        if isinstance(found, Awaitable):
            found = await found
        return list(found)


class TemporalAgentClient:
    """The sync twin of :class:`AsyncTemporalAgentClient`: the same methods, blocking.

    temporalio is async-only, so the calls run on mbxai's background event loop (the one
    sync MCP clients use); the Temporal client must be connected on that loop, which
    :meth:`connect` does. Workers stay async (:class:`TemporalAgent`).
    """

    def __init__(self, inner: AsyncTemporalAgentClient) -> None:
        if not isinstance(inner, AsyncTemporalAgentClient):
            raise ConfigurationError("TemporalAgentClient wraps an AsyncTemporalAgentClient")
        self._inner = inner

    @classmethod
    def connect(
        cls,
        target: str,
        agent: str,
        *,
        task_queue: str,
        secret_key: str | bytes | None = None,
        namespace: str = "default",
        session_handler: Any = None,
    ) -> TemporalAgentClient:
        """Connect to Temporal at ``target`` (on the background loop) with the agent's key."""

        async def make() -> AsyncTemporalAgentClient:
            client = await Client.connect(
                target, namespace=namespace, data_converter=data_converter(secret_key)
            )
            return AsyncTemporalAgentClient(
                client, agent, task_queue=task_queue, session_handler=session_handler
            )

        return cls(run_coroutine_blocking(make))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._inner!r})"

    def agent(self, *args: Any, **kwargs: Any) -> AgentResponse:
        """:meth:`AsyncTemporalAgentClient.agent`, blocking."""
        return run_coroutine_blocking(self._inner.agent, *args, **kwargs)

    def get_session_info(self, agent_id: str) -> dict[str, Any] | None:
        """:meth:`AsyncTemporalAgentClient.get_session_info`, blocking."""
        return run_coroutine_blocking(self._inner.get_session_info, agent_id)

    def list_sessions(self) -> list[str]:
        """:meth:`AsyncTemporalAgentClient.list_sessions`, blocking."""
        return run_coroutine_blocking(self._inner.list_sessions)
