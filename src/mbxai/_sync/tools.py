# This file is generated from src/mbxai/_async/tools.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""The tool client: Python functions become tools, and the tool-call loop runs for you."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel

from .._checks import check_number
from .._concurrency import call_user_code, gather
from .._constrained import ANSWER, ToolRounds, completion_chunks
from .._errors import ConfigurationError, OpenRouterAPIError
from .._function_schema import Tool, build_tool, check_timeout
from .._logging import get_logger, is_debug
from .._partial import PartialUpdate, StreamedReply
from .._registry import OpenRouterModel, resolve_model
from .._schema import ResponseFormat
from .._seed import SeedMethods
from .._structured import Reask, StructuredMode, StructuredReplies, ToolCalling, check_tool_calling
from .._tools import (
    DEFAULT_MAX_RESULT_CHARS,
    DeltaAccumulator,
    PreparedCall,
    ToolLoop,
    ToolRegistry,
    check_max_result_chars,
    check_max_rounds,
    transcript_on_limit,
)
from .._tracing import record_failure, telemetry_of
from .._types import (
    ChatCompletion,
    ChatCompletionChunk,
    Message,
    ParsedToolChatCompletion,
    PendingApproval,
    ToolApproval,
    ToolCall,
    ToolChatCompletion,
    Usage,
)
from .._usage import (
    UsageLimits,
    UsageMeter,
    activate,
    check_limits,
    combine,
    current_meter,
    metering,
)
from .client import OpenRouterClient
from .partial import PartialStream
from .streaming import Stream

__all__ = ["ToolClient", "ToolStream"]

T = TypeVar("T", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])


