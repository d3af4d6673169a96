"""Tools: Python functions the model can call; the tool loop runs them for you."""

from __future__ import annotations

import json
from typing import Literal

from _setup import banner, chat_client, run
from pydantic import BaseModel

from mbxai import AsyncToolClient
from mbxai.testing import Reply, call


def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get weather information for a location.

    Args:
        location: The city or location name
        unit: Temperature unit
    """
    return {"location": location, "temperature": 22, "unit": unit, "condition": "Sunny"}


class WeatherReport(BaseModel):
    city: str
    temperature: float
    advice: str


# What the offline fake answers, in order (a real model decides for itself).
OFFLINE_REPLIES = (
    Reply(tool_calls=[call("get_weather", location="Tokyo")]),
    "It is sunny and 22 degrees Celsius in Tokyo.",
    Reply(tool_calls=[call("fetch_story", story_id="PROJ-123")]),
    "PROJ-123 is 'Implement user authentication'.",
    Reply(tool_calls=[call("get_weather", location="Paris")]),
    json.dumps({"city": "Paris", "temperature": 22, "advice": "Sunglasses, no umbrella."}),
)


async def main() -> None:
    banner("Tools")
    async with AsyncToolClient(chat_client(*OFFLINE_REPLIES)) as tool_client:
        # The JSON schema comes from the signature and the docstring.
        tool_client.register_tool("get_weather", "Get current weather for a location", get_weather)
        print("schema:", json.dumps(tool_client.tools["get_weather"].parameters["properties"]))

        # The decorator registers too (sync or async functions). An injected parameter is
        # hidden from the model: its value comes from tool_context on each call and never
        # reaches the model or the logs.
        @tool_client.tool(injected="auth_token")
        async def fetch_story(story_id: str, auth_token: str) -> dict:
            """Fetch a Jira story by its key."""
            assert auth_token == "jira-token-from-your-app"
            return {"id": story_id, "title": "Implement user authentication"}

        response = await tool_client.chat(
            [{"role": "user", "content": "What's the weather like in Tokyo?"}]
        )
        print("reply:", response.content)
        print(
            f"{response.tool_rounds} tool round(s), {response.llm_calls} LLM calls, "
            f"{response.usage.total_tokens if response.usage else '?'} tokens in all"
        )

        response = await tool_client.chat(
            [{"role": "user", "content": "What is Jira story PROJ-123 about?"}],
            tool_context={"auth_token": "jira-token-from-your-app"},
        )
        print("reply:", response.content)
        for message in response.transcript:  # the whole conversation, tool results included
            print(f"  {message['role']:>9}: {message.get('content') or message.get('tool_calls')}")

        # parse() runs the tools, then validates the final answer into a model.
        report = await tool_client.parse(
            [{"role": "user", "content": "Weather in Paris, and what should I take along?"}],
            WeatherReport,
        )
        print("parsed:", report.parsed)


if __name__ == "__main__":
    run(main)
