"""Per-call overhead of a non-streamed chat completion and of a structured ``parse``.

Every contender talks to an in-memory transport that answers the same fixed bytes
(:data:`_common.RESPONSE_BODY`), so what is measured is the library's own work: building
the request, going through its HTTP client, decoding and validating the reply.

Contenders, both flavours (async and sync):

* chat: mbxai ``create`` / openai-python ``chat.completions.create`` / raw httpx
  (``post(json=...)`` + ``response.json()``), and raw httpx2 when openai-python sends
  with it, so a difference between the two HTTP stacks is visible on its own;
* parse: mbxai ``parse`` / openai-python ``chat.completions.parse`` / instructor
  (``Mode.JSON_SCHEMA``, the mode that sends and reads the same ``response_format`` as
  the others) / raw httpx + ``CityInfo.model_validate_json`` as the floor.

``mbxai`` runs with tracing off (no OpenTelemetry provider set, though the API is loaded);
``mbxai traced`` is the same client with an OpenTelemetry SDK tracer provider (every span
built and handed to an exporter that drops it) and meter provider (the GenAI histograms
recorded), so the difference is what tracing costs per call.

Each library keeps its default ``max_retries`` (never exercised: the reply is a 200) and
its default timeout; base URL, key, model, messages and response bytes are identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import (
    API_KEY,
    BASE_URL,
    CHAT_URL,
    MESSAGES,
    MODEL,
    AsyncCannedTransport,
    CannedTransport,
    CityInfo,
    Samples,
    httpx2_transports,
    openai_http_module,
    time_async,
    time_sync,
)

import mbxai

SyncContenders = dict[str, Callable[[], object]]
AsyncContenders = dict[str, Callable[[], Awaitable[object]]]
AUTH = {"Authorization": f"Bearer {API_KEY}"}
CHAT_PAYLOAD = {"model": MODEL, "messages": MESSAGES}


def traced_options() -> dict[str, Any] | None:
    """``tracer_provider=``/``meter_provider=`` on the OpenTelemetry SDK, with spans
    exported to nowhere; ``None`` without the SDK (the traced contender is then left out)."""
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            SimpleSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        return None

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Dropped()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def _check_chat(result: Any) -> None:
    content = result["choices"][0]["message"]["content"] if isinstance(result, dict) else None
    if content is None:
        content = result.choices[0].message.content
    assert content, f"no content in the chat result: {result!r:.200}"
    assert "Paris" in content, f"unexpected chat result: {result!r:.200}"


def _check_parse(result: Any) -> None:
    city = result if isinstance(result, CityInfo) else result.choices[0].message.parsed
    assert isinstance(city, CityInfo), f"not parsed: {result!r:.200}"
    assert city.name == "Paris", f"bad parse: {result!r:.200}"


# -- sync -------------------------------------------------------------------------------


def sync_contenders(kind: str) -> tuple[SyncContenders, list[Callable[[], None]]]:
    """The sync contenders for ``kind`` ("chat" or "parse") and the closers to call after."""
    contenders: SyncContenders = {}
    closers: list[Callable[[], None]] = []

    mb = mbxai.OpenRouterClient(
        token=API_KEY, base_url=BASE_URL, model=MODEL, transport=CannedTransport()
    )
    closers.append(mb.close)
    raw = httpx.Client(transport=CannedTransport())
    closers.append(raw.close)
    traced = traced_options()
    if traced is not None:
        mbt = mbxai.OpenRouterClient(
            token=API_KEY, base_url=BASE_URL, model=MODEL, transport=CannedTransport(), **traced
        )
        closers.append(mbt.close)
        if kind == "chat":
            contenders["mbxai traced"] = lambda: mbt.create(MESSAGES)
        else:
            contenders["mbxai traced"] = lambda: mbt.parse(MESSAGES, response_format=CityInfo)

    if kind == "chat":
        contenders["mbxai"] = lambda: mb.create(MESSAGES)
        contenders["raw httpx"] = lambda: raw.post(CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH).json()
    else:
        contenders["mbxai"] = lambda: mb.parse(MESSAGES, response_format=CityInfo)
        contenders["raw httpx"] = lambda: CityInfo.model_validate_json(
            raw.post(CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH).json()["choices"][0]["message"][
                "content"
            ]
        )

    try:
        import openai
    except ImportError:
        openai = None
    if openai is not None:
        http = openai_http_module()
        canned = CannedTransport if http is httpx else httpx2_transports()[0]
        oa_http = http.Client(transport=canned())
        closers.append(oa_http.close)
        oa = openai.OpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=oa_http)
        if kind == "chat":
            contenders["openai"] = lambda: oa.chat.completions.create(
                model=MODEL, messages=MESSAGES
            )
            if http is not httpx:
                raw2 = http.Client(transport=canned())
                closers.append(raw2.close)
                contenders["raw httpx2"] = lambda: raw2.post(
                    CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH
                ).json()
        else:
            parse = getattr(oa.chat.completions, "parse", None) or oa.beta.chat.completions.parse
            contenders["openai"] = lambda: parse(
                model=MODEL, messages=MESSAGES, response_format=CityInfo
            )
            try:
                import instructor
            except ImportError:
                instructor = None
            if instructor is not None:
                ins_http = http.Client(transport=canned())
                closers.append(ins_http.close)
                ins = instructor.from_openai(
                    openai.OpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=ins_http),
                    mode=instructor.Mode.JSON_SCHEMA,
                )
                contenders["instructor"] = lambda: ins.chat.completions.create(
                    model=MODEL, messages=MESSAGES, response_model=CityInfo
                )
    if "mbxai traced" in contenders:  # listed after mbxai
        contenders["mbxai traced"] = contenders.pop("mbxai traced")
    check = _check_chat if kind == "chat" else _check_parse
    for fn in contenders.values():
        check(fn())
    return contenders, closers


def run_sync(kind: str, *, rounds: int, batch: int, warmup: int) -> dict[str, Samples]:
    contenders, closers = sync_contenders(kind)
    try:
        return time_sync(contenders, rounds=rounds, batch=batch, warmup=warmup)
    finally:
        for close in closers:
            close()


# -- async ------------------------------------------------------------------------------


async def async_contenders(kind: str) -> tuple[AsyncContenders, list[Callable[[], Any]]]:
    """The async contenders for ``kind`` and the (awaitable) closers to call after."""
    contenders: AsyncContenders = {}
    closers: list[Callable[[], Any]] = []

    mb = mbxai.AsyncOpenRouterClient(
        token=API_KEY, base_url=BASE_URL, model=MODEL, transport=AsyncCannedTransport()
    )
    closers.append(mb.aclose)
    raw = httpx.AsyncClient(transport=AsyncCannedTransport())
    closers.append(raw.aclose)
    traced = traced_options()
    if traced is not None:
        mbt = mbxai.AsyncOpenRouterClient(
            token=API_KEY,
            base_url=BASE_URL,
            model=MODEL,
            transport=AsyncCannedTransport(),
            **traced,
        )
        closers.append(mbt.aclose)
        if kind == "chat":
            contenders["mbxai traced"] = lambda: mbt.create(MESSAGES)
        else:
            contenders["mbxai traced"] = lambda: mbt.parse(MESSAGES, response_format=CityInfo)

    async def raw_chat() -> Any:
        return (await raw.post(CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH)).json()

    async def raw_parse() -> CityInfo:
        body = (await raw.post(CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH)).json()
        return CityInfo.model_validate_json(body["choices"][0]["message"]["content"])

    if kind == "chat":
        contenders["mbxai"] = lambda: mb.create(MESSAGES)
        contenders["raw httpx"] = raw_chat
    else:
        contenders["mbxai"] = lambda: mb.parse(MESSAGES, response_format=CityInfo)
        contenders["raw httpx"] = raw_parse

    try:
        import openai
    except ImportError:
        openai = None
    if openai is not None:
        http = openai_http_module()
        canned = AsyncCannedTransport if http is httpx else httpx2_transports()[1]
        oa_http = http.AsyncClient(transport=canned())
        closers.append(oa_http.aclose)
        oa = openai.AsyncOpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=oa_http)
        if kind == "chat":
            contenders["openai"] = lambda: oa.chat.completions.create(
                model=MODEL, messages=MESSAGES
            )
            if http is not httpx:
                raw2 = http.AsyncClient(transport=canned())
                closers.append(raw2.aclose)

                async def raw2_chat() -> Any:
                    return (await raw2.post(CHAT_URL, json=CHAT_PAYLOAD, headers=AUTH)).json()

                contenders["raw httpx2"] = raw2_chat
        else:
            parse = getattr(oa.chat.completions, "parse", None) or oa.beta.chat.completions.parse
            contenders["openai"] = lambda: parse(
                model=MODEL, messages=MESSAGES, response_format=CityInfo
            )
            try:
                import instructor
            except ImportError:
                instructor = None
            if instructor is not None:
                ins_http = http.AsyncClient(transport=canned())
                closers.append(ins_http.aclose)
                ins = instructor.from_openai(
                    openai.AsyncOpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=ins_http),
                    mode=instructor.Mode.JSON_SCHEMA,
                )
                contenders["instructor"] = lambda: ins.chat.completions.create(
                    model=MODEL, messages=MESSAGES, response_model=CityInfo
                )
    if "mbxai traced" in contenders:  # listed after mbxai
        contenders["mbxai traced"] = contenders.pop("mbxai traced")
    check = _check_chat if kind == "chat" else _check_parse
    for fn in contenders.values():
        check(await fn())
    return contenders, closers


def run_async(kind: str, *, rounds: int, batch: int, warmup: int) -> dict[str, Samples]:
    async def main() -> dict[str, Samples]:
        contenders, closers = await async_contenders(kind)
        try:
            return await time_async(contenders, rounds=rounds, batch=batch, warmup=warmup)
        finally:
            for close in closers:
                await close()

    return asyncio.run(main())