class ToolClient(SeedMethods):
    """Chat with tools: register Python functions, and the model's calls to them are run
    and answered until the model replies without calling a tool.

    Each function's JSON schema is generated once, at registration, from its signature
    and docstring (Google, NumPy or Sphinx style) through Pydantic, and the model's
    arguments are validated against it before the call. Several calls in one reply run
    concurrently. Mistakes of the model (an unknown tool, bad JSON, invalid arguments, a
    tool that raises) go back to the model as tool results, not to you.

    Args:
        openrouter_client: The chat client that talks to the model (closed by
            :meth:`close`).
        max_tool_rounds: Default for how many rounds of tool calls one request may run
            before :class:`ToolLoopLimitError` is raised.
        tool_calling: How tools are offered. ``"native"``: the request's ``tools``, and the
            model answers with ``tool_calls``. ``"constrained"``: for models and servers
            without native tool calls, no ``tools`` are sent; each reply is constrained by
            a ``json_schema`` response format to either calls of the registered tools
            (names and arguments checked by the schema) or the final answer, and the
            results go back as user messages (see :mod:`mbxai._constrained`). The loop,
            the transcript (kept in native shape) and the result are the same.
            ``"auto"`` (default): native, switching to constrained for the model (and
            remembering it on the wrapped client) when the endpoint rejects ``tools`` or
            answers a forced ``tool_choice`` (``"required"`` or a named function) without
            a tool call. An unforced plain-text reply never switches: it is an answer.
        tool_timeout: Seconds a tool call may take unless its registration says
            otherwise; a call still running then is abandoned and the model is told it
            timed out (``None``: no limit).
        max_result_chars: Longest tool result (local or MCP, in characters) sent to the
            model; a longer one is cut there and the model is told how long it was, so one
            huge result cannot make every later request huge (``None``: no limit).
        usage_limits: Default bounds on the requests, tokens and cost of each call's whole
            loop (see :class:`UsageLimits`); a call's own ``usage_limits=`` applies too.
    """

    def __init__(
        self,
        openrouter_client: OpenRouterClient,
        *,
        max_tool_rounds: int = 10,
        tool_calling: ToolCalling = "auto",
        tool_timeout: float | None = None,
        max_result_chars: int | None = DEFAULT_MAX_RESULT_CHARS,
        usage_limits: UsageLimits | None = None,
    ) -> None:
        if not isinstance(openrouter_client, OpenRouterClient):
            raise ConfigurationError(
                f"openrouter_client must be an {OpenRouterClient.__name__} (the client "
                f"{type(self).__name__} wraps), got {type(openrouter_client).__name__}"
            )
        check_max_rounds(max_tool_rounds)
        self._client = openrouter_client
        self._telemetry = telemetry_of(openrouter_client)
        self._tools = ToolRegistry()
        self._max_tool_rounds = max_tool_rounds
        self._tool_calling = check_tool_calling(tool_calling)
        check_number("tool_timeout", tool_timeout, positive=True, none=True)
        self._tool_timeout = check_timeout("(default)", tool_timeout)
        self._max_result_chars = check_max_result_chars(max_result_chars)
        self._usage_limits = check_limits(usage_limits)

    def __repr__(self) -> str:
        names = [tool.name for tool in self._tools]
        return f"{type(self).__name__}(client={self._client!r}, tools={names!r})"

    # -- configuration --------------------------------------------------------------------

    @property
    def openrouter_client(self) -> OpenRouterClient:
        """The wrapped chat client."""
        return self._client

    @property
    def model(self) -> str:
        """The wrapped client's default model slug (assigning sets it there)."""
        return self._client.model

    @model.setter
    def model(self, value: str | OpenRouterModel) -> None:
        self._client.model = value

    @property
    def tool_calling(self) -> ToolCalling:
        """How tools are offered: ``"native"``, ``"constrained"`` or ``"auto"``."""
        return self._tool_calling

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The registered tools by name (a snapshot)."""
        return self._tools.mapping()

    @property
    def max_result_chars(self) -> int | None:
        """Longest tool result sent to the model, in characters (``None``: no limit)."""
        return self._max_result_chars

    # -- registration ---------------------------------------------------------------------

    def register_tool(
        self,
        name: str,
        description: str | None,
        function: Callable[..., Any],
        schema: Mapping[str, Any] | None = None,
        *,
        strict: bool = False,
        injected: Iterable[str] | str = (),
        timeout: float | None = None,
        requires_approval: bool | Callable[[dict[str, Any]], bool] = False,
    ) -> Tool:
        """Make ``function`` (sync or async) callable by the model as ``name``.

        Args:
            name: The tool's name for the model (``^[a-zA-Z0-9_-]{1,64}$``, unique).
            description: What the tool does; ``None`` or ``""`` uses the docstring's.
            function: The callable; the model's arguments are passed as keywords.
            schema: The arguments' JSON schema, used as given instead of generating one:
                either the parameters object or the full OpenAI ``{"type": "function",
                "function": {...}}`` entry. Arguments are then validated against it with
                ``jsonschema``.
            strict: Send the generated schema for OpenAI strict mode. Every parameter is
                then required (nullable where its type allows ``None``); a signature strict
                mode cannot express (free-form dicts, untyped values) raises
                :class:`ConfigurationError` naming the parameters. A given bare ``schema``
                is only marked strict, not rewritten.
            injected: Parameters the model never sees (left out of the schema). Their
                values come from ``tool_context=`` of each :meth:`create` / :meth:`parse`
                call, for credentials and other per-user values. Without a value (and no
                default) the call is not run and the model is told the credential is
                missing. String values (4+ characters) never reach the model: they are
                masked in tool results and error messages.
            timeout: Seconds one call may take (default: the client's ``tool_timeout``);
                a call still running then is abandoned and the model is told it timed out.
            requires_approval: Run a call only once a human approved it (``True``), or
                decide per call with a function of its arguments returning a bool. A
                reply calling it stops the loop with ``pending_approvals``; nothing of the
                call happens before ``approvals=`` says so.

        Returns:
            The registered :class:`Tool`.

        Raises:
            ConfigurationError: On a duplicate or invalid name, a non-callable, ``*args``
                without ``schema``, or an annotation no JSON schema can describe.
        """
        return self._tools.add(
            build_tool(
                name,
                description,
                function,
                schema,
                strict=strict,
                injected=injected,
                timeout=timeout,
                requires_approval=requires_approval,
            )
        )

    @overload
    def tool(self, function: F, /) -> F: ...

    @overload
    def tool(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
        strict: bool = False,
        injected: Iterable[str] | str = (),
        requires_approval: bool | Callable[[dict[str, Any]], bool] = False,
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        function: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
        strict: bool = False,
        injected: Iterable[str] | str = (),
        requires_approval: bool | Callable[[dict[str, Any]], bool] = False,
    ) -> Any:
        """Decorator form of :meth:`register_tool`: ``@client.tool`` or
        ``@client.tool(name=..., description=...)``. The name defaults to the function's
        and the description to its docstring; the function is returned unchanged."""

        def register(fn: F) -> F:
            tool_name = name if name is not None else getattr(fn, "__name__", "")
            self.register_tool(
                tool_name,
                description,
                fn,
                schema,
                strict=strict,
                injected=injected,
                requires_approval=requires_approval,
            )
            return fn

        return register if function is None else register(function)

    def unregister_tool(self, name: str) -> Tool:
        """Remove a registered tool and return it."""
        return self._tools.remove(name)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the wrapped client."""
        self._client.close()

    def __enter__(self) -> ToolClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- chat with tools ------------------------------------------------------------------

    @overload
    def create(
        self,
        messages: Sequence[Message],
        *,
        stream: Literal[False] = False,
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ToolChatCompletion: ...

    @overload
    def create(
        self,
        messages: Sequence[Message],
        *,
        stream: Literal[True],
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ToolStream: ...

    def create(
        self,
        messages: Sequence[Message],
        *,
        stream: bool = False,
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ToolChatCompletion | ToolStream:
        """Chat with the registered tools available; run the model's calls until it answers.

        Each round sends the conversation with the tools; the reply's tool calls run
        (concurrently) and their results are appended, until a reply has no tool calls.
        ``messages`` is not modified. The result is that final completion, with ``usage``
        summed over every round and the whole conversation in ``transcript``.

        Args:
            messages: The conversation so far.
            stream: Return a stream of chunks (:class:`ToolStream`) instead. Every round is
                streamed (so no extra request is made for the answer); the chunks of all
                rounds are yielded, tool-call deltas included.
            model: Model for this call (default: the wrapped client's).
            max_tool_rounds: Rounds of tool calls allowed for this call.
            tool_context: Values of the tools' ``injected`` parameters (credentials...).
                Never sent to the model, logged or stored in the transcript.
            approvals: Answers to the calls a previous result stopped at
                (``response.pending_approvals``), by call id: ``True``, ``False`` or a
                :class:`ToolApproval` (edited arguments, or a reason for a denial). Send
                them with that result's ``transcript``: approved calls run, denied ones
                go back to the model as denials, and the loop goes on.
            usage_limits: Bounds on the requests, tokens and cost of the whole loop, every
                round, re-ask and retry counted (default: the client's). Reaching one
                raises :class:`UsageLimitExceeded` carrying the transcript.
            **params: Passed to each request (``temperature``, ``tool_choice``,
                ``timeout``, ``extra_headers``...). A forced ``tool_choice`` applies to the
                first round only, so the loop can end.

        A reply calling a tool registered with ``requires_approval`` stops the loop before
        that call runs (the reply's other calls do run): the result then has
        ``pending_approvals`` and no answer yet.

        Raises:
            ToolLoopLimitError: The model still called tools after ``max_tool_rounds``
                rounds; it carries the transcript.
        """
        loop = self._loop(messages, max_tool_rounds, tool_context, params, approvals)
        with metering(self._limits(usage_limits)), transcript_on_limit(loop):
            rounds = self._rounds(loop, model, None, None)
            pending = self._resume(loop)
            if stream:
                if pending:
                    return ToolStream(self, loop, model, None, pending=pending)
                if not rounds.constrained:
                    try:
                        first = self._client.create(
                            loop.transcript, model=model, stream=True, **loop.request_params()
                        )
                    except OpenRouterAPIError as exc:
                        if not rounds.rejected(exc):
                            raise
                    else:
                        return ToolStream(self, loop, model, first)
                return ToolStream(self, loop, model, None, rounds=rounds)
            if pending:
                return loop.paused(pending, ToolChatCompletion)  # type: ignore[no-any-return]
            while True:
                completion = self._send(rounds, model)
                message = completion.choices[0].message if completion.choices else None
                calls = loop.tool_calls(message)
                if not calls:
                    return loop.final(completion, ToolChatCompletion)  # type: ignore[no-any-return]
                pending = self._run_calls(loop, calls)
                if pending:
                    return loop.paused(pending, ToolChatCompletion, completion.model)  # type: ignore[no-any-return]

    chat = create

    @overload
    def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        mode: StructuredMode | None = None,
        stream: Literal[False] = False,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ParsedToolChatCompletion[T]: ...

    @overload
    def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        mode: StructuredMode | None = None,
        stream: Literal[True],
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> PartialStream[T]: ...

    def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        max_tool_rounds: int | None = None,
        tool_context: Mapping[str, Any] | None = None,
        approvals: Mapping[str, bool | ToolApproval] | None = None,
        mode: StructuredMode | None = None,
        stream: bool = False,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ParsedToolChatCompletion[T] | PartialStream[T]:
        """Like :meth:`create`, then the final answer is validated into ``response_format``.

        The structured-output mode (the wrapped client's ``structured_output``, or
        ``mode=``) applies in every round: a ``json_schema`` response format is sent with
        the tools, the prompt-based modes describe the schema in the system prompt, and
        ``tool`` mode offers the answer as one more function (calling it ends the loop).
        With constrained tool calling the answer's schema is one of the shapes each reply
        may take. When a reply without tool calls does not validate, the model is told why
        and asked again (the wrapped client's ``parse_retries`` times) before
        :class:`StructuredOutputError` is raised. The object is on
        ``response.choices[0].message.parsed``; ``usage`` counts every request. Calls
        waiting for approval stop the loop as in :meth:`create` (``parsed`` is then
        ``None``, and ``approvals=`` goes on).

        With ``stream=True`` the result is an :class:`PartialStream`: every round is
        streamed, and the answer's partial objects arrive as its JSON does (in every
        mode, after any tool rounds); its :attr:`~PartialStream.final` is the
        :class:`ParsedToolChatCompletion` this method returns without streaming.
        """
        replies = StructuredReplies(response_format, self._client.structured.parse_retries)
        params = {k: v for k, v in params.items() if k != "response_format"}
        loop = self._loop(messages, max_tool_rounds, tool_context, params, approvals)
        with metering(self._limits(usage_limits)) as meter, transcript_on_limit(loop):
            rounds = self._rounds(loop, model, replies.format, mode)
            if stream:
                return PartialStream(self._parse_stream(rounds, replies, model, meter))
            pending = self._resume(loop)
            if pending:
                return loop.paused(pending, ParsedToolChatCompletion)  # type: ignore[no-any-return]
            while True:
                completion = self._send(rounds, model)
                message = completion.choices[0].message if completion.choices else None
                calls = loop.tool_calls(message)
                if calls:
                    pending = self._run_calls(loop, calls)
                    if pending:
                        return loop.paused(pending, ParsedToolChatCompletion, completion.model)  # type: ignore[no-any-return]
                    continue
                result = replies.check(completion, rounds.strategy)
                if isinstance(result, Reask):
                    loop.add_messages(result.messages)
                    continue
                final: ParsedToolChatCompletion[T] = loop.final(
                    completion, ParsedToolChatCompletion
                )
                final.choices[0].message.parsed = result  # type: ignore[assignment]
                return final

    def _parse_stream(
        self,
        rounds: ToolRounds,
        replies: StructuredReplies,
        model: str | OpenRouterModel | None,
        meter: UsageMeter | None,
    ) -> Generator[PartialUpdate[Any], None]:
        """:meth:`parse` with every round streamed: the answer's partial objects, and each
        tool round's calls (before they run) and results (masked, as the model sees them)."""
        loop = rounds.loop
        pending: list[PendingApproval] = []
        waiting = loop.open_calls()  # answered by approvals=: they run now
        if waiting:
            yield PartialUpdate(1, calls=[loop.masked_call(call) for call in waiting])
            before = len(loop.transcript)
            with activate(meter), transcript_on_limit(loop):
                pending = self._run_calls(loop, waiting)
            yield PartialUpdate(1, results=list(loop.transcript[before:]))
        while not pending:
            with activate(meter), transcript_on_limit(loop):
                messages, params = rounds.request()
                try:
                    stream = self._client.create(messages, model=model, stream=True, **params)
                except OpenRouterAPIError as exc:
                    if rounds.rejected(exc):
                        continue
                    raise
            attempt = replies.attempt + 1
            reply = StreamedReply(
                replies.format.model,
                None if rounds.constrained else rounds.strategy,
                key=ANSWER if rounds.constrained else None,
            )
            with transcript_on_limit(loop):
                with stream:
                    for chunk in stream:
                        text, partial = reply.add(chunk)
                        if text or partial is not None:
                            yield PartialUpdate(attempt, text=text, object=partial)
            completion = reply.completion(ChatCompletion, stream.usage, stream.finish_reason)
            loop.record(completion.usage)
            native = rounds.reply(completion)
            if native is None:
                continue
            calls = loop.tool_calls(native.choices[0].message if native.choices else None)
            if calls:
                yield PartialUpdate(attempt, calls=[loop.masked_call(call) for call in calls])
                before = len(loop.transcript)
                with activate(meter), transcript_on_limit(loop):
                    pending = self._run_calls(loop, calls)
                yield PartialUpdate(attempt, results=list(loop.transcript[before:]))
                continue
            result = replies.check(native, rounds.strategy)
            if isinstance(result, Reask):
                loop.add_messages(result.messages)
                continue
            final = loop.final(native, ParsedToolChatCompletion)
            final.choices[0].message.parsed = result
            yield PartialUpdate(attempt, object=result, final=final)
            return
        yield PartialUpdate(
            replies.attempt + 1, final=loop.paused(pending, ParsedToolChatCompletion)
        )

    def _limits(self, usage_limits: Any) -> UsageLimits | None:
        return combine(check_limits(usage_limits), self._usage_limits)

    # -- requests ---------------------------------------------------------------------------

    def _rounds(
        self,
        loop: ToolLoop,
        model: str | OpenRouterModel | None,
        final: ResponseFormat | None,
        mode: StructuredMode | None,
    ) -> ToolRounds:
        slug = self._client.model if model is None else resolve_model(model)
        return ToolRounds(
            loop,
            slug=slug,
            tool_calling=self._tool_calling,
            memory=self._client.structured.memory,
            chain=self._client.structured.chain(slug, mode),
            final=final,
            options=self._client.structured.options,
        )

    def _send(self, rounds: ToolRounds, model: str | OpenRouterModel | None) -> ChatCompletion:
        """One round's request; sent again when the endpoint turned a feature down and the
        loop switched (structured-output mode, or native -> constrained tool calling).
        Returns the reply in native shape."""
        while True:
            messages, params = rounds.request()
            try:
                completion = self._client.create(messages, model=model, **params)
            except OpenRouterAPIError as exc:
                if rounds.rejected(exc):
                    continue
                raise
            rounds.loop.record(completion.usage)
            reply = rounds.reply(completion)
            if reply is not None:
                return reply

    # -- running tools --------------------------------------------------------------------

    def _loop(
        self,
        messages: Sequence[Message],
        max_tool_rounds: int | None,
        tool_context: Mapping[str, Any] | None,
        params: Mapping[str, Any],
        approvals: Mapping[str, bool | ToolApproval] | None = None,
    ) -> ToolLoop:
        return ToolLoop(
            self._tools,
            messages,
            max_rounds=self._max_tool_rounds if max_tool_rounds is None else max_tool_rounds,
            context=tool_context,
            params=params,
            max_result_chars=self._max_result_chars,
            approvals=approvals,
        )

    def _resume(self, loop: ToolLoop) -> list[PendingApproval]:
        """Answer the calls the transcript stopped at (``approvals=``); those still
        waiting for an approval."""
        waiting = loop.open_calls()
        return self._run_calls(loop, waiting) if waiting else []

    def _run_calls(self, loop: ToolLoop, calls: Sequence[ToolCall]) -> list[PendingApproval]:
        """Run a reply's calls (concurrently) and add their results; the calls that wait for
        an approval are not run and are returned."""
        prepared, pending = loop.plan_round(calls)
        contents = gather([functools.partial(self._traced, loop, p) for p in prepared])
        loop.add_results([p.call for p in prepared], contents)
        return pending

    def _traced(self, loop: ToolLoop, prepared: PreparedCall) -> str:
        """:meth:`_run` in an ``execute_tool`` span (when traced)."""
        call = prepared.call
        with self._telemetry.tool(call.function.name, call.id, call.function.arguments) as trace:
            content = self._run(loop, prepared)
            if prepared.error is not None:
                trace.error(prepared.error)
            trace.result(content)
            return content

    def _run(self, loop: ToolLoop, prepared: PreparedCall) -> str:
        tool = prepared.tool
        if prepared.error is not None or tool is None:
            content = prepared.error or ""
            ok = False
        else:
            try:
                limit = tool.timeout if tool.timeout is not None else self._tool_timeout
                content = loop.result(
                    call_user_code(tool.function, prepared.kwargs, limit),
                    prepared.call,
                )
                ok = True
            except Exception as exc:  # what a tool raises goes back to the model
                record_failure(exc, loop.mask)
                content = loop.failure(tool, exc)
                ok = False
        if is_debug():
            get_logger().debug(
                "tool.call", tool=prepared.call.function.name, ok=ok, round=loop.rounds
            )
        return content


class ToolStream:
    """The chunks of a tool client's streamed reply, across every round; iterate it once.

    Every round is streamed: chunks are yielded as they arrive (text, and the deltas of
    tool calls), tool calls run when their round ends, and the next round's chunks
    follow, until a round ends without tool calls. After the stream is consumed,
    :attr:`usage` is summed over the rounds and :attr:`transcript` holds the conversation.
    With constrained tool calling the rounds are not streamed by the endpoint (their
    replies are JSON for the loop, not text to show); each round's decoded reply is
    yielded as chunks, the final answer as one text chunk.
    """

    def __init__(
        self,
        client: ToolClient,
        loop: ToolLoop,
        model: str | OpenRouterModel | None,
        first: Stream | None,
        *,
        rounds: ToolRounds | None = None,
        pending: list[PendingApproval] | None = None,
    ) -> None:
        self._client = client
        self._loop = loop
        self._model = model
        self._current = first
        self._rounds = rounds
        #: The usage limits of the call that made this stream (its later rounds count too).
        self._meter = current_meter()
        #: Calls waiting for a human's approval once the stream ended at them (send
        #: :attr:`transcript` again with ``approvals=`` to go on).
        self.pending_approvals: list[PendingApproval] = list(pending or [])
        self._iterator = (
            self._chunks() if first is not None or pending else self._constrained_chunks()
        )
        #: The last round's finish reason, once seen.
        self.finish_reason: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} rounds={self._loop.rounds} finished={self.finish_reason!r}>"

    @property
    def usage(self) -> Usage | None:
        """Token usage summed over the rounds streamed so far."""
        return self._loop.usage

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """The conversation so far: the caller's messages, replies and tool results."""
        return list(self._loop.transcript)

    @property
    def tool_rounds(self) -> int:
        """Rounds of tool calls that ran."""
        return self._loop.rounds

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        return self._iterator.__next__()

    def __enter__(self) -> ToolStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        if self._current is not None:
            self._current.close()

    def _constrained_chunks(self) -> Generator[ChatCompletionChunk, None]:
        """Constrained tool calling: each round is one plain request (its reply is the
        protocol's JSON, not text to show), yielded as chunks once decoded."""
        loop = self._loop
        assert self._rounds is not None
        while True:
            with activate(self._meter), transcript_on_limit(loop):
                completion = self._client._send(self._rounds, self._model)
            for chunk in completion_chunks(completion):
                self.finish_reason = chunk.choices[0].finish_reason or self.finish_reason
                yield chunk
            choice = completion.choices[0] if completion.choices else None
            calls = loop.tool_calls(choice.message if choice is not None else None)
            if not calls:
                if choice is not None:
                    loop.add_messages([choice.message.to_param()])
                return
            with activate(self._meter):
                self.pending_approvals = self._client._run_calls(loop, calls)
            if self.pending_approvals:
                return

    def _chunks(self) -> Generator[ChatCompletionChunk, None]:
        loop = self._loop
        while not self.pending_approvals:  # none at the start: the calls still wait
            stream = self._current
            assert stream is not None
            reply = DeltaAccumulator()
            with stream:
                for chunk in stream:
                    reply.add(chunk)
                    yield chunk
            loop.record(stream.usage)
            self.finish_reason = stream.finish_reason
            message = reply.message()
            calls = loop.tool_calls(message)
            if not calls:
                loop.add_messages([message.to_param()])
                return
            with activate(self._meter), transcript_on_limit(loop):
                self.pending_approvals = self._client._run_calls(loop, calls)
                if self.pending_approvals:
                    return
                self._current = self._client.openrouter_client.create(
                    loop.transcript, model=self._model, stream=True, **loop.request_params()
                )
