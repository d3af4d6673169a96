"""Streaming: text as it arrives, the usage report at the end, and tools between rounds."""

from __future__ import annotations

from _setup import banner, chat_client, run

from mbxai import AsyncToolClient
from mbxai.testing import Reply, call


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


if __name__ == "__main__":
    run(main)
