"""MCP servers for the MCP tests, all on 127.0.0.1 or stdio, none on the network.

* :func:`demo_server`: our :class:`mbxai.MCPServer` with a few tools, served in-process
  (``demo_server().serve_http()`` picks a free port and gives its URL);
* :class:`ChildServer`: the same server in a child process (``python -m
  tests._mcp_servers http``), which a test can kill -9 and start again on the same port;
* ``python -m tests._mcp_servers stdio``: the same server over stdio, as a command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from mbxai import MCPServer
from mbxai.mcp_server import request_headers

__all__ = ["ROOT", "ChildServer", "demo_server"]

#: The repository root: child processes run from here so ``tests`` is importable.
ROOT = Path(__file__).resolve().parent.parent
_START_TIMEOUT = 60.0


class City(BaseModel):
    name: str
    country: str
    population: int


def demo_server(name: str = "demo", *, token: str | None = None) -> MCPServer:
    """An MCP server with tools covering the result shapes and failure modes."""
    server = MCPServer(name, token=token, instructions="A demo server for mbxai's tests.")

    @server.tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: The first number
            b: The second number
        """
        return a + b

    @server.tool
    def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool
    def fail(reason: str) -> str:
        """Always fails with the given reason."""
        raise RuntimeError(reason)

    @server.tool
    def city(name: str) -> City:
        """Facts about a city."""
        return City(name=name, country="France", population=2_100_000)

    @server.tool
    def whoami() -> dict[str, Any]:
        """Which server answered, and the credentials it received."""
        headers = request_headers() or {}
        return {
            "server": name,
            "authorization": headers.get("authorization"),
            "x_client": headers.get("x-client"),
        }

    @server.tool
    def pid() -> int:
        """The server's process id."""
        return os.getpid()

    @server.tool
    async def nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "rested"

    return server


class ChildServer:
    """:func:`demo_server` over Streamable HTTP in a child process, to kill and restart."""

    def __init__(self, name: str = "child") -> None:
        self.name = name
        self.port = 0
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        """Start the child (on the port it had before, if it ran already)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tests._mcp_servers", "http", self.name, str(self.port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                line = process.stdout.readline().strip()
                if line.startswith("http://"):
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the MCP test server {self.name!r} did not start")
        self.url = line
        self.port = int(line.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def kill(self) -> None:
        """kill -9: no goodbye to the clients."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        if process is not None:
            process.wait(10)
            if process.stdout is not None:
                process.stdout.close()

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the MCP demo server of mbxai's tests")
    parser.add_argument("transport", choices=["http", "stdio"])
    parser.add_argument("name", nargs="?", default="demo")
    parser.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args(argv)
    server = demo_server(args.name)
    if args.transport == "stdio":
        server.run_stdio()
        return
    running = server.serve_http(port=args.port)
    print(running.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    running.stop()


if __name__ == "__main__":
    main()
