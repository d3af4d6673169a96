# This file is generated from src/mbxai/_async/agent.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The planning agent: plan, execute tasks (with tools), ask humans, evaluate the goal."""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from types import TracebackType
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from .._agent import (
    AgentSession,
    JournalEntry,
    PausedToolLoop,
    Plan,
    TaskOutcome,
    Turn,
    add_planned_tasks,
    apply_responses,
    approval_request,
    build_response,
    check_responses,
    client_request_task,
    clip,
    compact_turns,
    dialog_request,
    evaluation_messages,
    evaluation_model,
    fallback_task,
    forget_journal,
    is_secret_name,
    journal_key,
    llm_calls,
    normalize_responses,
    pending_calls,
    plan_messages,
    plan_model,
    progress_fingerprint,
    task_messages,
)
from .._agent_stream import progress_event, update_events
from .._checks import check_bool, check_callable, check_instance, check_int
from .._concurrency import Lock, call_abandoned, call_user_code, run_in_context
from .._content import ContentPart, parts_of
from .._errors import (
    AgentError,
    ConfigurationError,
    MBXAIError,
    MBXAIWarning,
    SessionConflictError,
    SessionCorruptError,
    SessionNotFoundError,
    SessionStoreError,
    StructuredOutputError,
    ToolLoopLimitError,
    ToolOutcomeUnknown,
    UsageLimitExceeded,
)
from .._logging import get_logger
from .._masking import Masker
from .._mcp_interactive import HumanRequestSource
from .._secrets import SecretBox
from .._sessions import InMemorySessionHandler, supports_cas
from .._tools import DEFAULT_MAX_RESULT_CHARS, DeferredContext, clip_result, format_result
from .._tracing import telemetry_of
from .._types import ToolApproval
from .._usage import UsageLimits, UsageMeter, check_limits, combine, metering
from ..agent.models import (
    AgentEvent,
    AgentResponse,
    AgentState,
    AgentStep,
    AgentStreamEvent,
    DialogOption,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInLoopResponseBatch,
    HumanInteractionType,
    RunFinishedEvent,
    RunStartedEvent,
    Task,
    TaskStatus,
)

__all__ = ["AgentClient", "AgentStream", "journaled"]

#: The usage meter of the session being run in this context (what it spent is saved).
_session_meter: contextvars.ContextVar[UsageMeter | None] = contextvars.ContextVar(
    "mbxai_agent_meter", default=None
)

#: The journal of the task running in this context (None outside agent task execution).
_journal: contextvars.ContextVar[Journal | None] = contextvars.ContextVar(
    "mbxai_agent_journal", default=None
)


class _Save(Protocol):
    """Saves a session with compare-and-set (the agent's ``_save``)."""

    def __call__(self, session: AgentSession, /) -> None: ...


