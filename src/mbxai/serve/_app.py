"""The agent as an ASGI service: the HTTP API, its JSON shapes and the web console.

The app holds no run state of its own: every request loads the session from the agent's
store and saves it back (the agent's compare-and-set), so replicas sharing a store serve
one run interchangeably, and a run answered on one replica continues on another.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import html
import importlib.resources
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from http import HTTPStatus
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._async.agent import AsyncAgentClient
from .._errors import (
    AgentError,
    ConfigurationError,
    HumanResponseError,
    MBXAIError,
    OpenRouterAPIError,
    OpenRouterConnectionError,
    SessionConflictError,
    SessionNotFoundError,
    UsageLimitExceeded,
)
from .._logging import get_logger
from .._sync.agent import AgentClient
from .._version import __version__
from ..agent.models import (
    AgentResponse,
    AgentState,
    AgentStreamEvent,
    DialogOption,
    GoalEvaluation,
    HumanInLoopRequest,
    HumanInLoopResponse,
    HumanInteractionType,
    RunFinishedEvent,
    Task,
    TodoList,
)

__all__ = ["Answer", "ErrorBody", "RequestView", "RunView", "StartRun", "create_app"]

T = TypeVar("T")

#: Largest request body the API reads (answers and prompts are small; a client sending
#: more is refused with 413 before anything is parsed).
DEFAULT_MAX_BODY_BYTES = 1 << 20


# -- the JSON shapes ---------------------------------------------------------------------


class StartRun(BaseModel):
    """Start a run: the request and the name of the final response's model."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=100_000)
    response_model: str = Field(description="A name from GET /api/models")
    ask_questions: bool = True


