"""Tracing: every request, tool call and agent step as an OpenTelemetry span.

Needs ``opentelemetry-sdk`` (``pip install "mbxai[otel]" opentelemetry-sdk``). Here the
spans are kept in memory and printed as a tree; in an application, export them over OTLP
to Jaeger or any other backend (docs/tracing.md).
"""

from __future__ import annotations

from typing import Any

from _setup import banner, chat_client, evaluation, outcome, plan, run, task
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from mbxai import AsyncAgentClient, AsyncToolClient
from mbxai.testing import Reply, call


class Trip(BaseModel):
    city: str
    advice: str


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and 22 degrees in {city}"


# What the offline fake answers: a plan of one task, the task's tool call and result, the
# evaluation.
OFFLINE_REPLIES = (
    plan("Advise on a trip to Paris", task("t1", "Check the weather", tools=["get_weather"])),
    Reply(tool_calls=[call("get_weather", city="Paris")]),
    outcome("Sunny and 22 degrees in Paris."),
    evaluation(Trip(city="Paris", advice="Take sunglasses.")),
)


def show(spans: Any) -> None:
    """The spans as a tree: each under its parent, with a few of its attributes."""
    children: dict[int | None, list[Any]] = {}
    for span in spans:
        children.setdefault(span.parent.span_id if span.parent else None, []).append(span)

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time):
            attributes = dict(span.attributes or {})
            shown = {
                key.rsplit(".", 1)[-1]: attributes[key]
                for key in ("mbxai.agent.task_id", "gen_ai.usage.output_tokens")
                if key in attributes
            }
            print(f"  {'  ' * depth}{span.name} {shown if shown else ''}".rstrip())
            walk(span.context.span_id, depth + 1)

    walk(None, 0)


async def main() -> None:
    banner("Tracing")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    # The client's own provider (or set the global one: trace.set_tracer_provider).
    tools = AsyncToolClient(chat_client(*OFFLINE_REPLIES, tracer_provider=provider))
    tools.register_tool("get_weather", "The weather in a city", get_weather)
    agent = AsyncAgentClient(tools)
    response = await agent.agent("Should I take sunglasses to Paris?", Trip)
    print("agent:", response.state.value)
    show(exporter.get_finished_spans())
    await tools.aclose()


if __name__ == "__main__":
    run(main)
