"""Fixtures: real Redis and PostgreSQL servers, for the session-store tests.

* ``redis_url`` / ``postgres_url`` (session scope): a throwaway ``redis-server`` /
  PostgreSQL cluster for the whole run (one per xdist worker), as a URL;
* ``durable_redis``: a :class:`RestartableRedis` of the test's own, which the test can kill
  and restart on the same port mid-run (the fault suite).

Each server runs from a temporary directory on a free 127.0.0.1 port, started by the
tests themselves and stopped at the end (no system service is used or touched). Install
them with ``apt-get install redis-server postgresql`` (``.ci/run`` does).

A missing server fails the tests when ``CI`` is set; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = [
    "RestartableRedis",
    "durable_redis",
    "postgres_server",
    "postgres_url",
    "redis_server",
    "redis_url",
    "unavailable",
]

_START_TIMEOUT = 60.0


def unavailable(reason: str) -> NoReturn:
    """A server the tests need is missing: a failure in CI, a skip elsewhere."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server (no persistence); yields its URL."""
    exe = shutil.which("redis-server")
    if exe is None:
        unavailable("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory(prefix="mbxai-redis-") as tmp:
        port = _free_port()
        log = Path(tmp) / "redis.log"
        with log.open("wb") as out:
            options = ["--port", str(port), "--bind", "127.0.0.1", "--dir", tmp]
            no_disk = ["--save", "", "--appendonly", "no"]
            proc = subprocess.Popen(
                [exe, *options, *no_disk],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited early:\n{_log_tail(log)}")
                with contextlib.suppress(OSError):
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith(b"+PONG"):
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start:\n{_log_tail(log)}")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(proc, signal.SIGTERM)


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # the real bin directory, past any symlink
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        return None
    newest = max(candidates, key=lambda p: int(Path(p).parts[-3]))
    return Path(newest).parent


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (initdb in a temporary directory); yields its URL.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user that
    Debian's package creates (the temporary directory is handed over to it).
    """
    bindir = _pg_bin()
    if bindir is None:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run PostgreSQL as")
        user = account.pw_name
    with tempfile.TemporaryDirectory(prefix="mbxai-pg-") as tmp:
        if user is not None:
            os.chown(tmp, account.pw_uid, account.pw_gid)
        data = Path(tmp) / "data"
        log = Path(tmp) / "postgres.log"
        options = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]
        init = subprocess.run(
            [bindir / "initdb", "-D", data, *options],
            user=user,
            capture_output=True,
            check=False,
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{init.stdout.decode()}\n{init.stderr.decode()}")
        port = _free_port()
        with log.open("wb") as out:
            if user is not None:
                os.chown(log, account.pw_uid, account.pw_gid)
            listen = ["-p", str(port), "-h", "127.0.0.1", "-k", tmp]
            proc = subprocess.Popen(
                [bindir / "postgres", "-D", data, *listen, "-F", "-c", "max_connections=100"],
                user=user,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"postgres exited early:\n{_log_tail(log)}")
                ready = subprocess.run(
                    [bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
                )
                if ready.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start:\n{_log_tail(log)}")
                time.sleep(0.1)
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _stop(proc, signal.SIGINT)  # "fast" shutdown: disconnects clients, then exits


# -- a Redis that can be restarted ---------------------------------------------------------


class RestartableRedis:
    """A durable redis-server (AOF, fsync always) on a fixed free port, restartable.

    A restart keeps every acknowledged write, as a production Redis with AOF does; the
    clients' connections are cut, which is the fault under test.
    """

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            unavailable("redis-server is not installed (apt-get install redis-server)")
        self._exe = exe
        self._tmp = tempfile.TemporaryDirectory(prefix="mbxai-faults-redis-")
        self._dir = Path(self._tmp.name)
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RestartableRedis:
        log = (self._dir / "redis.log").open("ab")
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self._dir)]
        durable = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        with log:
            self._proc = subprocess.Popen(
                [self._exe, *options, *durable], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError("redis-server exited early")
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: gracefully, or with SIGKILL (``crash=True``)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL if crash else signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self, *, crash: bool = True) -> None:
        """Kill the server (cutting every client connection) and start it again."""
        self.stop(crash=crash)
        self.restarts += 1
        self.start()

    def close(self) -> None:
        self.stop()
        self._tmp.cleanup()


# -- the fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port for this test run."""
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a free loopback port for this test run."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def durable_redis() -> Iterator[RestartableRedis]:
    """A durable redis-server of this test's own, to restart (or crash) mid-run."""
    server = RestartableRedis().start()
    try:
        yield server
    finally:
        server.close()
