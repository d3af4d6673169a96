"""Streaming: text as it arrives, the usage report at the end, tools between rounds, and
a structured reply's partial objects as its JSON arrives."""

from __future__ import annotations

from _setup import banner, chat_client, run
from pydantic import BaseModel

from mbxai import AsyncToolClient
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


async def main() -> None:
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
    async with chat_client(*offline) as client:
        stream = await client.create(
            [{"role": "user", "content": "Tell me a two-sentence story"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()
        if stream.usage is not None:  # sent after the last chunk
            print(f"[{stream.usage.total_tokens} tokens, finish_reason={stream.finish_reason}]")

        # With a tool client, every round is streamed and the tools run in between.
        tools = AsyncToolClient(client)
        tools.register_tool("get_time", "The local time in a city", get_time)
        stream = await tools.create(
            [{"role": "user", "content": "What time is it in Tokyo?"}], stream=True
        )
        async for chunk in stream:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()
        print(
            f"[{stream.tool_rounds} tool round(s); the transcript has {len(stream.transcript)} messages]"
        )

        # A structured reply, streamed: partial objects (fields so far, the rest None),
        # then the validated one.
        trip = await client.parse(
            [{"role": "user", "content": "Plan a short trip to Kyoto"}], Trip, stream=True
        )
        async with trip:
            async for partial in trip:
                print(f"partial: {partial!r}")
        if trip.final is not None:
            print(f"final: {trip.final.choices[0].message.parsed!r}")


if __name__ == "__main__":
    run(main)