class Journal:
    """Claims each tool call of a task in the session before it runs and records its
    result as soon as it returns, so a resumed task replays finished calls, never re-runs
    a claimed one, and of two workers racing on one session only one runs a tool.

    What is recorded is what the model was shown: the result as message text, injected
    values masked and clipped like the tool loop does, never the raw value.
    """

    def __init__(
        self,
        session: AgentSession,
        task_id: str,
        context: DeferredContext | None,
        *,
        save: _Save,
        secret_params: Mapping[str, Sequence[str]],
        max_result_chars: int | None,
    ) -> None:
        self._session = session
        self._task_id = task_id
        self._masker = context.masker if context is not None else Masker()
        self._save = save
        self._secret_params = secret_params
        self._max_result_chars = max_result_chars
        self._lock = Lock()
        #: Set when another worker wrote the session first; the task must stop.
        self.conflict: SessionConflictError | None = None

    def call(self, tool: str, function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        hidden = self._secret_params.get(tool, ())
        for name in hidden:
            self._masker.add(arguments.get(name))
        visible = {k: v for k, v in arguments.items() if k not in hidden}
        key = journal_key(self._task_id, tool, visible)
        with self._lock:
            if self.conflict is not None:
                raise self.conflict
            entry = next((e for e in self._session.journal if e.key == key), None)
            if entry is not None and entry.done:
                return entry.result
            if entry is not None:
                raise ToolOutcomeUnknown(
                    f"an earlier call of {tool} with these arguments was interrupted before its "
                    "result was saved; it may or may not have taken effect, so it is not run again"
                )
            entry = JournalEntry(key=key, tool=tool, task_id=self._task_id, done=False)
            self._session.journal.append(entry)
            try:
                self._save(self._session)
            except SessionConflictError as exc:
                self._session.journal.remove(entry)
                self.conflict = exc
                raise
        try:
            # Abandoned on cancellation: the tool loop's timeout around this wrapper must
            # end the wait for a sync tool's thread, as it does for an unwrapped tool.
            result = call_user_code(function, arguments, abandon_on_cancel=True)
        except Exception:
            # A call that raised is finished too; the model decides whether to try again.
            self._session.journal.remove(entry)
            raise
        # Cancelled (timed out) calls keep their claim: they may still take effect.
        if call_abandoned():
            return result  # the caller stopped waiting and went on with the session
        with self._lock:
            entry.done = True
            entry.result = self._shown(result)
            self._save(self._session)
        return result

    def _shown(self, result: Any) -> str:
        try:
            text = format_result(self._masker.data(result))
        except ValueError as exc:
            text = f"(the result could not be recorded: {exc})"
        return clip_result(self._masker.text(text), self._max_result_chars)


class AgentClient:
    """A planning agent on top of any mbxai client (OpenRouter, Tool or MCP client).

    One :meth:`agent` call runs until the run is ``COMPLETED``, ``FAILED`` or
    ``WAITING_FOR_HUMAN``. LLM calls are spent carefully: one structured call plans
    (requirement analysis, tool mapping, todo list), one call executes each task (through
    the wrapped client's tool loop when it has tools) and one evaluates the goal and
    writes the final response. The session is saved after every step (and after every
    tool call), so an interrupted run resumes where it stopped, in any process sharing
    the session store, and no tool runs twice.

    Args:
        ai_client: The client that talks to the model.
        human_in_loop: Let the plan (and tasks) ask a human; the run then pauses.
        dialog_options: UI-handled interactions (logins, approvals) the agent may request.
        max_task_iterations: How many plan/evaluate rounds a run may take before it fails.
        session_handler: Where sessions live (default: in memory).
        secret_key: Key for encrypting dialog-option secrets at rest (default:
            ``MBXAI_SECRET_KEY``, else a per-process key).
        on_event: Called with an :class:`AgentEvent` at each step (sync or async).
        max_result_chars: Longest task result kept and passed on to later prompts.
        max_turns: Earlier requests a continued session remembers; older ones are
            dropped, so a long-lived session does not grow without bound.
        usage_limits: Default bounds on the requests, tokens and cost of each session
            (see :class:`UsageLimits`); ``agent(usage_limits=)`` applies too.
    """

    def __init__(
        self,
        ai_client: Any,
        human_in_loop: bool = False,
        dialog_options: Sequence[DialogOption] | None = None,
        max_task_iterations: int = 10,
        session_handler: Any = None,
        *,
        secret_key: str | bytes | None = None,
        on_event: Callable[[AgentEvent], Any] | None = None,
        max_result_chars: int = 4000,
        max_turns: int = 20,
        usage_limits: UsageLimits | None = None,
    ) -> None:
        if not callable(getattr(ai_client, "parse", None)):
            raise ConfigurationError(
                f"ai_client must be an mbxai client with parse() (OpenRouter, Tool or MCP client), "
                f"got {type(ai_client).__name__}"
            )
        check_bool("human_in_loop", human_in_loop)
        check_int("max_turns", max_turns, minimum=0)
        check_int("max_task_iterations", max_task_iterations, minimum=1)
        check_int("max_result_chars", max_result_chars, minimum=100)
        check_callable("on_event", on_event)
        check_instance("secret_key", secret_key, (str, bytes))
        if isinstance(dialog_options, str | bytes | DialogOption):
            raise ConfigurationError(
                f"dialog_options must be a list of DialogOption, got {type(dialog_options).__name__}"
            )
        try:
            options = list(dialog_options or [])
        except TypeError:
            raise ConfigurationError(
                f"dialog_options must be a list of DialogOption, got {type(dialog_options).__name__}"
            ) from None
        if not all(isinstance(o, DialogOption) for o in options):
            raise ConfigurationError("dialog_options must be a list of DialogOption")
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            raise ConfigurationError(f"dialog option ids must be unique, got {ids}")
        handler = session_handler if session_handler is not None else InMemorySessionHandler()
        for method in (
            "get_session",
            "set_session",
            "delete_session",
            "list_sessions",
            "session_exists",
        ):
            if not callable(getattr(handler, method, None)):
                raise ConfigurationError(
                    f"session_handler lacks {method}() of the SessionHandler protocol"
                )
        self._client = ai_client
        self._telemetry = telemetry_of(getattr(ai_client, "openrouter_client", ai_client))
        self.human_in_loop = human_in_loop
        self.dialog_options = options
        self.max_task_iterations = max_task_iterations
        self.session_handler = handler
        self._cas = supports_cas(handler)
        self._box = SecretBox(secret_key)
        if options and self._box.ephemeral and not isinstance(handler, InMemorySessionHandler):
            warnings.warn(
                f"{type(self).__name__} has dialog options and a shared session store "
                f"({type(handler).__name__}) but no secret_key (nor MBXAI_SECRET_KEY): the "
                "secrets a human enters are encrypted with a key that dies with this process, "
                "so another process resuming the session cannot use them and asks the human "
                "again. Pass secret_key= (the same in every process) to share them.",
                MBXAIWarning,
                stacklevel=2,
            )
        self._on_event = on_event
        self._max_chars = max_result_chars
        self._max_turns = max_turns
        self._usage_limits = check_limits(usage_limits)
        self._secret_params: set[str] = set()
        self._tool_secrets: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client={type(self._client).__name__}, human_in_loop={self.human_in_loop}, "
            f"sessions={type(self.session_handler).__name__})"
        )

    # -- tools --------------------------------------------------------------------------------

    def register_tool(
        self,
        name: str,
        description: str,
        function: Callable[..., Any],
        schema: dict[str, Any] | None = None,
        *,
        secret_params: Sequence[str] | None = None,
        requires_approval: bool | Callable[[dict[str, Any]], bool] = False,
    ) -> Any:
        """Register a tool on the wrapped client (which must be a Tool or MCP client).

        Parameters that carry credentials are hidden from the model and filled from
        dialog-option results: those named in ``secret_params``, those a dialog option
        ``provides``, and, unless ``secret_params`` is given, parameters whose names look
        like credentials (token, password, secret, api_key, auth...).

        With ``requires_approval`` (``True``, or a function of a call's arguments deciding
        per call), a call of the tool pauses the run with a ``TOOL_APPROVAL`` request
        naming the tool and its arguments; it runs (exactly once) only after a human
        answers ``decision="approve"``, and never after ``"deny"``. Without a human in the
        loop such calls are denied.
        """
        register = getattr(self._client, "register_tool", None)
        if register is None:
            raise ConfigurationError(
                f"{type(self._client).__name__} cannot take tools: wrap a ToolClient or MCPClient"
            )
        params = list(inspect.signature(function).parameters)
        provided = {key for option in self.dialog_options for key in option.provides}
        if secret_params is not None:
            unknown = set(secret_params) - set(params)
            if unknown:
                raise ConfigurationError(
                    f"secret_params {sorted(unknown)} are not parameters of {name}"
                )
            secrets = [p for p in params if p in secret_params or p in provided]
        else:
            secrets = [p for p in params if p in provided or is_secret_name(p)]
        self._secret_params.update(secrets)
        self._tool_secrets[name] = secrets
        return register(
            name,
            description,
            journaled(name, function),
            schema,
            injected=tuple(secrets),
            requires_approval=requires_approval,
        )

    # -- sessions -----------------------------------------------------------------------------

    def list_sessions(self) -> list[str]:
        """Ids of the sessions in the store."""
        return list(self._store("list_sessions"))

    def get_session_info(self, agent_id: str) -> dict[str, Any] | None:
        """A summary of one session (state, tasks, tokens...), or None if there is none."""
        data = self._store("get_session", agent_id)
        return None if data is None else self._decode(agent_id, data).info()

    def get_response(
        self, agent_id: str, final_response_structure: type[BaseModel] | None = None
    ) -> AgentResponse | None:
        """The session as ``agent()`` last left it (state, todo list, pending requests, final
        response), read from the store without running anything; None if there is none.

        For a UI or a service that shows a run driven elsewhere (another request, another
        process). With ``final_response_structure`` the final response is validated into it,
        else it is the stored JSON.
        """
        data = self._store("get_session", agent_id)
        if data is None:
            return None
        return build_response(self._decode(agent_id, data), final_response_structure)

    def delete_session(self, agent_id: str) -> bool:
        """Remove a session; True if it existed."""
        return bool(self._store("delete_session", agent_id))

    def _store(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a handler method, sync or async (a sync one in a worker thread in async code).

        Store failures become :class:`SessionStoreError` (the driver's error chained).
        """
        call = functools.partial(getattr(self.session_handler, method), *args, **kwargs)
        try:
            return call_user_code(call, {})
        except MBXAIError:
            raise
        except RecursionError:
            # A record nested too deeply for the handler's JSON parser: the record is
            # damaged, the store is fine.
            agent_id = args[0] if args and isinstance(args[0], str) else None
            raise SessionCorruptError(
                f"session {agent_id!r} is corrupt and cannot be read: nested too deeply",
                agent_id=agent_id,
            ) from None
        except Exception as exc:
            where = f" for session {args[0]!r}" if args else ""
            raise SessionStoreError(
                f"session store {type(self.session_handler).__name__}.{method}() failed{where}: "
                f"{type(exc).__name__}: {exc}",
                agent_id=args[0] if args and isinstance(args[0], str) else None,
            ) from exc

    def _load(self, agent_id: str) -> AgentSession:
        data = self._store("get_session", agent_id)
        if data is None:
            raise SessionNotFoundError(f"no session {agent_id!r} in the store", agent_id=agent_id)
        return self._decode(agent_id, data)

    @staticmethod
    def _decode(agent_id: str, data: Any) -> AgentSession:
        try:
            return AgentSession.model_validate(data)
        except RecursionError:
            raise SessionCorruptError(
                f"session {agent_id!r} is corrupt and cannot be resumed: nested too deeply",
                agent_id=agent_id,
            ) from None
        except ValidationError as exc:
            raise SessionCorruptError(
                f"session {agent_id!r} is corrupt and cannot be resumed: {exc.error_count()} error(s), "
                f"first: {exc.errors(include_url=False)[0]['msg']}",
                agent_id=agent_id,
            ) from None

    def _save(self, session: AgentSession) -> None:
        meter = _session_meter.get()
        if meter is not None:
            session.spent = meter.spent.model_copy()
        expected = session.version
        session.version = expected + 1
        session.updated_at = time.time()
        data = session.model_dump(mode="json")
        try:
            if self._cas:
                self._store("set_session", session.agent_id, data, expected_version=expected)
            else:
                current = self._store("get_session", session.agent_id)
                actual = int(current.get("version", 0)) if isinstance(current, dict) else 0
                if actual != expected:
                    raise SessionConflictError(
                        f"session {session.agent_id!r} was changed by someone else "
                        f"(expected version {expected}, found {actual})",
                        agent_id=session.agent_id,
                        expected_version=expected,
                        actual_version=actual,
                    )
                self._store("set_session", session.agent_id, data)
        except BaseException:
            session.version = expected
            raise

    # -- the run ------------------------------------------------------------------------------

    def agent(
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
        usage_limits: UsageLimits | None = None,
        attachments: Sequence[ContentPart] | None = None,
    ) -> AgentResponse:
        """Run (or resume) a session until it completes, fails or waits for a human.

        Args:
            prompt: The request; on resume, a note (ignored) or, for a finished session,
                the next request building on the earlier ones.
            final_response_structure: The Pydantic model of the final answer.
            agent_id: Resume or continue this session (None starts a new one).
            human_response: Answers to the pending requests: one, a list or a batch.
                They are checked first; a bad one raises :class:`HumanResponseError` and
                leaves the session unchanged.
            ask_questions: False forbids asking the human in this run.
            usage_limits: Bounds on the requests, tokens and cost of the whole session,
                across its resumes (default: the agent's). Reaching one saves the session
                and raises :class:`UsageLimitExceeded`; ``agent()`` with a higher limit
                resumes it.
            attachments: Images, PDFs or audio for the request (:func:`image_part`,
                :func:`pdf_part`, :func:`audio_part`), shown to every step with it
                (after the shared system prompt, so cached with it). Kept in the session
                for its resumes; a next request brings its own.
        """
        events = self._events(
            prompt,
            final_response_structure,
            agent_id,
            human_response,
            ask_questions=ask_questions,
            usage_limits=usage_limits,
            attachments=attachments,
            streaming=False,
        )
        response: AgentResponse | None = None
        try:
            for event in events:
                if isinstance(event, RunFinishedEvent):
                    response = event.response
        finally:
            events.close()
        assert response is not None  # the run's last event
        return response

    def stream(
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
        usage_limits: UsageLimits | None = None,
        attachments: Sequence[ContentPart] | None = None,
    ) -> AgentStream:
        """Run (or resume) a session like :meth:`agent`, as a stream of typed events.

        Takes the same arguments. The events (:data:`AgentStreamEvent`, each a Pydantic
        model with a ``type``) say when a step or task starts and ends, show each tool
        call and its result (tool-context values masked), the text and the partial
        object of every LLM reply as it is generated (each step's reply is streamed),
        the requests a human must answer, and end with :class:`RunFinishedEvent`
        carrying the :class:`AgentResponse`. ``on_event`` is called as with
        :meth:`agent`.

        The run goes on as you read. Stop early by leaving the ``with`` block (or
        with :meth:`AgentStream.close`): the session stays as last saved (after
        the last finished step), to be resumed with ``agent_id``. An error ends the stream with its typed exception,
        the session likewise resumable. Nothing runs before the stream is first read,
        and the arguments are checked then too.
        """
        return AgentStream(
            self._events(
                prompt,
                final_response_structure,
                agent_id,
                human_response,
                ask_questions=ask_questions,
                usage_limits=usage_limits,
                attachments=attachments,
                streaming=True,
            )
        )

    def _events(
        self,
        prompt: str,
        final_response_structure: type[BaseModel],
        agent_id: str | None,
        human_response: HumanInLoopResponse
        | HumanInLoopResponseBatch
        | list[HumanInLoopResponse]
        | None,
        *,
        ask_questions: bool,
        usage_limits: UsageLimits | None,
        attachments: Sequence[ContentPart] | None,
        streaming: bool,
    ) -> Generator[AgentStreamEvent, None]:
        """The run of :meth:`agent` and :meth:`stream`: its events, the response last;
        with ``streaming`` every LLM reply is streamed and shown as it comes."""
        limits = combine(check_limits(usage_limits), self._usage_limits)
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
        parts = [part.to_param() for part in parts_of(attachments, "attachments")]
        if agent_id is None:
            if responses:
                raise ConfigurationError(
                    "human_response needs the agent_id of the session that asked"
                )
            session = AgentSession.new(prompt, final_response_structure)
            session.attachments = parts
            session.ask_questions = ask_questions
            self._save(session)
            self._emit(session, "run_started", message=prompt)
        else:
            session = self._load(agent_id)
            session.ask_questions = ask_questions
            if responses:
                check_responses(session, responses)
                self._answer_clients(session, responses)
                apply_responses(
                    session,
                    responses,
                    declared_secrets=self._secret_params,
                    dialog_options=self.dialog_options,
                    encrypt=self._box.encrypt,
                )
                if session.state == AgentState.WAITING_FOR_HUMAN:
                    session.state = AgentState.EXECUTING_TASKS
                self._save(session)
                self._emit(session, "human_response", message=f"{len(responses)} response(s)")
            elif session.state == AgentState.WAITING_FOR_HUMAN:
                yield RunStartedEvent(agent_id=session.agent_id, prompt=prompt, resumed=True)
                yield self._finished(session, final_response_structure)
                return
            elif session.state == AgentState.COMPLETED:
                self._start_turn(session, prompt)
                session.attachments = parts
                self._save(session)
            elif session.state == AgentState.FAILED:
                if session.iterations >= self.max_task_iterations:
                    raise AgentError(
                        f"session {agent_id!r} failed ({session.error}) and has no iterations left",
                        agent_id=agent_id,
                    )
                self._retry_failed(session)
                self._save(session)
            else:
                # Resuming an interrupted run: claim the session before any work, so of
                # two workers resuming at once exactly one goes on.
                self._save(session)
        session._unsent.clear()  # the stream's own start event stands for these
        yield RunStartedEvent(
            agent_id=session.agent_id, prompt=prompt, resumed=agent_id is not None
        )
        run = self._telemetry.agent_run(session, resumed=agent_id is not None)
        with run, metering(limits, start=session.spent, always=True) as meter:
            token = _session_meter.set(meter)
            try:
                with closing(self._run(session, final_response_structure, streaming)) as events:
                    for event in events:
                        yield event
            except UsageLimitExceeded as exc:
                exc.agent_id = session.agent_id
                self._save(session)  # what was spent, kept: a resume counts on
                raise
            finally:
                _session_meter.reset(token)

    def _start_turn(self, session: AgentSession, prompt: str) -> None:
        session.turns.append(
            Turn(
                prompt=session.prompt,
                final_response=session.final_response,
                goal_evaluation=session.goal_evaluation,
            )
        )
        compact_turns(session, self._max_turns)
        session.prompt = prompt
        session.state = AgentState.ANALYZING_REQUIREMENTS
        session.requirement_analysis = None
        session.tool_analysis = None
        session.todo_list = None
        session.goal_evaluation = None
        session.final_response = None
        session.current_task_id = None
        session.iterations = 0
        session.error = None

    def _retry_failed(self, session: AgentSession) -> None:
        session.error = None
        session.state = (
            AgentState.EXECUTING_TASKS if session.todo_list else AgentState.ANALYZING_REQUIREMENTS
        )
        for task in session.todo_list.tasks if session.todo_list else []:
            if task.status == TaskStatus.FAILED:
                task.status = TaskStatus.PENDING
                task.error = None

    def _run(
        self, session: AgentSession, final: type[BaseModel], streaming: bool
    ) -> Generator[AgentStreamEvent, None]:
        seen: str | None = None
        while session.state not in (AgentState.COMPLETED, AgentState.FAILED):
            # Every step changes the session; one that does not would repeat forever.
            now = progress_fingerprint(session)
            if now == seen:
                raise AgentError(
                    f"session {session.agent_id!r} made no progress in state "
                    f"{session.state.value} (a bug: please report it); it was saved as it is",
                    agent_id=session.agent_id,
                )
            seen = now
            if session.todo_list is None:
                with self._telemetry.agent_step("plan", session):
                    with closing(self._plan(session, final, streaming)) as events:
                        for event in events:
                            yield event
                continue
            ready = session.todo_list.ready()
            self._forget_unreadable_secrets(session, ready)
            runnable = [t for t in ready if not self._needs_human(session, t)]
            if runnable:
                with self._telemetry.agent_step("task", session, runnable[0].id):
                    with closing(self._execute(session, runnable[0], final, streaming)) as events:
                        for event in events:
                            yield event
                continue
            # Tasks still waiting for an earlier request, and tasks that need one now.
            waiting = [
                t
                for t in session.todo_list.tasks
                if t.status == TaskStatus.WAITING_FOR_HUMAN
                or (t in ready and self._needs_human(session, t))
            ]
            if waiting:
                with self._telemetry.agent_step("pause", session):
                    self._pause(session, waiting)
                for event in self._drain(session):
                    yield event
                if session.state == AgentState.WAITING_FOR_HUMAN:
                    break
                continue
            if session.todo_list.is_done:
                with self._telemetry.agent_step("evaluate", session):
                    with closing(self._evaluate(session, final, streaming)) as events:
                        for event in events:
                            yield event
                continue
            # The remaining tasks wait on each other (a cyclic plan): run the first one.
            stuck = next(t for t in session.todo_list.tasks if not t.status.is_final)
            get_logger().info("agent.cycle_broken", agent_id=session.agent_id, task_id=stuck.id)
            stuck.dependencies = []
        if session.state in (AgentState.COMPLETED, AgentState.FAILED):
            self._emit(session, "run_finished", message=session.state.value)
        yield self._finished(session, final)

    @staticmethod
    def _finished(session: AgentSession, final: type[BaseModel]) -> RunFinishedEvent:
        session._unsent.clear()
        return RunFinishedEvent(agent_id=session.agent_id, response=build_response(session, final))

    @staticmethod
    def _drain(session: AgentSession) -> list[AgentStreamEvent]:
        """The progress events emitted since the last call, for the stream."""
        events = list(session._unsent)
        session._unsent.clear()
        return events

    def _ask(
        self,
        client: Any,
        session: AgentSession,
        step: AgentStep,
        task_id: str | None,
        request: tuple[list[Any], type[BaseModel], dict[str, Any]],
        streaming: bool,
        out: list[Any],
    ) -> Generator[AgentStreamEvent, None]:
        """One LLM call of a step, its completion appended to ``out``; streamed, its
        text, partial objects and tool rounds as events."""
        messages, model, params = request
        if not streaming:
            out.append(client.parse(messages, model, **params))
            return
        stream = client.parse(messages, model, stream=True, **params)
        with stream:
            while True:
                try:
                    update = stream.next_update()
                except StopIteration:
                    break
                for event in update_events(session.agent_id, step, task_id, update):
                    yield event
        out.append(stream.final)

    def _asks_humans(self, session: AgentSession) -> bool:
        return self.human_in_loop and session.ask_questions

    def _human_source(self, session: AgentSession) -> HumanRequestSource | None:
        """The client, when it can wait on a human (an MCP client with elicitation or
        OAuth) and a human may be asked in this run."""
        if self._asks_humans(session) and isinstance(self._client, HumanRequestSource):
            return self._client
        return None

    def _answer_clients(self, session: AgentSession, responses: list[HumanInLoopResponse]) -> None:
        """Deliver the answers to requests a client asked (checked first: a bad one raises
        :class:`HumanResponseError` and nothing changes). A client that no longer knows the
        request (this process is not the one that asked) loses nothing: the task runs
        again and the server asks again."""
        if not isinstance(self._client, HumanRequestSource):
            return
        owned = [r for r in responses if client_request_task(session, r.interaction_id)]
        for response in owned:
            if not self._client.answer_human_request(response):
                get_logger().info(
                    "agent.client_request_unknown",
                    agent_id=session.agent_id,
                    interaction_id=response.interaction_id,
                )

    def _needs_human(self, session: AgentSession, task: Task) -> bool:
        if session.client_requests.get(task.id):
            return True  # a tool's server waits on a human
        paused = session.paused_loops.get(task.id)
        if paused is not None and paused.requests and not paused.answers:
            return True  # calls waiting for approval, none answered since the last pause
        if not self._asks_humans(session):
            return False
        if task.human_interaction is not None:
            return True
        missing = self._missing_secrets(session, task)
        return bool(missing) and self._dialog_for(missing) is not None

    def _needed_secrets(self, task: Task) -> set[str]:
        return {name for tool in task.tools for name in self._tool_secrets.get(tool, [])}

    def _missing_secrets(self, session: AgentSession, task: Task) -> list[str]:
        return sorted(self._needed_secrets(task) - set(session.secrets))

    def _dialog_for(self, names: list[str]) -> DialogOption | None:
        for option in self.dialog_options:
            if set(names) & set(option.provides):
                return option
        return self.dialog_options[0] if len(self.dialog_options) == 1 else None

    def _forget_unreadable_secrets(self, session: AgentSession, tasks: list[Task]) -> None:
        """Drop the stored secrets these tasks' tools need but this process cannot decrypt
        (another key, or another process's per-process key): the task then asks the human
        for them again instead of failing."""
        needed = {name for task in tasks for name in self._needed_secrets(task)}
        unreadable = sorted(
            name
            for name in needed
            if name in session.secrets and not self._box.can_decrypt(session.secrets[name])
        )
        if unreadable:
            self._drop_secrets(session, unreadable)
            self._save(session)

    def _drop_secrets(self, session: AgentSession, names: list[str]) -> None:
        gone = [name for name in names if session.secrets.pop(name, None) is not None]
        if gone:
            get_logger().warning(
                "agent.secrets_unreadable",
                agent_id=session.agent_id,
                names=gone,
                hint="pass the same secret_key= (or MBXAI_SECRET_KEY) to every process "
                "sharing the store; the human is asked for them again",
            )

    def _pause(self, session: AgentSession, tasks: list[Task]) -> None:
        requests: list[HumanInLoopRequest] = []
        for task in tasks:
            asked = session.client_requests.get(task.id)
            if asked:
                task.status = TaskStatus.WAITING_FOR_HUMAN
                requests.extend(asked)
                continue
            paused = session.paused_loops.get(task.id)
            if paused is not None and paused.requests:
                task.status = TaskStatus.WAITING_FOR_HUMAN
                requests.extend(paused.requests.values())
                continue
            request = task.human_interaction
            if request is None:
                option = self._dialog_for(self._missing_secrets(session, task))
                if option is None:  # nothing to ask after all (a damaged record): run it
                    task.status = TaskStatus.PENDING
                    continue
                request = dialog_request(option, f"Task '{task.title}' needs {option.title}")
                request.task_id = task.id
                task.human_interaction = request
            task.status = TaskStatus.WAITING_FOR_HUMAN
            requests.append(request)
        if not requests:
            self._save(session)
            return
        session.pending_requests = requests
        session.current_task_id = requests[0].task_id
        session.state = AgentState.WAITING_FOR_HUMAN
        self._save(session)
        self._emit(
            session, "waiting_for_human", task_id=requests[0].task_id, message=requests[0].prompt
        )

    # -- the three kinds of LLM call ------------------------------------------------------

    def _llm(self) -> Any:
        """The plain chat client under a tool or MCP client: planning and evaluation need
        no tools, so they skip the tool loop and send no tool schemas."""
        return getattr(self._client, "openrouter_client", self._client)

    def _tool_descriptions(self) -> list[tuple[str, str, list[str]]]:
        tools = getattr(self._client, "tools", None) or {}
        out = []
        for name, tool in dict(tools).items():
            out.append(
                (name, str(getattr(tool, "description", "")), self._tool_secrets.get(name, []))
            )
        return out

    def _plan(
        self, session: AgentSession, final: type[BaseModel], streaming: bool
    ) -> Generator[AgentStreamEvent, None]:
        session.state = AgentState.ANALYZING_REQUIREMENTS
        self._emit(session, "planning_started")
        for event in self._drain(session):
            yield event
        tools = self._tool_descriptions()
        humans = self._asks_humans(session)
        messages = plan_messages(session, tools, self.dialog_options, humans, final)
        request: tuple[list[dict[str, Any]], type[BaseModel], dict[str, Any]] = (
            messages,
            plan_model(bool(tools), humans),
            {},
        )
        out: list[Any] = []
        with closing(
            self._ask(self._llm(), session, "planning", None, request, streaming, out)
        ) as events:
            for event in events:
                yield event
        result = out[0]
        session.token_summary.planning.add(result.usage, calls=llm_calls(result))
        plan: Plan = result.choices[0].message.parsed
        session.requirement_analysis = plan.requirement_analysis
        session.tool_analysis = plan.tool_analysis
        session.iterations = 1
        add_planned_tasks(
            session,
            plan.tasks,
            tool_names={name for name, _, _ in tools},
            dialog_options=self.dialog_options,
            ask_humans=self._asks_humans(session),
        )
        if not plan.tasks:
            add_planned_tasks(
                session,
                [fallback_task(session.prompt)],
                tool_names=set(),
                dialog_options=[],
                ask_humans=False,
            )
        session.state = AgentState.EXECUTING_TASKS
        self._save(session)
        self._emit(
            session,
            "planning_finished",
            message=f"{len(session.todo_list.tasks) if session.todo_list else 0} tasks",
        )
        for event in self._drain(session):
            yield event

    def _execute(
        self, session: AgentSession, task: Task, final: type[BaseModel], streaming: bool
    ) -> Generator[AgentStreamEvent, None]:
        session.state = AgentState.EXECUTING_TASKS
        session.current_task_id = task.id
        if task.status != TaskStatus.IN_PROGRESS:
            task.status = TaskStatus.IN_PROGRESS
            self._save(session)
        self._emit(session, "task_started", task_id=task.id, task_status=task.status)
        for event in self._drain(session):
            yield event
        paused = session.paused_loops.get(task.id)
        params: dict[str, Any] = {}
        if paused is not None:  # go on where the task's tool loop stopped for approvals
            messages = paused.transcript
            params["approvals"] = {
                call_id: ToolApproval(approved=answer["approved"], reason=answer.get("reason"))
                for call_id, answer in paused.answers.items()
            }
        else:
            messages = task_messages(
                session,
                task,
                self._max_chars,
                tools=self._tool_descriptions(),
                dialog_options=self.dialog_options,
                ask_humans=self._asks_humans(session),
                final=final,
            )
        context: DeferredContext | None = None
        if hasattr(self._client, "register_tool") and session.secrets:
            # Each secret is decrypted when a tool of this task first needs it, not before.
            stored = dict(session.secrets)
            context = DeferredContext(stored, lambda name: self._box.decrypt(stored[name]))
            params["tool_context"] = context
        journal = Journal(
            session,
            task.id,
            context,
            save=self._save,
            secret_params=self._tool_secrets,
            max_result_chars=getattr(self._client, "max_result_chars", DEFAULT_MAX_RESULT_CHARS),
        )
        token = _journal.set(journal)
        source = self._human_source(session)
        asked_before = {r.id for r in source.pending_human_requests()} if source else set()
        try:
            out: list[Any] = []
            request = (messages, TaskOutcome, params)
            with closing(
                self._ask(self._client, session, "task", task.id, request, streaming, out)
            ) as events:
                for event in events:
                    yield event
            result = out.pop()
            while pending_calls(result) and not self._asks_humans(session):
                # Nobody can approve them in this run: they are denied, never run.
                session.token_summary.task_execution.add(result.usage, calls=llm_calls(result))
                denied = ToolApproval(approved=False, reason="no human is available to approve it")
                answers = {p.id: denied for p in result.pending_approvals}
                request = (result.transcript, TaskOutcome, {**params, "approvals": answers})
                with closing(
                    self._ask(self._client, session, "task", task.id, request, streaming, out)
                ) as events:
                    for event in events:
                        yield event
                result = out.pop()
            if journal.conflict is not None:
                raise journal.conflict
        except StructuredOutputError as exc:
            session.token_summary.task_execution.add(None, calls=exc.attempts)
            task.status = TaskStatus.FAILED
            task.error = f"the model's reply was unusable: {exc}"
        except ToolLoopLimitError as exc:
            session.token_summary.task_execution.add(exc.usage, calls=exc.rounds + 1)
            task.status = TaskStatus.FAILED
            task.error = f"the task kept calling tools: {exc}"
        else:
            session.token_summary.task_execution.add(result.usage, calls=llm_calls(result))
            if pending_calls(result):
                self._pause_loop(session, task, result)
                self._save(session)
                self._emit(session, "task_waiting", task_id=task.id, task_status=task.status)
                for event in self._drain(session):
                    yield event
                return
            asked = [
                r.model_copy(update={"task_id": task.id})
                for r in (source.pending_human_requests() if source else [])
                if r.id not in asked_before
            ]
            if asked:
                # A tool's server waits on a human (a form, a sign-in); it was told "not now",
                # so the model's answer is not the task's: ask, then run the task again.
                session.client_requests[task.id] = asked
                task.status = TaskStatus.WAITING_FOR_HUMAN
                self._save(session)
                self._emit(session, "task_waiting", task_id=task.id, task_status=task.status)
                for event in self._drain(session):
                    yield event
                return
            session.paused_loops.pop(task.id, None)
            outcome: TaskOutcome = result.choices[0].message.parsed
            task.result = clip(outcome.result, self._max_chars)
            if (
                outcome.status == "needs_human"
                and outcome.question
                and self._asks_humans(session)
                and not task.human_input
            ):
                task.status = TaskStatus.PENDING
                task.human_interaction = HumanInLoopRequest(
                    interaction_type=HumanInteractionType.QUESTION,
                    prompt=outcome.question,
                    task_id=task.id,
                )
            elif outcome.status == "failed":
                task.status = TaskStatus.FAILED
                task.error = outcome.result
            else:
                task.status = TaskStatus.COMPLETED
        finally:
            _journal.reset(token)
            if context is not None:
                self._drop_secrets(session, sorted(context.failed))
        if task.status.is_final:
            session.paused_loops.pop(task.id, None)
        if task.status == TaskStatus.COMPLETED:
            forget_journal(session, task.id)  # only an unfinished task can be re-run
        self._save(session)
        self._emit(session, "task_finished", task_id=task.id, task_status=task.status)
        for event in self._drain(session):
            yield event

    def _pause_loop(self, session: AgentSession, task: Task, result: Any) -> None:
        """Keep the task's tool loop, stopped at calls waiting for approval, in the session,
        with a request per waiting call (the same request for the same call each time)."""
        before = session.paused_loops.get(task.id)
        requests = {}
        for pending in result.pending_approvals:
            known = before.requests.get(pending.id) if before is not None else None
            requests[pending.id] = known or approval_request(
                task, pending.id, pending.tool, pending.arguments
            )
        session.paused_loops[task.id] = PausedToolLoop(
            transcript=result.transcript, requests=requests
        )
        task.status = TaskStatus.WAITING_FOR_HUMAN

    def _evaluate(
        self, session: AgentSession, final: type[BaseModel], streaming: bool
    ) -> Generator[AgentStreamEvent, None]:
        session.state = AgentState.EVALUATING_GOAL
        self._emit(session, "evaluation_started")
        for event in self._drain(session):
            yield event
        tools = self._tool_descriptions()
        humans = self._asks_humans(session)
        model = evaluation_model(final, bool(tools), humans)
        messages = evaluation_messages(
            session,
            final,
            self._max_chars,
            tools=tools,
            dialog_options=self.dialog_options,
            ask_humans=humans,
        )
        out: list[Any] = []
        with closing(
            self._ask(
                self._llm(), session, "evaluation", None, (messages, model, {}), streaming, out
            )
        ) as events:
            for event in events:
                yield event
        result = out[0]
        session.token_summary.goal_evaluation.add(result.usage, calls=llm_calls(result))
        evaluation: Any = result.choices[0].message.parsed
        session.goal_evaluation = evaluation.goal_evaluation
        session.final_response = evaluation.final_response.model_dump(mode="json")
        follow_ups = evaluation.follow_up_tasks
        if evaluation.goal_evaluation.goal_achieved or not follow_ups:
            session.state = AgentState.COMPLETED
        elif session.iterations >= self.max_task_iterations:
            session.state = AgentState.COMPLETED
            session.error = f"goal not fully achieved after {session.iterations} iteration(s)"
        else:
            session.iterations += 1
            add_planned_tasks(
                session,
                follow_ups,
                tool_names={name for name, _, _ in self._tool_descriptions()},
                dialog_options=self.dialog_options,
                ask_humans=self._asks_humans(session),
            )
            session.state = AgentState.EXECUTING_TASKS
        session.current_task_id = None
        self._save(session)
        self._emit(
            session,
            "evaluation_finished",
            message=f"{evaluation.goal_evaluation.completion_percentage}%",
        )
        for event in self._drain(session):
            yield event

    def _emit(
        self,
        session: AgentSession,
        kind: str,
        *,
        task_id: str | None = None,
        task_status: TaskStatus | None = None,
        message: str = "",
    ) -> None:
        get_logger().info("agent." + kind, agent_id=session.agent_id, task_id=task_id)
        shown = progress_event(
            session, kind, task_id=task_id, task_status=task_status, message=message
        )
        if shown is not None:
            session._unsent.append(shown)
        if self._on_event is None:
            return
        event = AgentEvent(
            kind=kind,
            agent_id=session.agent_id,
            state=session.state,
            task_id=task_id,
            task_status=task_status,
            message=message,
        )
        call_user_code(functools.partial(self._on_event, event), {})

    def close(self) -> None:
        """Close the wrapped client."""
        close = getattr(self._client, "close", None)
        if close is not None:
            close()


class AgentStream:
    """The events of one agent run (:meth:`AgentClient.stream`), in order; iterate
    it once. The run advances as you read; the last event is :class:`RunFinishedEvent`,
    whose response is also :attr:`response` then. Leaving the ``with`` block (or
    :meth:`close`) stops the run where it is: the session stays as last saved."""

    def __init__(self, events: Generator[AgentStreamEvent, None]) -> None:
        self._events = events
        # The run sets context variables (its usage meter, a task's journal) across its
        # events: it runs in a context of its own, so none of them leaks to the reader's.
        self._context = contextvars.copy_context()
        #: The run's response, once :class:`RunFinishedEvent` came.
        self.response: AgentResponse | None = None

    def __repr__(self) -> str:
        state = self.response.state.value if self.response is not None else "running"
        return f"<{type(self).__name__} {state}>"

    def __iter__(self) -> Iterator[AgentStreamEvent]:
        return self

    def __next__(self) -> AgentStreamEvent:
        event = run_in_context(self._context, self._events.__next__)
        if isinstance(event, RunFinishedEvent):
            self.response = event.response
        return event

    def __enter__(self) -> AgentStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the run and release what it holds (connections, the session's meter)."""
        run_in_context(self._context, self._events.close)


def journaled(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a tool so that, inside an agent task, each call is journaled and never re-run."""

    @functools.wraps(function)
    def run(**arguments: Any) -> Any:
        journal = _journal.get()
        if journal is None:
            return call_user_code(function, arguments)
        return journal.call(name, function, arguments)

    return run
