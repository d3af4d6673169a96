"""Every example runs offline, in both flavours, and prints what it promises.

Each script runs in a subprocess without API keys, so it talks to the offline fake (and
the canned images API), exactly as a new user's first run would.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: What each example must print when it runs offline (a line or a fragment of one).
EXPECTED = {
    "chat": [
        "reply: This is a fake reply to: What is the capital of France?",
        "BadRequestError (HTTP 400)",
    ],
    "parse": [
        "Paris, France - Population: 2,102,650",
        "Italy by rail -> Milan (2)",
        "StructuredOutputError after 2 attempts",
    ],
    "streaming": [
        "a small robot learned to paint the sunrise.",
        "In Tokyo it is 14:05",
        "[1 tool round(s)",
        "partial: Trip(city='Kyoto', days=None, sights=None)",
        "final: Trip(city='Kyoto', days=3, sights=['Fushimi Inari', 'Kinkaku-ji'])",
    ],
    "tools": [
        "reply: It is sunny and 22 degrees Celsius in Tokyo.",
        'tool: {"id":"PROJ-123"',
        "parsed: city='Paris'",
    ],
    "mcp_features": [
        "resources: ['notes://today']",
        "templates: ['notes://{topic}']",
        "read: buy milk; call Ann",
        "the server asks: Who should be added? fields=['age', 'name']",
        "tool result: Groceries",
        "tool result: accept: {'name': 'Ann', 'age': 42}",
        "sampling spent: 1 request(s)",
    ],
    "mcp_tools": [
        "registered ['sales_total', 'top_products'] over http, connected: True",
        'tool result: {"region":"EMEA","year":2024,"total_eur":1250000}',
        "tool result: 1.08",
    ],
    "images": [
        "generated: data:image/png;base64,",
        "edited: ok",
        "ConfigurationError: n=2: dall-e-3",
    ],
    "approvals": [
        "waiting: pay_invoice({'invoice': 'INV-7', 'amount': 1200}), paid so far: []",
        "reply: Paid 120 EUR for INV-7 after the correction. | payments: [120]",
        "UsageLimitExceeded (max_requests): nothing was sent",
        "-> tool_approval: pay_invoice {'invoice': 'INV-8', 'amount': 80}",
        "agent: completed invoice='INV-8' paid=True | payments: [120, 80]",
    ],
    "tracing": [
        "agent: completed",
        "  invoke_agent",
        "    agent.plan",
        "    agent.task {'task_id': 't1'}",
        "      execute_tool get_weather",
        "    agent.evaluate",
    ],
    "agent": [
        "Agent State: completed",
        " - Split the work into phases (Status: completed)",
        "Project: Storefront",
        "4 LLM calls",
        "Recommendation: Take Example Air",
    ],
    "human_in_the_loop": [
        "-> question: Who is the summary for?",
        "-> dialog_option: Task 'Fetch story PROJ-123' needs Jira Authentication",
        "-> decision: Publish the summary",
        "Summary for the QA team",
        "token in the stored session: False",
    ],
    "batch_responses": [
        "waiting for 2 answer(s):",
        "released v2.1.0, approved by john.doe@company.com",
    ],
    "session_continuation": [
        "second: gateway, auth, catalog",
        "1 earlier turn(s), 6 LLM calls",
        "deleted: True",
    ],
    "custom_session_handler": [
        "agent 1 waits: Archive 1,204 reports",
        "agent 2: completed, action='archived'",
    ],
    "session_stores": [
        "FileSessionHandler",
        "SQLSessionHandler",
        "agent 2: completed -> approved=True",
    ],
    "two_services": [
        "ui:   [credentials_form] Please provide your shop credentials",
        "ui:   [order_result] Your last order: #ORD-2024-003",
    ],
}

SCRIPTS = sorted(
    path.relative_to(EXAMPLES).as_posix()
    for flavour in ("_async", "_sync")
    for path in (EXAMPLES / flavour).glob("*.py")
    if not path.name.startswith("_")
)


def test_every_example_is_checked() -> None:
    names = {Path(script).stem for script in SCRIPTS}
    assert names == set(EXPECTED), (
        f"unchecked: {names - set(EXPECTED)}, missing: {set(EXPECTED) - names}"
    )
    assert len(SCRIPTS) == 2 * len(EXPECTED)  # every example in both flavours


#: Examples that need packages beyond mbxai's own (extras `mcp` and `examples`).
REQUIRES = {
    "mcp_features": ["mcp"],
    "mcp_tools": ["mcp"],
    "two_services": ["fastapi", "uvicorn"],
    "tracing": ["opentelemetry.sdk"],
}


def missing(script: str) -> list[str]:
    needed = REQUIRES.get(Path(script).stem, [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Every example's run, a few at a time (they mostly wait on their own processes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENROUTER_API_KEY", "OPENAI_API_KEY")}

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(EXAMPLES / script)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        runnable = [script for script in SCRIPTS if not missing(script)]
        return dict(zip(runnable, pool.map(run, runnable), strict=True))


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_offline(
    script: str, runs: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    if missing(script):
        pytest.skip(f"needs {', '.join(missing(script))}")
    result = runs[script]
    output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, output
    assert result.stderr == "", output  # no warnings, no stray log lines
    banner = result.stdout.partition("\n")[0]
    assert banner.startswith("== "), output
    assert "offline" in banner, output  # the keys were removed: no example may go online
    for expected in EXPECTED[Path(script).stem]:
        assert expected in result.stdout, f"{expected!r} not printed\n{output}"
