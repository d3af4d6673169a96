"""MCP beyond tools: a server's resources and prompts, and its requests of the client.

The server (``examples/mcp_notes_server.py``, an ``MCPServer`` started as a command and
spoken to over stdio) serves a resource, a resource template and a prompt, and has tools
that ask the client back: for a completion (sampling, answered by a chat client of ours
under a usage limit) and for the user's input (elicitation, answered here by a
function). Needs ``pip install "mbxai[mcp]"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from _setup import banner, chat_client, run

from mbxai import AsyncMCPClient, ElicitationRequest, MCPSampling, UsageLimits
from mbxai.testing import Reply, call

SERVER = Path(__file__).resolve().parent.parent / "mcp_notes_server.py"


def fill_in(request: ElicitationRequest) -> dict:
    """The application's answer to a server's form (a UI would ask the user)."""
    print(f"  the server asks: {request.message} fields={sorted(request.fields)}")
    return {"name": "Ann", "age": "42"}


OFFLINE_REPLIES = (Reply(tool_calls=[call("suggest_title", text="buy milk"), call("add_contact")]),)


async def main() -> None:
    banner("MCP resources, prompts, sampling, elicitation")
    sampling = MCPSampling(
        chat_client("Groceries"), usage_limits=UsageLimits(max_requests=5), max_tokens=50
    )
    async with AsyncMCPClient(chat_client(*OFFLINE_REPLIES)) as client:
        await client.register_mcp_server(
            "notes", [sys.executable, str(SERVER)], sampling=sampling, elicitation=fill_in
        )
        resources = await client.list_resources("notes")
        print("resources:", [resource.uri for resource in resources])
        templates = await client.list_resource_templates("notes")
        print("templates:", [template.uri_template for template in templates])
        today = await client.read_resource("notes", "notes://today")
        print("read:", today.contents[0].text)
        messages = await client.prompt_messages("notes", "plan_day", {"mood": "busy"})
        print("prompt:", messages[0]["content"])

        response = await client.chat([{"role": "user", "content": "Tidy up my notes."}])
        for message in response.transcript:
            if message["role"] == "tool":
                print(f"  tool result: {message['content']}")
        print(f"sampling spent: {sampling.spent.requests} request(s)")


if __name__ == "__main__":
    run(main)
