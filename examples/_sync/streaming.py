# This file is generated from examples/_async/streaming.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""Streaming: text as it arrives, the usage report at the end, tools between rounds, and
a structured reply's partial objects as its JSON arrives."""

from __future__ import annotations

from _setup import banner, chat_client, run
from pydantic import BaseModel

from mbxai import ToolClient
from mbxai.testing import Reply, call


class Trip(BaseModel):
    city: str
    days: int
    sights: list[str]


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name
    """
    return f"It is 14:05 in {city}."


def main() -> None:
    banner("Streaming")
    offline = (
        "Once upon a time, a small robot learned to paint the sunrise.",
        Reply(tool_calls=[call("get_time", city="Tokyo")]),
        "In Tokyo it is 14:05 right now.",
        Reply(
            content='{"city": "Kyoto", "days": 3, "sights": ["Fushimi Inari", "Kinkaku-ji"]}',
            chunk_size=8,
        ),
    )
    with chat_client(*offline) as client:
        stream = client.create(
            [{"role": "user", "content": "Tell me a two-sentence story"}], stream=True
        )
        for chunk in stream:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()
        if stream.usage is not None:  # sent after the last chunk
            print(f"[{stream.usage.total_tokens} tokens, finish_reason={stream.finish_reason}]")

        # With a tool client, every round is streamed and the tools run in between.
        tools = ToolClient(client)
        tools.register_tool("get_time", "The local time in a city", get_time)
        stream = tools.create(
            [{"role": "user", "content": "What time is it in Tokyo?"}], stream=True
        )
        for chunk in stream:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()
        print(
            f"[{stream.tool_rounds} tool round(s); the transcript has {len(stream.transcript)} messages]"
        )

        # A structured reply, streamed: partial objects (fields so far, the rest None),
        # then the validated one.
        trip = client.parse(
            [{"role": "user", "content": "Plan a short trip to Kyoto"}], Trip, stream=True
        )
        with trip:
            for partial in trip:
                print(f"partial: {partial!r}")
        if trip.final is not None:
            print(f"final: {trip.final.choices[0].message.parsed!r}")


if __name__ == "__main__":
    run(main)
