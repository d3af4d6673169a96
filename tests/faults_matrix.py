"""The fault matrix: which fault each test injects, and what came of it.

Fault tests declare their row with :func:`row`; this pytest plugin (``-p
tests.faults_matrix``, as ``nox -s faults`` runs it) collects the outcome of every
variant (async on asyncio, async on trio, sync) and prints the matrix at the end of the
session. ``--faults-matrix=PATH`` also writes it as a Markdown table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["row"]

_FLAVOURS = ("asyncio", "trio", "sync")

#: Rows proven outside this suite: (area, fault, expected outcome, verdict, where).
ELSEWHERE = [
    (
        "Agent",
        "two pending requests answered one at a time",
        "the answered task runs; WAITING_FOR_HUMAN with the other request; no busy loop",
        "tests session",
        "tests/_async/test_agent_resume.py::test_answering_one_of_two_requests_runs_that_task_and_waits_for_the_other",
    ),
    (
        "Agent",
        "the model repeats a task id",
        "distinct tasks and requests, dependencies remapped; the run completes",
        "tests session",
        "tests/_async/test_agent_resume.py::test_repeated_task_ids_from_the_model_stay_distinct_tasks",
    ),
    (
        "Agent",
        "a run loop step that changes nothing",
        "AgentError, not a spinning loop",
        "tests session",
        "tests/_async/test_agent_resume.py::test_a_loop_that_makes_no_progress_raises_instead_of_spinning",
    ),
    (
        "Agent",
        "resumed in a process without the secret's key",
        "the dialog option is asked again; tasks needing no secret run",
        "tests session",
        "tests/_async/test_agent_resume.py::test_a_process_without_the_key_asks_for_the_secret_again",
    ),
    (
        "Agent",
        "a sync tool past tool_timeout inside a task",
        "the call ends at the timeout; it is never run a second time",
        "tests session",
        "tests/_async/test_agent_resume.py::test_tool_timeout_holds_for_a_sync_tool_inside_an_agent_task",
    ),
    (
        "Secrets",
        'a tool echoes a secret with " \\ , or a newline',
        "masked for the model and in the stored journal, every encoding",
        "tests session",
        "tests/_async/test_agent_resume.py::test_an_echoed_secret_is_masked_for_the_model_and_in_the_store",
    ),
    (
        "Secrets",
        "a secret containing commas",
        "reaches the tool whole; no part of it in any prompt",
        "tests session",
        "tests/_async/test_agent_resume.py::test_a_secret_with_commas_reaches_the_tool_whole",
    ),
    (
        "Secrets",
        "a 6-digit PIN in a journaled call",
        "the stored journal key does not depend on it (nothing to brute-force)",
        "tests session",
        "tests/_async/test_agent_resume.py::test_the_journal_key_does_not_depend_on_injected_secrets",
    ),
    (
        "Images",
        "an input URL on a private address in any spelling (NAT64, 6to4, Teredo, octal...)",
        "ConfigurationError before any request; public NAT64 addresses still fetched",
        "tests session",
        "tests/_async/test_images.py::test_every_spelling_of_a_private_address_is_refused",
    ),
    (
        "Images",
        "DNS rebinding: public address first, 127.0.0.1 the second time",
        "the download goes to the checked address only; loopback never reached",
        "tests session",
        "tests/_async/test_images.py::test_dns_rebinding_never_reaches_the_second_answer",
    ),
    (
        "Images",
        "a slow redirect chain / slow DNS / trickled headers",
        "the whole fetch ends at fetch_timeout",
        "tests session",
        "tests/_async/test_images.py::test_fetch_timeout_bounds_a_slow_redirect_chain",
    ),
    (
        "Images",
        "a string input naming a server file (/etc/passwd)",
        "not read (only Path values or allow_local_files=True); no content quoted",
        "tests session",
        "tests/_async/test_images.py::test_strings_are_not_read_as_server_files_and_contents_are_never_quoted",
    ),
    (
        "Input",
        "a wrongly typed argument to any public constructor",
        "ConfigurationError naming the argument (derived from the annotations)",
        "tests session",
        "tests/test_constructor_arguments.py::test_a_wrongly_typed_argument_is_refused_by_name",
    ),
    (
        "Sessions",
        "SIGKILL mid-run, then resume in a new process",
        "resumes to completion; the tool ran once (file, Redis, SQLite, PostgreSQL)",
        "tests session",
        "tests/test_crash_resume.py::test_a_killed_run_resumes_in_a_new_process_and_its_tool_ran_once",
    ),
    (
        "MCP",
        "a tool call never answered",
        "the model is told 'no answer within N s'; later calls work",
        "tests session",
        "tests/_async/test_mcp.py::test_a_slow_call_is_reported_and_the_next_calls_still_work",
    ),
    (
        "MCP",
        "server killed between calls, then back",
        "unavailable while down (other servers work), reconnected after",
        "tests session",
        "tests/_async/test_mcp.py::test_a_killed_server_is_reported_unavailable_then_reconnected",
    ),
    (
        "MCP",
        "server returns isError",
        "the error text reaches the model as an error",
        "tests session",
        "tests/_async/test_mcp.py::test_error_results_reach_the_model_as_errors",
    ),
]


def row(group: str, fault: str, expect: str) -> pytest.MarkDecorator:
    """Mark a test as the fault matrix's row ``(group, fault)``, expecting ``expect``."""
    return pytest.mark.faults(group=group, fault=fault, expect=expect)


