"""The OpenRouter (and any OpenAI-compatible endpoint) chat client."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypeVar, cast, overload

import httpx
from pydantic import BaseModel, SecretStr

from .._chat import (
    DEFAULT_BASE_URL,
    DEFAULT_HEADERS,
    build_chat_body,
    decode_completion,
    stream_open_error,
)
from .._checks import check_int
from .._client_base import EndpointConfig, check_seconds, decode_response
from .._errors import ConfigurationError, OpenRouterAPIError
from .._http import DEFAULT_HTTP_BACKEND, Deadline, HttpBackend, is_event_stream
from .._logging import get_logger, is_debug
from .._openrouter import (
    CacheControl,
    GenerationReply,
    GenerationStats,
    ModelInfo,
    ModelList,
    Plugin,
    ProviderPreferences,
    Reasoning,
    check_cache,
    check_defaults,
    needs_breakpoints,
    request_options,
    require_parameters,
    split_options,
)
from .._partial import PartialUpdate, StreamedReply
from .._registry import DEFAULT_MODEL, OpenRouterModel, list_models, register_model, resolve_model
from .._seed import AsyncSeedMethods
from .._structured import (
    EndpointMemory,
    Reask,
    SchemaOptions,
    StructuredMode,
    StructuredReplies,
    StructuredSettings,
    is_unsupported,
    structured_chain,
)
from .._tracing import Telemetry
from .._types import ChatCompletion, Message, ParsedChatCompletion, Usage
from .._usage import (
    UsageLimits,
    UsageMeter,
    activate,
    check_limits,
    combine,
    current_meter,
    metering,
)
from . import sending
from .base import AsyncBaseClient
from .partial import AsyncPartialStream
from .streaming import AsyncStream

__all__ = ["AsyncOpenRouterClient"]

_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

T = TypeVar("T", bound=BaseModel)
M = TypeVar("M", bound=BaseModel)
C = TypeVar("C", bound=ChatCompletion)
#: A ``structured_output=`` setting: "auto", one mode, or modes to try in order.
StructuredOutput: TypeAlias = "Literal['auto'] | StructuredMode | Sequence[StructuredMode]"


class AsyncOpenRouterClient(AsyncBaseClient, AsyncSeedMethods):
    """Chat completions, streaming and structured output on OpenRouter or any
    OpenAI-compatible endpoint.

    Args:
        token: API key. Falls back to ``OPENROUTER_API_KEY``; may be omitted for
            endpoints that need none (a local server).
        model: Default model: an :class:`OpenRouterModel`, a registered name or any slug.
        base_url: Endpoint root. Falls back to ``OPENROUTER_BASE_URL``, then OpenRouter.
            ``user:password@`` in it is sent as HTTP Basic auth (instead of the token) and
            shown as ``***@`` in reprs, errors and logs.
        default_headers: Extra headers on every request; OpenRouter's ``HTTP-Referer`` and
            ``X-Title`` default to mbxai's and a ``None`` value removes one.
        max_retries: Retries after the first attempt (``2`` means at most 3 requests).
        retry_initial_delay: First backoff in seconds; it doubles up to ``retry_max_delay``.
        retry_max_delay: Longest backoff between two attempts, in seconds.
        timeout: Seconds one request may take in all: connecting, sending, waiting for
            the answer and reading it, however slowly the server sends it (each retry is a
            new request, with its own ``timeout``). For a stream, the time until its
            response starts, and the longest wait for any bytes of it. An
            ``httpx.Timeout`` sets each phase's limit, and its largest one bounds the whole
            request. ``None`` waits forever.
        parse_retries: How often :meth:`parse` re-asks the model after invalid output.
        max_retry_after: Longest wait honoured from a server's ``Retry-After``.
        max_response_bytes: Largest response body (or single stream event) read into
            memory; a bigger one raises :class:`OpenRouterAPIError` instead (default 32 MiB).
        http_client: An ``httpx.AsyncClient`` to send with (you then close it yourself).
        transport: An httpx transport for the client mbxai creates (e.g. the offline fake
            from :mod:`mbxai.testing`).
        http_backend: How the client mbxai creates sends: ``"httpx"`` (the default: HTTP/2
            where the server offers it, else HTTP/1.1), ``"aiohttp"`` (aiohttp's connection pool,
            the fastest for many concurrent calls; needs ``mbxai[aiohttp]`` and asyncio,
            so not for the sync clients) or ``"auto"``: aiohttp's for the asyncio client
            when installed and no proxy is set in the environment, else httpx's. The sync
            client's pool (HTTP/1.1, shared by all threads) is httpx's.
        verify: The certificates the client mbxai creates trusts: ``True`` (the default
            CAs, and ``SSL_CERT_FILE``), a CA bundle's path, an ``ssl.SSLContext``, or
            ``False`` (no check: for local test servers only).
        structured_output: How :meth:`parse` asks for JSON: ``"json_schema"`` (a
            ``json_schema`` response format), ``"tool"`` (a forced function whose
            arguments are the answer), ``"json_object"`` (JSON mode plus the schema's
            outline in the prompt), ``"prompted"`` (the outline in the prompt only; the
            JSON is extracted and repaired), a list of these to try in order, or
            ``"auto"`` (all four, in that order). When the endpoint rejects a mode (a 4xx
            saying it is unsupported) or ignores the forced function, the next one is
            used and remembered for that model, so later calls skip the failed request.
        describe_schema: Also put the schema's outline in the system prompt in the
            ``json_schema`` and ``tool`` modes. For local servers (llama.cpp, vLLM), which
            enforce a schema without showing it to the model.
        max_items: Cap array lengths in the schema sent (not in validation), so a small
            model cannot repeat list items until ``max_tokens``.
        max_string_length: Cap free-text string lengths in the schema sent, likewise.
        stream_timeout: Seconds a stream may take from its request to its end (the time
            you spend between chunks counts); it then fails with
            :class:`OpenRouterTimeoutError`. ``None``: no limit.
        max_stream_idle_lines: How many SSE lines in a row may bring no chunk (comments
            such as ``: OPENROUTER PROCESSING``, blank lines, empty or choice-less events)
            before the stream fails with :class:`StreamError` as stuck.
        usage_limits: Default bounds on the requests, tokens and cost of each call (see
            :class:`UsageLimits`); a call's own ``usage_limits=`` applies as well.
        provider: Default provider routing (:class:`ProviderPreferences` or a dict of its
            fields); a call's ``provider=`` is merged over it field by field.
        models: Default fallback models, tried in order when the model fails.
        reasoning: Default reasoning settings (:class:`Reasoning`).
        transforms: Default prompt transforms (``["middle-out"]``).
        plugins: Default plugins (:class:`WebPlugin`, :class:`FileParserPlugin`,
            :class:`ResponseHealingPlugin`).
        preset: A preset defined in OpenRouter's settings, by slug.
        user: An id of your end user, for OpenRouter's abuse detection and reports.
        session_id: Groups requests into one session in OpenRouter's observability.
        cache: Prompt caching: ``True`` (or a :class:`CacheControl` with a ``ttl``) marks
            cache breakpoints for the models whose providers need them (Anthropic, Gemini):
            after the system prompt and at the last user message.
        usage_accounting: Ask for the cost and token details of each request
            (``usage: {"include": true}``); default: on for OpenRouter, off elsewhere.
        tracer_provider: An OpenTelemetry ``TracerProvider`` for this client's spans (and
            those of the tool, MCP and agent clients wrapping it); default: the global one.
            Nothing is traced, at no cost, while neither is set (docs: Tracing).
        meter_provider: An OpenTelemetry ``MeterProvider`` for the GenAI client metrics
            (token usage, operation duration); default: the global one.

    Every option above can also be given per call (``create(..., provider=...)``); they are
    checked before anything is sent (:class:`ConfigurationError` names the field) and sent
    only when set, so other endpoints get none of them unless asked.
    """

    _retry_event = "chat.retry"

    def __init__(
        self,
        token: str | SecretStr | None = None,
        model: str | OpenRouterModel | None = None,
        base_url: str | None = None,
        default_headers: Mapping[str, str | None] | None = None,
        max_retries: int = 3,
        retry_initial_delay: float = 1.0,
        retry_max_delay: float = 10.0,
        timeout: float | httpx.Timeout | None = 60.0,
        *,
        parse_retries: int = 1,
        max_retry_after: float = 60.0,
        max_response_bytes: int = 32 * 1024 * 1024,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_backend: HttpBackend = DEFAULT_HTTP_BACKEND,
        verify: bool | str | ssl.SSLContext = True,
        structured_output: StructuredOutput = "auto",
        describe_schema: bool = False,
        max_items: int | None = None,
        max_string_length: int | None = None,
        stream_timeout: float | None = 1800.0,
        max_stream_idle_lines: int = 10_000,
        usage_limits: UsageLimits | None = None,
        provider: ProviderPreferences | Mapping[str, Any] | None = None,
        models: Sequence[str] | None = None,
        reasoning: Reasoning | Mapping[str, Any] | None = None,
        transforms: Sequence[str] | None = None,
        plugins: Sequence[Plugin | Mapping[str, Any]] | None = None,
        preset: str | None = None,
        user: str | None = None,
        session_id: str | None = None,
        cache: bool | CacheControl | None = None,
        usage_accounting: bool | None = None,
        tracer_provider: Any = None,
        meter_provider: Any = None,
    ) -> None:
        config = EndpointConfig.create(
            key=token,
            key_argument="token",
            key_variable="OPENROUTER_API_KEY",
            base_url=base_url,
            base_url_variable="OPENROUTER_BASE_URL",
            default_base_url=DEFAULT_BASE_URL,
            default_headers=default_headers,
            header_defaults={"Content-Type": "application/json", **DEFAULT_HEADERS},
            timeout=timeout,
            max_retries=max_retries,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            max_retry_after=max_retry_after,
            max_response_bytes=max_response_bytes,
        )
        # httpx's default pool (100 connections) makes a burst of concurrent calls queue,
        # and httpcore re-scans that queue on every change: allow a thousand, keep 100.
        super().__init__(
            config,
            http_client=http_client,
            transport=transport,
            limits=_LIMITS,
            http_backend=http_backend,
            verify=verify,
        )
        self._model = resolve_model(model) if model is not None else DEFAULT_MODEL
        self._structured = StructuredSettings(
            parse_retries=check_int("parse_retries", parse_retries, minimum=0),
            modes=structured_chain(structured_output),
            options=SchemaOptions.create(
                describe=describe_schema, max_items=max_items, max_string_length=max_string_length
            ),
            memory=EndpointMemory(),
        )
        self._stream_timeout: float | None = (
            None if stream_timeout is None else check_seconds("stream_timeout", stream_timeout)
        )
        self._max_stream_idle_lines: int = check_int(
            "max_stream_idle_lines", max_stream_idle_lines, minimum=1
        )
        self._usage_limits = check_limits(usage_limits)
        self._is_openrouter = httpx.URL(config.root).host == "openrouter.ai"
        self._route = check_defaults(
            {
                "provider": provider,
                "models": models,
                "reasoning": reasoning,
                "transforms": transforms,
                "plugins": plugins,
                "preset": preset,
                "user": user,
                "session_id": session_id,
            }
        )
        self._cache = check_cache(cache)
        if usage_accounting is not None and not isinstance(usage_accounting, bool):
            raise ConfigurationError(
                f"usage_accounting must be True, False or None, got {usage_accounting!r}"
            )
        self._usage_accounting = (
            self._is_openrouter if usage_accounting is None else usage_accounting
        )
        self._catalog: list[ModelInfo] | None = None
        self._url = httpx.URL(config.url("/chat/completions"))
        self._stream_headers = httpx.Headers(self._headers)
        self._stream_headers["Accept"] = "text/event-stream"
        self._telemetry = Telemetry(tracer_provider, meter_provider, base_url=config.root)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self._model!r})"

    # -- configuration --------------------------------------------------------------------

    @property
    def model(self) -> str:
        """The default model slug; assign an enum member, a registered name or a slug."""
        return self._model

    @model.setter
    def model(self, value: str | OpenRouterModel) -> None:
        self._model = resolve_model(value)

    def _limits(self, usage_limits: Any) -> UsageLimits | None:
        return combine(check_limits(usage_limits), self._usage_limits)

    def _prepare(
        self, slug: str, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], CacheControl | None]:
        """This call's body fields: ``params`` with OpenRouter's options checked and merged
        over the client's, usage accounting asked for; and the cache breakpoints to place
        (``None`` unless asked for and ``slug`` or a fallback needs them)."""
        options, rest = split_options(params)
        fields = {**rest, **request_options(self._route, options)}
        if "usage" not in fields:
            meter = current_meter()
            if self._usage_accounting or (self._is_openrouter and meter and meter.wants_cost):
                fields["usage"] = {"include": True}
        cache = check_cache(options["cache"]) if "cache" in options else self._cache
        if cache is not None and not needs_breakpoints([slug, *(fields.get("models") or ())]):
            cache = None
        return fields, cache

    @property
    def structured(self) -> StructuredSettings:
        """How :meth:`parse` asks for structured output here (``parse_retries``, the modes,
        the schema options, what the endpoint rejected); clients wrapping this one ask the
        same way."""
        return self._structured

    register_model = staticmethod(register_model)
    registered_models = staticmethod(list_models)

    # -- OpenRouter's API beyond chat -----------------------------------------------------

    async def list_models(self, *, refresh: bool = False) -> list[ModelInfo]:
        """The endpoint's models (``GET /models``): context length, pricing and supported
        parameters on OpenRouter, at least the ids elsewhere.

        Fetched once and kept for the client's life (``refresh=True`` fetches again).
        Once known, :meth:`parse` and the tool client skip the structured-output modes
        and the native tool calls a model does not support, instead of finding out by a
        failed request. (The names registered with :meth:`register_model` are
        :meth:`registered_models`.)
        """
        if self._catalog is None or refresh:
            reply = await self._get("/models", None, ModelList, "a model list", None)
            for info in reply.data:
                self._structured.memory.learn(info.id, info.supported_parameters)
            self._catalog = reply.data
        return list(self._catalog)

    async def model_info(self, model: str | OpenRouterModel | None = None) -> ModelInfo | None:
        """What :meth:`list_models` says about ``model`` (default: the client's), or
        ``None`` when the endpoint does not list it."""
        slug = self._model if model is None else resolve_model(model)
        for info in await self.list_models():
            if info.id == slug:
                return info
        return None

    async def generation(
        self, generation_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> GenerationStats:
        """OpenRouter's record of one generation (``completion.id``): its exact cost, the
        provider that served it, native token counts, latency.

        OpenRouter may take a moment after the completion to have it; until then it
        answers 404 (:class:`NotFoundError`).
        """
        if not isinstance(generation_id, str) or not generation_id:
            raise ConfigurationError(
                f"generation_id must be a completion's id (a non-empty string), "
                f"got {generation_id!r}"
            )
        reply = await self._get(
            "/generation", {"id": generation_id}, GenerationReply, "generation stats", timeout
        )
        return reply.data

    async def _get(
        self,
        path: str,
        query: Mapping[str, str] | None,
        cls: type[M],
        what: str,
        timeout: float | httpx.Timeout | None,
    ) -> M:
        """``GET path`` decoded into ``cls``, with the client's retries and bounds."""
        call_timeout, _ = self._call_settings(timeout, None)
        url = self._config.url(path)

        async def once() -> M:
            request = self._request(url, method="GET", params=query, timeout=call_timeout)
            response, content = await self._send_and_read(
                request, self._config.deadline(call_timeout)
            )
            return decode_response(response.status_code, response.headers, content, cls, what)

        return cast("M", await self._with_retries(once))

    # -- chat completions -----------------------------------------------------------------

    @overload
    async def create(
        self,
        messages: Sequence[Message],
        *,
        model: str | OpenRouterModel | None = None,
        stream: Literal[False] = False,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        messages: Sequence[Message],
        *,
        model: str | OpenRouterModel | None = None,
        stream: Literal[True],
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> AsyncStream: ...

    async def create(
        self,
        messages: Sequence[Message],
        *,
        model: str | OpenRouterModel | None = None,
        stream: bool = False,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ChatCompletion | AsyncStream:
        """Send a chat completion request.

        ``params`` go into the request body as given (``temperature``, ``tools``,
        ``max_tokens`` ...; ``None`` values are left out), except OpenRouter's options
        (``provider``, ``models``, ``reasoning``, ``transforms``, ``plugins``, ``preset``,
        ``user``, ``session_id``, ``cache``; see :class:`AsyncOpenRouterClient`), which
        are checked and merged over the client's defaults.
        With ``stream=True`` the result is an :class:`AsyncStream` of chunks.
        ``usage_limits`` (default: the client's) bounds the requests, tokens and cost
        of this call, retries included (see :class:`UsageLimits`).
        """
        with metering(self._limits(usage_limits)):
            slug = self._model if model is None else resolve_model(model)
            fields, cache = self._prepare(slug, params)
            body = build_chat_body(slug, messages, fields, stream=stream, cache=cache)
            if stream:
                return await self._open_stream(body, slug, timeout, extra_headers)
            return await self._complete(body, slug, timeout, extra_headers, ChatCompletion)

    chat = create

    @overload
    async def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        mode: StructuredMode | None = None,
        stream: Literal[False] = False,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ParsedChatCompletion[T]: ...

    @overload
    async def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        mode: StructuredMode | None = None,
        stream: Literal[True],
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> AsyncPartialStream[T]: ...

    async def parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        *,
        model: str | OpenRouterModel | None = None,
        mode: StructuredMode | None = None,
        stream: bool = False,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        usage_limits: UsageLimits | None = None,
        **params: Any,
    ) -> ParsedChatCompletion[T] | AsyncPartialStream[T]:
        """Ask for a reply matching ``response_format`` (a Pydantic model class).

        By default the schema goes out as a strict ``json_schema`` response format; the
        client's ``structured_output`` setting (or ``mode=`` for this call alone) picks
        another way, and an endpoint that rejects one mode is asked in the next (see
        :class:`AsyncOpenRouterClient`). The reply is validated into
        ``response.choices[0].message.parsed`` (``content`` holds its JSON in every mode);
        if it does not validate, the model is told why and asked again (``parse_retries``
        times) before a :class:`StructuredOutputError` carrying the raw output is raised.
        ``usage`` on the result counts every request.

        Args:
            mode: ``"json_schema"``, ``"tool"``, ``"json_object"`` or ``"prompted"``: use
                this mode only, with no fallback.
            stream: Return an :class:`AsyncPartialStream` of the object as its JSON
                arrives (partial objects, then the validated one), in every mode; the
                re-asks happen as without streaming.
            usage_limits: Bounds on the requests, tokens and cost of the whole call,
                re-asks and retries included (default: the client's).
        """
        with metering(self._limits(usage_limits)) as meter:
            if stream:
                settings = self._structured
                # checked now, not when the stream is first read
                replies = StructuredReplies(
                    response_format, settings.parse_retries, settings.options
                )
                slug = self._model if model is None else resolve_model(model)
                chain = settings.chain(slug, mode)
                updates = self._parse_stream(
                    messages, replies, slug, chain, timeout, extra_headers, params, meter
                )
                return AsyncPartialStream(updates)
            return await self._parse(
                messages, response_format, model, mode, timeout, extra_headers, params
            )

    async def _parse(
        self,
        messages: Sequence[Message],
        response_format: type[T],
        model: str | OpenRouterModel | None,
        mode: StructuredMode | None,
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
        params: dict[str, Any],
    ) -> ParsedChatCompletion[T]:
        settings = self._structured
        replies = StructuredReplies(response_format, settings.parse_retries, settings.options)
        slug = self._model if model is None else resolve_model(model)
        fields, cache = self._prepare(slug, params)
        chain = settings.chain(slug, mode)
        conversation = list(messages)
        usage: Usage | None = None
        index = 0
        while True:
            strategy = replies.strategy(chain[index])
            request_fields = strategy.request_params(fields)
            if self._is_openrouter and strategy.mode in ("json_schema", "tool"):
                # Route only to providers that honour the schema or the forced function.
                request_fields = require_parameters(request_fields)
            body = build_chat_body(
                slug,
                strategy.request_messages(conversation),
                request_fields,
                stream=False,
                cache=cache,
            )
            fallback = index + 1 < len(chain)
            try:
                completion = await self._complete(
                    body, slug, timeout, extra_headers, ParsedChatCompletion
                )
            except OpenRouterAPIError as exc:
                if fallback and is_unsupported(exc, strategy.mode):
                    settings.reject(slug, strategy.mode, str(exc))
                    index += 1
                    continue
                raise
            usage = completion.usage + usage if completion.usage else usage
            if fallback and strategy.ignored(completion):
                settings.reject(slug, strategy.mode, "the forced function was not called")
                index += 1
                continue
            completion = strategy.translate(completion)
            result = replies.check(completion, strategy)
            if isinstance(result, Reask):
                conversation += result.messages
                continue
            completion.choices[0].message.parsed = result
            completion.usage = usage
            return cast("ParsedChatCompletion[T]", completion)

    async def _parse_stream(
        self,
        messages: Sequence[Message],
        replies: StructuredReplies,
        slug: str,
        chain: tuple[StructuredMode, ...],
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
        params: dict[str, Any],
        meter: UsageMeter | None,
    ) -> AsyncGenerator[PartialUpdate[Any], None]:
        """:meth:`_parse` with every reply streamed: its partial objects as they come."""
        settings = self._structured
        response_format = replies.format.model
        with activate(meter):
            fields, cache = self._prepare(slug, params)
        conversation = list(messages)
        usage: Usage | None = None
        index = 0
        while True:
            strategy = replies.strategy(chain[index])
            request_fields = strategy.request_params(fields)
            if self._is_openrouter and strategy.mode in ("json_schema", "tool"):
                request_fields = require_parameters(request_fields)
            body = build_chat_body(
                slug,
                strategy.request_messages(conversation),
                request_fields,
                stream=True,
                cache=cache,
            )
            fallback = index + 1 < len(chain)
            try:
                with activate(meter):
                    stream = await self._open_stream(body, slug, timeout, extra_headers)
            except OpenRouterAPIError as exc:
                if fallback and is_unsupported(exc, strategy.mode):
                    settings.reject(slug, strategy.mode, str(exc))
                    index += 1
                    continue
                raise
            attempt = replies.attempt + 1
            reply = StreamedReply(response_format, strategy)
            async with stream:
                async for chunk in stream:
                    text, partial = reply.add(chunk)
                    if text or partial is not None:
                        yield PartialUpdate(attempt, text=text, object=partial)
            completion = reply.completion(ParsedChatCompletion, stream.usage, stream.finish_reason)
            usage = completion.usage + usage if completion.usage else usage
            if fallback and strategy.ignored(completion):
                settings.reject(slug, strategy.mode, "the forced function was not called")
                index += 1
                continue
            completion = strategy.translate(completion)
            result = replies.check(completion, strategy)
            if isinstance(result, Reask):
                conversation += result.messages
                continue
            completion.choices[0].message.parsed = result
            completion.usage = usage
            yield PartialUpdate(attempt, object=result, final=completion)
            return

    # -- sending --------------------------------------------------------------------------

    async def _complete(
        self,
        body: bytes,
        slug: str,
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
        cls: type[C],
    ) -> C:
        call_timeout, headers = self._call_settings(timeout, extra_headers)
        send = functools.partial(self._complete_once, body, slug, call_timeout, headers, cls)
        with self._telemetry.chat(slug, body) as trace:
            return trace.done(cast("C", await self._with_retries(send)))

    async def _complete_once(
        self,
        body: bytes,
        slug: str,
        timeout: httpx.Timeout | None,
        extra_headers: Mapping[str, str | None],
        cls: type[C],
    ) -> C:
        request = self._request(
            self._url, timeout=timeout, extra_headers=extra_headers, content=body
        )
        if is_debug():
            get_logger().debug("chat.request", model=slug, url=str(request.url), bytes=len(body))
        meter = current_meter()
        if meter is not None:
            meter.before_request()
        response, content = await self._send_and_read(request, self._config.deadline(timeout))
        completion = decode_completion(response.status_code, response.headers, content, cls)
        if meter is not None:
            meter.after_response(completion.usage)
        if is_debug():
            get_logger().debug(
                "chat.response",
                model=slug,
                status=response.status_code,
                usage=completion.usage.total_tokens if completion.usage else None,
            )
        return completion

    async def _open_stream(
        self,
        body: bytes,
        slug: str,
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
    ) -> AsyncStream:
        call_timeout, headers = self._call_settings(timeout, extra_headers)
        send = functools.partial(self._open_stream_once, body, slug, call_timeout, headers)
        with self._telemetry.chat(slug, body) as trace:
            return trace.keep(cast("AsyncStream", await self._with_retries(send)))

    async def _open_stream_once(
        self,
        body: bytes,
        slug: str,
        timeout: httpx.Timeout | None,
        extra_headers: Mapping[str, str | None],
    ) -> AsyncStream:
        """Send a stream request; return the stream once its response has started.

        The answer is read here, bounded, and raised as its typed error when it is not
        an event stream to read: an error status, or a body of another type (a JSON
        error object with HTTP 200, say).
        """
        request = self._request(
            self._url,
            timeout=timeout,
            headers=self._stream_headers,
            extra_headers=extra_headers,
            content=body,
        )
        whole = Deadline.after(self._stream_timeout, "stream_timeout")
        opening = self._config.deadline(timeout).earliest(whole)
        if is_debug():
            get_logger().debug("chat.stream", model=slug, url=str(request.url), bytes=len(body))
        limit = self._config.max_response_bytes
        meter = current_meter()
        if meter is not None:
            meter.before_request()
        response = await sending.open_response(self._http, request, opening)
        try:
            if response.status_code >= 400 or not is_event_stream(response.headers):
                content = await sending.read(response, opening, limit)
                raise stream_open_error(response.status_code, response.headers, content)
            return AsyncStream(
                response,
                max_line=limit,
                deadline=whole,
                max_idle_lines=self._max_stream_idle_lines,
                meter=meter,
            )
        except BaseException:
            await response.aclose()
            raise
