"""Tracing and metrics on OpenTelemetry, after its GenAI semantic conventions.

Every LLM request is a ``chat {model}`` span (a stream's ends with the stream), every tool
call an ``execute_tool {name}`` span, every MCP tool call a ``tools/call {name}`` span, an
agent run an ``invoke_agent`` span with a span per step (plan, task, evaluation, pause)
beneath it; retries are events on the span of the request they repeat. The
``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` histograms are
recorded where a meter provider is set.

Only ``opentelemetry-api`` is used (extra ``mbxai[otel]``), and only when the application
has set a provider (globally, or ``tracer_provider=``/``meter_provider=`` on
:class:`~mbxai.OpenRouterClient`): without one, a call costs a dictionary lookup here, and
the package is not even imported. Message contents go on spans only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is true, redacted like log lines
(registered secrets, key-like tokens); tool-injected values are never in them (they never
reach the transcript, and tool results are masked before they do).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

import httpx

from ._logging import redact
from ._usage import current_meter
from ._version import __version__

if TYPE_CHECKING:
    from ._types import ChatCompletion, Usage

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "OFF",
    "Telemetry",
    "add_retry_event",
    "record_failure",
    "telemetry_of",
]

#: The environment variable that opts in to message contents on spans (the GenAI
#: instrumentations' common switch).
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_SCOPE: Final = "mbxai"
#: Largest captured content attribute (characters); longer text is cut.
_MAX_CONTENT: Final = 16_384
#: The request fields recorded as ``gen_ai.request.*``.
_REQUEST_FIELDS: Final = (
    ("temperature", "gen_ai.request.temperature"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("max_tokens", "gen_ai.request.max_tokens"),
    ("max_completion_tokens", "gen_ai.request.max_tokens"),
    ("seed", "gen_ai.request.seed"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
)
# The conventions' advised bucket boundaries.
_DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
_TOKEN_BUCKETS: Final = tuple(4**n for n in range(14))
_CACHE_LIMIT: Final = 64
_tracers: dict[int, tuple[Any, Any]] = {}
_instruments: dict[int, tuple[Any, _Instruments]] = {}

T = TypeVar("T")
C = TypeVar("C", bound="ChatCompletion")


def capture_content() -> bool:
    """Whether message contents go on spans (opted in by the environment variable)."""
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in ("1", "true", "yes")


def _otel() -> Any:
    """``opentelemetry.trace`` (imported: a provider was given, so the package is there)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        from opentelemetry import trace
    return trace


def _context() -> Any:
    """``opentelemetry.context``, likewise."""
    context = sys.modules.get("opentelemetry.context")
    if context is None:
        from opentelemetry import context
    return context


class _Instruments:
    """The two GenAI client histograms of one meter provider."""

    __slots__ = ("duration", "tokens")

    def __init__(self, provider: Any) -> None:
        meter = provider.get_meter(_SCOPE, __version__)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=list(_DURATION_BUCKETS),
        )
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=list(_TOKEN_BUCKETS),
        )


def _cached(cache: dict[int, tuple[Any, Any]], provider: Any, make: Any) -> Any:
    entry = cache.get(id(provider))
    if entry is None or entry[0] is not provider:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        entry = (provider, make(provider))
        cache[id(provider)] = entry
    return entry[1]