class ContinueRun(BaseModel):
    """The next request of a finished conversation, building on its earlier turns."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=100_000)


class Answer(BaseModel):
    """A human's answer to one pending request.

    ``decision`` answers a ``decision`` (one of the request's options) or a
    ``tool_approval`` (``approve`` or ``deny``); ``answer`` a ``question``; ``values`` a
    ``dialog_option`` (its fields, credentials included: they go to the tools, encrypted
    at rest, never back to any client). ``additional_context`` is the seed's free text or
    ``key:value`` pairs, for callers that build it themselves.
    """

    model_config = ConfigDict(extra="forbid")

    interaction_id: str = Field(max_length=200)
    response_type: HumanInteractionType
    decision: str | None = Field(default=None, max_length=10_000)
    answer: str | None = Field(default=None, max_length=100_000)
    dialog_option_id: str | None = Field(default=None, max_length=200)
    values: dict[str, str] | None = None
    additional_context: str = Field(default="", max_length=100_000)

    @model_validator(mode="after")
    def _one_context(self) -> Answer:
        if self.values is not None and self.additional_context:
            raise ValueError("give values or additional_context, not both")
        if self.values is not None and self.response_type != HumanInteractionType.DIALOG_OPTION:
            # anything but a dialog option would hand them to the model as text
            raise ValueError("values answer a dialog_option only")
        return self

    def __repr__(self) -> str:
        # values and additional_context may be credentials: never shown.
        return (
            f"Answer(interaction_id={self.interaction_id!r}, "
            f"response_type={self.response_type.value!r}, decision={self.decision!r})"
        )

    __str__ = __repr__

    def to_response(self) -> HumanInLoopResponse:
        context = self.additional_context
        if self.values is not None:
            # A JSON object keeps every value whole (commas, colons, quotes).
            context = json.dumps(self.values)
        return HumanInLoopResponse(
            interaction_id=self.interaction_id,
            response_type=self.response_type,
            decision=self.decision,
            answer=self.answer,
            dialog_option_id=self.dialog_option_id,
            additional_context=context,
        )


class Answers(BaseModel):
    """Answers to some or all of a run's pending requests; the others keep waiting."""

    model_config = ConfigDict(extra="forbid")

    answers: list[Answer] = Field(min_length=1, max_length=100)


class RequestView(BaseModel):
    """A pending human request, as a UI needs it to show a form."""

    id: str
    interaction_type: HumanInteractionType
    prompt: str
    options: list[str]
    task_id: str | None
    context: str
    dialog_option_id: str | None
    #: The requested dialog option (title, description, the values it provides).
    dialog_option: DialogOption | None
    #: The dialog option's parameters (the seed's ``request["parameters"]``).
    parameters: dict[str, Any]
    #: For ``tool_approval``: the tool and the call's arguments (injected values never).
    tool: str | None
    arguments: dict[str, Any]

    @classmethod
    def of(cls, request: HumanInLoopRequest) -> RequestView:
        option = next((o for o in request.dialog_options if o.id == request.dialog_option_id), None)
        return cls(
            id=request.id,
            interaction_type=request.interaction_type,
            prompt=request.prompt,
            options=list(request.options),
            task_id=request.task_id,
            context=request.context,
            dialog_option_id=request.dialog_option_id,
            dialog_option=option,
            parameters=request.parameters,
            tool=request.tool,
            arguments=dict(request.arguments),
        )


class RunView(BaseModel):
    """A run as the API shows it: what ``AgentResponse`` holds, plus what a UI asks first."""

    agent_id: str
    state: AgentState
    is_complete: bool
    needs_human_interaction: bool
    #: The registered name of the final response's model, when it is one of the app's.
    response_model: str | None
    todo_list: TodoList | None
    current_task: Task | None
    human_interaction_requests: list[RequestView]
    goal_evaluation: GoalEvaluation | None
    final_response: Any
    llm_calls: int
    total_tokens: int
    cost: float | None
    error: str | None

    @classmethod
    def of(cls, response: AgentResponse, response_model: str | None) -> RunView:
        total = response.token_summary.total
        final = response.final_response
        if isinstance(final, BaseModel):
            final = final.model_dump(mode="json")
        return cls(
            agent_id=response.agent_id,
            state=response.state,
            is_complete=response.is_complete(),
            needs_human_interaction=response.needs_human_interaction(),
            response_model=response_model,
            todo_list=response.todo_list,
            current_task=response.current_task,
            human_interaction_requests=[
                RequestView.of(r) for r in response.human_interaction_requests
            ],
            goal_evaluation=response.goal_evaluation,
            final_response=final,
            llm_calls=total.calls,
            total_tokens=total.total_tokens,
            cost=float(total.cost) if total.cost is not None else None,
            error=response.error,
        )


class ErrorBody(BaseModel):
    """Every error the API returns: the typed error's name and its message."""

    error: str = Field(description="The exception's class name, e.g. SessionNotFoundError")
    message: str


#: HTTP status per error type, most specific first.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (SessionNotFoundError, 404),
    (SessionConflictError, 409),
    (HumanResponseError, 422),
    (ConfigurationError, 422),
    (UsageLimitExceeded, 429),
    (OpenRouterConnectionError, 502),
    (OpenRouterAPIError, 502),
    (AgentError, 500),
    (MBXAIError, 500),
)


def _status_of(exc: BaseException) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)


def _error(status: int, name: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        ErrorBody(error=name, message=message).model_dump(), status_code=status, headers=headers
    )


# -- the agent, either flavour -----------------------------------------------------------


