"""The main job: a short tour of mbxai — chat, streaming and structured output.

With OPENROUTER_API_KEY set it talks to OpenRouter (model from MBXAI_DEMO_MODEL, default
openai/gpt-4o-mini). Without it, it runs offline against mbxai's fake model, so it
works on any machine.
"""

from __future__ import annotations

import asyncio
import os
import time

from pydantic import BaseModel, Field

from mbxai import AsyncOpenRouterClient, OpenRouterClient, Usage
from mbxai.testing import FakeModel


class CityInfo(BaseModel):
    name: str = Field(description="City name")
    population: int = Field(description="Population count")
    country: str = Field(description="Country name")


QUESTION = [{"role": "user", "content": "What is the capital of France? One sentence."}]


def client_options() -> tuple[str, dict[str, object]]:
    if os.environ.get("OPENROUTER_API_KEY"):
        model = os.environ.get("MBXAI_DEMO_MODEL", "openai/gpt-4o-mini")
        return f"OpenRouter ({model})", {"model": model}
    return "offline fake model (set OPENROUTER_API_KEY for the real thing)", {
        "token": "offline",
        "transport": FakeModel(),
    }


def sync_tour(options: dict[str, object]) -> Usage:
    usage = Usage()
    with OpenRouterClient(**options) as client:  # type: ignore[arg-type]
        print("\n[1] chat (sync)")
        response = client.create(QUESTION, max_tokens=60)
        print("   ", response.choices[0].message.content)
        usage += response.usage

        print("\n[2] streaming (sync)")
        print("    ", end="")
        stream = client.create(QUESTION, stream=True, max_tokens=60)
        for chunk in stream:
            if chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()
        usage += stream.usage
    return usage


async def async_tour(options: dict[str, object]) -> Usage:
    async with AsyncOpenRouterClient(**options) as client:  # type: ignore[arg-type]
        print("\n[3] structured output into a Pydantic model (async)")
        response = await client.parse(
            [{"role": "user", "content": "Tell me about Paris."}], response_format=CityInfo
        )
        city = response.choices[0].message.parsed
        assert city is not None
        print(f"    {city.name}, {city.country} - population {city.population:,}")
        return response.usage or Usage()


def main() -> None:
    where, options = client_options()
    print(f"mbxai demo on {where}")
    started = time.perf_counter()
    usage = sync_tour(options) + asyncio.run(async_tour(options))
    elapsed = time.perf_counter() - started
    print(
        f"\ndone: {usage.total_tokens} tokens "
        f"({usage.prompt_tokens} prompt, {usage.completion_tokens} completion) in {elapsed:.2f}s"
    )


if __name__ == "__main__":
    main()