class Telemetry:
    """Where a client's spans and metrics go: the providers it was given, else the global
    ones; and the attributes every request of the client shares (provider, server)."""

    __slots__ = ("_meter_provider", "_tracer_provider", "common", "provider_name")

    def __init__(
        self,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        *,
        base_url: str | None = None,
    ) -> None:
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        host, port = "", None
        if base_url:
            url = httpx.URL(base_url)
            host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
        # OpenRouter by name; any other endpoint speaks OpenAI's API (server.address says
        # which one it is).
        self.provider_name = "openrouter" if host == "openrouter.ai" else "openai"
        common: dict[str, Any] = {"gen_ai.provider.name": self.provider_name}
        if host:
            common["server.address"] = host
            common["server.port"] = port
        self.common = common

    def tracer(self) -> Any | None:
        """The tracer to use, or ``None`` when nobody traces (the hot path's only cost)."""
        provider = self._tracer_provider
        if provider is None:
            trace = sys.modules.get("opentelemetry.trace")
            if trace is None:
                return None
            provider = trace.get_tracer_provider()
            if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
                return None
        return _cached(_tracers, provider, lambda p: p.get_tracer(_SCOPE, __version__))

    def instruments(self) -> _Instruments | None:
        """The histograms to record into, or ``None`` when no meter provider is set."""
        provider = self._meter_provider
        if provider is None:
            metrics = sys.modules.get("opentelemetry.metrics")
            if metrics is None:
                return None
            provider = metrics.get_meter_provider()
            if type(provider).__name__ in ("_ProxyMeterProvider", "NoOpMeterProvider"):
                return None
        result: _Instruments = _cached(_instruments, provider, _Instruments)
        return result

    # -- the spans ----------------------------------------------------------------------

    def chat(self, slug: str, body: bytes) -> ChatSpan | _Off:
        """The span (and metrics) of one chat request for ``slug`` with JSON ``body``."""
        tracer = self.tracer()
        instruments = self.instruments()
        if tracer is None and instruments is None:
            return OFF
        return ChatSpan(self, tracer, instruments, slug, body)

    def tool(self, name: str, call_id: str, arguments: str | None) -> Span | _Off:
        """The span of one tool call (``arguments`` captured only when opted in)."""
        tracer = self.tracer()
        if tracer is None:
            return OFF
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
        }
        if arguments is not None and capture_content():
            attributes["gen_ai.tool.call.arguments"] = _clip(redact(arguments))
        return Span(tracer, f"execute_tool {name}", attributes, kind="INTERNAL")

    def mcp_request(
        self,
        method: str,
        server: str,
        transport: str,
        url: str | None,
        target: str | None = None,
        uri: str | None = None,
    ) -> Span | _Off:
        """The span of one MCP request ``method`` (``tools/call``, ``resources/read``,
        ``prompts/get``...) to ``server``; ``target`` is the tool or prompt it names."""
        tracer = self.tracer()
        if tracer is None:
            return OFF
        attributes: dict[str, Any] = {
            "mcp.method.name": method,
            "mbxai.mcp.server": server,
            "network.transport": "pipe" if transport == "stdio" else "tcp",
        }
        if method == "tools/call":
            attributes["gen_ai.operation.name"] = "execute_tool"
            attributes["gen_ai.tool.name"] = target
        elif method == "prompts/get":
            attributes["gen_ai.prompt.name"] = target
        if uri is not None:
            attributes["mcp.resource.uri"] = redact(uri)
        if url:
            parsed = httpx.URL(url)
            attributes["server.address"] = parsed.host
            if parsed.port is not None:
                attributes["server.port"] = parsed.port
        name = method if target is None else f"{method} {target}"
        return Span(tracer, name, attributes, kind="CLIENT")

    def agent_run(self, session: Any, resumed: bool) -> AgentRunSpan | _Off:
        """The span of one agent run (a resume links to the session's first run)."""
        tracer = self.tracer()
        if tracer is None:
            return OFF
        return AgentRunSpan(tracer, session, resumed)

    def agent_step(
        self, step: str, session: Any, task_id: str | None = None
    ) -> AgentStepSpan | _Off:
        """The span of one agent step: ``plan``, ``task``, ``evaluate`` or ``pause``."""
        tracer = self.tracer()
        if tracer is None:
            return OFF
        return AgentStepSpan(tracer, step, session, task_id)


#: What a client without its own :class:`Telemetry` (a duck-typed client) uses.
_GLOBAL = Telemetry()


def telemetry_of(client: Any) -> Telemetry:
    """The :class:`Telemetry` of an mbxai chat client (the global providers otherwise)."""
    found = getattr(client, "_telemetry", None)
    return found if isinstance(found, Telemetry) else _GLOBAL