class _Agent:
    """One call shape over an :class:`AsyncAgentClient` or an :class:`AgentClient` (whose
    calls run in worker threads, off the event loop)."""

    def __init__(self, agent: AsyncAgentClient | AgentClient) -> None:
        if not isinstance(agent, AsyncAgentClient | AgentClient):
            raise ConfigurationError(
                f"agent must be an AsyncAgentClient or an AgentClient, got {type(agent).__name__}"
            )
        self.agent = agent

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        bound = getattr(self.agent, method)
        if isinstance(self.agent, AsyncAgentClient):
            return await bound(*args, **kwargs)
        return await anyio.to_thread.run_sync(functools.partial(bound, *args, **kwargs))

    async def release(self) -> None:
        """Close an async session store's connections: they were opened on the server's
        event loop, which ends with the app (a sync store's belong to no loop)."""
        if isinstance(self.agent, AsyncAgentClient):
            close = getattr(self.agent.session_handler, "aclose", None)
            if close is not None:
                await close()

    async def stream(self, *args: Any, **kwargs: Any) -> AsyncGenerator[AgentStreamEvent, None]:
        """The agent's events for one call (``agent.stream``), whichever the flavour.
        Leaving early (the client went away) closes the stream: the session stays as
        last saved, resumable."""
        if isinstance(self.agent, AsyncAgentClient):
            async with self.agent.stream(*args, **kwargs) as events:
                async for event in events:
                    yield event
            return
        stream = self.agent.stream(*args, **kwargs)
        done: Any = object()
        try:
            while (event := await anyio.to_thread.run_sync(next, stream, done)) is not done:
                yield event
        finally:
            # Also when the client went away (this task cancelled): the run must stop and
            # release its session, not wait for the garbage collector.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(stream.close)


# -- limits and auth ---------------------------------------------------------------------


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _error(413, "RequestTooLarge", f"request body over {self.limit} bytes")(
                scope, receive, send
            )
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer now; the app sees the client gone and its reply is dropped.
                    refused = True
                    await _error(413, "RequestTooLarge", f"request body over {self.limit} bytes")(
                        scope, receive, send
                    )
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, guarded)


#: The bearer scheme, in the OpenAPI schema too (the docs page's Authorize button).
_BEARER = HTTPBearer(auto_error=False, description="The token given to create_app (`token=`)")


class _Unauthorized(Exception):
    """No valid bearer token on an API request (answered 401)."""


def _check_token(token: str | None) -> bytes | None:
    if token is None:
        return None
    if not isinstance(token, str) or len(token) < 16:
        raise ConfigurationError("token must be a string of at least 16 characters")
    return token.encode()


# -- the app -----------------------------------------------------------------------------


