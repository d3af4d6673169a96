"""The MCP server of ``mcp_features.py``: a resource, a resource template, a prompt, and
tools that ask the client back (sampling, elicitation). Started by the example as a
command and spoken to over stdio; ``python examples/mcp_notes_server.py`` runs it for any
MCP client."""

from __future__ import annotations

import warnings

from mbxai import MCPServer
from mbxai.mcp_server import request_context


def notes_server() -> MCPServer:
    server = MCPServer("notes")

    @server.resource("notes://today", mime_type="text/plain")
    def today() -> str:
        """Today's notes."""
        return "buy milk; call Ann"

    @server.resource("notes://{topic}")
    def note(topic: str) -> dict:
        """A note about a topic."""
        return {"topic": topic, "text": f"all about {topic}"}

    @server.prompt
    def plan_day(mood: str = "calm") -> str:
        """Plan the day.

        Args:
            mood: How the day should feel
        """
        return f"Plan a {mood} day around today's notes."

    @server.tool
    async def suggest_title(text: str) -> str:
        """Suggest a title for a note (the client's model writes it: sampling)."""
        from mcp.types import SamplingMessage, TextContent

        ctx = request_context()
        result = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(text=f"A title for: {text}"))],
            max_tokens=20,
            related_request_id=ctx.request_id,
        )
        return result.content.text

    @server.tool
    async def add_contact() -> str:
        """Add a contact (the client's user fills in a form: elicitation)."""
        ctx = request_context()
        form = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
            "required": ["name"],
        }
        answer = await ctx.session.elicit_form(
            "Who should be added?", form, related_request_id=ctx.request_id
        )
        return f"{answer.action}: {answer.content}"

    return server


if __name__ == "__main__":
    # The SDK marks sampling deprecated for the 2026 protocol; this server speaks 2025's.
    warnings.filterwarnings("ignore", message="The sampling capability is deprecated")
    notes_server().run_stdio()
