"""A third-party MCP server: the official SDK's own high-level ``MCPServer`` (not ours),
with resources, a template, a prompt, and tools asking the client back (sampling,
elicitation, roots). Run over stdio as ``python -m tests.fix_mcp_sdk``: the tests start it
as a command, as they start ``mcp-server-time`` and ``mcp-server-fetch`` from PyPI.
"""

import warnings

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import SamplingMessage, TextContent
from pydantic import BaseModel

__all__ = ["main"]


class Contact(BaseModel):
    name: str
    age: int = 0


def build() -> MCPServer:
    server = MCPServer("sdk-server", instructions="The SDK's own server, for mbxai's tests.")

    @server.resource("docs://readme", mime_type="text/markdown")
    def readme() -> str:
        """The project's readme."""
        return "# Readme\nHello from the SDK server."

    @server.resource("users://{user_id}/profile")
    def profile(user_id: str) -> str:
        """A user's profile."""
        return f"profile of {user_id}"

    @server.prompt()
    def summarize(text: str) -> str:
        """Summarize a text."""
        return f"Summarize: {text}"

    @server.tool()
    async def sdk_ask_model(question: str, ctx: Context) -> str:
        """Ask the client's model."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.create_message(
                [SamplingMessage(role="user", content=TextContent(text=question))],
                max_tokens=20,
                related_request_id=ctx.request_id,
            )
        content = result.content
        return content.text if isinstance(content, TextContent) else str(content)

    @server.tool()
    async def sdk_ask_user(ctx: Context) -> str:
        """Ask the client's user for a contact."""
        result = await ctx.elicit("Who should we add?", Contact)
        if result.action == "accept" and result.data is not None:
            return f"added {result.data.name} ({result.data.age})"
        return result.action

    @server.tool()
    async def sdk_roots(ctx: Context) -> list[str]:
        """The client's roots."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
        return [str(root.uri) for root in result.roots]

    return server


def main() -> None:
    server = build()
    server.run("stdio")


if __name__ == "__main__":
    main()
