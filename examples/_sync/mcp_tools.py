# This file is generated from examples/_async/mcp_tools.py by codegen/generate.py.
# Do not edit it: change the async source and run `python codegen/generate.py`.
"""MCP: a Model Context Protocol server made of Python functions, and a client whose model
uses its tools next to a local one.

The server (``MCPServer``, on the official ``mcp`` SDK) serves its tools over Streamable
HTTP on a free 127.0.0.1 port; the client connects, lists them and offers them to the
model. Needs ``pip install "mbxai[mcp]"``.
"""

from __future__ import annotations

from _setup import banner, chat_client, run

from mbxai import MCPClient, MCPServer
from mbxai.testing import Reply, call


def sales_server() -> MCPServer:
    """An MCP server with two tools; any MCP client (Claude Desktop, an IDE...) can use it."""
    server = MCPServer("sales", instructions="The shop's sales figures.")

    @server.tool
    def sales_total(region: str, year: int) -> dict:
        """Total sales of a region in a year.

        Args:
            region: EMEA, AMER or APAC
            year: The calendar year
        """
        return {"region": region, "year": year, "total_eur": 1_250_000}

    @server.tool
    def top_products(limit: int = 3) -> list[str]:
        """The best-selling products, best first."""
        return ["Espresso machine", "Grinder", "Milk frother"][:limit]

    return server


def currency_rate(currency: str) -> float:
    """EUR exchange rate of a currency (a local tool, not an MCP one)."""
    return {"USD": 1.08, "GBP": 0.85}.get(currency, 1.0)


# What the offline fake answers first: calls to both MCP tools and the local tool; once
# the results are in, it answers by quoting them (a real model writes its own answer).
OFFLINE_REPLIES = (
    Reply(
        tool_calls=[
            call("sales_total", region="EMEA", year=2024),
            call("top_products", limit=2),
            call("currency_rate", currency="USD"),
        ]
    ),
)


def main() -> None:
    banner("MCP")
    with sales_server().serve_http() as running:  # serves from a background thread
        print(f"MCP server at {running.url}")
        with MCPClient(chat_client(*OFFLINE_REPLIES)) as client:
            names = client.register_mcp_server("sales", running.url)
            client.register_tool("currency_rate", "EUR exchange rate of a currency", currency_rate)
            info = client.mcp_servers["sales"]
            print(f"registered {sorted(names)} over {info.transport}, connected: {info.connected}")

            response = client.chat(
                [
                    {
                        "role": "user",
                        "content": "Analyze the sales data from the server: EMEA's total "
                        "for 2024 in USD, and the two top products.",
                    }
                ]
            )
            for message in response.transcript:
                if message["role"] == "tool":
                    print(f"  tool result: {message['content']}")
            print("reply:", response.content)


if __name__ == "__main__":
    run(main)