class _Off:
    """The span of a call nobody traces: every method does nothing, at once."""

    __slots__ = ()

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def done(self, completion: C) -> C:
        return completion

    def keep(self, stream: T) -> T:
        return stream

    def result(self, text: str) -> None:
        return None

    def error(self, message: str) -> None:
        return None


OFF: Final = _Off()


class Span:
    """A span made current while its ``with`` block runs; an exception leaving the block
    is recorded on it (``record_exception``, status ``ERROR``, ``error.type``)."""

    __slots__ = ("_span", "_token")

    def __init__(
        self,
        tracer: Any,
        name: str,
        attributes: Mapping[str, Any],
        *,
        kind: str,
        links: Any = None,
    ) -> None:
        trace = _otel()
        self._span = tracer.start_span(
            name, kind=getattr(trace.SpanKind, kind), attributes=attributes, links=links
        )
        self._token: Any = None

    def __enter__(self) -> Span:
        self._token = _context().attach(_otel().set_span_in_context(self._span))
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            token, self._token = self._token, None
            _context().detach(token)  # never raises: OpenTelemetry logs a mismatch itself
        if exc is not None:
            _fail(self._span, exc)
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        self._span.end()

    def result(self, text: str) -> None:
        """A tool's result (already masked), recorded when contents are opted in."""
        if capture_content() and self._span.is_recording():
            self._span.set_attribute("gen_ai.tool.call.result", _clip(redact(text)))

    def error(self, message: str) -> None:
        """Mark the span failed without an exception (a call that could not run: an
        unknown tool, invalid arguments), ``error.type`` ``tool_error``."""
        if self._span.is_recording():
            text = redact(message)[:1000]
            self._span.set_attribute("error.type", "tool_error")
            self._span.set_status(_otel().Status(_otel().StatusCode.ERROR, text))


class ChatSpan(Span):
    """One chat request: its span (when traced) and its duration and token metrics (when
    metered). For a stream, :meth:`keep` leaves the span open until the stream ends."""

    __slots__ = ("_instruments", "_kept", "_metric", "_start")

    def __init__(
        self, telemetry: Telemetry, tracer: Any, instruments: Any, slug: str, body: bytes
    ) -> None:
        self._start = time.monotonic()
        self._instruments = instruments
        self._kept = False
        self._metric: dict[str, Any] = {
            **telemetry.common,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": slug,
        }
        if tracer is None:
            self._span = None
            self._token = None
            return
        # gen_ai.system: the name before gen_ai.provider.name, which older backends read
        attributes = {
            **self._metric,
            "gen_ai.system": telemetry.provider_name,
            **_request_attributes(body),
        }
        super().__init__(tracer, f"chat {slug}", attributes, kind="CLIENT")

    def __enter__(self) -> ChatSpan:
        if self._span is not None:
            super().__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._span is not None:
            super().__exit__(exc_type, exc, tb)
        elif exc is not None:
            self._finish(exc)
        # kept for a stream: it ends with the stream

    def _finish(self, exc: BaseException | None) -> None:
        if self._kept and exc is None:
            return
        self._end(exc)

    def _end(self, exc: BaseException | None) -> None:
        if self._instruments is not None:
            attributes = self._metric
            if exc is not None:
                attributes = {**attributes, "error.type": type(exc).__qualname__}
            self._instruments.duration.record(time.monotonic() - self._start, attributes)
            self._instruments = None
        if self._span is not None:
            span, self._span = self._span, None
            span.end()

    def done(self, completion: C) -> C:
        """Record what came back: the model that answered, finish reasons, usage, cost."""
        choices = completion.choices
        self._response(
            completion.model,
            completion.id,
            [c.finish_reason for c in choices if c.finish_reason],
            completion.usage,
            completion.provider,
        )
        if self._span is not None and capture_content() and self._span.is_recording():
            output = [_output_message(c.message, c.finish_reason) for c in choices]
            self._span.set_attribute("gen_ai.output.messages", _clip(redact(_dumps(output))))
        return completion

    def keep(self, stream: T) -> T:
        """Hand the span to ``stream`` (it calls :meth:`stream_ended` when it ends)."""
        self._kept = True
        stream._trace = self  # type: ignore[attr-defined]
        return stream

    def stream_ended(self, stream: Any, exc: BaseException | None) -> None:
        """A kept stream's end: its finish reason and usage, or its failure."""
        if isinstance(exc, StopIteration | StopAsyncIteration):
            exc = None
        reason = stream.finish_reason
        self._response(None, None, [reason] if reason else [], stream.usage, None)
        if exc is not None and self._span is not None:
            _fail(self._span, exc)
        self._end(exc)

    def _response(
        self,
        model: str | None,
        response_id: str | None,
        reasons: list[str],
        usage: Usage | None,
        provider: str | None,
    ) -> None:
        if model:
            self._metric["gen_ai.response.model"] = model
        instruments = self._instruments
        if usage is not None and instruments is not None:
            for kind, count in (
                ("input", usage.prompt_tokens),
                ("output", usage.completion_tokens),
            ):
                instruments.tokens.record(count, {**self._metric, "gen_ai.token.type": kind})
        span = self._span
        if span is None or not span.is_recording():
            return
        attributes: dict[str, Any] = {}
        if model:
            attributes["gen_ai.response.model"] = model
        if response_id:
            attributes["gen_ai.response.id"] = response_id
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = reasons
        if provider:
            attributes["mbxai.response.provider"] = provider
        if usage is not None:
            attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
            if usage.cached_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_tokens
            if usage.reasoning_tokens:
                attributes["mbxai.usage.reasoning_tokens"] = usage.reasoning_tokens
            if usage.cost is not None:
                attributes["mbxai.usage.cost"] = usage.cost
        span.set_attributes(attributes)