def create_app(
    agent: AsyncAgentClient | AgentClient,
    models: Mapping[str, type[BaseModel]] | Iterable[type[BaseModel]],
    *,
    token: str | None = None,
    console: bool = True,
    title: str = "mbxai agent",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """An ASGI app (FastAPI) serving ``agent`` over HTTP, with an OpenAPI schema at
    ``/openapi.json`` and, unless ``console=False``, a web console at ``/``.

    Args:
        agent: The agent to serve. A sync :class:`AgentClient` works too (its calls run
            in worker threads). Replicas behind one URL share its session store (Redis,
            SQL, files): the app keeps nothing of a run in memory.
        models: The final-response models clients may ask for, by name (a mapping, or
            classes named by ``__name__``).
        token: When set, every ``/api`` request needs ``Authorization: Bearer <token>``
            (compared in constant time). The console asks for it.
        console: Serve the web console at ``/``.
        max_body_bytes: Largest request body read; more is refused with 413.
    """
    runner = _Agent(agent)
    registry = _registry(models)
    expected = _check_token(token)
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1024:
        raise ConfigurationError("max_body_bytes must be an int of at least 1024")
    by_type = {f"{m.__module__}.{m.__qualname__}": name for name, m in registry.items()}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await runner.release()

    app = FastAPI(
        title=title,
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    errors: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody} for status in (401, 404, 409, 413, 422, 429, 502)
    }

    async def authorized(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
    ) -> None:
        if expected is None:
            return
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), expected
        ):
            raise _Unauthorized

    # The check is on the routes, so it holds wherever the app is mounted (a prefix, a
    # proxy's root_path): only the API's own paths are matched, never raw URL text.
    api = APIRouter(prefix="/api", dependencies=[Depends(authorized)] if expected else [])

    @app.exception_handler(_Unauthorized)
    async def unauthorized(request: Request, exc: _Unauthorized) -> JSONResponse:
        return _error(
            401,
            "Unauthorized",
            "a valid bearer token is required",
            **{"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        name = HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")
        headers = dict(exc.headers or {})
        return _error(exc.status_code, name, str(exc.detail), **headers)

    @app.exception_handler(MBXAIError)
    async def typed_error(request: Request, exc: MBXAIError) -> JSONResponse:
        return _error(_status_of(exc), type(exc).__name__, _message(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input, which may be a credential: say where and why only.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return _error(422, "RequestValidationError", problems or "invalid request")

    def final_model(name: str) -> type[BaseModel]:
        try:
            return registry[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown response_model {name!r}; known: {', '.join(sorted(registry)) or 'none'}"
            ) from None

    async def view(agent_id: str) -> RunView:
        info = await runner.call("get_session_info", agent_id)
        name = _model_name(info)
        data = await runner.call("get_response", agent_id, registry.get(name or ""))
        if info is None or data is None:
            raise SessionNotFoundError(f"no session {agent_id!r} in the store", agent_id=agent_id)
        return RunView.of(data, name)

    def _model_name(info: dict[str, Any] | None) -> str | None:
        stored = (info or {}).get("final_response_type")
        return by_type.get(stored) if isinstance(stored, str) else None

    async def drive(request: Request, name: str, *args: Any, **kwargs: Any) -> Response:
        model = registry[name]
        if _wants_events(request):
            events = runner.stream(*args[:1], model, *args[1:], **kwargs)
            # The first event comes once the answers are checked and the session claimed:
            # a refusal (bad answer, a conflict) is still an HTTP status, not an event.
            try:
                first = await events.__anext__()
            except BaseException:
                await events.aclose()
                raise
            return StreamingResponse(
                _sse(_chain(first, events), name),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )
        response = await runner.call("agent", *args[:1], model, *args[1:], **kwargs)
        return JSONResponse(RunView.of(response, name).model_dump(mode="json"))

    @api.get("/models", responses=errors)
    async def list_models() -> dict[str, Any]:
        """The final-response models a run may ask for, and whether runs can stream
        their events (``Accept: text/event-stream``)."""
        return {"models": sorted(registry), "streaming": True}

    @api.post("/runs", response_model=RunView, responses=errors)
    async def start_run(body: StartRun, request: Request) -> Response:
        """Start a run; it goes on until it completes, fails or waits for a human.

        With ``Accept: text/event-stream`` the run's events come as Server-Sent Events,
        the last one (``run``) carrying the run as this endpoint returns it."""
        final_model(body.response_model)
        return await drive(
            request, body.response_model, body.prompt, ask_questions=body.ask_questions
        )

    @api.get("/runs", responses=errors)
    async def list_runs() -> dict[str, list[str]]:
        """Ids of the runs in the store."""
        return {"runs": sorted(await runner.call("list_sessions"))}

    @api.get("/runs/{agent_id}", response_model=RunView, responses=errors)
    async def read_run(agent_id: str) -> RunView:
        """A run as it was last saved: state, todo list, pending requests, final response."""
        return await view(agent_id)

    @api.delete("/runs/{agent_id}", status_code=204, responses=errors)
    async def delete_run(agent_id: str) -> Response:
        """Delete a run's session."""
        if not await runner.call("delete_session", agent_id):
            raise SessionNotFoundError(f"no session {agent_id!r} in the store", agent_id=agent_id)
        return Response(status_code=204)

    @api.post("/runs/{agent_id}/answers", response_model=RunView, responses=errors)
    async def answer_run(agent_id: str, body: Answers, request: Request) -> Response:
        """Answer pending requests (some or all) and resume the run. The only endpoint
        that takes dialog-option values; no endpoint ever returns them."""
        name = await _known_model(agent_id)
        responses = [a.to_response() for a in body.answers]
        return await drive(request, name, "", agent_id=agent_id, human_response=responses)

    @api.post("/runs/{agent_id}/continue", response_model=RunView, responses=errors)
    async def continue_run(agent_id: str, body: ContinueRun, request: Request) -> Response:
        """The next request of a completed run, building on its earlier turns; for a run
        that was interrupted (its process died, its event stream was closed), resume it."""
        name = await _known_model(agent_id)
        return await drive(request, name, body.prompt, agent_id=agent_id)

    async def _known_model(agent_id: str) -> str:
        info = await runner.call("get_session_info", agent_id)
        if info is None:
            raise SessionNotFoundError(f"no session {agent_id!r} in the store", agent_id=agent_id)
        name = _model_name(info)
        if name is None:
            raise ConfigurationError(
                f"session {agent_id!r} answers with a model this app does not serve "
                f"({info.get('final_response_type')})"
            )
        return name

    if console:
        page = (
            importlib.resources.files(__package__ or "mbxai.serve")
            .joinpath("console.html")
            .read_text(encoding="utf-8")
        )

        @app.get("/", include_in_schema=False)
        async def console_page(request: Request) -> HTMLResponse:
            # The page calls the API relative to where the app is mounted.
            base = html.escape(request.scope.get("root_path", "").rstrip("/") + "/", quote=True)
            return HTMLResponse(
                page.replace("__MBXAI_BASE__", base),
                headers={
                    "Content-Security-Policy": "default-src 'self'; script-src 'self' "
                    "'unsafe-inline'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
                    "Cache-Control": "no-store",
                },
            )

    app.include_router(api)
    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    return app


def _registry(
    models: Mapping[str, type[BaseModel]] | Iterable[type[BaseModel]],
) -> dict[str, type[BaseModel]]:
    items = (
        list(models.items())
        if isinstance(models, Mapping)
        else [(getattr(m, "__name__", repr(m)), m) for m in models]
    )
    registry: dict[str, type[BaseModel]] = {}
    for name, model in items:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ConfigurationError(f"models[{name!r}] must be a Pydantic model class")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"model names must be non-empty strings, got {name!r}")
        if name in registry:
            raise ConfigurationError(f"two models named {name!r}")
        registry[name] = model
    if not registry:
        raise ConfigurationError("models is empty: name at least one final-response model")
    return registry


def _wants_events(request: Request) -> bool:
    """Whether the Accept header asks for Server-Sent Events (with a q above 0)."""
    for item in request.headers.get("accept", "").split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        if media != "text/event-stream":
            continue
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return False
    return False


async def _chain(first: T, rest: AsyncIterator[T]) -> AsyncIterator[T]:
    yield first
    async for item in rest:
        yield item


def _message(exc: MBXAIError) -> str:
    """What a client is told of an error: the message, except for the server's own
    failures (a store down...), whose text may quote a driver, a URL or a query: those
    are logged on the ``mbxai`` logger and named by type only."""
    if _status_of(exc) < 500 or isinstance(exc, OpenRouterAPIError | OpenRouterConnectionError):
        return str(exc)
    get_logger().error("serve.error", error=type(exc).__name__, message=str(exc))
    return f"{type(exc).__name__}: the server failed; its log has the details"


def _sse_message(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


async def _sse(events: AsyncIterator[AgentStreamEvent], name: str) -> AsyncIterator[bytes]:
    """The agent's events as Server-Sent Events (``event:`` the event's ``type``); the
    run's view (``run``, in place of ``run_finished``) closes the stream, or an ``error``
    event with the typed error's name when the run raised."""
    final: AgentResponse | None = None
    try:
        async for event in events:
            if isinstance(event, RunFinishedEvent):
                final = event.response
                continue
            yield _sse_message(event.type, event.model_dump_json())
    except MBXAIError as exc:
        body = ErrorBody(error=type(exc).__name__, message=_message(exc))
        yield _sse_message("error", body.model_dump_json())
        return
    if final is not None:
        yield _sse_message("run", RunView.of(final, name).model_dump_json())