@dataclass
class _Row:
    group: str
    fault: str
    expect: str
    results: dict[str, list[str]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def cell(self, flavour: str) -> str:
        outcomes = self.results.get(flavour)
        if not outcomes:
            return "-"
        for word in ("FAILED", "xpass", "xfail", "skipped"):
            if word in outcomes:
                return word if word != "xfail" else "finding"
        return "ok"

    @property
    def verdict(self) -> str:
        cells = {self.cell(f) for f in _FLAVOURS} - {"-"}
        if "FAILED" in cells or "xpass" in cells:
            return "FAILED"
        if "finding" in cells:
            return "finding (xfail)"
        if not cells:
            return "not run"
        if cells == {"skipped"}:
            return "skipped"
        return "ok"


def _flavour(item: pytest.Item) -> str:
    if "_sync" in item.path.parts:
        return "sync"
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("anyio_backend") if callspec is not None else None
    return str(backend or "asyncio")


class _Matrix:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], _Row] = {}
        self.items: dict[str, tuple[_Row, str]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for mark in item.iter_markers("faults"):
                if "fault" in mark.kwargs:
                    key = (mark.kwargs["group"], mark.kwargs["fault"])
                    entry = self.rows.setdefault(key, _Row(*key, mark.kwargs["expect"]))
                    self.items[item.nodeid] = (entry, _flavour(item))
                    break

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = self.items.get(report.nodeid)
        if found is None:
            return
        entry, flavour = found
        outcomes = entry.results.setdefault(flavour, [])
        if hasattr(report, "wasxfail"):
            outcomes.append("xpass" if report.passed else "xfail")
            if report.wasxfail and report.wasxfail not in entry.reasons:
                entry.reasons.append(report.wasxfail)
        elif report.failed:
            outcomes.append("FAILED")
        elif report.skipped:
            outcomes.append("skipped")
        elif report.when == "call":
            outcomes.append("passed")

    def table(self, fmt: Callable[[list[str]], str]) -> list[str]:
        lines = [fmt(["Area", "Fault", *_FLAVOURS, "Result", "Expected outcome"])]
        for entry in sorted(self.rows.values(), key=lambda r: (r.group, r.fault)):
            expect = entry.expect + (f" [{'; '.join(entry.reasons)}]" if entry.reasons else "")
            cells = [entry.group, entry.fault, *(entry.cell(f) for f in _FLAVOURS)]
            lines.append(fmt([*cells, entry.verdict, expect]))
        for group, fault, expect, verdict, where in ELSEWHERE:
            lines.append(fmt([group, fault, "-", "-", "-", verdict, f"{expect} [{where}]"]))
        return lines

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        ran = [r for r in self.rows.values() if r.results]
        if not ran:
            return
        write = terminalreporter.write_line
        terminalreporter.section("fault matrix")
        widths = [9, 44, 7, 7, 7, 15]

        def plain(cells: list[str]) -> str:
            return "  ".join(
                c[: widths[i]].ljust(widths[i]) if i < 6 else c for i, c in enumerate(cells)
            )

        for line in self.table(plain):
            write(line)
        verdicts = [r.verdict for r in ran]
        write(
            f"{len(ran)} rows: {verdicts.count('ok')} ok, "
            f"{verdicts.count('finding (xfail)')} findings, {verdicts.count('FAILED')} failed, "
            f"{verdicts.count('skipped')} skipped"
        )
        path = terminalreporter.config.getoption("faults_matrix")
        if path:
            md = self.table(lambda cells: "| " + " | ".join(cells) + " |")
            md.insert(1, "|" + "---|" * 7)
            Path(path).write_text("\n".join(md) + "\n", encoding="utf-8")
            write(f"fault matrix written to {path}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--faults-matrix",
        dest="faults_matrix",
        default=None,
        help="also write the fault matrix as a Markdown table to this file",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Matrix(), "faults-matrix")