class AgentRunSpan(Span):
    """An agent run: ``invoke_agent`` with ``gen_ai.agent.id``; the session keeps its first
    run's span context (ids only), which every later run of it links to."""

    __slots__ = ("_session",)

    def __init__(self, tracer: Any, session: Any, resumed: bool) -> None:
        trace = _otel()
        self._session = session
        first = session.trace_context
        links = None
        if first:
            try:
                context = trace.SpanContext(
                    trace_id=int(first["trace_id"], 16),
                    span_id=int(first["span_id"], 16),
                    is_remote=True,
                    trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
                )
            except (KeyError, TypeError, ValueError):
                context = None
            if context is not None and context.is_valid:
                links = [trace.Link(context, {"mbxai.link": "first_run"})]
        attributes = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.id": session.agent_id,
            "gen_ai.conversation.id": session.agent_id,
            "mbxai.agent.resumed": resumed,
        }
        super().__init__(tracer, "invoke_agent", attributes, kind="INTERNAL", links=links)
        if not first:
            own = self._span.get_span_context()
            if own.is_valid:
                session.trace_context = {
                    "trace_id": trace.format_trace_id(own.trace_id),
                    "span_id": trace.format_span_id(own.span_id),
                }

    def _finish(self, exc: BaseException | None) -> None:
        session = self._session
        if self._span.is_recording():
            self._span.set_attributes(
                {
                    "mbxai.agent.state": str(getattr(session.state, "value", session.state)),
                    "mbxai.usage.requests": session.spent.requests,
                    "mbxai.usage.total_tokens": session.spent.total_tokens,
                    "mbxai.usage.cost": session.spent.cost,
                }
            )
        self._span.end()


class AgentStepSpan(Span):
    """One step of an agent run, with what it spent (requests, tokens, cost: the growth
    of the session's ``spent`` while it ran)."""

    __slots__ = ("_before", "_session")

    def __init__(self, tracer: Any, step: str, session: Any, task_id: str | None) -> None:
        attributes: dict[str, Any] = {"mbxai.agent.step": step, "gen_ai.agent.id": session.agent_id}
        if task_id is not None:
            attributes["mbxai.agent.task_id"] = task_id
        super().__init__(tracer, f"agent.{step}", attributes, kind="INTERNAL")
        self._session = session
        self._before = _spent(session)

    def _finish(self, exc: BaseException | None) -> None:
        if self._span.is_recording():
            requests, tokens, cost = (
                now - then for now, then in zip(_spent(self._session), self._before, strict=True)
            )
            self._span.set_attributes(
                {
                    "mbxai.usage.requests": requests,
                    "mbxai.usage.total_tokens": tokens,
                    "mbxai.usage.cost": cost,
                }
            )
        self._span.end()


def _spent(session: Any) -> tuple[int, int, float]:
    """What ``session`` has spent so far: requests, tokens and cost (its live meter's
    figures while a run meters it, else those saved in the record)."""
    meter = current_meter()
    spent = meter.spent if meter is not None else session.spent
    return spent.requests, spent.total_tokens, spent.cost


# -- hooks for code that does not hold a span -------------------------------------------------


def _current_span() -> Any | None:
    """The recording current span, if OpenTelemetry is in use and one is."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    span = trace.get_current_span()
    return span if span.is_recording() else None


def add_retry_event(retry: int, retries: int, wait: float, exc: Exception) -> None:
    """A ``retry`` event on the current span (the request being retried)."""
    span = _current_span()
    if span is None:
        return
    attributes: dict[str, Any] = {
        "mbxai.retry.number": retry,
        "mbxai.retry.max": retries,
        "mbxai.retry.wait_seconds": wait,
        "error.type": type(exc).__qualname__,
        "exception.message": redact(str(exc))[:300],
    }
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        attributes["http.response.status_code"] = status
    span.add_event("retry", attributes)


def record_failure(exc: BaseException, mask: Callable[[str], str] | None = None) -> None:
    """Mark the current span failed by ``exc`` (an error caught and handled, such as a
    tool's exception that goes back to the model); ``mask`` hides what else must not show
    in its message (a tool loop's injected values)."""
    span = _current_span()
    if span is not None:
        _fail(span, exc, mask)


def _fail(span: Any, exc: BaseException, mask: Callable[[str], str] | None = None) -> None:
    if not span.is_recording():
        return
    trace = _otel()
    text = str(exc) if mask is None else mask(str(exc))
    message = redact(text)[:1000]
    span.set_attribute("error.type", type(exc).__qualname__)
    span.add_event(
        "exception",
        {"exception.type": type(exc).__qualname__, "exception.message": message},
    )
    span.set_status(trace.Status(trace.StatusCode.ERROR, message))


# -- contents (opted in) ------------------------------------------------------------------------


def _request_attributes(body: bytes) -> dict[str, Any]:
    """``gen_ai.request.*`` from the request body; the input messages when opted in."""
    try:
        request = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(request, dict):
        return {}
    attributes: dict[str, Any] = {}
    for field, name in _REQUEST_FIELDS:
        value = request.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[name] = value
    stop = request.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = stop
    if request.get("stream") is True:
        attributes["mbxai.request.stream"] = True
    if capture_content():
        messages = request.get("messages")
        if isinstance(messages, list):
            converted = [_input_message(m) for m in messages if isinstance(m, dict)]
            attributes["gen_ai.input.messages"] = _clip(redact(_dumps(converted)))
    return attributes


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append({"type": "text", "content": part.get("text", "")})
            elif isinstance(part, dict):
                parts.append({"type": str(part.get("type", "unknown"))})
    return parts


def _input_message(message: Mapping[str, Any]) -> dict[str, Any]:
    role = message.get("role")
    if role == "tool":
        return {
            "role": "tool",
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": message.get("content"),
                }
            ],
        }
    parts = _text_parts(message.get("content"))
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict):
            function = call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    return {"role": role, "parts": parts}


def _output_message(message: Any, finish_reason: str | None) -> dict[str, Any]:
    parts = _text_parts(message.content)
    for call in message.tool_calls or ():
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.function.name,
                "arguments": call.function.arguments,
            }
        )
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason or ""}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_CONTENT else text[:_MAX_CONTENT] + "…"
